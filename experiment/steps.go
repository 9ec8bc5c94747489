package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/results"
)

// Step is one step of a scenario's plan, built by the constructors below
// (Sleep, Inject, Heal, Await, Measure). Text is its prose: the progress
// line and the run's timeline say it.
type Step struct {
	Text string
	do   func(ctx context.Context, r *Run) error
}

// Do is a step of the caller's own: a spec starting an independent
// client once the lab is up, say. It should not change the lab: faults go
// through Inject, so that Run can heal them.
func Do(text string, f func(ctx context.Context, r *Run) error) Step {
	return Step{Text: text, do: f}
}

// Sleep lets the workload run for d.
func Sleep(text string, d time.Duration) Step {
	return Step{Text: text, do: func(ctx context.Context, _ *Run) error { return clock.Sleep(ctx, d) }}
}

// Inject applies the fault that mk builds (at the step's time, so that its
// selectors resolve against the lab as it is then) and remembers it as
// name for later steps.
func Inject(name string, mk func(r *Run) chaos.Fault) Step {
	return Step{Text: "inject " + name, do: func(ctx context.Context, r *Run) error {
		f := mk(r)
		a, err := r.Inj.Inject(ctx, f)
		if err != nil {
			return err
		}
		r.faults[name] = a
		r.Log.Info("fault in effect", "fault", name, "target", a.Target, "uncertainty", (a.InjectEnd - a.Injected).Round(time.Microsecond), "how", a.How)
		return nil
	}}
}

// Heal undoes the fault remembered as name.
func Heal(name string) Step {
	return Step{Text: "heal " + name, do: func(ctx context.Context, r *Run) error {
		a, err := r.Fault(name)
		if err != nil {
			return err
		}
		return a.Heal(ctx)
	}}
}

// Condition is what Await waits for; Until polls it. Detail names what
// was waited for in errors.
type Condition struct {
	Detail string
	Until  func(ctx context.Context, r *Run) (bool, error)
}

// Await waits up to timeout for c. Optional says what its timing out
// means when that is a finding rather than a failure (recorded as a note;
// the plan goes on); without it a timeout fails the run.
func Await(c Condition, timeout time.Duration, optional string) Step {
	return Step{Text: "await " + c.Detail, do: func(ctx context.Context, r *Run) error {
		err := poll(ctx, timeout, c.Detail, func() (bool, error) { return c.Until(ctx, r) })
		if err != nil && optional != "" && ctx.Err() == nil {
			r.Rec.Event(results.Event{Kind: results.EventNote, Detail: optional})
			r.Log.Info(optional, "waited", timeout)
			return nil
		}
		return err
	}}
}

// Measure records a named figure computed from the run so far (shown by
// the CLI and kept in the result).
func Measure(name string, f func(ctx context.Context, r *Run) string) Step {
	return Step{Text: "measure " + name, do: func(ctx context.Context, r *Run) error {
		r.figure(name, f(ctx, r))
		return nil
	}}
}

// NewLeaderAfter is one running leader among the members other than the
// targets of fault (every host it struck, or its first side for a
// partition: a region outage strikes several). A target may still report
// the leader role meanwhile (a leader cut off from its replicas does, in
// state stopping, while its shutdown waits for them).
func NewLeaderAfter(fault string) Condition {
	return Condition{Detail: "a new leader after " + fault, Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil
		}
		var leaders []string
		for _, m := range ms {
			if leading(m) && !slices.Contains(targets(a), m.Name) {
				leaders = append(leaders, m.Name)
			}
		}
		if len(leaders) != 1 {
			return false, nil
		}
		r.Leader = leaders[0]
		return true, nil
	}}
}

// leading reports whether m leads and runs: Patroni keeps reporting the
// leader role for a leader it demoted offline (PostgreSQL stopped).
func leading(m harness.Member) bool { return m.Role == harness.RoleLeader && m.State == "running" }

// WritesAfter is an acknowledged write invoked after fault was wholly in
// effect (its end stamp): a write invoked between its begin and end may
// have been served before the fault landed (a postmaster killed through
// docker exec lands up to the exec's half second after the begin stamp).
func WritesAfter(fault string) Condition {
	return Condition{Detail: "an acknowledged write after " + fault, Until: func(_ context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		return r.Rec.AckedWrites(a.InjectEnd) > 0, nil
	}}
}

// WritesOnNewLeader is an acknowledged endpoint write served by the
// leader the last NewLeaderAfter saw, invoked after fault began: writes
// resumed on the new leader, not merely went on on an old one that has
// not noticed it lost its lock.
func WritesOnNewLeader(fault string) Condition {
	return Condition{Detail: "an acknowledged write on the new leader after " + fault, Until: func(_ context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		if r.Leader == "" {
			return false, errors.New("no new leader seen yet: await NewLeaderAfter first")
		}
		for _, o := range r.Rec.History().Ops {
			if o.Kind == results.OpWrite && o.Target == results.TargetRW && o.Outcome == results.OK && o.Invoke >= a.Injected && o.Member == r.Leader {
				return true, nil
			}
		}
		return false, nil
	}}
}

// Streams is the target of fault streaming from its upstream again; it
// records a member.streaming event, which ends the node's rejoin.
func Streams(fault string) Condition {
	return Condition{Detail: "the target of " + fault + " streaming again", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		m, found, err := member(ctx, r, a.Target)
		if err != nil || !found || m.Role != harness.RoleReplica || m.State != "streaming" {
			return false, nil // a failed listing is polled again
		}
		r.Rec.Event(results.Event{Kind: results.EventStreaming, Node: m.Name, Resolution: PollPeriod})
		return true, nil
	}}
}

// Demoted is the target of fault no longer leading (Patroni demoted it or
// it is gone); it records when, as the figure "<fault> demoted after",
// counted from the fault's begin.
func Demoted(fault string) Condition {
	return Condition{Detail: "the target of " + fault + " no longer leading", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		m, found, err := member(ctx, r, a.Target)
		if err != nil || found && m.Role == harness.RoleLeader {
			return false, nil // a failed listing is polled again
		}
		r.figure(fault+" demoted after", (r.Rec.Now() - a.Injected).Round(time.Millisecond).String())
		return true, nil
	}}
}

// targets lists the hosts a fault struck, the first side's for a
// partition ("lab-1<->lab-2,lab-3" gives lab-1): its target split on the
// commas that join several.
func targets(a *chaos.Active) []string {
	side, _, _ := strings.Cut(a.Target, "<->")
	return strings.Split(side, ",")
}

// member is the named member as the lab lists it now; found is false when
// it is not listed, err when the listing failed.
func member(ctx context.Context, r *Run, name string) (m harness.Member, found bool, err error) {
	ms, err := r.Lab.Members(ctx)
	if err != nil {
		return m, false, err
	}
	for _, m := range ms {
		if m.Name == name {
			return m, true, nil
		}
	}
	return m, false, nil
}

// TargetOf selects the host that fault resolved to, for a later fault on
// the same node ("kill the leader we cut off"): the first host of its
// target, whose first side it is for a fault between two sides
// ("lab-1<->lab-2,lab-3" gives lab-1).
func TargetOf(r *Run, fault string) chaos.Selector {
	a, err := r.Fault(fault)
	if err != nil {
		return chaos.Node("")
	}
	side, _, _ := strings.Cut(a.Target, "<->")
	first, _, _ := strings.Cut(side, ",")
	return chaos.Node(first)
}

// figure keeps a named measurement in the result and in the run's
// history, where summary.md and report.html show it.
func (r *Run) figure(name, value string) {
	r.measures = append(r.measures, Figure{Name: name, Value: value})
	r.Rec.RecordFigure(results.Figure{Name: name, Value: value})
}

// Fault returns the fault remembered as name.
func (r *Run) Fault(name string) (*chaos.Active, error) {
	a, ok := r.faults[name]
	if !ok {
		return nil, fmt.Errorf("scenario step refers to fault %q, which was not injected", name)
	}
	return a, nil
}
