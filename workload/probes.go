package workload

import (
	"context"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// Probe keys live in their own range, far above the writer's ids, so a
// probe write can never be mistaken for a workload write:
// ProbeKeyBase + nodeIndex*ProbeKeyStride + seq.
const (
	ProbeKeyBase   = 1_000_000_000
	ProbeKeyStride = 10_000_000
	// ProbePeriod is the default time between two probes of one node.
	ProbePeriod = 100 * time.Millisecond
	// probeConnectTimeout bounds a reconnect: a dead node must not stall
	// its probe for longer than a few periods.
	probeConnectTimeout = 300 * time.Millisecond
	// probeOpTimeout bounds one insert; a timeout after sending is unknown.
	probeOpTimeout = time.Second
)

// Probes writes directly to every database node; Stop ends them and waits.
type Probes struct {
	writers []*Workload
}

// Stop ends every probe and waits for its last write to be recorded.
func (p *Probes) Stop() {
	for _, w := range p.writers {
		w.Stop()
	}
}

// ProbeRequest configures StartProbes.
type ProbeRequest struct {
	// Period between two probes of one member (default ProbePeriod).
	Period time.Duration
	// Run is the run id written with every row.
	Run string
}

// StartProbes inserts a row directly on EVERY database node every period
// (default ProbePeriod), bypassing the endpoint, so the split-brain checker
// can see two members accepting writes at once. Each probe is the lab's
// writer aimed at one node: recorded as results.OpProbe with process
// "probe:<node>" and target the node, outcomes classified alike. Writes to
// a replica fail ("read-only transaction"), as expected, and keep the
// session; any other error reconnects, within probeConnectTimeout. The
// workload table must exist (Prepare).
func StartProbes(ctx context.Context, lab *harness.Lab, rec *results.Recorder, req ProbeRequest) *Probes {
	period := req.Period
	if period <= 0 {
		period = ProbePeriod
	}
	p := &Probes{}
	i := 0
	for _, h := range lab.Hosts() {
		if h.Role != harness.RoleNode {
			continue
		}
		p.writers = append(p.writers, StartWriter(ctx, lab, rec, WriterConfig{
			Kind:              results.OpProbe,
			Process:           "probe:" + h.Name,
			Target:            h.Name,
			FirstKey:          int64(ProbeKeyBase + i*ProbeKeyStride),
			Rate:              float64(time.Second) / float64(period),
			OpTimeout:         probeOpTimeout,
			ConnectTimeout:    probeConnectTimeout,
			KeepOnServerError: true,
			Run:               req.Run,
		}))
		i++
	}
	return p
}
