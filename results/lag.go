package results

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Lag phases.
const (
	LagSteady = "steady" // before the first fault
	LagDuring = "during" // inside a fault window (see Faults)
	LagAfter  = "after"  // after the first fault, outside every window
	LagRejoin = "rejoin" // a faulted node catching up after its heal (see Rejoins)
)

// Stats summarises a set of values by nearest-rank percentiles. With Count
// zero the other fields are zero and meaningless.
type Stats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// NewStats summarises values (in any order; the slice is not modified).
func NewStats(values []float64) Stats {
	if len(values) == 0 {
		return Stats{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	return Stats{Count: len(v), P50: rank(v, 0.50), P95: rank(v, 0.95), P99: rank(v, 0.99), Max: v[len(v)-1]}
}

// rank is the nearest-rank percentile of sorted values: the smallest value
// with at least q of them at or below it.
func rank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Sample gaps: NULL or unreadable lag is not sampled at all, so a span
// without samples is "no measurement", never zero lag. A node's series has
// a gap wherever consecutive samples are more than GapFactor sampling
// periods apart; plots break their line there.
const GapFactor = 3

// DefaultRejoinLag is the lag under which a returning node counts as caught
// up when no replication-lag target is set.
const DefaultRejoinLag = time.Second

// NodeLag is one follower's lag, overall and per phase.
type NodeLag struct {
	Node   string `json:"node"`
	All    Stats  `json:"all"`
	Steady Stats  `json:"steady"`
	During Stats  `json:"during"`
	After  Stats  `json:"after"`
	// Rejoin covers the node's catch-up after its own fault was healed
	// (see Rejoins): reported, not judged.
	Rejoin Stats `json:"rejoin"`
	// Judged is Steady and After together: what the lag SLA judges.
	Judged Stats `json:"judged"`
	// Period is the node's sampling period (the median spacing of its
	// samples); Gaps counts spans of more than GapFactor periods without a
	// sample, the longest lasting LongestGap.
	Period     time.Duration `json:"period_ns"`
	Gaps       int           `json:"gaps"`
	LongestGap time.Duration `json:"longest_gap_ns"`
}

// LagReport is the outcome of Lag for one metric.
type LagReport struct {
	Metric string `json:"metric"`
	// Resolution is the metric's finest step (History.MetricResolution):
	// values under it read as "< Resolution".
	Resolution time.Duration `json:"resolution_ns,omitempty"`
	Nodes      []NodeLag     `json:"nodes"`
}

// Rejoin is a node's catch-up after a fault was healed: from the heal's
// begin until its lag first drops to the threshold or it is seen streaming
// (EventStreaming), whichever comes first. The faulted node always has one;
// when the leader changed during the fault, so does every other follower
// still behind at the heal (Reconnect): after a failover a follower waits
// to reconnect to the new leader (PostgreSQL's wal_retrieve_retry_interval)
// and its readers see old data meanwhile. That is the failover's cost,
// reported here, not the steady lag an SLA percentile judges.
type Rejoin struct {
	Node string `json:"node"`
	// Fault is the FaultWindow.Index of the healed fault.
	Fault int           `json:"fault"`
	From  time.Duration `json:"from_ns"`
	To    time.Duration `json:"to_ns"`
	// Duration is To − From.
	Duration time.Duration `json:"duration_ns"`
	// Done is false when the node had not caught up when the run ended
	// (To is then the run's end).
	Done bool `json:"done"`
	// How says what ended it: "lag ≤ 1s" or "streaming".
	How string `json:"how,omitempty"`
	// Reconnect is true for a follower that was not the fault's target
	// but had to follow a new leader.
	Reconnect bool `json:"reconnect,omitempty"`
}

// ReconnectWindow bounds how long after an election (or the heal, if
// later) a follower may first fall behind and still count as waiting for
// the new leader: PostgreSQL's walreceiver retries its upstream every
// wal_retrieve_retry_interval (5s by default), and Patroni repoints a
// follower within a loop or two. Lag that first appears later is steady
// lag, and judged.
const ReconnectWindow = 15 * time.Second

// EventStreaming marks a member seen streaming from its upstream again
// (pg_stat_replication state "streaming"); Node is the member. It ends a
// Rejoin.
const EventStreaming = "member.streaming"

// Rejoins finds, for every healed fault, the catch-up of the nodes it
// struck and of the followers it cut from their upstream:
//   - each faulted node seen following after the heal (see
//     rejoinScan.rejoin): from the heal's begin to its first sample of
//     metric at or under threshold once it follows;
//   - when the leader changed inside the fault's window, or the fault
//     struck the node leading at its begin (a leader restarted in place),
//     every other follower that falls behind within ReconnectWindow
//     (Reconnect): until its first sample back at or under threshold.
func Rejoins(h History, metric string, threshold time.Duration) []Rejoin {
	lagged := map[string]bool{}
	for _, s := range h.Samples {
		lagged[s.Node] = true
	}
	rs := rejoinScan{ev: sortedEvents(h), samples: slices.Clone(h.Samples), metric: metric, threshold: threshold, runEnd: RunEnd(h)}
	slices.SortStableFunc(rs.samples, func(a, b SampleRecord) int { return cmp.Compare(a.At, b.At) })
	var out []Rejoin
	for _, f := range Faults(h) {
		if f.EndReason != EndHealed || f.Node == "" {
			continue
		}
		faulted := FaultedNodes(f.Node)
		led := rs.leaderAt(f.Injected)
		elected, leader := time.Duration(-1), ""
		for _, e := range rs.ev {
			if e.Kind == EventLeaderChanged && e.Detail != "initial" && e.At >= f.Injected && e.At <= max(f.HealEnd, f.End) {
				elected, leader = e.At, e.Node
				break
			}
		}
		for _, n := range faulted {
			if r, ok := rs.rejoin(f, n); ok {
				out = append(out, r)
			}
		}
		switch {
		case elected >= 0:
		case led != "" && slices.Contains(faulted, led):
			elected, leader = f.Injected, led // its followers lost their upstream
		default:
			continue
		}
		for _, n := range sortedKeys(lagged) {
			if slices.Contains(faulted, n) || n == leader {
				continue // the new leader follows nobody
			}
			if r, ok := rs.reconnect(f, n, elected); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// PendingRejoins lists the rejoins of h still under way: not caught up,
// and sampled since their heal (a node without a sample is not known to
// follow at all, and waiting would not change that). The metric and
// threshold are the lag check's for targets t, so that once it is empty
// the check sees every rejoin done.
func PendingRejoins(h History, t Targets) []Rejoin {
	metric := lagMetric(h)
	var out []Rejoin
	for _, r := range Rejoins(h, metric, rejoinLag(t)) {
		if _, sampled := lastSample(h.Samples, metric, r.Node, r.From); !r.Done && sampled {
			out = append(out, r)
		}
	}
	return out
}

// lastSample is node's last sample of metric at or after from.
func lastSample(samples []SampleRecord, metric, node string, from time.Duration) (float64, bool) {
	at, v := time.Duration(-1), 0.0
	for _, s := range samples {
		if s.Metric == metric && s.Node == node && s.At >= from && s.At >= at {
			at, v = s.At, s.Value
		}
	}
	return v, at >= 0
}

// rejoinScan holds a history's events and samples in time order for
// Rejoins.
type rejoinScan struct {
	ev        []EventRecord
	samples   []SampleRecord
	metric    string
	threshold time.Duration
	runEnd    time.Duration
}

// leaderAt is the node the last leader.changed at or before at named.
func (rs rejoinScan) leaderAt(at time.Duration) string {
	leader := ""
	for _, e := range rs.ev {
		if e.At > at {
			break
		}
		if e.Kind == EventLeaderChanged {
			leader = e.Node
		}
	}
	return leader
}

// ledFrom ends r when node became the leader before it caught up: a
// leader follows nobody, so from then on its lag is no rejoin (a replica
// promoted after the fault was healed, as a runbook does).
func (rs rejoinScan) ledFrom(r *Rejoin, node string, from time.Duration) {
	for _, e := range rs.ev {
		if e.At > r.To {
			return
		}
		if e.Kind == EventLeaderChanged && e.Node == node && e.At >= from {
			r.To, r.Done, r.How = e.At, true, "leads"
			return
		}
	}
}

// streamingAt is node's first EventStreaming at or after from, -1 without
// one.
func (rs rejoinScan) streamingAt(node string, from time.Duration) time.Duration {
	for _, e := range rs.ev {
		if e.Kind == EventStreaming && e.Node == node && e.At >= from {
			return e.At
		}
	}
	return -1
}

// caughtUp ends r at node's first sample of the metric at or under the
// threshold in [from, r.To).
func (rs rejoinScan) caughtUp(r *Rejoin, node string, from time.Duration) {
	for _, s := range rs.samples {
		if s.At >= r.To {
			break
		}
		if s.Metric == rs.metric && s.Node == node && s.At >= from && secondsDur(s.Value) <= rs.threshold {
			r.To, r.Done, r.How = s.At, true, "lag ≤ "+FormatDuration(rs.threshold)
			return
		}
	}
}

// rejoin is the rejoin of a node the fault struck: from the heal until
// its first low sample after it was seen following, that is its first
// EventStreaming, sample in the leader's pg_stat_replication or sample
// above threshold after the heal; or that streaming event when no sample
// follows it. A node's first samples after the heal can be low while it
// follows nobody: a demoted leader's are the age of its own last writes,
// and a restarted follower's the age of the first write it missed, which
// is small when the leader could not commit meanwhile (strict synchronous
// mode without its standbys). ok is false when it was never seen
// following, or lagged in no metric at all.
func (rs rejoinScan) rejoin(f FaultWindow, node string) (Rejoin, bool) {
	r := Rejoin{Node: node, Fault: f.Index, From: f.End, To: rs.runEnd}
	streaming := rs.streamingAt(node, f.End)
	following := streaming
	for _, s := range rs.samples {
		if following >= 0 && s.At >= following {
			break
		}
		if s.Node == node && s.At >= f.End && (fromWALSender(s.Metric) || s.Metric == rs.metric && secondsDur(s.Value) > rs.threshold) {
			following = s.At
			break
		}
	}
	if following < 0 {
		return r, false
	}
	rs.caughtUp(&r, node, following)
	rs.ledFrom(&r, node, following)
	if _, sampled := lastSample(rs.samples, rs.metric, node, following); !r.Done && streaming == following && !sampled {
		r.To, r.Done, r.How = following, true, "streaming"
	}
	r.Duration = r.To - r.From
	return r, true
}

// fromWALSender says whether metric is read from the leader's
// pg_stat_replication, where a node appears only while it streams.
func fromWALSender(metric string) bool {
	switch metric {
	case MetricLagWriteSeconds, MetricLagFlushSeconds, MetricLagReplaySeconds, MetricLagBytes:
		return true
	}
	return false
}

// reconnect is a follower's wait for its upstream, lost at elected (a new
// leader's election, or the old one's loss): its first sample above
// threshold after the later of elected and the heal's end, and within
// ReconnectWindow of it, until its first sample back at or under
// threshold after that. ok is false when it never fell behind after the
// heal. Only samples after the heal count: a follower of a leader
// restarted in place may catch up once while the fault lasts and fall
// behind again once the leader commits again, still reconnecting.
func (rs rejoinScan) reconnect(f FaultWindow, node string, elected time.Duration) (Rejoin, bool) {
	r := Rejoin{Node: node, Fault: f.Index, From: f.End, To: rs.runEnd, Reconnect: true}
	behind := time.Duration(-1)
	from := max(elected, f.End, f.HealEnd)
	for _, s := range rs.samples {
		if s.Metric != rs.metric || s.Node != node || s.At < from {
			continue
		}
		if behind < 0 {
			if s.At > from+ReconnectWindow {
				return r, false
			}
			if secondsDur(s.Value) > rs.threshold {
				behind = s.At
			}
			continue
		}
		if secondsDur(s.Value) <= rs.threshold {
			r.To, r.Done, r.How = s.At, true, "lag ≤ "+FormatDuration(rs.threshold)
			break
		}
	}
	if behind >= 0 {
		rs.ledFrom(&r, node, behind)
	}
	if behind < 0 || r.To <= f.End {
		return r, false
	}
	r.Duration = r.To - r.From
	return r, true
}

// Lag summarises one metric per node (sorted by name), split into phases:
// steady before the first fault, during inside any fault window (from its
// begin to its heal's end), rejoin for the faulted node's catch-up
// (rejoins, see Rejoins), after for the rest.
func Lag(h History, metric string, rejoins []Rejoin) LagReport {
	windows := Faults(h)
	r := LagReport{Metric: metric, Resolution: h.MetricResolution(metric)}
	type phases struct {
		all, steady, during, after, rejoin []float64
		at                                 []time.Duration
	}
	byNode := map[string]*phases{}
	for _, s := range h.Samples {
		if s.Metric != metric {
			continue
		}
		p := byNode[s.Node]
		if p == nil {
			p = &phases{}
			byNode[s.Node] = p
		}
		p.all = append(p.all, s.Value)
		p.at = append(p.at, s.At)
		switch lagPhase(windows, rejoins, s.Node, s.At) {
		case LagSteady:
			p.steady = append(p.steady, s.Value)
		case LagDuring:
			p.during = append(p.during, s.Value)
		case LagRejoin:
			p.rejoin = append(p.rejoin, s.Value)
		default:
			p.after = append(p.after, s.Value)
		}
	}
	for _, n := range sortedKeys(byNode) {
		p := byNode[n]
		nl := NodeLag{Node: n, All: NewStats(p.all), Steady: NewStats(p.steady), During: NewStats(p.during), After: NewStats(p.after),
			Rejoin: NewStats(p.rejoin), Judged: NewStats(append(slices.Clone(p.steady), p.after...))}
		slices.Sort(p.at)
		nl.Period = samplingPeriod(p.at)
		for i := 1; i < len(p.at); i++ {
			if d := p.at[i] - p.at[i-1]; nl.Period > 0 && d > GapFactor*nl.Period {
				nl.Gaps++
				nl.LongestGap = max(nl.LongestGap, d)
			}
		}
		r.Nodes = append(r.Nodes, nl)
	}
	return r
}

// samplingPeriod is the median spacing of sorted sample times, zero with
// fewer than two distinct times.
func samplingPeriod(at []time.Duration) time.Duration {
	var d []time.Duration
	for i := 1; i < len(at); i++ {
		if at[i] > at[i-1] {
			d = append(d, at[i]-at[i-1])
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// lagPhase classifies a sample of node at time at.
func lagPhase(windows []FaultWindow, rejoins []Rejoin, node string, at time.Duration) string {
	if len(windows) == 0 || at < windows[0].Injected {
		return LagSteady
	}
	for _, w := range windows {
		if at >= w.Injected && at < max(w.End, w.HealEnd) {
			return LagDuring
		}
	}
	for _, r := range rejoins {
		if r.Node == node && at >= r.From && (at < r.To || !r.Done && at <= r.To) {
			return LagRejoin
		}
	}
	return LagAfter
}

// Metrics lists the sample metrics present, sorted.
func Metrics(h History) []string {
	seen := map[string]bool{}
	for _, s := range h.Samples {
		seen[s.Metric] = true
	}
	return sortedKeys(seen)
}
