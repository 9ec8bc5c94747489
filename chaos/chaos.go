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
	Event(e results.Event) time.Duration
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
	// HealTimeout caps each heal run by HealAll (default 30s).
	HealTimeout time.Duration

	mu     sync.Mutex
	active []*Active
}

// Active is an injected, not yet healed fault.
type Active struct {
	Fault    string
	Target   string
	Injected time.Duration // on the recorder's clock
	heal     Heal
	inj      *Injector
	once     sync.Once
	err      error
}

// NewInjector returns an injector for a cluster that records fault events
// on rec (which may be nil).
func NewInjector(c Cluster, rec Recorder) *Injector {
	return &Injector{cluster: c, rec: rec, HealTimeout: 30 * time.Second}
}

// Inject applies f and records fault.injected with its resolved target.
func (i *Injector) Inject(ctx context.Context, f Fault) (*Active, error) {
	target, heal, err := f.Inject(ctx, i.cluster)
	if err != nil {
		return nil, err
	}
	a := &Active{Fault: f.Name(), Target: target, heal: heal, inj: i}
	if i.rec != nil {
		a.Injected = i.rec.Event(results.Event{Kind: results.EventFaultInjected, Node: target, Detail: f.Name()})
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
		a.err = a.heal(hctx)
		if a.err != nil {
			a.err = fmt.Errorf("heal %s on %s: %w", a.Fault, a.Target, a.err)
		}
		if a.inj.rec != nil {
			a.inj.rec.Event(results.Event{Kind: results.EventFaultHealed, Node: a.Target, Detail: a.Fault})
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
