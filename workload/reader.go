package workload

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// The in-flight reader's default cadence (Profile.ReaderPeriod), and how
// it follows writes of unknown outcome: each is read again every period,
// up to doubtReads times, and at most maxDoubts at once.
const (
	ReaderPeriod = 20 * time.Millisecond
	doubtReads   = 50
	maxDoubts    = 16
)

// inflight is what the writer tells the in-flight reader: the key it is
// writing now (0: none yet), and the keys whose writes ended with an
// unknown outcome (a timeout, a lost connection), which may become
// visible after the writer gave up on them.
type inflight struct {
	key    atomic.Int64
	mu     sync.Mutex
	doubts []doubt
}

type doubt struct {
	key   int64
	reads int
}

// unknown records that key's write ended with an unknown outcome.
func (in *inflight) unknown(key int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.doubts) < maxDoubts {
		in.doubts = append(in.doubts, doubt{key: key})
	}
}

// nextDoubt is a key of unknown outcome to read now, in turn; false when
// there is none. A key found, or read doubtReads times, is dropped.
func (in *inflight) nextDoubt() (int64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.doubts) == 0 {
		return 0, false
	}
	d := in.doubts[0]
	in.doubts = in.doubts[1:]
	if d.reads++; d.reads < doubtReads {
		in.doubts = append(in.doubts, d)
	}
	return d.key, true
}

// seen drops key from the doubts: it is visible.
func (in *inflight) seen(key int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, d := range in.doubts {
		if d.key == key {
			in.doubts = append(in.doubts[:i], in.doubts[i+1:]...)
			return
		}
	}
}

// startInflightReader reads, every period through the read-write
// endpoint, whether the row the writer is committing right now is already
// visible to another session, and one row whose write ended with an
// unknown outcome: results.OpRead, process results.InflightReaderProcess,
// its key the writer's. A row another session saw before its writer was
// acknowledged, and that the cluster no longer has after a failover, is a
// phantom read (results.PhantomReads): what semi-sync's AFTER_COMMIT
// allows (the commit is visible before a replica acknowledged it), and
// PostgreSQL after a cancelled wait for its synchronous standby (the
// commit is visible once the wait is given up).
func startInflightReader(ctx context.Context, lab *harness.Lab, rec *results.Recorder, run string, in *inflight, period, timeout time.Duration) *Workload {
	var conn client
	read := func(ctx context.Context, key int64) bool {
		p := rec.Begin(results.OpStart{Kind: results.OpRead, Process: results.InflightReaderProcess, Target: harness.EndpointRW, Key: key})
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if conn == nil {
			c, err := dialClient(octx, lab, harness.EndpointRW)
			if err != nil {
				p.End(results.OpEnd{Outcome: results.Failed, Err: err})
				return false
			}
			conn = c
		}
		ok, member, err := conn.found(octx, key, run)
		if err != nil {
			conn.close(ctx)
			conn = nil
			p.End(results.OpEnd{Outcome: results.Failed, Err: err})
			return false
		}
		p.End(results.OpEnd{Outcome: results.OK, Found: ok, Member: member})
		return ok
	}
	return startPeriodic(ctx, period, func(ctx context.Context) {
		if key := in.key.Load(); key != 0 {
			read(ctx, key)
		}
		if key, ok := in.nextDoubt(); ok && read(ctx, key) {
			in.seen(key)
		}
	}, func() { closeClient(ctx, conn) })
}
