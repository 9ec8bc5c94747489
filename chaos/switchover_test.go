package chaos

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/results"
)

// switchoverCluster is the fake cluster with a manager whose switchover
// request is written at once and answered after reply.
type switchoverCluster struct {
	*fakeCluster
	reply   time.Duration
	refuse  error
	from    string
	to      string
	wroteAt time.Time
}

func (s *switchoverCluster) Switchover(_ context.Context, leader, candidate string, sent func()) error {
	s.from, s.to = leader, candidate
	s.wroteAt = time.Now()
	sent()
	time.Sleep(s.reply)
	return s.refuse
}

func TestSwitchoverIsStampedWhenTheRequestLeaves(t *testing.T) {
	c := &switchoverCluster{fakeCluster: newFake(), reply: 300 * time.Millisecond}
	rec := results.NewRecorder(results.RunMeta{ID: "switchover"})
	inj := NewInjector(c, rec)
	a, err := inj.Inject(context.Background(), Switchover(SyncStandby))
	if err != nil {
		t.Fatal(err)
	}
	if c.from != "a" || c.to != "b" || a.Target != "a" {
		t.Errorf("switched %s→%s (target %q), want a→b (the synchronous standby), target a", c.from, c.to, a.Target)
	}
	// The reply took 300ms; the stamps must bound the request, not it.
	if span := a.InjectEnd - a.Injected; span < 0 || span > 50*time.Millisecond {
		t.Errorf("switchover stamped over %s, want the time to write the request (well under the %s reply)", span, c.reply)
	}
	if !strings.Contains(a.How, "request sent") {
		t.Errorf("how = %q, want it to say the end stamp is the request leaving", a.How)
	}
	if err := inj.HealAll(context.Background()); err != nil {
		t.Fatalf("heal of a switchover: %v", err)
	}
}

func TestSwitchoverRefusedIsAnError(t *testing.T) {
	c := &switchoverCluster{fakeCluster: newFake(), refuse: errors.New("Patroni answered 412: candidate name does not match with sync_standby")}
	inj := NewInjector(c, results.NewRecorder(results.RunMeta{ID: "x"}))
	if _, err := inj.Inject(context.Background(), Switchover(Node("c"))); err == nil || !strings.Contains(err.Error(), "412") {
		t.Fatalf("refused switchover: err = %v, want the manager's refusal", err)
	}
	if _, err := NewInjector(newFake(), nil).Inject(context.Background(), Switchover(nil)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("cluster without switchovers: err = %v, want ErrUnsupported", err)
	}
}
