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
	// SinceFault is At minus the fault's begin.
	SinceFault time.Duration `json:"since_fault_ns"`
	// Uncertainty is how far the real moment may lie after At (for the
	// last ok write: how long after it writes may still have worked; for
	// the first ok write: how much earlier the endpoint may have been back):
	// the fault operation's duration, the polling period of the source
	// that saw it, or the writers' spacing; never less than the clock's
	// step.
	Uncertainty time.Duration `json:"uncertainty_ns"`
	// How names where Uncertainty comes from, e.g. "pidfd signal",
	// "polled", "writer spacing".
	How  string `json:"how,omitempty"`
	Node string `json:"node,omitempty"`
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
	// WindowEnd closes the fault's own window, which starts at its begin:
	// its heal's end, or the next fault's begin if sooner (see
	// outageOwners). Only an outage that began in it is charged to it.
	WindowEnd time.Duration `json:"window_end_ns"`
	// Phases are all six, in canonical order, present or not.
	Phases []Phase `json:"phases"`
	// Steps join consecutive present phases in time order: which phase
	// took the time.
	Steps []Step `json:"steps"`
	// Procedure are the failover procedure's own steps in the fault's
	// window (EventFailoverStep), in time order: empty where a manager
	// such as Patroni fails over by itself.
	Procedure []ProcedureStep `json:"procedure,omitempty"`
	// Outage is true when an outage (DefaultOutageGap or more without an
	// ok write through the endpoint) began in the fault's window. Without
	// one there is no RTO: the fault did not interrupt writes.
	Outage bool `json:"outage"`
	// Outages counts the outages charged to the fault; Downtime is their
	// total length (last ok write to first ok write, or to the end of the
	// run for one never ended).
	Outages  int           `json:"outages"`
	Downtime time.Duration `json:"downtime_ns"`
	// Recovered is true when an ok write ended the fault's first outage.
	Recovered bool `json:"recovered"`
	// RTO is first_ok_write − the fault's begin: the unavailability a
	// client saw. Valid only when Recovered.
	RTO time.Duration `json:"rto_ns"`
	// RTOUncertainty = FaultUncertainty + WriterUncertainty: the fault may
	// have landed up to FaultUncertainty after its begin (RTO too long by
	// that much), and the writers may have noticed the recovery up to
	// WriterUncertainty late (RTO too long by that much).
	RTOUncertainty    time.Duration `json:"rto_uncertainty_ns"`
	FaultUncertainty  time.Duration `json:"fault_uncertainty_ns"`
	WriterUncertainty time.Duration `json:"writer_uncertainty_ns"`
	// WriteGap is first_ok_write − last_ok_write, valid when both are
	// present.
	WriteGap      time.Duration `json:"write_gap_ns"`
	WriteGapKnown bool          `json:"write_gap_known"`
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

// Uncertainty sources named in Phase.How.
const (
	HowClock         = "clock step"
	HowPolled        = "polled"
	HowOperation     = "operation span"
	HowWriterSpacing = "writer spacing"
)

// eventUncertainty is an event's uncertainty and its source, at least the
// clock's step.
func eventUncertainty(e EventRecord, clock time.Duration) (time.Duration, string) {
	u := e.Uncertainty()
	how := e.How
	switch {
	case how != "":
	case e.End > e.At && e.End-e.At >= e.Resolution:
		how = HowOperation
	case e.Resolution > 0:
		how = HowPolled
	}
	if u < clock || how == "" {
		u, how = max(u, clock), cmp.Or(how, HowClock)
	}
	return u, how
}

// FailoverPhases measures one fault's failover: fault index 0 is the first
// fault.injected event. Leader events are looked for from the fault's
// begin up to the next fault's begin. The fault's outage is the first
// span of DefaultOutageGap or more without an ok write through the
// endpoint (OpWrite, Target "rw") charged to it (see outageOwners: it began
// in the fault's own window); last_ok_write and first_ok_write are its
// edges and RTO is first_ok_write − the fault's begin. Without such an
// outage there is no RTO: last_ok_write and first_ok_write are then the ok
// writes on either side of the fault's begin, shown for context.
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
	runEnd := RunEnd(h)
	r.WindowEnd = attributionEnd(faults, fault, runEnd)
	eventsEnd := runEnd
	if fault+1 < len(faults) {
		eventsEnd = faults[fault+1].Injected
	}
	r.Observed = runEnd - f.Injected

	at := map[string]Phase{}
	for _, e := range ev {
		if e.Kind == EventFaultInjected && e.At == f.Injected && e.Node == f.Node && e.Detail == f.Detail {
			u, how := eventUncertainty(e, res)
			at[PhaseFaultInjected] = Phase{Name: PhaseFaultInjected, Present: true, At: f.Injected, Node: f.Node, Uncertainty: u, How: how}
			r.FaultUncertainty = u
			break
		}
	}
	firstEvent := func(name, kind string) {
		for _, e := range ev {
			if e.Kind == kind && e.At >= f.Injected && e.At < eventsEnd && (kind != EventLeaderChanged || e.Node != "") {
				u, how := eventUncertainty(e, res)
				at[name] = Phase{Name: name, Present: true, At: e.At, Node: e.Node, Uncertainty: u, How: how}
				return
			}
		}
	}
	for _, e := range ev {
		if e.Kind == EventFailoverStep && e.At >= f.Injected && e.At < eventsEnd {
			r.Procedure = append(r.Procedure, ProcedureStep{Name: e.Detail, Node: e.Node, At: e.At, SinceFault: e.At - f.Injected, Took: max(e.End-e.At, 0)})
		}
	}
	firstEvent(PhaseLeaderKeyGone, EventLeaderKeyGone)
	firstEvent(PhaseLeaderElected, EventLeaderChanged)
	firstEvent(PhasePromoted, EventPromoted)

	acks := okEndpointWrites(h)
	from, _ := firstEndpointInvoke(h)
	outs := endpointOutages(h, acks, from, runEnd, DefaultOutageGap)
	owners := outageOwners(faults, outs, runEnd, DefaultOutageGap)
	last, first := -1, -1 // indexes into acks
	for k, o := range outs {
		if owners[k] != fault {
			continue
		}
		r.Outages++
		r.Downtime += o.Duration
		if !r.Outage {
			r.Outage = true
			last, first = o.last, o.first
		}
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
		p := Phase{Name: PhaseLastOKWrite, Present: true, At: o.Complete, Node: o.Member, Op: o.ID, Uncertainty: res, How: HowClock}
		if next, ok := nextEndpointInvoke(h, o.Complete); ok && next-o.Complete > res {
			p.Uncertainty, p.How = next-o.Complete, HowWriterSpacing
		}
		at[PhaseLastOKWrite] = p
	}
	if first >= 0 {
		o := acks[first]
		p := Phase{Name: PhaseFirstOKWrite, Present: true, At: o.Complete, Node: o.Member, Op: o.ID, Uncertainty: res, How: HowClock}
		if sp := writerSpacing(h, o); sp > res {
			p.Uncertainty, p.How = sp, HowWriterSpacing
		}
		at[PhaseFirstOKWrite] = p
		if r.Outage {
			r.Recovered = true
			r.RTO = o.Complete - f.Injected
			r.WriterUncertainty = p.Uncertainty
			r.RTOUncertainty = r.FaultUncertainty + r.WriterUncertainty
		}
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

// ProcedureStep is one step of a failover procedure (EventFailoverStep).
type ProcedureStep struct {
	Name       string        `json:"name"`
	Node       string        `json:"node,omitempty"`
	At         time.Duration `json:"at_ns"`
	SinceFault time.Duration `json:"since_fault_ns"`
	Took       time.Duration `json:"took_ns"`
}

// nextEndpointInvoke is the invocation of the first endpoint write invoked
// after t.
func nextEndpointInvoke(h History, t time.Duration) (time.Duration, bool) {
	var next time.Duration
	found := false
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Target == TargetRW && o.Invoke > t && (!found || o.Invoke < next) {
			next, found = o.Invoke, true
		}
	}
	return next, found
}

func phaseOrder() [6]string {
	return [...]string{PhaseFaultInjected, PhaseLastOKWrite, PhaseLeaderKeyGone, PhaseLeaderElected, PhasePromoted, PhaseFirstOKWrite}
}
