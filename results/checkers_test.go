package results

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func ids(ops []Op) []int64 {
	var out []int64
	for _, o := range ops {
		out = append(out, o.ID)
	}
	return out
}

func TestLostWrites(t *testing.T) {
	tests := []struct {
		name  string
		build func() (History, []int64) // history, ids expected lost
		check func(t *testing.T, r LostWritesReport)
	}{
		{
			name: "clean: every acknowledged write present",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, OK, "a")
				b.write("w", 2, 2, 3, OK, "a")
				b.final("a", 1, 2)
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if r.Acknowledged != 2 || len(r.UnknownFound)+len(r.UnknownAbsent)+len(r.FailedFound)+len(r.Duplicates) != 0 {
					t.Errorf("clean history has findings: %+v", r)
				}
			},
		},
		{
			name: "planted: acknowledged write absent",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, OK, "a")
				lost := b.write("w", 2, 2, 3, OK, "a")
				b.final("b", 1)
				return b.h, []int64{lost}
			},
		},
		{
			name: "planted: probe write absent counts too",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, OK, "a")
				lost := b.probe("a", 1_000_001, 2, OK)
				b.final("b", 1)
				return b.h, []int64{lost}
			},
		},
		{
			name: "unknown outcomes are reported apart, not lost",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, Unknown, "")
				b.write("w", 2, 2, 3, Unknown, "")
				b.final("a", 1)
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if !slices.Equal(ids(r.UnknownFound), []int64{1}) || !slices.Equal(ids(r.UnknownAbsent), []int64{2}) {
					t.Errorf("unknown found %v absent %v, want [1] [2]", ids(r.UnknownFound), ids(r.UnknownAbsent))
				}
			},
		},
		{
			name: "planted: a failed write that committed",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, Failed, "")
				b.write("w", 2, 2, 3, Failed, "")
				b.final("a", 1)
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if !slices.Equal(ids(r.FailedFound), []int64{1}) {
					t.Errorf("failed found %v, want [1]", ids(r.FailedFound))
				}
			},
		},
		{
			name: "a failed retry of a key another op wrote is not flagged",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, Failed, "")
				b.write("w", 1, 2, 3, OK, "a")
				b.final("a", 1)
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if len(r.FailedFound) != 0 {
					t.Errorf("failed found %v, want none", ids(r.FailedFound))
				}
			},
		},
		{
			name: "planted: duplicated ids",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, OK, "a")
				b.write("w", 2, 2, 3, OK, "a")
				b.final("a", 2, 1, 2, 2)
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if !slices.Equal(r.Duplicates, []DuplicateKey{{Key: 2, Count: 3}}) {
					t.Errorf("duplicates %v, want key 2 ×3", r.Duplicates)
				}
			},
		},
		{
			name: "no final state: nothing judged",
			build: func() (History, []int64) {
				b := newHB()
				b.write("w", 1, 0, 1, OK, "a")
				return b.h, nil
			},
			check: func(t *testing.T, r LostWritesReport) {
				if r.FinalRecorded || r.Acknowledged != 1 {
					t.Errorf("got %+v, want not recorded, 1 acknowledged", r)
				}
			},
		},
		{
			name: "scenario clean",
			build: func() (History, []int64) {
				return scenario{}.build(), nil
			},
		},
		{
			name: "scenario: three writes lost at the kill, duplicate, failed-but-committed",
			build: func() (History, []int64) {
				h := scenario{lose: 3, duplicate: true, failedCommitted: true}.build()
				present := map[int64]bool{}
				for _, k := range h.Final.Keys {
					present[k] = true
				}
				var lost []int64
				for _, o := range h.Ops {
					if o.Outcome == OK && isWrite(o) && !present[o.Key] {
						lost = append(lost, o.ID)
					}
				}
				if len(lost) != 3 {
					t.Fatalf("scenario planted %d lost writes, want 3", len(lost))
				}
				return h, lost
			},
			check: func(t *testing.T, r LostWritesReport) {
				if len(r.Duplicates) != 1 || len(r.FailedFound) != 1 {
					t.Errorf("duplicates %v failed-found %v, want one each", r.Duplicates, ids(r.FailedFound))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, wantLost := tc.build()
			r := LostWrites(h)
			if got := ids(r.Lost); !slices.Equal(got, wantLost) {
				t.Errorf("lost %v, want %v", got, wantLost)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestSplitBrain(t *testing.T) {
	t.Run("clean failover: no window, nothing after election", func(t *testing.T) {
		r := SplitBrain(scenario{}.build())
		if len(r.Windows) != 0 || len(r.AfterElection) != 0 || len(r.Discarded) != 0 {
			t.Fatalf("clean failover flagged: windows %+v after %v discarded %v", r.Windows, ids(r.AfterElection), ids(r.Discarded))
		}
		if r.ProbeWrites == 0 || len(r.Stints) != 2 {
			t.Errorf("probe writes %d stints %+v, want >0 and two stints", r.ProbeWrites, r.Stints)
		}
	})
	t.Run("planted: old leader keeps acknowledging after the new one is elected", func(t *testing.T) {
		r := SplitBrain(scenario{splitBrain: true}.build())
		if len(r.Windows) != 1 {
			t.Fatalf("windows %+v, want 1", r.Windows)
		}
		w := r.Windows[0]
		// lab-2's first ok probe at 39800+2, lab-1's last at 40900+2
		if w.Former != "lab-1" || w.Later != "lab-2" || w.Start != ms(39802) || w.End != ms(40902) || w.Duration != ms(1100) {
			t.Errorf("window %+v, want lab-1/lab-2 from 39.802s to 40.902s", w)
		}
		if len(w.Ops) == 0 {
			t.Error("window names no operations")
		}
		// lab-1 acknowledged probes at 39200..40900 after lab-2's election at 39200
		if len(r.AfterElection) != 18 {
			t.Errorf("after election %d, want 18", len(r.AfterElection))
		}
		if len(r.Discarded) != 0 {
			t.Errorf("discarded %v, want none (they were kept)", ids(r.Discarded))
		}
	})
	t.Run("planted: the old leader's late writes are discarded", func(t *testing.T) {
		r := SplitBrain(scenario{splitBrain: true, discard: true}.build())
		if len(r.Discarded) != 18 {
			t.Errorf("discarded %d, want 18", len(r.Discarded))
		}
		for _, o := range r.Discarded {
			if o.Member != "lab-1" || o.Complete < ms(scElected) {
				t.Errorf("discarded op %+v not lab-1 after the election", o)
			}
		}
	})
	t.Run("a new leader observed late is not a former leader", func(t *testing.T) {
		b := newHB()
		b.event(0, EventLeaderChanged, "a", "")
		b.probe("a", 1, 10, OK)
		b.write("w", 2, 100, 101, OK, "b") // b leads before the event says so
		b.probe("b", 3, 110, OK)
		b.event(150, EventLeaderChanged, "b", "")
		b.final("b", 1, 2, 3)
		r := SplitBrain(b.h)
		if len(r.Windows) != 0 || len(r.AfterElection) != 0 {
			t.Errorf("windows %+v after %v, want none", r.Windows, ids(r.AfterElection))
		}
	})
	t.Run("interleaved acknowledgements of two members overlap", func(t *testing.T) {
		b := newHB()
		b.probe("a", 1, 0, OK)
		b.probe("b", 2, 10, OK)
		b.probe("a", 3, 20, OK)
		r := SplitBrain(b.h)
		if len(r.Windows) != 1 || r.Windows[0].Start != ms(12) || r.Windows[0].End != ms(12) || r.Windows[0].Former != "a" {
			t.Errorf("windows %+v, want one zero-length window at 12ms, a former", r.Windows)
		}
	})
	t.Run("no probes: nothing observable", func(t *testing.T) {
		b := newHB()
		b.write("w", 1, 0, 1, OK, "a")
		if r := SplitBrain(b.h); r.ProbeWrites != 0 || len(r.Windows) != 0 {
			t.Errorf("got %+v", r)
		}
	})
}

func TestFailoverPhases(t *testing.T) {
	t.Run("leader kill: every phase, RTO and write gap", func(t *testing.T) {
		h := scenario{}.build()
		r := FailoverPhases(h, 0)
		if !r.Found || !r.Outage || !r.Recovered {
			t.Fatalf("found %v outage %v recovered %v", r.Found, r.Outage, r.Recovered)
		}
		want := map[string]time.Duration{
			PhaseFaultInjected: ms(scKill),
			PhaseLeaderKeyGone: ms(scKeyGone),
			PhaseLeaderElected: ms(scElected),
			PhasePromoted:      ms(scPromoted),
		}
		for name, at := range want {
			if p := r.Phase(name); !p.Present || p.At != at {
				t.Errorf("%s = %+v, want at %v", name, p, at)
			}
		}
		if p := r.Phase(PhaseLeaderElected); p.Node != "lab-2" || p.Uncertainty != 100*time.Millisecond {
			t.Errorf("elected %+v, want lab-2 with 100ms resolution", p)
		}
		last, first := r.Phase(PhaseLastOKWrite), r.Phase(PhaseFirstOKWrite)
		if !last.Present || last.At >= ms(scKill) || last.At < ms(scKill-30) {
			t.Errorf("last ok write %+v, want just before the kill", last)
		}
		if !first.Present || first.At < ms(scResume) || first.At > ms(scResume+30) || first.Node != "lab-2" {
			t.Errorf("first ok write %+v, want just after %v on lab-2", first, ms(scResume))
		}
		if r.RTO != first.At-ms(scKill) || !r.WriteGapKnown || r.WriteGap != first.At-last.At {
			t.Errorf("RTO %v gap %v", r.RTO, r.WriteGap)
		}
		if r.RTO < 19*time.Second || r.RTO > 20*time.Second {
			t.Errorf("RTO %v, want about 19.8s", r.RTO)
		}
		var order []string
		for _, s := range r.Steps {
			order = append(order, s.From)
		}
		wantOrder := []string{PhaseLastOKWrite, PhaseFaultInjected, PhaseLeaderKeyGone, PhaseLeaderElected, PhasePromoted}
		if !slices.Equal(order, wantOrder) {
			t.Errorf("steps from %v, want %v", order, wantOrder)
		}
	})
	t.Run("missing phases are absent, not zero", func(t *testing.T) {
		b := newHB()
		b.write("w", 1, 0, 1, OK, "a")
		b.event(10, EventFaultInjected, "a", "kill")
		b.write("w", 2, 3000, 3001, OK, "b")
		r := FailoverPhases(b.h, 0)
		for _, n := range []string{PhaseLeaderKeyGone, PhaseLeaderElected, PhasePromoted} {
			if p := r.Phase(n); p.Present || p.At != 0 {
				t.Errorf("%s = %+v, want absent", n, p)
			}
		}
		if !r.Recovered || r.RTO != ms(2991) || r.WriteGap != ms(3000) {
			t.Errorf("RTO %v gap %v, want 2.991s and 3s", r.RTO, r.WriteGap)
		}
	})
	t.Run("old leader acknowledging after the fault: outage starts later", func(t *testing.T) {
		b := newHB()
		for i := range 50 { // ok until 1000 ms
			b.write("w", int64(i), float64(i*20), float64(i*20+1), OK, "a")
		}
		b.event(500, EventFaultInjected, "a", "cut-dcs")
		b.write("w", 100, 4000, 4001, OK, "b")
		r := FailoverPhases(b.h, 0)
		if last := r.Phase(PhaseLastOKWrite); last.At != ms(981) {
			t.Errorf("last ok %v, want 981ms (after the fault)", last.At)
		}
		if r.RTO != ms(3501) || r.WriteGap != ms(3020) {
			t.Errorf("RTO %v gap %v, want 3.501s and 3.02s", r.RTO, r.WriteGap)
		}
	})
	t.Run("fault without outage (a follower killed): no RTO sample", func(t *testing.T) {
		b := newHB()
		for i := range 100 {
			b.write("w", int64(i), float64(i*20), float64(i*20+1), OK, "a")
		}
		b.event(1005, EventFaultInjected, "c", "kill")
		r := FailoverPhases(b.h, 0)
		if r.Outage || r.Recovered || r.RTO != 0 {
			t.Errorf("outage %v recovered %v RTO %v, want no outage and no RTO (not the 16ms to the next write)", r.Outage, r.Recovered, r.RTO)
		}
		if first := r.Phase(PhaseFirstOKWrite); !first.Present || first.At != ms(1021) {
			t.Errorf("first ok write %+v, want the write after the fault shown for context", first)
		}
		c := checkFailover(b.h, 30*time.Second)
		if c.Status != StatusPass || c.Samples != 0 || !strings.Contains(c.Detail, "no outage began in its window") || strings.Contains(c.Detail, "RTO 16ms") {
			t.Errorf("failover check %+v, want pass with no sample and the reason", c)
		}
	})
	t.Run("not recovered by the end of the run", func(t *testing.T) {
		b := newHB()
		b.write("w", 1, 0, 1, OK, "a")
		b.event(10, EventFaultInjected, "a", "kill")
		b.write("w", 2, 100, 5000, Failed, "")
		r := FailoverPhases(b.h, 0)
		if r.Recovered || !r.Outage || r.Phase(PhaseFirstOKWrite).Present || r.Observed != ms(4990) {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("second fault by index; unknown index", func(t *testing.T) {
		b := newHB()
		b.event(0, EventFaultInjected, "x", "pause")
		b.write("w", 1, 10, 11, OK, "a")
		b.event(100, EventFaultInjected, "a", "kill")
		b.event(200, EventLeaderChanged, "b", "")
		b.write("w", 2, 2000, 2001, OK, "b")
		r := FailoverPhases(b.h, 1)
		if !r.Found || r.Fault.Node != "a" || r.Phase(PhaseLeaderElected).At != ms(200) || r.RTO != ms(1901) {
			t.Errorf("fault 1: %+v", r)
		}
		if r := FailoverPhases(b.h, 5); r.Found || len(r.Phases) != 6 {
			t.Errorf("fault 5: %+v", r)
		}
	})
}

func TestFaults(t *testing.T) {
	b := newHB()
	b.event(0, EventFaultInjected, "a", "pause")
	b.event(10, EventFaultInjected, "b", "kill")
	b.event(20, EventFaultHealed, "b", "kill")
	b.event(30, EventLeaderChanged, "c", "")
	b.event(40, EventFaultInjected, "c", "delay")
	b.write("w", 1, 0, 100, OK, "c")
	f := Faults(b.h)
	want := []FaultWindow{
		{Index: 0, Node: "a", Detail: "pause", Injected: 0, End: ms(30), HealEnd: ms(30), EndReason: EndLeaderChanged},
		{Index: 1, Node: "b", Detail: "kill", Injected: ms(10), InjectedEnd: ms(10), End: ms(20), HealEnd: ms(20), EndReason: EndHealed},
		{Index: 2, Node: "c", Detail: "delay", Injected: ms(40), InjectedEnd: ms(40), End: ms(100), HealEnd: ms(100), EndReason: EndRunEnd},
	}
	if !slices.Equal(f, want) {
		t.Errorf("faults\n got %+v\nwant %+v", f, want)
	}
}

func TestLag(t *testing.T) {
	b := newHB()
	for i := 1; i <= 100; i++ {
		b.sample(float64(i), "m", "f1", float64(i)) // steady: 1..100
	}
	b.event(1000, EventFaultInjected, "l", "kill")
	b.sample(1500, "m", "f1", 500)
	b.event(2000, EventFaultHealed, "l", "kill")
	b.sample(2500, "m", "f1", 7)
	b.sample(2500, "m", "f2", 3)
	b.sample(2500, "other", "f1", 1e9)
	r := Lag(b.h, "m", nil)
	if len(r.Nodes) != 2 || r.Nodes[0].Node != "f1" {
		t.Fatalf("nodes %+v", r.Nodes)
	}
	f1 := r.Nodes[0]
	if f1.Steady != (Stats{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100}) {
		t.Errorf("steady %+v", f1.Steady)
	}
	if f1.During != (Stats{Count: 1, P50: 500, P95: 500, P99: 500, Max: 500}) || f1.After.Count != 1 || f1.All.Count != 102 || f1.All.Max != 500 {
		t.Errorf("during %+v after %+v all %+v", f1.During, f1.After, f1.All)
	}
	if NewStats(nil) != (Stats{}) {
		t.Error("empty stats not zero")
	}
}

func TestStaleReads(t *testing.T) {
	b := newHB()
	b.write("s1", 1, 0, 10, OK, "a")
	stale := b.read("s1", 1, 20, 22, false, "c")                                                     // planted: own acknowledged write unseen
	b.read("s1", 1, 30, 32, true, "c")                                                               // a poll: seen now
	b.read("s1", 2, 30, 32, false, "c")                                                              // never written
	b.read("s2", 1, 30, 32, false, "c")                                                              // another session's write: not read-your-writes
	b.write("s1", 3, 40, 50, OK, "a")                                                                //
	b.read("s1", 3, 45, 55, false, "c")                                                              // invoked before the ack: may legally miss it
	b.op(Op{Kind: OpRead, Process: "s1", Key: 1, Invoke: ms(60), Complete: ms(61), Outcome: Failed}) // failed read says nothing
	r := StaleReads(b.h)
	if len(r.Stale) != 1 || r.Stale[0].Read.ID != stale || r.Stale[0].IssuedAfterAck != ms(10) || r.Checked != 1 || r.Reads != 5 ||
		!r.Stale[0].Visible || r.Stale[0].VisibleAfter != ms(22) || r.Stale[0].Polls != 1 {
		t.Errorf("got %+v", r)
	}
	if r := StaleReads(scenario{}.build()); len(r.Stale) != 0 || r.Checked == 0 {
		t.Errorf("clean scenario: %d stale of %d checked", len(r.Stale), r.Checked)
	}
	if r := StaleReads(scenario{stale: 3}.build()); len(r.Stale) != 3 {
		t.Errorf("planted 3 stale reads, found %d", len(r.Stale))
	}
}

func TestAvailability(t *testing.T) {
	b := newHB()
	// ok every 100 ms from 0 to 10 s, then nothing until 20 s (failed
	// attempts), then ok until 30 s
	b.writesWithOutage()
	b.probe("a", 99, 5, OK) // probes do not count
	r := Availability(b.h, 0)
	if r.Gap != DefaultOutageGap || r.Writes != 301 || r.Failed != 99 || r.OK != 202 {
		t.Fatalf("counts %+v", r)
	}
	if len(r.Outages) != 1 || r.Outages[0].Start != ms(10001) || r.Outages[0].End != ms(20001) || r.Downtime != 10*time.Second {
		t.Errorf("outages %+v downtime %v", r.Outages, r.Downtime)
	}
	if r.Span != ms(30001) || math.Abs(r.TimeShare-100*(1-10000.0/30001)) > 1e-9 {
		t.Errorf("span %v share %v", r.Span, r.TimeShare)
	}
	if math.Abs(r.OpShare-100*202.0/301) > 1e-9 {
		t.Errorf("op share %v", r.OpShare)
	}
	if r := Availability(newHB().h, 0); r.Writes != 0 || r.TimeShare != 0 {
		t.Errorf("empty: %+v", r)
	}
	clean := newHB()
	clean.write("w", 1, 0, 1, OK, "a")
	clean.write("w", 2, 500, 501, OK, "a")
	if r := Availability(clean.h, 0); r.TimeShare != 100 || r.Nines != NoDowntimeNines || r.YearlyDowntime != 0 {
		t.Errorf("clean: %+v", r)
	}
}

func TestNines(t *testing.T) {
	tests := []struct {
		percent float64
		label   string
		yearly  time.Duration // about
	}{
		{99.9, "3 nines", 8*time.Hour + 46*time.Minute},
		{99.99, "4 nines", 52*time.Minute + 36*time.Second},
		{99.95, "3 nines", 4*time.Hour + 23*time.Minute},
		{99.999, "5 nines", 5*time.Minute + 16*time.Second},
		{99, "2 nines", 87*time.Hour + 40*time.Minute},
		{90, "1 nine", 876*time.Hour + 36*time.Minute},
		{50, "less than 1 nine", 4383 * time.Hour},
		{100, "no downtime observed", 0},
	}
	for _, tc := range tests {
		if got := NinesLabel(tc.percent); got != tc.label {
			t.Errorf("NinesLabel(%v) = %q, want %q", tc.percent, got, tc.label)
		}
		yearly := time.Duration((1 - tc.percent/100) * float64(year))
		if d := yearly - tc.yearly; d > time.Minute || d < -time.Minute {
			t.Errorf("yearly downtime at %v%% = %v, want about %v", tc.percent, yearly, tc.yearly)
		}
	}
}

func checkByName(v Verdict, name string) Check {
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Name: name, Status: "missing"}
}

func TestEvaluate(t *testing.T) {
	all := slaTargets()
	lenient := all
	lenient.AvailabilityMin = ptr(60.0)
	tests := []struct {
		name     string
		h        History
		targets  Targets
		pass     bool
		statuses map[string]Status
	}{
		{"clean failover meets lenient targets", scenario{}.build(), lenient, true, map[string]Status{
			CheckFailoverTime: StatusPass, CheckLostWrites: StatusPass, CheckSplitBrain: StatusPass, CheckLagP99: StatusPass, CheckAvailability: StatusPass,
		}},
		{"a 20 s failover is not 99.9 %", scenario{}.build(), all, false, map[string]Status{CheckAvailability: StatusFail}},
		{"lost writes fail", scenario{lose: 2}.build(), lenient, false, map[string]Status{CheckLostWrites: StatusFail}},
		{"lost writes within target pass", scenario{lose: 2}.build(), Targets{LostWritesMax: ptr(2)}, true, map[string]Status{CheckLostWrites: StatusPass}},
		{"split-brain fails even without targets", scenario{splitBrain: true}.build(), Targets{}, false, map[string]Status{CheckSplitBrain: StatusFail}},
		{"discarded writes fail split-brain", scenario{splitBrain: true, discard: true}.build(), Targets{}, false, map[string]Status{CheckSplitBrain: StatusFail}},
		{"slow failover fails", scenario{}.build(), Targets{FailoverTimeMax: ptr(10 * time.Second)}, false, map[string]Status{CheckFailoverTime: StatusFail}},
		{"no final state: lost writes inconclusive, which fails", scenario{noFinal: true}.build(), Targets{LostWritesMax: ptr(0)}, false, map[string]Status{CheckLostWrites: StatusInconclusive}},
		{"no final state, inconclusive allowed", scenario{noFinal: true}.build(), Targets{LostWritesMax: ptr(0), AllowInconclusive: true}, true, map[string]Status{CheckLostWrites: StatusInconclusive}},
		{"nil targets: only split-brain", scenario{}.build(), Targets{}, true, map[string]Status{CheckSplitBrain: StatusPass, CheckFailoverTime: "missing", CheckLagP99: "missing"}},
		{"no fault: failover inconclusive", func() History {
			b := newHB()
			b.write("w", 1, 0, 1, OK, "a")
			return b.h
		}(), all, false, map[string]Status{CheckFailoverTime: StatusInconclusive, CheckLagP99: StatusInconclusive, CheckLostWrites: StatusInconclusive, CheckSplitBrain: StatusInconclusive, CheckAvailability: StatusPass}},
		{"never recovered, long enough to know: failover fails", func() History {
			b := newHB()
			b.write("w", 1, 0, 1, OK, "a")
			b.event(10, EventFaultInjected, "a", "kill")
			b.write("w", 2, 100, 40000, Failed, "")
			return b.h
		}(), Targets{FailoverTimeMax: ptr(30 * time.Second)}, false, map[string]Status{CheckFailoverTime: StatusFail}},
		{"never recovered, run too short to know: inconclusive", func() History {
			b := newHB()
			b.write("w", 1, 0, 1, OK, "a")
			b.event(10, EventFaultInjected, "a", "kill")
			b.write("w", 2, 100, 5000, Failed, "")
			return b.h
		}(), Targets{FailoverTimeMax: ptr(30 * time.Second), AllowInconclusive: true}, true, map[string]Status{CheckFailoverTime: StatusInconclusive}},
		{"high lag fails", func() History {
			b := newHB()
			for i := range 30 {
				b.sample(float64(i), MetricLagReplaySeconds, "f", 3)
			}
			return b.h
		}(), Targets{ReplicationLagP99: ptr(2 * time.Second)}, false, map[string]Status{CheckLagP99: StatusFail}},
		{"19 lag samples: inconclusive", func() History {
			b := newHB()
			for i := range MinLagSamples - 1 {
				b.sample(float64(i), MetricLagReplaySeconds, "f", 3)
			}
			return b.h
		}(), Targets{ReplicationLagP99: ptr(2 * time.Second)}, false, map[string]Status{CheckLagP99: StatusInconclusive}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(tc.h, tc.targets)
			if v.Pass != tc.pass {
				t.Errorf("pass = %v, want %v\n%s", v.Pass, tc.pass, v.Table())
			}
			for name, want := range tc.statuses {
				if got := checkByName(v, name).Status; got != want {
					t.Errorf("%s = %s, want %s\n%s", name, got, want, v.Table())
				}
			}
		})
	}
}

func TestEvaluateNumbers(t *testing.T) {
	v := Evaluate(scenario{lose: 3}.build(), slaTargets())
	fo := checkByName(v, CheckFailoverTime)
	if !strings.HasPrefix(fo.Measured, "19.8") || fo.Target != "≤ 30s" || fo.Samples != 1 {
		t.Errorf("failover check %+v", fo)
	}
	lw := checkByName(v, CheckLostWrites)
	if lw.Measured != "3" || lw.Target != "≤ 0" || lw.Samples == 0 {
		t.Errorf("lost writes check %+v", lw)
	}
	av := checkByName(v, CheckAvailability)
	if !strings.Contains(av.Measured, "nines") && !strings.Contains(av.Measured, "nine") {
		t.Errorf("availability check %+v", av)
	}
	table := v.Table()
	for _, s := range []string{"SLA verdict: FAIL", "CHECK", "MEASURED", "TARGET", "lost_writes", "≤ 0"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	// the verdict shares no pointer with the caller's targets
	tg := slaTargets()
	v = Evaluate(scenario{}.build(), tg)
	*tg.LostWritesMax = 5
	if *v.Targets.LostWritesMax != 0 {
		t.Error("verdict targets alias the caller's")
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		19843 * time.Millisecond: "19.843s",
		ms(12.44):                "12.4ms",
		850 * time.Microsecond:   "850µs",
		42:                       "42ns",
		-ms(1500):                "-1.5s",
		30 * time.Second:         "30s",
		ms(15):                   "15ms",
		2 * time.Hour:            "2h0m",
		8*time.Hour + ms(2760e3): "8h46m",
		90 * time.Second:         "1m30s",
		100 * 24 * time.Hour:     "100 days",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := FormatPercent(99.95000001); got != "99.95%" {
		t.Errorf("FormatPercent = %q", got)
	}
}
