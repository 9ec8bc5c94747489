package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/netem"
)

// FaultFactory builds one kind of fault for a schedule. New draws whatever
// it chooses (which role to target, which follower) from r, so a seed
// fixes the whole sequence.
type FaultFactory struct {
	Name string
	New  func(r *rand.Rand) Fault
}

// role draws a role-based target: the leader or a seeded follower.
func role(r *rand.Rand) Selector {
	if r.IntN(2) == 0 {
		return Leader
	}
	return AnyFollower(r.Uint64())
}

// Factories lists the faults a schedule can draw from, by name: kill,
// stop, pause, restart, crash, partition, isolate, cut-dcs, cpu. Targets
// are roles (the leader, a follower) resolved when the fault is injected.
func Factories() []FaultFactory {
	return []FaultFactory{
		{"kill", func(r *rand.Rand) Fault { return Kill(role(r)) }},
		{"stop", func(r *rand.Rand) Fault { return Stop(role(r)) }},
		{"pause", func(r *rand.Rand) Fault { return Pause(role(r)) }},
		{"restart", func(r *rand.Rand) Fault { return Restart(AnyFollower(r.Uint64())) }},
		{"crash", func(r *rand.Rand) Fault { return CrashPostgres(role(r)) }},
		{"partition", func(r *rand.Rand) Fault {
			s := role(r)
			if r.IntN(2) == 0 {
				return PartitionOneWay(s, Rest)
			}
			return Partition(s, Rest)
		}},
		{"isolate", func(r *rand.Rand) Fault { return Isolate(role(r)) }},
		{"cut-dcs", func(r *rand.Rand) Fault { return CutFromDCS(Leader) }},
		{"cpu", func(r *rand.Rand) Fault { return ThrottleCPU(AnyFollower(r.Uint64()), 0.1) }},
	}
}

// WANFactories lists the faults that need an emulated WAN (more than one
// region): degrade, which draws one of the leader's region's links and
// either congests it (250ms ±25ms each way, 500ms round trip: slower than
// any link a built-in topology declares, as the overlay replaces the link's
// impairment) or cuts it. They are not in Factories: a one-region lab
// cannot take them.
func WANFactories() []FaultFactory {
	return []FaultFactory{
		{"degrade", func(r *rand.Rand) Fault {
			imps := []netem.Impairment{
				{Delay: 250 * time.Millisecond, Jitter: 25 * time.Millisecond},
				{Blackhole: true},
			}
			return DegradeLeaderLink(r.Uint64(), imps[r.IntN(len(imps))])
		}},
	}
}

// FactoriesNamed picks factories by name, from Factories and WANFactories;
// an unknown name is an error that lists the valid ones.
func FactoriesNamed(names ...string) ([]FaultFactory, error) {
	all := append(Factories(), WANFactories()...)
	var out []FaultFactory
	var valid []string
	for _, f := range all {
		valid = append(valid, f.Name)
	}
	for _, n := range names {
		found := false
		for _, f := range all {
			if f.Name == n {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("pick faults: unknown fault %q (valid: %s)", n, strings.Join(valid, ", "))
		}
	}
	return out, nil
}

// Schedule is a seeded nemesis: over Duration it waits a random gap in
// [MinGap, MaxGap], injects a fault drawn from Faults, holds it for Hold,
// heals it, and goes on; one fault at a time. The same Seed gives the same
// sequence of faults, targets (by role) and times. Defaults: MinGap 5s,
// MaxGap 15s, Hold 10s, Faults all of Factories().
type Schedule struct {
	Seed                           int64
	Duration, MinGap, MaxGap, Hold time.Duration
	Faults                         []FaultFactory
	// Log receives one record per step, each with the seed (default: none).
	Log *slog.Logger
}

// Step is one planned fault: injected At after the start, healed Hold later.
type Step struct {
	At    time.Duration
	Hold  time.Duration
	Fault Fault
}

func (s Step) String() string {
	return fmt.Sprintf("t+%s %s for %s", s.At, describe(s.Fault), s.Hold)
}

func describe(f Fault) string {
	if s, ok := f.(fmt.Stringer); ok {
		return s.String()
	}
	return f.Name()
}

func (s *Schedule) defaults() {
	if s.MinGap <= 0 {
		s.MinGap = 5 * time.Second
	}
	if s.MaxGap < s.MinGap {
		s.MaxGap = max(s.MinGap, 15*time.Second)
	}
	if s.Hold <= 0 {
		s.Hold = 10 * time.Second
	}
	if len(s.Faults) == 0 {
		s.Faults = Factories()
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

// Plan draws the steps from the seed. It is pure: the same schedule gives
// the same plan.
func (s Schedule) Plan() []Step {
	s.defaults()
	r := rand.New(rand.NewPCG(uint64(s.Seed), 0x6e656d65736973))
	var steps []Step
	t := time.Duration(0)
	for {
		// Gaps are drawn in whole milliseconds: readable plans, and far
		// finer than anything a fault's effect depends on.
		gap := s.MinGap
		if span := (s.MaxGap - s.MinGap) / time.Millisecond; span > 0 {
			gap += time.Duration(r.Int64N(int64(span)+1)) * time.Millisecond
		}
		t += gap
		if t+s.Hold > s.Duration {
			return steps
		}
		f := s.Faults[r.IntN(len(s.Faults))]
		steps = append(steps, Step{At: t, Hold: s.Hold, Fault: f.New(r)})
		t += s.Hold
	}
}

// ErrNothingScheduled is returned by Check when the duration cannot hold
// a single fault.
var ErrNothingScheduled = errors.New("the schedule holds no fault")

// Check says why a schedule would run no fault: its duration is shorter
// than the smallest gap plus one hold. A nemesis that schedules nothing
// must not pass for one that found nothing.
func (s Schedule) Check() error {
	s.defaults()
	if len(s.Plan()) > 0 {
		return nil
	}
	return fmt.Errorf("%w: with seed %d a %s run fits no fault: each starts after a gap drawn from [%s, %s] and is held %s; "+
		"give a duration of at least %s (the longest gap plus the hold) for any seed, or a shorter hold or gap",
		ErrNothingScheduled, s.Seed, s.Duration, s.MinGap, s.MaxGap, s.Hold, s.MaxGap+s.Hold)
}

// Executed is one step as it ran, relative to the schedule's start: the
// resolved target, when the fault began and when its inject returned
// (Injected, InjectEnd: the begin and end stamps of chaos.Active), and
// when its heal began and returned.
type Executed struct {
	Step
	Target              string
	Injected, InjectEnd time.Duration
	Healed, HealEnd     time.Duration
	Err                 error
}

// Run executes the plan with inj, which records every inject and heal. A
// step begins at its planned time (later if the previous heal overran),
// and is held for Hold from the fault's begin stamp, not from when its
// inject call returned. A step that fails to inject is logged and skipped;
// every fault is healed before Run returns, on cancel too. It returns what
// ran and the errors joined (ctx's cancellation is not an error).
func (s Schedule) Run(ctx context.Context, inj *Injector) ([]Executed, error) {
	s.defaults()
	log := s.Log.With("seed", s.Seed)
	plan := s.Plan()
	log.Info("nemesis", "faults", len(plan), "duration", s.Duration)
	start := inj.Now()
	startWall := inj.wall(start)
	var done []Executed
	var errs []error
	for _, st := range plan {
		if err := clock.Until(ctx, startWall.Add(st.At)); err != nil {
			break
		}
		a, err := inj.Inject(ctx, st.Fault)
		if err != nil {
			ex := Executed{Step: st, Injected: inj.Now() - start, Err: err}
			ex.InjectEnd = ex.Injected
			errs = append(errs, fmt.Errorf("step %s: %w", st, err))
			log.Warn("inject failed", "step", st.String(), "err", err)
			done = append(done, ex)
			continue
		}
		ex := Executed{Step: st, Target: a.Target, Injected: a.Injected - start, InjectEnd: a.InjectEnd - start}
		if late := ex.Injected - st.At; late > 100*time.Millisecond {
			log.Warn("step began late", "fault", describe(st.Fault), "planned", st.At, "late", late.Round(time.Millisecond))
		}
		log.Info("injected", "at", ex.Injected.Round(time.Millisecond), "uncertainty", (ex.InjectEnd - ex.Injected).Round(time.Microsecond),
			"fault", describe(st.Fault), "target", a.Target, "hold", st.Hold)
		_ = clock.Until(ctx, a.Began.Add(st.Hold))
		ex.Healed = inj.Now() - start
		if err := a.Heal(ctx); err != nil {
			ex.Err = err
			errs = append(errs, err)
		}
		ex.HealEnd = inj.Now() - start
		log.Info("healed", "at", ex.Healed.Round(time.Millisecond), "took", (ex.HealEnd - ex.Healed).Round(time.Microsecond),
			"fault", describe(st.Fault), "target", a.Target, "err", ex.Err)
		done = append(done, ex)
		if ctx.Err() != nil {
			break
		}
	}
	errs = append(errs, inj.HealAll(ctx))
	return done, errors.Join(errs...)
}
