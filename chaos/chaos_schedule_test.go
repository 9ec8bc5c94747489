package chaos

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/netem"
)

func planStrings(s Schedule) []string {
	var out []string
	for _, st := range s.Plan() {
		out = append(out, st.String())
	}
	return out
}

func TestSchedulePlanIsDeterministic(t *testing.T) {
	s := Schedule{Seed: 42, Duration: 10 * time.Minute, MinGap: 5 * time.Second, MaxGap: 20 * time.Second, Hold: 25 * time.Second}
	a, b := planStrings(s), planStrings(s)
	if len(a) < 5 {
		t.Fatalf("a 10-minute schedule planned only %d faults: %v", len(a), a)
	}
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different plans:\n%v\n%v", a, b)
	}
	s.Seed = 43
	if c := planStrings(s); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 planned the same: %v", a)
	}
	var last time.Duration
	for _, st := range s.Plan() {
		if st.At < last+s.MinGap || st.At > last+s.MaxGap || st.At+st.Hold > s.Duration {
			t.Errorf("step %s breaks the gaps [%s, %s] after %s or the duration", st, s.MinGap, s.MaxGap, last)
		}
		last = st.At + st.Hold
	}
}

func TestScheduleDrawsOnlyChosenFaults(t *testing.T) {
	fs, err := FactoriesNamed("pause", "cut-dcs")
	if err != nil {
		t.Fatal(err)
	}
	s := Schedule{Seed: 7, Duration: time.Hour, Faults: fs}
	seen := map[string]bool{}
	for _, st := range s.Plan() {
		seen[st.Fault.Name()] = true
	}
	if len(seen) != 2 || !seen["pause"] || !seen["cut-dcs"] {
		t.Errorf("drew %v, want exactly pause and cut-dcs", seen)
	}
	if _, err := FactoriesNamed("kill", "nope"); err == nil {
		t.Error("an unknown fault name was accepted")
	}
}

// TestScheduleReplay runs the same seed twice on fresh fake clusters: the
// recorded sequence of faults and targets must be identical, and nothing
// may be left behind.
func TestScheduleReplay(t *testing.T) {
	run := func(seed int64) ([]string, []string) {
		f := newFake()
		rec := &fakeRecorder{}
		s := Schedule{Seed: seed, Duration: 200 * time.Millisecond, MinGap: time.Millisecond, MaxGap: 5 * time.Millisecond, Hold: 2 * time.Millisecond}
		done, err := s.Run(context.Background(), NewInjector(f, rec))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if l := f.leftovers(); len(l) > 0 {
			t.Errorf("seed %d left %v", seed, l)
		}
		var steps []string
		for _, e := range done {
			steps = append(steps, e.Step.Fault.Name()+" "+e.Target+" at "+e.At.String())
		}
		return steps, rec.list()
	}
	s1, e1 := run(99)
	s2, e2 := run(99)
	if len(s1) < 10 {
		t.Fatalf("only %d steps ran", len(s1))
	}
	if !slices.Equal(s1, s2) || !slices.Equal(e1, e2) {
		t.Errorf("replay differs:\n%v\n%v\nevents:\n%v\n%v", s1, s2, e1, e2)
	}
	if s3, _ := run(100); slices.Equal(s1, s3) {
		t.Errorf("seeds 99 and 100 ran the same steps: %v", s1)
	}
}

func TestScheduleHealsOnCancel(t *testing.T) {
	f := newFake()
	fs, _ := FactoriesNamed("pause")
	s := Schedule{Seed: 1, Duration: 2 * time.Hour, MinGap: time.Millisecond, MaxGap: time.Millisecond, Hold: time.Hour, Faults: fs}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done, _ := s.Run(ctx, NewInjector(f, nil))
	if len(done) != 1 {
		t.Fatalf("ran %d steps, want the one cut short", len(done))
	}
	if l := f.leftovers(); len(l) > 0 {
		t.Errorf("cancel left %v", l)
	}
}

// TestNemesisDegradesTheLeadersLinks draws degrade faults on a two-region
// fake: each targets a link of the leader's region, every link is restored
// by the end, and a one-region cluster refuses the fault.
func TestNemesisDegradesTheLeadersLinks(t *testing.T) {
	lf := &linkFake{fakeCluster: newFake()}
	s := Schedule{Seed: 5, Duration: 100 * time.Millisecond, MinGap: time.Millisecond, MaxGap: 3 * time.Millisecond, Hold: time.Millisecond, Faults: WANFactories()}
	done, err := s.Run(context.Background(), NewInjector(lf, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(done) < 3 {
		t.Fatalf("ran %d steps, want several", len(done))
	}
	for _, e := range done {
		if e.Target != "r1<->r2" {
			t.Errorf("step %s degraded %q, want the leader's region r1 to r2", e.Step, e.Target)
		}
	}
	if err := VerifyBaseline(context.Background(), lf); err != nil {
		t.Errorf("after the nemesis: %v", err)
	}

	one := &linkFake{fakeCluster: newFake()}
	for i := range one.hosts {
		one.hosts[i].Region = "r1"
	}
	if _, err := NewInjector(one, nil).Inject(context.Background(), DegradeLeaderLink(0, netem.Impairment{Blackhole: true})); err == nil || !strings.Contains(err.Error(), "no WAN") {
		t.Errorf("degrade on one region: %v, want a refusal", err)
	}
	if len(one.calls) != 0 {
		t.Errorf("a refused degrade touched links: %v", one.calls)
	}
}

// TestScheduleCheckRefusesAnEmptyPlan: a nemesis that schedules nothing
// must say so instead of passing for one that found nothing.
func TestScheduleCheckRefusesAnEmptyPlan(t *testing.T) {
	s := Schedule{Seed: 3, Duration: 30 * time.Second, Hold: 25 * time.Second}
	if err := s.Check(); !errors.Is(err, ErrNothingScheduled) {
		t.Fatalf("Check() = %v, want ErrNothingScheduled", err)
	}
	s.Duration = 40 * time.Second // MaxGap 15s + Hold 25s: fits for any seed
	if err := s.Check(); err != nil {
		t.Fatalf("Check() = %v for a duration that fits one fault", err)
	}
	if len(s.Plan()) == 0 {
		t.Fatal("Check passed but the plan is empty")
	}
}
