package results

import (
	"strings"
	"testing"
	"time"
)

// steadyWriter writes through the endpoint every 10 ms from 0 to end (ms),
// each write taking 2 ms; outcome decides each write's outcome from its
// invocation.
func steadyWriter(b *hb, end float64, outcome func(at float64) (Outcome, string)) {
	for at := 0.0; at < end; at += 10 {
		out, member := outcome(at)
		b.write("w", int64(at/10)+1, at, at+2, out, member)
	}
}

// TestSlowKillCall: the kill call begins at 20 s and returns at 20.5 s
// (the daemon waits for the container's teardown), the leader dies when
// the call begins, writes resume at 30 s. The RTO is measured from the
// call's begin; stamped when the call returned it would be 500 ms short.
func TestSlowKillCall(t *testing.T) {
	b := newHB()
	steadyWriter(b, 40000, func(at float64) (Outcome, string) {
		switch {
		case at < 20000:
			return OK, "a"
		case at < 30000:
			return Failed, ""
		}
		return OK, "b"
	})
	kill := EventRecord{At: ms(20000), End: ms(20500), Kind: EventFaultInjected, Node: "a", Detail: "kill", How: "docker API call"}
	b.h.Events = append(b.h.Events, kill)
	r := FailoverPhases(b.h, 0)
	if !r.Outage || !r.Recovered {
		t.Fatalf("outage %v recovered %v", r.Outage, r.Recovered)
	}
	trueRTO := ms(30002) - ms(20000)
	if r.RTO != trueRTO {
		t.Errorf("RTO %v, want %v (first ok write − the kill's begin)", r.RTO, trueRTO)
	}
	if r.FaultUncertainty != 500*time.Millisecond || r.WriterUncertainty != ms(12) || r.RTOUncertainty != ms(512) {
		t.Errorf("uncertainty fault %v writer %v RTO %v, want 500ms + 12ms", r.FaultUncertainty, r.WriterUncertainty, r.RTOUncertainty)
	}
	fp := r.Phase(PhaseFaultInjected)
	if fp.Uncertainty != 500*time.Millisecond || fp.How != "docker API call" {
		t.Errorf("fault phase %+v, want ±500ms (docker API call), not the clock step", fp)
	}
	if last := r.Phase(PhaseLastOKWrite); fp.At-last.At > ms(10) || last.At > fp.At {
		t.Errorf("last ok write at %v, fault begin %v: want within one writer period before", last.At, fp.At)
	}
	if r.Fault.InjectedEnd != ms(20500) || r.Fault.Uncertainty != 500*time.Millisecond || r.Fault.How != "docker API call" {
		t.Errorf("fault window %+v", r.Fault)
	}
	// the same run stamped when the call returned gets the RTO wrong
	late := b.h
	late.Events = []EventRecord{{At: kill.End, Kind: EventFaultInjected, Node: "a", Detail: "kill"}}
	if got := FailoverPhases(late, 0).RTO; got == trueRTO || trueRTO-got != 500*time.Millisecond {
		t.Errorf("stamped at the call's return the RTO is %v; the test must tell it from %v", got, trueRTO)
	}
	md := RenderSummary(Summarize(b.h, Evaluate(b.h, Targets{FailoverTimeMax: ptr(30 * time.Second)})))
	for _, s := range []string{"±500ms (docker API call)", "**10.002s** ±512ms (fault ±500ms docker API call + writer spacing ±12ms)", "write gap (last ok → first ok) **10.01s**"} {
		if !strings.Contains(md, s) {
			t.Errorf("summary lacks %q:\n%s", s, md)
		}
	}
}

// TestEventSpanThroughRecorder: a fault recorded with EventSpan is placed
// at its begin, with the call's duration as its uncertainty.
func TestEventSpanThroughRecorder(t *testing.T) {
	rec := NewRecorder(RunMeta{ID: "span"})
	begin := rec.Now()
	time.Sleep(20 * time.Millisecond) // a slow fault call
	end := rec.Now()
	rec.EventSpan(Event{Kind: EventFaultInjected, Node: "a", Detail: "kill", How: "pidfd signal"}, begin, end)
	f := Faults(rec.History())
	if len(f) != 1 || f[0].Injected != begin || f[0].InjectedEnd != end || f[0].Uncertainty < 20*time.Millisecond {
		t.Errorf("faults %+v, want injected at %v ±≥20ms", f, begin)
	}
}

func TestOutageAttribution(t *testing.T) {
	partition := EventRecord{At: ms(10000), End: ms(10040), Kind: EventFaultInjected, Node: "lab-1", Detail: "partition"}
	partitionHeal := EventRecord{At: ms(12100), End: ms(12150), Kind: EventFaultHealed, Node: "lab-1", Detail: "partition"}
	kill := EventRecord{At: ms(12000), End: ms(12010), Kind: EventFaultInjected, Node: "lab-1", Detail: "kill"}
	t.Run("async: the leader keeps acknowledging during the cut; the outage is the kill's", func(t *testing.T) {
		b := newHB()
		steadyWriter(b, 40000, func(at float64) (Outcome, string) {
			switch {
			case at < 12000:
				return OK, "lab-1"
			case at < 35000:
				return Failed, ""
			}
			return OK, "lab-2"
		})
		b.h.Events = []EventRecord{partition, kill, partitionHeal}
		p, k := FailoverPhases(b.h, 0), FailoverPhases(b.h, 1)
		if p.Outage || p.Recovered || p.WindowEnd != ms(12000) {
			t.Errorf("partition: outage %v recovered %v window end %v, want no outage, window closed by the kill", p.Outage, p.Recovered, p.WindowEnd)
		}
		if !k.Outage || k.RTO != ms(35002)-ms(12000) {
			t.Errorf("kill: outage %v RTO %v, want 23.002s", k.Outage, k.RTO)
		}
		a := Availability(b.h, 0)
		if a.PerFault[0].Downtime != 0 || a.PerFault[1].Downtime != ms(35002)-ms(11992) || a.Unattributed != 0 {
			t.Errorf("downtime per fault %+v unattributed %v", a.PerFault, a.Unattributed)
		}
		c := checkFailover(b.h, 30*time.Second)
		if c.Samples != 1 || !strings.Contains(c.Detail, "fault 1 partition lab-1 at t=10.000s: no outage began in its window") {
			t.Errorf("failover check %+v", c)
		}
	})
	t.Run("semi-sync: commits hang from the cut; the outage is the partition's", func(t *testing.T) {
		b := newHB()
		for at := 0.0; at < 40000; at += 10 {
			k := int64(at/10) + 1
			switch {
			case at < 10000:
				b.write("w", k, at, at+2, OK, "lab-1")
			case at < 35000:
				b.write("w", k, at, at+1000, Unknown, "") // waits for the standby until the 1 s timeout
			default:
				b.write("w", k, at, at+2, OK, "lab-2")
			}
		}
		b.h.Events = []EventRecord{partition, kill, partitionHeal}
		p, k := FailoverPhases(b.h, 0), FailoverPhases(b.h, 1)
		if !p.Outage || p.RTO != ms(35002)-ms(10000) {
			t.Errorf("partition: outage %v RTO %v, want 25.002s", p.Outage, p.RTO)
		}
		if k.Outage || k.Recovered {
			t.Errorf("kill: outage %v recovered %v, want none (the outage began before it)", k.Outage, k.Recovered)
		}
	})
	t.Run("an outage after the fault's heal belongs to no fault", func(t *testing.T) {
		b := newHB()
		steadyWriter(b, 10000, func(at float64) (Outcome, string) {
			if at >= 5000 && at < 8000 {
				return Failed, ""
			}
			return OK, "a"
		})
		b.h.Events = []EventRecord{
			{At: ms(1000), End: ms(1005), Kind: EventFaultInjected, Node: "c", Detail: "pause"},
			{At: ms(2000), End: ms(2010), Kind: EventFaultHealed, Node: "c", Detail: "pause"},
		}
		r := FailoverPhases(b.h, 0)
		if r.Outage || r.WindowEnd != ms(2010) {
			t.Errorf("outage %v window end %v, want none, window to the heal's end", r.Outage, r.WindowEnd)
		}
		a := Availability(b.h, 0)
		if a.PerFault[0].Downtime != 0 || a.Unattributed != ms(8002)-ms(4992) {
			t.Errorf("per fault %+v unattributed %v", a.PerFault, a.Unattributed)
		}
	})
	t.Run("a kill whose outage outlasts the restart keeps it", func(t *testing.T) {
		h := scenario{}.build()
		r := FailoverPhases(h, 0)
		if !r.Outage || r.WindowEnd != ms(scHeal) || r.Downtime != r.WriteGap {
			t.Errorf("outage %v window end %v downtime %v gap %v", r.Outage, r.WindowEnd, r.Downtime, r.WriteGap)
		}
	})
}

// TestOldHistoryWithoutEnds: a history recorded before events carried an
// end still evaluates: the fault is instantaneous, its uncertainty the
// clock's step.
func TestOldHistoryWithoutEnds(t *testing.T) {
	h := scenario{}.build()
	for _, e := range h.Events {
		if e.End != 0 {
			t.Fatal("scenario events are meant to have no end")
		}
	}
	r := FailoverPhases(h, 0)
	if p := r.Phase(PhaseFaultInjected); p.Uncertainty != h.Clock.Resolution || p.How != HowClock {
		t.Errorf("fault phase %+v, want the clock step", p)
	}
	if r.Fault.HealEnd != ms(scHeal) || r.Fault.InjectedEnd != ms(scKill) {
		t.Errorf("fault %+v", r.Fault)
	}
	v := Evaluate(h, slaTargets())
	if c := checkByName(v, CheckFailoverTime); c.Status != StatusPass {
		t.Errorf("failover %+v", c)
	}
}
