package results

import (
	"cmp"
	"slices"
	"time"
)

// FaultWindow is one fault's time in effect, from its fault.injected event
// to its end. A fault is an operation of the harness with two stamps (see
// EventRecord.End): Injected is taken before its first side effect, so the
// fault took effect in [Injected, InjectedEnd].
type FaultWindow struct {
	// Index counts fault.injected events in time order, from 0.
	Index    int           `json:"index"`
	Node     string        `json:"node,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Injected time.Duration `json:"injected_ns"`
	// InjectedEnd is when the injecting operation returned; Injected when
	// the event carries no end (instantaneous, or an older history).
	InjectedEnd time.Duration `json:"injected_end_ns"`
	// Uncertainty is the injection event's Uncertainty: how far after
	// Injected the fault may really have landed.
	Uncertainty time.Duration `json:"uncertainty_ns"`
	// How says how the injection's instant was obtained (EventRecord.How).
	How string `json:"how,omitempty"`
	// End is when the matching fault.healed operation began; without a
	// heal, the next leader.changed after the injection (the fault has
	// done its work); without that, the end of the run.
	End time.Duration `json:"end_ns"`
	// HealEnd is when the heal operation returned (the fault is certainly
	// over); End when the heal carries no end or there was no heal.
	HealEnd time.Duration `json:"heal_end_ns"`
	// EndReason is "healed", "leader changed" or "run end".
	EndReason string `json:"end_reason"`
}

// spanEnd is an event's end stamp, or its At when it has none.
func spanEnd(e EventRecord) time.Duration {
	return max(e.End, e.At)
}

// attributionEnd is where fault i's own window closes for charging
// outages to it: its heal's end (a kill healed by a restart is in effect
// until the restart returns), the run's end for a fault never healed, and
// in any case no later than the next fault's begin.
func attributionEnd(faults []FaultWindow, i int, runEnd time.Duration) time.Duration {
	end := runEnd
	if faults[i].EndReason == EndHealed {
		end = faults[i].HealEnd
	}
	if i+1 < len(faults) {
		end = min(end, faults[i+1].Injected)
	}
	return max(end, faults[i].Injected)
}

// Fault window end reasons.
const (
	EndHealed        = "healed"
	EndLeaderChanged = "leader changed"
	EndRunEnd        = "run end"
)

// RunEnd is the latest time seen anywhere in the history.
func RunEnd(h History) time.Duration {
	var end time.Duration
	for _, o := range h.Ops {
		end = max(end, o.Complete, o.Invoke)
	}
	for _, s := range h.Samples {
		end = max(end, s.At)
	}
	for _, e := range h.Events {
		end = max(end, e.At, e.End)
	}
	return end
}

// sortedEvents returns the events in time order (stable), so checkers work
// on hand-built histories too.
func sortedEvents(h History) []EventRecord {
	ev := slices.Clone(h.Events)
	slices.SortStableFunc(ev, func(a, b EventRecord) int { return cmp.Compare(a.At, b.At) })
	return ev
}

// Faults pairs every fault.injected event with its fault.healed event: a heal
// ends the earliest open fault with the same Node and Detail, else the same
// Detail, else the same Node, else the earliest open one.
func Faults(h History) []FaultWindow {
	ev := sortedEvents(h)
	var out []FaultWindow
	open := []int{} // indexes into out, in injection order
	for _, e := range ev {
		switch e.Kind {
		case EventFaultInjected:
			out = append(out, FaultWindow{Index: len(out), Node: e.Node, Detail: e.Detail, Injected: e.At,
				InjectedEnd: spanEnd(e), Uncertainty: e.Uncertainty(), How: e.How})
			open = append(open, len(out)-1)
		case EventFaultHealed:
			if len(open) == 0 {
				continue
			}
			pick := -1
			for _, match := range []func(FaultWindow) bool{
				func(f FaultWindow) bool { return f.Node == e.Node && f.Detail == e.Detail },
				func(f FaultWindow) bool { return e.Detail != "" && f.Detail == e.Detail },
				func(f FaultWindow) bool { return e.Node != "" && f.Node == e.Node },
				func(FaultWindow) bool { return true },
			} {
				for j, i := range open {
					if match(out[i]) {
						pick = j
						break
					}
				}
				if pick >= 0 {
					break
				}
			}
			out[open[pick]].End = e.At
			out[open[pick]].HealEnd = spanEnd(e)
			out[open[pick]].EndReason = EndHealed
			open = slices.Delete(open, pick, pick+1)
		}
	}
	end := RunEnd(h)
	for _, i := range open {
		f := &out[i]
		f.End, f.EndReason = end, EndRunEnd
		for _, e := range ev {
			if e.Kind == EventLeaderChanged && e.At > f.Injected {
				f.End, f.EndReason = e.At, EndLeaderChanged
				break
			}
		}
		f.HealEnd = f.End
	}
	return out
}

// leaderAt returns who the leader.changed events say leads at time t, and
// since when; ok is false before the first such event.
func leaderAt(ev []EventRecord, t time.Duration) (leader string, since time.Duration, ok bool) {
	for _, e := range ev {
		if e.At > t {
			break
		}
		if e.Kind == EventLeaderChanged && e.Node != "" {
			leader, since, ok = e.Node, e.At, true
		}
	}
	return leader, since, ok
}

// isWrite reports whether the operation inserts its key.
func isWrite(o Op) bool { return o.Kind == OpWrite || o.Kind == OpProbe }
