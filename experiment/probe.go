package experiment

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Stop ends every probe and waits for its last write to be recorded.
func (p *Probes) Stop() {
	p.cancel()
	p.wg.Wait()
}

// StartProbes inserts a row directly on EVERY database node every period
// (default ProbePeriod), bypassing the endpoint, so the split-brain checker
// can see two members accepting writes at once. Each write is recorded as
// results.OpProbe with process "probe:<node>" and target the node; writes
// to a replica fail ("read-only transaction"), as expected. Outcomes are
// classified like the writer's. Each node has its own connection,
// re-established (within 300ms) after any error. The workload table must
// exist (lab.PrepareWorkload).
func StartProbes(ctx context.Context, lab *harness.Lab, rec *results.Recorder, period time.Duration) *Probes {
	if period <= 0 {
		period = ProbePeriod
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Probes{cancel: cancel}
	i := 0
	for _, h := range lab.Hosts() {
		if h.Role != harness.RoleNode {
			continue
		}
		first := int64(ProbeKeyBase + i*ProbeKeyStride)
		i++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			probeNode(ctx, lab, rec, h.Name, first, period)
		}()
	}
	return p
}

func probeNode(ctx context.Context, lab *harness.Lab, rec *results.Recorder, node string, key int64, period time.Duration) {
	process := "probe:" + node
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		op := rec.Begin(results.OpStart{Kind: results.OpProbe, Process: process, Target: node, Key: key})
		key++
		if conn == nil {
			cctx, cancel := context.WithTimeout(ctx, probeConnectTimeout)
			c, err := lab.Connect(cctx, node)
			cancel()
			if err != nil {
				op.End(results.OpEnd{Outcome: results.Failed, Err: err})
				continue
			}
			conn = c
		}
		octx, cancel := context.WithTimeout(ctx, probeOpTimeout)
		_, err := conn.Exec(octx, `INSERT INTO replab_writes (id, process) VALUES ($1, $2)`, key-1, process)
		cancel()
		if err == nil {
			op.End(results.OpEnd{Outcome: results.OK, Member: node})
			continue
		}
		op.End(results.OpEnd{Outcome: harness.ClassifyWriteError(err), Member: node, Err: err})
		// A server error (read-only replica) leaves the session usable;
		// anything else may have broken it.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			_ = conn.Close(context.WithoutCancel(ctx))
			conn = nil
		}
	}
}
