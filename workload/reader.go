package workload

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// ReaderPeriod is how often the in-flight reader looks.
const ReaderPeriod = 20 * time.Millisecond

// inflight is the key the writer is writing now (0: none yet), shared
// with the in-flight reader.
type inflight struct{ key atomic.Int64 }

// startInflightReader reads, every ReaderPeriod through the read-write
// endpoint, whether the row the writer is committing right now is already
// visible to another session: results.OpRead, process
// results.InflightReaderProcess, its key the writer's. A row another
// session saw before its writer was acknowledged, and that the cluster
// no longer has after a failover, is a phantom read (results.PhantomReads):
// what semi-sync's AFTER_COMMIT allows (the commit is visible before a
// replica acknowledged it) and AFTER_SYNC does not.
func startInflightReader(ctx context.Context, lab *harness.Lab, rec *results.Recorder, run string, in *inflight, timeout time.Duration) *Workload {
	var conn client
	return startPeriodic(ctx, ReaderPeriod, func(ctx context.Context) {
		key := in.key.Load()
		if key == 0 {
			return
		}
		p := rec.Begin(results.OpStart{Kind: results.OpRead, Process: results.InflightReaderProcess, Target: harness.EndpointRW, Key: key})
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if conn == nil {
			c, err := dialClient(octx, lab, harness.EndpointRW)
			if err != nil {
				p.End(results.OpEnd{Outcome: results.Failed, Err: err})
				return
			}
			conn = c
		}
		ok, member, err := conn.found(octx, key, run)
		if err != nil {
			conn.close(ctx)
			conn = nil
			p.End(results.OpEnd{Outcome: results.Failed, Err: err})
			return
		}
		p.End(results.OpEnd{Outcome: results.OK, Found: ok, Member: member})
	}, func() { closeClient(ctx, conn) })
}
