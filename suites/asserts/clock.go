package asserts

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// ClockWriter is a writer that shares nothing with replab's workload but
// the lab's read-write endpoint: its own connection, its own loop and its
// own clock readings (time.Now, wall and monotonic). A spec runs it beside
// the workload to check replab's figures against an independent clock.
// Its rows carry their own run id, so they never count in a read-back.
type ClockWriter struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	ops []ClockOp
}

// ClockOp is one of the independent writer's inserts.
type ClockOp struct {
	Invoke, Complete time.Time
	OK               bool
}

// ClockWriterPeriod is the independent writer's spacing, the same as the
// workload's writer at 100 writes/s.
const ClockWriterPeriod = 10 * time.Millisecond

// StartClockWriter starts the independent writer on lab's read-write
// endpoint. Each insert is bounded by a second; after any error it
// reconnects.
func StartClockWriter(ctx context.Context, lab *harness.Lab) (*ClockWriter, error) {
	dsn, err := lab.DSN(harness.EndpointRW)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &ClockWriter{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var conn *pgx.Conn
		defer func() {
			if conn != nil {
				_ = conn.Close(context.Background())
			}
		}()
		tick := time.NewTicker(ClockWriterPeriod)
		defer tick.Stop()
		for key := int64(1); ; key++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			op := ClockOp{Invoke: time.Now()}
			octx, ocancel := context.WithTimeout(ctx, time.Second)
			if conn == nil {
				conn, _ = pgx.Connect(octx, dsn)
			}
			if conn != nil {
				_, err := conn.Exec(octx, `INSERT INTO replab_writes (id, process, run) VALUES ($1, 'clock-writer', 'clock-writer')`, key)
				op.OK = err == nil
				if err != nil {
					_ = conn.Close(context.Background())
					conn = nil
				}
			}
			ocancel()
			op.Complete = time.Now()
			w.mu.Lock()
			w.ops = append(w.ops, op)
			w.mu.Unlock()
		}
	}()
	return w, nil
}

// Stop ends the writer and waits for its last insert.
func (w *ClockWriter) Stop() {
	w.cancel()
	<-w.done
}

// Gap is what the independent writer saw around t: its last insert
// acknowledged before t, and its first acknowledged after t.
type Gap struct {
	LastOK, FirstOK time.Time
	Found           bool
}

// Duration is the write gap: first ok after − last ok before.
func (g Gap) Duration() time.Duration { return g.FirstOK.Sub(g.LastOK) }

// GapAround finds the write gap that spans t: the last acknowledgement of
// a write sent before t, and the first of a write sent after it. A write
// sent just before a kill can be acknowledged (its reply read) just after
// the signal: it committed before, so it belongs before the gap.
func (w *ClockWriter) GapAround(t time.Time) Gap {
	w.mu.Lock()
	defer w.mu.Unlock()
	var g Gap
	for _, op := range w.ops {
		if !op.OK {
			continue
		}
		if op.Invoke.Before(t) {
			if op.Complete.After(g.LastOK) {
				g.LastOK = op.Complete
			}
			continue
		}
		g.FirstOK, g.Found = op.Complete, !g.LastOK.IsZero()
		break
	}
	return g
}

// Bounds of the clock cross-check: replab's RTO within ClockRTOTolerance
// of the independent writer's gap, and each writer's last ok write within
// ClockBeginTolerance (two writer periods) of the fault's begin stamp.
const (
	ClockRTOTolerance   = 100 * time.Millisecond
	ClockBeginTolerance = 20 * time.Millisecond
)

// AgreesWithClockWriter checks replab's failover figures for fault against
// the independent writer: the RTO (first ok write − fault begin) within
// ClockRTOTolerance of the writer's own write gap, replab's last ok write
// sent before the fault's begin stamp, and that stamp within
// ClockBeginTolerance of the last ok write of either writer.
func AgreesWithClockWriter(h results.History, w *ClockWriter, fault *chaos.Active) {
	GinkgoHelper()
	Expect(fault).NotTo(BeNil(), "no fault to check")
	gap := w.GapAround(fault.Began)
	Expect(gap.Found).To(BeTrue(), "the independent writer saw no write acknowledged after the fault")
	f := results.FailoverPhases(h, 0)
	Expect(f.Recovered).To(BeTrue(), "replab found no recovery after the fault")
	last := f.Phase(results.PhaseLastOKWrite)
	Expect(last.Present).To(BeTrue(), "replab found no ok write before the fault")
	// A dead server acknowledges nothing: the last ok write was sent
	// before the signal, though its reply may have been read just after.
	i := slices.IndexFunc(h.Ops, func(o results.Op) bool { return o.ID == last.Op })
	Expect(i).To(BeNumerically(">=", 0), "no operation %d in the history", last.Op)
	Expect(h.Ops[i].Invoke).To(BeNumerically("<=", fault.Injected),
		"write %d was sent %s after the fault began and acknowledged: the fault is dated too early", last.Op, h.Ops[i].Invoke-fault.Injected)
	sinceLast := fault.Injected - last.At
	sinceClockLast := fault.Began.Sub(gap.LastOK)
	AddReportEntry("clock cross-check", fmt.Sprintf(
		"replab RTO %s (fault %s, uncertainty %s); independent write gap %s; last ok write → fault begin: replab %s, independent %s",
		f.RTO, fault.How, fault.InjectEnd-fault.Injected, gap.Duration(), sinceLast, sinceClockLast))
	Expect(f.RTO-gap.Duration()).To(BeNumerically("~", 0, ClockRTOTolerance),
		"replab's RTO %s vs the independent writer's gap %s", f.RTO, gap.Duration())
	for who, d := range map[string]time.Duration{"replab's writer": sinceLast, "the independent writer": sinceClockLast} {
		Expect(d).To(BeNumerically("~", 0, ClockBeginTolerance),
			"the fault began %s after %s's last ok write (negative: the reply was read after the signal)", d, who)
	}
}
