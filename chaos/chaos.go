package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/replab/replab/results"
)

// Cluster is what faults need from a running lab. harness.Lab satisfies it;
// chaos never imports harness or Docker.
type Cluster interface {
	// LeaderName is the member leading now.
	LeaderName(ctx context.Context) (string, error)
	// Kill sends a signal to a member's container.
	Kill(ctx context.Context, name, signal string) error
	// Start starts a stopped or killed member's container again.
	Start(ctx context.Context, name string) error
}

// Recorder receives fault events on the run's clock. *results.Recorder
// satisfies it.
type Recorder interface {
	// Now reads the run's clock.
	Now() time.Duration
	// EventSpan records an event caused by an operation that ran from
	// begin to end (read with Now).
	EventSpan(e results.Event, begin, end time.Duration) time.Duration
}

// Heal undoes a fault. It is idempotent and must work after the spec's
// context is cancelled: the injector calls it with a context that is not.
type Heal func(ctx context.Context) error

// Fault is one reversible failure. Inject resolves its target now ("the
// leader" means whoever leads at this moment), applies the fault, and
// returns the heal; on error it leaves nothing behind. target names every
// affected host, comma-separated. Faults also implement fmt.Stringer
// ("partition the leader | the etcd members").
//
// Lifecycle:
//
//	inject ──▶ in effect ──▶ heal ──▶ recovered
//	   │ error: nothing left behind       ▲ idempotent, runs on cancel too
type Fault interface {
	Name() string
	Inject(ctx context.Context, c Cluster) (target string, heal Heal, err error)
}

// Injector applies faults to one cluster and tracks every active one, so
// that none outlives its spec: HealAll undoes what is left, on success, on
// failure and on cancel.
type Injector struct {
	cluster Cluster
	rec     Recorder
	epoch   time.Time // the clock's zero without a recorder
	// HealTimeout caps each heal run by HealAll (default 30s).
	HealTimeout time.Duration

	mu     sync.Mutex
	active []*Active
}

// Active is an injected, not yet healed fault.
type Active struct {
	Fault  string
	Target string
	// Injected is when the fault's first side effect began and InjectEnd
	// when its last one returned, on the recorder's clock (or the
	// injector's own, without one): the fault happened in [Injected,
	// InjectEnd]. How says how Injected was obtained.
	Injected, InjectEnd time.Duration
	How                 string
	// Began is Injected as a wall-clock reading (with Go's monotonic
	// reading), for holding a fault a given time from its start.
	Began time.Time
	heal  Heal
	inj   *Injector
	once  sync.Once
	err   error
}

// NewInjector returns an injector for a cluster that records fault events
// on rec (which may be nil).
func NewInjector(c Cluster, rec Recorder) *Injector {
	return &Injector{cluster: c, rec: rec, epoch: time.Now(), HealTimeout: 30 * time.Second}
}

// Now reads the injector's clock: the recorder's when it has one.
func (i *Injector) Now() time.Duration {
	if i.rec != nil {
		return i.rec.Now()
	}
	return time.Since(i.epoch)
}

// wall maps a reading of the injector's clock onto the wall clock (keeping
// Go's monotonic reading).
func (i *Injector) wall(at time.Duration) time.Time {
	now := time.Now()
	return now.Add(at - i.Now())
}

// Inject applies f and records fault.injected with its resolved target,
// stamped when its first side effect began and ended when its last one
// returned (see opStamps): a kill whose API call returns only after the
// container's teardown is still dated by the signal.
func (i *Injector) Inject(ctx context.Context, f Fault) (*Active, error) {
	st := &opStamps{now: i.Now}
	pre := i.Now()
	target, heal, err := f.Inject(withStamps(ctx, st), i.cluster)
	post := i.Now()
	if err != nil {
		return nil, err
	}
	begin, end, how := st.span(pre, post)
	a := &Active{Fault: f.Name(), Target: target, Injected: begin, InjectEnd: end, How: how, Began: i.wall(begin), heal: heal, inj: i}
	if i.rec != nil {
		i.rec.EventSpan(results.Event{Kind: results.EventFaultInjected, Node: target, Detail: f.Name(), How: how}, begin, end)
	}
	i.mu.Lock()
	i.active = append(i.active, a)
	i.mu.Unlock()
	return a, nil
}

// Heal undoes the fault once and records fault.healed. It runs even when
// ctx is cancelled, bounded by the injector's HealTimeout.
func (a *Active) Heal(ctx context.Context) error {
	a.once.Do(func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.inj.HealTimeout)
		defer cancel()
		begin := a.inj.Now()
		a.err = a.heal(hctx)
		end := a.inj.Now()
		if a.err != nil {
			a.err = fmt.Errorf("heal %s on %s: %w", a.Fault, a.Target, a.err)
		}
		if a.inj.rec != nil {
			a.inj.rec.EventSpan(results.Event{Kind: results.EventFaultHealed, Node: a.Target, Detail: a.Fault, How: "stamped around the heal call"}, begin, end)
		}
		a.inj.mu.Lock()
		a.inj.active = slices.DeleteFunc(a.inj.active, func(x *Active) bool { return x == a })
		a.inj.mu.Unlock()
	})
	return a.err
}

// HealAll heals every active fault, newest first, and joins the errors.
func (i *Injector) HealAll(ctx context.Context) error {
	i.mu.Lock()
	act := slices.Clone(i.active)
	i.mu.Unlock()
	var errs []error
	for j := len(act) - 1; j >= 0; j-- {
		errs = append(errs, act[j].Heal(ctx))
	}
	return errors.Join(errs...)
}

// ActiveFaults lists the faults not yet healed.
func (i *Injector) ActiveFaults() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, a := range i.active {
		out = append(out, a.Fault+" on "+a.Target)
	}
	return out
}
