package results

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// OpKind says what an operation did.
type OpKind string

const (
	// OpWrite inserts one key, normally through the read-write endpoint.
	OpWrite OpKind = "write"
	// OpRead looks one key up, normally on a follower through the read-only
	// endpoint.
	OpRead OpKind = "read"
	// OpProbe is a write sent directly to one member (Process "probe:<node>",
	// Target the node), bypassing the endpoint, so that two members
	// accepting writes at once (split-brain) can be seen. Probe keys go into
	// the same table as the writers' keys, from a disjoint key range, so that
	// FinalState.Keys shows whether the new leader has them.
	OpProbe OpKind = "probe"
)

// Outcome is what the client learned about an operation.
type Outcome string

const (
	// OK means the operation was acknowledged (a write committed, a read
	// answered).
	OK Outcome = "ok"
	// Failed means the operation certainly did not take effect (rejected
	// before commit: connection refused, read-only transaction, ...).
	Failed Outcome = "failed"
	// Unknown means the client cannot tell: the connection died during
	// commit, or a timeout fired. A write may or may not have happened.
	Unknown Outcome = "unknown"
)

// Targets of operations that the checkers know by name. Any other Target is
// a node name.
const (
	// TargetRW is the read-write endpoint (whoever leads now).
	TargetRW = "rw"
	// TargetRO is the read-only endpoint (the followers).
	TargetRO = "ro"
	// TargetSync is whichever member is the synchronous standby when the
	// operation is invoked: the one read that sync (remote_apply) promises
	// is never stale.
	TargetSync = "sync"
)

// Event kinds that the checkers and the report read. Other kinds are kept
// and shown but not interpreted.
const (
	// EventFaultInjected marks a fault taking effect; Node is its target,
	// Detail its name (e.g. "kill"). A fault.healed with the same Node and
	// Detail ends it.
	EventFaultInjected = "fault.injected"
	// EventFaultHealed marks a fault being undone.
	EventFaultHealed = "fault.healed"
	// EventLeaderChanged marks an observed change of leader; Node is the new
	// leader.
	EventLeaderChanged = "leader.changed"
	// EventLeaderKeyGone marks the DCS leader key expiring or being deleted.
	EventLeaderKeyGone = "leader.key_gone"
	// EventPromoted marks the new leader finishing promotion (accepting
	// writes as primary).
	EventPromoted = "leader.promoted"
	// EventTimeline marks a timeline switch; Detail holds the new timeline.
	EventTimeline = "timeline"
	// EventNote is free text for the timeline of the report.
	EventNote = "note"
	// EventFailoverStep is one step of a failover procedure the harness
	// runs itself (replab's MariaDB runbook: detect, choose, apply,
	// detach, make writable, repoint): Node is the node it concerns,
	// Detail the step and what it found, and the event spans the step.
	// Each fault's report lists its steps (FailoverReport.Procedure).
	EventFailoverStep = "failover.step"
)

// Sample metric names that the lag checker and the SLA know. Values of
// *_seconds metrics are seconds, lag.bytes is bytes.
const (
	MetricLagWriteSeconds     = "lag.write_seconds"
	MetricLagFlushSeconds     = "lag.flush_seconds"
	MetricLagReplaySeconds    = "lag.replay_seconds"
	MetricLagBytes            = "lag.bytes"
	MetricLagHeartbeatSeconds = "lag.heartbeat_seconds"
	// MariaDB's own lag figures: Seconds_Behind_Master, and the
	// transactions a replica has received but not yet applied.
	MetricLagBehindMasterSeconds = "lag.behind_master_seconds"
	MetricLagTransactions        = "lag.transactions"
)

// RunMeta describes a run. It is copied into the History unchanged except
// that Started is normalised (see NewRecorder).
type RunMeta struct {
	ID       string `json:"id"`
	Topology string `json:"topology"`
	Seed     int64  `json:"seed"`
	Backend  string `json:"backend"`
	// Started is the wall clock at the start, for display only: every
	// timestamp in a History is a time.Duration on the monotonic clock.
	Started time.Time `json:"started"`
	// Mode is the replication mode (async, semi-sync, sync).
	Mode   string            `json:"mode"`
	Labels map[string]string `json:"labels"`
}

// OpStart is what is known when an operation is invoked.
type OpStart struct {
	Kind OpKind
	// Process names the client session, e.g. "writer-0" or "probe:lab-2".
	// Stale reads are judged per process.
	Process string
	// Target is TargetRW, TargetRO or a node name.
	Target string
	Key    int64
}

// OpEnd is what is known when an operation completes.
type OpEnd struct {
	Outcome Outcome
	// Member is the node that served the operation, if known.
	Member string
	// Timeline is the PostgreSQL timeline that served it, 0 if unknown.
	Timeline int
	// Found says, for reads, whether the key was visible.
	Found bool
	// LSN is, for a write, the leader's WAL insert position right after the
	// commit (at or past the commit record); for a read on a standby, that
	// standby's replay position when it answered. Zero is unknown.
	LSN uint64
	Err error
}

// Sample is one measured value of a metric on a node.
type Sample struct {
	Metric string
	Node   string
	Value  float64
}

// Event is something that happened to the cluster (a fault, a leader
// change...).
type Event struct {
	Kind   string
	Node   string
	Detail string
	// Resolution is how late the event may have been observed: the polling
	// interval of its source. Zero means it was stamped when it happened
	// (to the clock's resolution).
	Resolution time.Duration
	// How says how the event's instant was obtained, e.g. "pidfd signal"
	// or "docker API call"; shown beside its uncertainty.
	How string
}

// FinalState is what the leader holds after the cluster converged.
type FinalState struct {
	Member string `json:"member"`
	// Keys are all ids present in the table, duplicates included, among
	// the rows of run Run only: rows left by an earlier run on a reused lab
	// must not stand in for this run's lost ones.
	Keys     []int64 `json:"keys"`
	Timeline int     `json:"timeline"`
	// Run is the run id the read-back was restricted to (RunMeta.ID).
	// Empty means the read-back did not say (older histories).
	Run string `json:"run,omitempty"`
}

// Op is one recorded operation.
type Op struct {
	ID      int64  `json:"id"`
	Kind    OpKind `json:"kind"`
	Process string `json:"process"`
	Target  string `json:"target"`
	Key     int64  `json:"key"`
	// Invoke and Complete are times since the recorder's start. An
	// operation still pending when the History was taken has Complete set
	// to that moment, Outcome Unknown and Err ErrPendingText.
	Invoke   time.Duration `json:"invoke_ns"`
	Complete time.Duration `json:"complete_ns"`
	Outcome  Outcome       `json:"outcome"`
	Member   string        `json:"member,omitempty"`
	Timeline int           `json:"timeline,omitempty"`
	Found    bool          `json:"found,omitempty"`
	// LSN: see OpEnd.LSN.
	LSN uint64 `json:"lsn,omitempty"`
	Err string `json:"err,omitempty"`
}

// ErrPendingText is the Err of an operation that had not completed when the
// History was taken.
const ErrPendingText = "still pending when the history was taken"

// SampleRecord is a Sample with its time.
type SampleRecord struct {
	At     time.Duration `json:"at_ns"`
	Metric string        `json:"metric"`
	Node   string        `json:"node"`
	Value  float64       `json:"value"`
}

// EventRecord is an Event with its time.
type EventRecord struct {
	At         time.Duration `json:"at_ns"`
	Kind       string        `json:"kind"`
	Node       string        `json:"node,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Resolution time.Duration `json:"resolution_ns,omitempty"`
	// End is set for an event caused by an operation of the harness (a
	// fault injected or healed): At was stamped before the operation's
	// first side effect and End after its last, so the event happened in
	// [At, End] and End − At is its uncertainty. Zero for instantaneous
	// and polled events.
	End time.Duration `json:"end_ns,omitempty"`
	How string        `json:"how,omitempty"`
}

// Uncertainty is how far the event's real instant may lie from At: the
// span of the operation that caused it, or how late a poller may have
// seen it, whichever is larger.
func (e EventRecord) Uncertainty() time.Duration {
	if e.End > e.At {
		return max(e.End-e.At, e.Resolution)
	}
	return e.Resolution
}

// Clock describes the time base of a History.
type Clock struct {
	// Resolution is the smallest nonzero step of time.Since observed over a
	// short loop when the recorder started: an upper bound on how finely
	// two timestamps can be told apart (it includes the cost of reading the
	// clock).
	Resolution time.Duration `json:"resolution_ns"`
	Note       string        `json:"note"`
}

// History is everything recorded in a run: plain data, JSON-serialisable,
// safe to copy. All times are durations since the recorder's start on Go's
// monotonic clock. Empty lists are nil.
type History struct {
	Meta    RunMeta        `json:"meta"`
	Clock   Clock          `json:"clock"`
	Ops     []Op           `json:"ops"`
	Samples []SampleRecord `json:"samples"`
	Events  []EventRecord  `json:"events"`
	// Final is nil until RecordFinal was called.
	Final *FinalState `json:"final"`
	// DroppedSamples counts samples whose value was NaN or infinite; they
	// are not recorded (JSON cannot carry them).
	DroppedSamples int `json:"dropped_samples,omitempty"`
	// Netem is how faithfully the userspace netem agents held each link
	// (RecordNetem); nil without a WAN or with the kernel backend.
	Netem []LinkFidelity `json:"netem,omitempty"`
	// Resolutions are the finest step each metric can show
	// (SetResolution): a value under it means "less than it".
	Resolutions map[string]time.Duration `json:"resolutions_ns,omitempty"`
	// Figures and Tables are the scenario's own measurements (RecordFigure,
	// RecordTable), in the order recorded.
	Figures []Figure `json:"figures,omitempty"`
	Tables  []Table  `json:"tables,omitempty"`
}

// DefaultHeartbeatResolution is the resolution of MetricLagHeartbeatSeconds
// in a history that does not record one (SetResolution): the heartbeat
// period the workload used before it was recorded.
const DefaultHeartbeatResolution = 50 * time.Millisecond

// MetricResolution is the finest step of metric in h: what SetResolution
// recorded, else DefaultHeartbeatResolution for heartbeat lag, else zero
// (exact to its unit).
func (h History) MetricResolution(metric string) time.Duration {
	if d, ok := h.Resolutions[metric]; ok {
		return d
	}
	if metric == MetricLagHeartbeatSeconds {
		return DefaultHeartbeatResolution
	}
	return 0
}

// Recorder records a run's history on one monotonic clock. It is safe for
// concurrent use; each call takes one short lock.
type Recorder struct {
	start time.Time // carries the monotonic reading
	clock Clock

	mu      sync.Mutex
	meta    RunMeta
	ops     chunked[Op]
	samples chunked[SampleRecord]
	events  chunked[EventRecord]
	final   *FinalState
	dropped int
	netem   []LinkFidelity
	res     map[string]time.Duration
	figures []Figure
	tables  []Table
}

// chunkSize is how many records a chunk holds. Records live in fixed
// chunks, never moved once written: appending costs no copying, and a
// Pending can point at its operation.
const chunkSize = 4096

// chunked is an append-only list in fixed-size chunks.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

func (c *chunked[T]) add(v T) *T {
	if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == chunkSize {
		c.chunks = append(c.chunks, make([]T, 0, chunkSize))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
	return &(*last)[len(*last)-1]
}

// flatten copies the records into one slice, nil when there are none.
func (c *chunked[T]) flatten() []T {
	if c.n == 0 {
		return nil
	}
	out := make([]T, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

// Pending is an operation that has begun. End it exactly once; later calls
// are ignored.
type Pending struct {
	r  *Recorder
	op *Op // in r.ops; guarded by r.mu
	// done is guarded by r.mu.
	done bool
}

// resolutionProbes is how many clock readings NewRecorder takes to find the
// clock's step (about 20 µs on a modern machine).
const resolutionProbes = 1000

// NewRecorder starts a run's clock. meta.Started, when zero, becomes the
// wall clock now; it is stored in UTC without its monotonic reading so that
// a History survives a JSON round trip unchanged. Empty Labels become nil.
func NewRecorder(meta RunMeta) *Recorder {
	start := time.Now()
	if meta.Started.IsZero() {
		meta.Started = start
	}
	meta.Started = meta.Started.Round(0).UTC()
	meta.Labels = cloneLabels(meta.Labels)
	res := measureResolution(start)
	return &Recorder{
		start: start,
		meta:  meta,
		clock: Clock{
			Resolution: res,
			Note: "timestamps are Go monotonic clock readings (time.Since the recorder's start), in nanoseconds; " +
				"resolution is the smallest nonzero step seen over " + strconv.Itoa(resolutionProbes) +
				" readings; events from polling sources are late by up to their own resolution",
		},
	}
}

func measureResolution(start time.Time) time.Duration {
	best := time.Duration(math.MaxInt64)
	prev := time.Since(start)
	for range resolutionProbes {
		now := time.Since(start)
		if d := now - prev; d > 0 && d < best {
			best = d
		}
		prev = now
	}
	if best == math.MaxInt64 {
		return time.Millisecond // never advanced: a coarse clock; claim little
	}
	return best
}

// Now is the time since the recorder started.
func (r *Recorder) Now() time.Duration { return time.Since(r.start) }

// Begin records an operation's invocation and returns the handle to end it.
func (r *Recorder) Begin(s OpStart) *Pending {
	r.mu.Lock()
	op := r.ops.add(Op{
		ID:      int64(r.ops.n + 1),
		Kind:    s.Kind,
		Process: s.Process,
		Target:  s.Target,
		Key:     s.Key,
		Invoke:  time.Since(r.start),
	})
	r.mu.Unlock()
	return &Pending{r: r, op: op}
}

// End records the operation's completion. Only the first call counts. An
// empty Outcome is taken as Unknown.
func (p *Pending) End(e OpEnd) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	op := p.op
	op.Complete = time.Since(r.start)
	op.Outcome = e.Outcome
	if op.Outcome == "" {
		op.Outcome = Unknown
	}
	op.Member = e.Member
	op.Timeline = e.Timeline
	op.Found = e.Found
	op.LSN = e.LSN
	if e.Err != nil {
		op.Err = e.Err.Error()
	}
}

// Sample records a measured value now. NaN and infinite values are
// dropped and counted in History.DroppedSamples.
func (r *Recorder) Sample(s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Since(r.start)
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		r.dropped++
		return
	}
	r.samples.add(SampleRecord{At: at, Metric: s.Metric, Node: s.Node, Value: s.Value})
}

// Event records an event now and returns its time.
func (r *Recorder) Event(e Event) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Since(r.start)
	r.events.add(EventRecord{At: at, Kind: e.Kind, Node: e.Node, Detail: e.Detail, Resolution: e.Resolution, How: e.How})
	return at
}

// EventSpan records an event caused by an operation that ran from begin to
// end on the run's clock (both read with Now): the event's time is begin,
// when the operation started, never when its call returned. It returns
// begin. An end before begin is taken as begin.
func (r *Recorder) EventSpan(e Event, begin, end time.Duration) time.Duration {
	end = max(end, begin)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events.add(EventRecord{At: begin, End: end, Kind: e.Kind, Node: e.Node, Detail: e.Detail, Resolution: e.Resolution, How: e.How})
	return begin
}

// SetResolution records the finest step metric can show: the heartbeat
// lag, for one, is measured to the heartbeat period, so a sample under it
// means "less than one period". A later call replaces an earlier one.
func (r *Recorder) SetResolution(metric string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.res == nil {
		r.res = map[string]time.Duration{}
	}
	r.res[metric] = d
}

// RecordFinal records what the (new) leader holds after convergence. A
// later call replaces an earlier one.
func (r *Recorder) RecordFinal(f FinalState) {
	f.Keys = slices.Clone(f.Keys)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.final = &f
}

// RecordNetem records how faithfully each emulated link was held. A later
// call replaces an earlier one.
func (r *Recorder) RecordNetem(fs []LinkFidelity) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.netem = slices.Clone(fs)
}

// SetBackend records the netem backend the run's impairments used, when
// it was chosen after the recorder started (a lab without a WAN picks
// one at its first slowed link).
func (r *Recorder) SetBackend(backend string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.meta.Backend = backend
}

// RecordFigure records one named measurement of the scenario's.
func (r *Recorder) RecordFigure(f Figure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, f)
}

// RecordTable records a table of the scenario's; a malformed one (rows
// that do not match the columns) is refused.
func (r *Recorder) RecordTable(t Table) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("record table: %w", err)
	}
	t.Columns = slices.Clone(t.Columns)
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = slices.Clone(r)
	}
	t.Rows = rows
	t.Settings = maps.Clone(t.Settings)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tables = append(r.tables, t)
	return nil
}

// AckedWrites counts the acknowledged (ok) OpWrite operations invoked at
// or after since, without copying the history: pollers waiting for writes
// to resume call it every few milliseconds.
func (r *Recorder) AckedWrites(since time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ch := range r.ops.chunks {
		for i := range ch {
			if o := &ch[i]; o.Kind == OpWrite && o.Outcome == OK && o.Invoke >= since {
				n++
			}
		}
	}
	return n
}

// History returns a deep copy of everything recorded so far. Operations
// still pending are included as Unknown, completed now.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Since(r.start)
	h := History{
		Meta:           r.meta,
		Clock:          r.clock,
		Ops:            r.ops.flatten(),
		Samples:        r.samples.flatten(),
		Events:         r.events.flatten(),
		DroppedSamples: r.dropped,
		Netem:          slices.Clone(r.netem),
		Figures:        slices.Clone(r.figures),
		Tables:         slices.Clone(r.tables),
	}
	if len(r.res) > 0 {
		h.Resolutions = make(map[string]time.Duration, len(r.res))
		for k, v := range r.res {
			h.Resolutions[k] = v
		}
	}
	h.Meta.Labels = cloneLabels(r.meta.Labels)
	for i := range h.Ops {
		if h.Ops[i].Outcome == "" {
			h.Ops[i].Complete = now
			h.Ops[i].Outcome = Unknown
			h.Ops[i].Err = ErrPendingText
		}
	}
	if r.final != nil {
		f := *r.final
		f.Keys = slices.Clone(f.Keys)
		h.Final = &f
	}
	return h
}

// OpsSince returns copies of the operations with an id above id, in id
// order, for pollers that wait for a write to be acknowledged: unlike
// History it copies only what is new. Pending operations show an empty
// Outcome and a zero Complete.
func (r *Recorder) OpsSince(id int64) []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < 0 {
		id = 0
	}
	if id >= int64(r.ops.n) {
		return nil
	}
	out := make([]Op, 0, int64(r.ops.n)-id)
	for i := id; i < int64(r.ops.n); i++ {
		out = append(out, r.ops.chunks[i/chunkSize][i%chunkSize])
	}
	return out
}

func cloneLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
