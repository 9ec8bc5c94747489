package chaos

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replab/replab/results"
)

// slowKillCluster dies the moment Kill is called but, like Docker's kill
// API for SIGKILL, returns only after a slow teardown. Writes fail from the
// kill until down has passed (the failover), then succeed again.
type slowKillCluster struct {
	teardown, down time.Duration

	mu     sync.Mutex
	killed time.Time // zero while alive
}

func (c *slowKillCluster) LeaderName(context.Context) (string, error) { return "n1", nil }
func (c *slowKillCluster) Start(context.Context, string) error        { return nil }

func (c *slowKillCluster) Kill(ctx context.Context, _, _ string) error {
	c.mu.Lock()
	c.killed = time.Now()
	c.mu.Unlock()
	select {
	case <-time.After(c.teardown):
	case <-ctx.Done():
	}
	return nil
}

// writable says whether a write now would be acknowledged.
func (c *slowKillCluster) writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.killed.IsZero() || time.Since(c.killed) >= c.down
}

// TestSlowKillGivesTrueRTO runs a writer every 10ms against a cluster whose
// kill call takes 500ms to return, and checks the failover report against
// the outage the cluster really had (2s). Stamping the fault when the call
// returns would report an RTO 500ms short.
func TestSlowKillGivesTrueRTO(t *testing.T) {
	const (
		teardown = 500 * time.Millisecond
		down     = 2 * time.Second
		period   = 10 * time.Millisecond
	)
	c := &slowKillCluster{teardown: teardown, down: down}
	rec := results.NewRecorder(results.RunMeta{ID: "slow-kill"})
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for key := int64(1); !stop.Load(); key++ {
			p := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: "writer-0", Target: results.TargetRW, Key: key})
			out := results.Failed
			if c.writable() {
				out = results.OK
			}
			p.End(results.OpEnd{Outcome: out, Member: "n1"})
			time.Sleep(period)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	inj := NewInjector(c, rec)
	a, err := inj.Inject(context.Background(), Kill(Leader))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(down + 500*time.Millisecond)
	if err := inj.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if span := a.InjectEnd - a.Injected; span < teardown {
		t.Errorf("inject stamped over %s, want at least the %s the call took (begin before, end after)", span, teardown)
	}
	f := results.FailoverPhases(rec.History(), 0)
	if !f.Recovered {
		t.Fatalf("no recovery found: %+v", f)
	}
	// The writer notices recovery within one period (plus scheduling).
	if f.RTO < down || f.RTO > down+5*period {
		t.Errorf("RTO %s, want the true outage %s (+ at most %s of writer period): the fault must be dated by its begin stamp", f.RTO, down, 5*period)
	}
	last := f.Phase(results.PhaseLastOKWrite)
	if !last.Present {
		t.Fatal("no last ok write before the fault")
	}
	// The last ok write is the last write that completed before the
	// fault's begin: no other write of the writer completed in between.
	// (How long before depends on scheduling on a loaded machine.)
	if gap := f.Fault.Injected - last.At; gap < 0 {
		t.Errorf("last ok write %s after the fault's begin", -gap)
	}
	for _, o := range rec.History().Ops {
		if o.Process == "writer-0" && o.Complete > last.At && o.Complete < f.Fault.Injected {
			t.Errorf("write %d completed (%s) at %s, between the last ok write (%s) and the fault's begin (%s)", o.Key, o.Outcome, o.Complete, last.At, f.Fault.Injected)
		}
	}
}
