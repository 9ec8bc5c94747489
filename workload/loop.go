package workload

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
)

// Workload is a running client; Stop ends it and waits.
type Workload struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Stop ends the workload and waits for its last operation to complete.
func (w *Workload) Stop() {
	w.cancel()
	<-w.done
}

func startWorkload(ctx context.Context, run func(context.Context)) *Workload {
	ctx, cancel := context.WithCancel(ctx)
	w := &Workload{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		run(ctx)
	}()
	return w
}

// startGroup runs the workloads start starts as one: Stop stops them all.
func startGroup(ctx context.Context, start func(context.Context) []*Workload) *Workload {
	return startWorkload(ctx, func(ctx context.Context) {
		ws := start(ctx)
		<-ctx.Done()
		for _, w := range ws {
			w.Stop()
		}
	})
}

// startPeriodic runs step every period until the workload stops, then
// cleanup (which may be nil).
func startPeriodic(ctx context.Context, period time.Duration, step func(context.Context), cleanup func()) *Workload {
	return startWorkload(ctx, func(ctx context.Context) {
		if cleanup != nil {
			defer cleanup()
		}
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			step(ctx)
		}
	})
}

// startConnPeriodic runs step every period on a connection to target,
// opened on first use and again after any error step returns; each step,
// connect included, is bounded by timeout. A step that cannot connect is
// skipped.
func startConnPeriodic(ctx context.Context, lab *harness.Lab, period, timeout time.Duration, target string, step func(ctx context.Context, conn *pgx.Conn) error) *Workload {
	var conn *pgx.Conn
	return startPeriodic(ctx, period, func(ctx context.Context) {
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if conn == nil {
			c, err := lab.Connect(octx, target)
			if err != nil {
				return
			}
			conn = c
		}
		if err := step(octx, conn); err != nil {
			closeConn(ctx, conn)
			conn = nil
		}
	}, func() { closeConn(ctx, conn) })
}

func closeConn(ctx context.Context, c *pgx.Conn) {
	if c != nil {
		_ = c.Close(context.WithoutCancel(ctx))
	}
}
