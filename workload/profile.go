package workload

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// Profile is a named workload: which clients a run measures with and how
// hard they push, as etcd's robustness tests name their traffic. Every
// profile also runs the monitor (leader events), the lag sampler and the
// heartbeat: without them there is nothing to judge failover or lag by.
type Profile struct {
	Name string
	// WriteRate is the endpoint writer's rate in writes per second.
	WriteRate float64
	// SessionRate is the read-your-writes sessions' rate in write-read
	// pairs per second (one session on the read-only endpoint; in
	// semi-sync and sync modes a second one pinned to the synchronous
	// standby).
	SessionRate float64
	// ProbePeriod is the spacing of the direct writes to every member
	// that split-brain is judged by.
	ProbePeriod time.Duration
	// ReaderPeriod is the in-flight reader's (phantom reads); 0 runs
	// none, for profiles that keep the leader's load down.
	ReaderPeriod time.Duration
	// ClientRegion places the writer and the sessions (those of Sessions
	// without a Region of their own too) in a region: they connect
	// through that region's endpoint (a topology's regions.NAME.endpoint),
	// so their traffic to the leader crosses the WAN from there. Empty:
	// the primary region's endpoint. The monitor, the lag sampler and the
	// heartbeat stay on the primary region's.
	ClientRegion string
	// PrimaryWriterRate, when above 0 with a ClientRegion, adds a writer
	// in the primary region (PrimaryWriterProcess) at that rate: next to
	// the leader its commits are acknowledged a LAN round trip after they
	// are sent, and what the replicas abroad had not received is what
	// losing the region loses.
	PrimaryWriterRate float64
	// PayloadBytes, when above 0, adds that many incompressible bytes to
	// every endpoint write (WriterConfig.PayloadBytes): WAL volume without
	// more commits.
	PayloadBytes int
	// Sessions are further read-your-writes sessions run beside the
	// default ones, each with its own Process and FirstKey (a key range
	// no other client uses) and usually a Strategy. A zero Rate takes
	// SessionRate; Run is the recorder's.
	Sessions []SessionConfig
}

// Steady is the default profile: 100 writes/s through the read-write
// endpoint, 10 read-your-writes pairs/s, a probe of every member every
// 100ms.
var Steady = Profile{Name: "steady", WriteRate: 100, SessionRate: 10, ProbePeriod: ProbePeriod, ReaderPeriod: ReaderPeriod}

// Profiles lists the named profiles.
func Profiles() []Profile { return []Profile{Steady, Bulk} }

// The writer in the primary region (Profile.PrimaryWriterRate): its
// process name and first key (far from every other key range).
const (
	PrimaryWriterProcess  = "writer-primary"
	PrimaryWriterFirstKey = 2_300_000_000
)

// The read-your-writes session pinned to the synchronous standby: its
// process name and first key (far from every other key range).
const (
	SyncSessionProcess  = "session-sync"
	SyncSessionFirstKey = 2_100_000_000
)

// Start starts, on rec, every client of profile p against lab: the
// monitor, the lag sampler, the heartbeat, the writer and its in-flight
// reader (with a ReaderPeriod), the probes and the sessions, each row
// tagged with rec's run id. With the userspace netem backend, stop also
// records how faithfully each link was held meanwhile
// (results.LinkFidelity). The tables must exist (Prepare). The workload
// outlives ctx's cancellation; the returned stop ends it, is idempotent
// and waits for the last operations.
func Start(ctx context.Context, lab *harness.Lab, rec *results.Recorder, p Profile) (stop func()) {
	// The userspace agents' counters before and after the workload: how
	// faithfully each link was held while it ran.
	before := lab.WAN().Counters(ctx)
	runID := rec.History().Meta.ID // the history is still empty: cheap
	timeout := ClientTimeout(lab.Topology(), p.ClientRegion)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ws := []*Workload{StartMonitor(wctx, lab, rec), StartLagSampler(wctx, lab, rec), StartHeartbeat(wctx, lab, rec)}
	var in *inflight
	if p.ReaderPeriod > 0 {
		in = &inflight{}
		ws = append(ws, startInflightReader(wctx, lab, rec, runID, in, p.ReaderPeriod, timeout))
	}
	ws = append(ws, StartWriter(wctx, lab, rec, WriterConfig{Rate: p.WriteRate, Run: runID, PayloadBytes: p.PayloadBytes, Region: p.ClientRegion, OpTimeout: timeout, inflight: in}))
	if p.PrimaryWriterRate > 0 && p.ClientRegion != "" {
		ws = append(ws, StartWriter(wctx, lab, rec, WriterConfig{Rate: p.PrimaryWriterRate, Run: runID, Process: PrimaryWriterProcess, FirstKey: PrimaryWriterFirstKey}))
	}
	probes := StartProbes(wctx, lab, rec, ProbeRequest{Period: p.ProbePeriod, Run: runID})
	// The default read-your-writes sessions track PostgreSQL's LSNs; on
	// MariaDB only the strategy sessions run (startStrategySessionMariaDB).
	sessions := !isMariaDB(lab)
	if !sessions {
		p.Sessions = slices.DeleteFunc(slices.Clone(p.Sessions), func(sc SessionConfig) bool { return sc.Strategy == nil })
	} else {
		ws = append(ws, StartSession(wctx, lab, rec, SessionConfig{Rate: p.SessionRate, Run: runID, Region: p.ClientRegion, OpTimeout: timeout}))
	}
	if sessions && lab.Topology().Replication.Mode != topologies.Async {
		// Reads pinned to the synchronous standby: what sync
		// (remote_apply) promises and semi-sync (remote_write) does not.
		ws = append(ws, StartSession(wctx, lab, rec, SessionConfig{Rate: p.SessionRate, Run: runID, PinSync: true, Region: p.ClientRegion, OpTimeout: timeout,
			Process: SyncSessionProcess, FirstKey: SyncSessionFirstKey}))
	}
	for _, sc := range p.Sessions {
		sc.Run, sc.Rate = runID, cmp.Or(sc.Rate, p.SessionRate)
		sc.Region, sc.OpTimeout = cmp.Or(sc.Region, p.ClientRegion), cmp.Or(sc.OpTimeout, timeout)
		ws = append(ws, StartSession(wctx, lab, rec, sc))
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			probes.Stop()
			for _, w := range slices.Backward(ws) {
				w.Stop()
			}
			if len(before) > 0 {
				rctx, rcancel := context.WithTimeout(wctx, 30*time.Second)
				rec.RecordNetem(runFidelity(lab.WAN().Fidelity(before, lab.WAN().Counters(rctx))))
				rcancel()
			}
			cancel()
		})
	}
}

// runFidelity converts the lab's fidelity rows into the run's: harness
// measures them and results records and reports them, and neither imports
// the other. No rows stay nil, as results.json's omitted "netem" expects.
func runFidelity(fs []harness.LinkFidelity) []results.LinkFidelity {
	if fs == nil {
		return nil
	}
	out := make([]results.LinkFidelity, len(fs))
	for i, f := range fs {
		out[i] = results.LinkFidelity(f)
	}
	return out
}

// ClientTimeout is the operation timeout of a client in region (connect
// included): one second, or ten round trips to the primary region when
// that is longer. A new connection through a far endpoint takes several
// (TCP, startup, SCRAM authentication), and a timeout shorter than that
// would fail every reconnect.
func ClientTimeout(t *topologies.Topology, region string) time.Duration {
	timeout := time.Second
	if l, ok := t.Link(region, t.PrimaryRegion); ok && region != t.PrimaryRegion {
		timeout = max(timeout, 10*(l.RTT+2*l.Jitter))
	}
	return timeout
}
