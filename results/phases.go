package results

import (
	"cmp"
	"slices"
	"time"
)

// Failover phase names, in the order they normally happen.
const (
	PhaseFaultInjected = "fault_injected"
	PhaseLastOKWrite   = "last_ok_write"
	PhaseLeaderKeyGone = "leader_key_gone"
	PhaseLeaderElected = "leader_elected"
	PhasePromoted      = "promoted"
	PhaseFirstOKWrite  = "first_ok_write"
)

// DefaultOutageGap is how long the read-write endpoint must go without an
// acknowledged write for that to count as an outage (failover phases,
// time-based availability). One second is far above a working writer's
// spacing and far below a Patroni failover (ttl ≥ 20 s).
const DefaultOutageGap = time.Second

// Phase is one moment of a failover.
type Phase struct {
	Name string `json:"name"`
	// Present is false when the history holds no such moment; At is then
	// meaningless (zero).
	Present bool          `json:"present"`
	At      time.Duration `json:"at_ns"`
	// SinceFault is At minus the fault's injection.
	SinceFault time.Duration `json:"since_fault_ns"`
	// Resolution is how late the moment may have been observed: the
	// event's own Resolution, or the clock's.
	Resolution time.Duration `json:"resolution_ns"`
	Node       string        `json:"node,omitempty"`
	// Op is the operation id for write phases.
	Op int64 `json:"op,omitempty"`
}

// Step is the time between two consecutive present phases.
type Step struct {
	From     string        `json:"from"`
	To       string        `json:"to"`
	Duration time.Duration `json:"duration_ns"`
}

// FailoverReport is the outcome of FailoverPhases.
type FailoverReport struct {
	// Found is false when the history has no fault with that index.
	Found bool        `json:"found"`
	Fault FaultWindow `json:"fault"`
	// Phases are all six, in canonical order, present or not.
	Phases []Phase `json:"phases"`
	// Steps join consecutive present phases in time order: which phase
	// took the time.
	Steps []Step `json:"steps"`
	// Outage is true when the endpoint went DefaultOutageGap or longer
	// without an ok write after the fault.
	Outage bool `json:"outage"`
	// Recovered is false when no ok write came after the outage.
	Recovered bool `json:"recovered"`
	// RTO is first_ok_write − fault_injected: the unavailability a client
	// saw. Valid only when Recovered.
	RTO time.Duration `json:"rto_ns"`
	// WriteGap is first_ok_write − last_ok_write, valid when both are
	// present.
	WriteGap      time.Duration `json:"write_gap_ns"`
	WriteGapKnown bool          `json:"write_gap_known"`
	// Resolution bounds the error of RTO: the coarser of the fault event's
	// and the clock's.
	Resolution time.Duration `json:"resolution_ns"`
	// Observed is how long the history runs after the fault: an RTO
	// target shorter than this that was not met has certainly failed.
	Observed time.Duration `json:"observed_ns"`
}

// Phase returns the named phase.
func (f FailoverReport) Phase(name string) Phase {
	for _, p := range f.Phases {
		if p.Name == name {
			return p
		}
	}
	return Phase{Name: name}
}

// FailoverPhases measures one fault's failover: fault index 0 is the first
// fault.injected event. Events are looked for from the injection up to the
// next injection. The outage is the first span of DefaultOutageGap or more
// without an ok write through the endpoint (OpWrite, Target "rw") that ends
// after the injection (or that is still open at the end of the run);
// last_ok_write and first_ok_write are its edges. Without such a span the
// fault did not interrupt writes: they are the last ok write before and the
// first after the injection.
func FailoverPhases(h History, fault int) FailoverReport {
	faults := Faults(h)
	r := FailoverReport{Phases: make([]Phase, 0, 6)}
	if fault < 0 || fault >= len(faults) {
		for _, n := range phaseOrder() {
			r.Phases = append(r.Phases, Phase{Name: n})
		}
		return r
	}
	f := faults[fault]
	r.Found, r.Fault = true, f
	res := h.Clock.Resolution
	ev := sortedEvents(h)
	var faultEv EventRecord
	n := -1
	for _, e := range ev {
		if e.Kind == EventFaultInjected {
			if n++; n == fault {
				faultEv = e
				break
			}
		}
	}
	windowEnd := RunEnd(h)
	if fault+1 < len(faults) {
		windowEnd = faults[fault+1].Injected
	}
	r.Observed = RunEnd(h) - f.Injected

	at := map[string]Phase{}
	at[PhaseFaultInjected] = Phase{Name: PhaseFaultInjected, Present: true, At: f.Injected, Node: f.Node,
		Resolution: max(res, faultEv.Resolution)}
	firstEvent := func(name, kind string) {
		for _, e := range ev {
			if e.Kind == kind && e.At >= f.Injected && e.At < windowEnd && (kind != EventLeaderChanged || e.Node != "") {
				at[name] = Phase{Name: name, Present: true, At: e.At, Node: e.Node, Resolution: max(res, e.Resolution)}
				return
			}
		}
	}
	firstEvent(PhaseLeaderKeyGone, EventLeaderKeyGone)
	firstEvent(PhaseLeaderElected, EventLeaderChanged)
	firstEvent(PhasePromoted, EventPromoted)

	acks := okEndpointWrites(h)
	last, first := -1, -1 // indexes into acks
	for i := range acks {
		if acks[i].Complete <= f.Injected {
			continue
		}
		gapStart := f.Injected
		if i > 0 {
			gapStart = acks[i-1].Complete
		}
		if acks[i].Complete-gapStart >= DefaultOutageGap {
			last, first, r.Outage = i-1, i, true
			break
		}
	}
	if !r.Outage && len(acks) > 0 && RunEnd(h) > f.Injected && RunEnd(h)-acks[len(acks)-1].Complete >= DefaultOutageGap {
		last, r.Outage = len(acks)-1, true // still out when the run ended
	}
	if !r.Outage && len(acks) == 0 && RunEnd(h)-f.Injected >= DefaultOutageGap {
		r.Outage = true
	}
	if !r.Outage {
		for i := range acks {
			if acks[i].Complete <= f.Injected {
				last = i
			} else if first < 0 {
				first = i
			}
		}
	}
	if last >= 0 {
		o := acks[last]
		at[PhaseLastOKWrite] = Phase{Name: PhaseLastOKWrite, Present: true, At: o.Complete, Node: o.Member, Op: o.ID, Resolution: res}
	}
	if first >= 0 {
		o := acks[first]
		at[PhaseFirstOKWrite] = Phase{Name: PhaseFirstOKWrite, Present: true, At: o.Complete, Node: o.Member, Op: o.ID, Resolution: res}
		r.Recovered = true
		r.RTO = o.Complete - f.Injected
		r.Resolution = max(res, faultEv.Resolution)
	}
	if last >= 0 && first >= 0 {
		r.WriteGap, r.WriteGapKnown = acks[first].Complete-acks[last].Complete, true
	}

	for _, n := range phaseOrder() {
		p, ok := at[n]
		if !ok {
			p = Phase{Name: n}
		} else {
			p.SinceFault = p.At - f.Injected
		}
		r.Phases = append(r.Phases, p)
	}
	present := slices.DeleteFunc(slices.Clone(r.Phases), func(p Phase) bool { return !p.Present })
	slices.SortStableFunc(present, func(a, b Phase) int { return cmp.Compare(a.At, b.At) })
	for i := 1; i < len(present); i++ {
		r.Steps = append(r.Steps, Step{From: present[i-1].Name, To: present[i].Name, Duration: present[i].At - present[i-1].At})
	}
	return r
}

func phaseOrder() [6]string {
	return [...]string{PhaseFaultInjected, PhaseLastOKWrite, PhaseLeaderKeyGone, PhaseLeaderElected, PhasePromoted, PhaseFirstOKWrite}
}

// okEndpointWrites are the ok writes through the read-write endpoint, in
// acknowledgement order.
func okEndpointWrites(h History) []Op {
	var acks []Op
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Target == TargetRW && o.Outcome == OK {
			acks = append(acks, o)
		}
	}
	slices.SortStableFunc(acks, func(a, b Op) int { return cmp.Compare(a.Complete, b.Complete) })
	return acks
}
