package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
)

func TestInconclusiveFailsUnlessAllowed(t *testing.T) {
	h := scenario{noFinal: true}.build()
	v := Evaluate(h, slaTargetsLenient())
	if v.Pass {
		t.Errorf("an inconclusive check passed the verdict:\n%s", v.Table())
	}
	inc := v.Inconclusive()
	if len(inc) != 1 || inc[0].Name != CheckLostWrites || !strings.Contains(inc[0].Detail, "RecordFinal was not called") {
		t.Errorf("inconclusive %+v", inc)
	}
	table := v.Table()
	for _, s := range []string{"SLA verdict: FAIL: 1 check inconclusive (not allowed)", "Inconclusive (they fail the run", "lost_writes: RecordFinal was not called"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	md := RenderSummary(Summarize(h, v))
	if !strings.Contains(md, "**Inconclusive** (they fail the run") || !strings.Contains(md, "- **lost_writes**: RecordFinal was not called") {
		t.Errorf("summary does not list the inconclusive checks:\n%s", md)
	}

	allowed := slaTargetsLenient()
	allowed.AllowInconclusive = true
	v = Evaluate(h, allowed)
	if !v.Pass || !strings.Contains(v.Table(), "SLA verdict: PASS with 1 check inconclusive (allowed)") || !strings.Contains(v.Table(), "allowed: the targets set allow_inconclusive") {
		t.Errorf("allowed inconclusive:\n%s", v.Table())
	}
	if md := RenderSummary(Summarize(h, v)); !strings.Contains(md, "**Inconclusive** (allowed:") {
		t.Errorf("summary does not say inconclusive was allowed:\n%s", md)
	}
	// a failure is a failure even when inconclusive is allowed
	if v := Evaluate(scenario{lose: 1, noFinal: false}.build(), allowed); v.Pass {
		t.Errorf("lost write passed:\n%s", v.Table())
	}
	// saved in results.json and re-checked the same
	dir := t.TempDir()
	if err := WriteRun(dir, h, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileResults))
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, FileReport))
	if err != nil || !strings.Contains(string(html), "<b>Inconclusive</b> (allowed: the targets set allow_inconclusive") || !strings.Contains(string(html), "PASS with 1 check inconclusive (allowed)") {
		t.Errorf("report.html does not list the allowed inconclusive check (%v)", err)
	}
	var saved struct {
		Verdict struct {
			Targets map[string]any `json:"targets"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal(b, &saved); err != nil || saved.Verdict.Targets["allow_inconclusive"] != true {
		t.Errorf("results.json targets %v (%v), want allow_inconclusive true", saved.Verdict.Targets, err)
	}
	again, err := CheckDir(dir, v.Targets)
	if err != nil || !again.Pass {
		t.Errorf("re-check: %v\n%s", err, again.Table())
	}
}

// slaTargetsLenient are slaTargets with an availability a 20 s failover
// in a minute can meet.
func slaTargetsLenient() Targets {
	t := slaTargets()
	t.AvailabilityMin = ptr(60.0)
	return t
}

func TestLostWritesVerdict(t *testing.T) {
	withRun := func(h History) History {
		if h.Final != nil {
			h.Final.Run = h.Meta.ID
		}
		return h
	}
	tests := []struct {
		name   string
		h      History
		status Status
		detail string
	}{
		{"clean scenario", withRun(scenario{}.build()), StatusPass, "0 of"},
		{"planted: duplicated id fails whatever the target", withRun(scenario{duplicate: true}.build()), StatusFail, "duplicated ids: 1"},
		{"planted: failed but committed fails whatever the target", withRun(scenario{failedCommitted: true}.build()), StatusFail, "failed but committed: 1"},
		{"read-back of another run", func() History {
			h := scenario{}.build()
			h.Final.Run = "some-earlier-run"
			return h
		}(), StatusInconclusive, `counted the rows of run "some-earlier-run"`},
		{"no write acknowledged within 1 s before the fault", func() History {
			b := newHB()
			b.write("w", 1, 0, 2, OK, "a")
			b.event(5000, EventFaultInjected, "a", "kill")
			b.write("w", 2, 7000, 7002, OK, "b")
			b.final("b", 1, 2)
			b.h.Final.Run = b.h.Meta.ID
			return b.h
		}(), StatusInconclusive, "no write acknowledged within 1s before, nor in flight at, fault 1 kill a at t=5.000s"},
		{"a commit blocked across the fault puts it to the test", func() History {
			b := newHB()
			b.write("w", 1, 0, 2, OK, "a")
			b.write("w", 2, 3000, 6000, Unknown, "") // waiting for a standby when the leader died
			b.event(5000, EventFaultInjected, "a", "kill")
			b.write("w", 3, 7000, 7002, OK, "b")
			b.final("b", 1, 3)
			b.h.Final.Run = b.h.Meta.ID
			return b.h
		}(), StatusPass, "0 of 2 acknowledged writes absent"},
		{"an untested fault does not hide a loss", func() History {
			b := newHB()
			b.write("w", 1, 0, 2, OK, "a")
			b.event(5000, EventFaultInjected, "a", "kill")
			b.write("w", 2, 7000, 7002, OK, "b")
			b.final("b", 2)
			return b.h
		}(), StatusFail, "1 of 2 acknowledged writes absent"},
		{"no fault and no acknowledged write", func() History {
			b := newHB()
			b.write("w", 1, 0, 2, Failed, "")
			b.final("a")
			return b.h
		}(), StatusInconclusive, "0 of 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := 5 // duplicates and failed-but-committed fail whatever the target
			if strings.Contains(tc.name, "hide a loss") {
				target = 0
			}
			c := checkLostWrites(tc.h, target)
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("got %+v, want %s with %q", c, tc.status, tc.detail)
			}
		})
	}
}

func TestLagPerNode(t *testing.T) {
	target := ptr(time.Second)
	t.Run("a node with too few samples is listed, not judged on its worst", func(t *testing.T) {
		b := newHB()
		for i := range 100 {
			b.sample(float64(i*100), MetricLagReplaySeconds, "f1", 0.01)
		}
		for i := range 3 {
			b.sample(float64(i*100), MetricLagReplaySeconds, "f2", 5)
		}
		c := checkLag(b.h, *target)
		if c.Status != StatusPass || c.Samples != 100 || !strings.Contains(c.Detail, "too few samples (under 20, not judged): f2 3") {
			t.Errorf("got %+v", c)
		}
		md := RenderSummary(Summarize(b.h, Evaluate(b.h, Targets{ReplicationLagP99: target})))
		if !strings.Contains(md, "| lag.replay_seconds | f2 | 3 | too few samples (3) |") {
			t.Errorf("summary lag table:\n%s", md)
		}
	})
	t.Run("planted: a node with enough samples over the target fails", func(t *testing.T) {
		b := newHB()
		for i := range 30 {
			b.sample(float64(i*100), MetricLagReplaySeconds, "f1", 0.01)
			b.sample(float64(i*100), MetricLagReplaySeconds, "f2", 5)
		}
		if c := checkLag(b.h, *target); c.Status != StatusFail || c.Measured != "5s" {
			t.Errorf("got %+v", c)
		}
	})
	// lab-1 is killed at 1 s, restarted from 2 s; it reports 5 s of lag
	// from 3 s to 6 s while it catches up, then 10 ms. f2 stays at 10 ms.
	rejoin := func(streamingAt float64) History {
		b := newHB()
		b.h.Events = append(b.h.Events,
			EventRecord{At: ms(1000), End: ms(1010), Kind: EventFaultInjected, Node: "lab-1", Detail: "kill"},
			EventRecord{At: ms(2000), End: ms(2500), Kind: EventFaultHealed, Node: "lab-1", Detail: "kill"})
		if streamingAt > 0 {
			b.event(streamingAt, EventStreaming, "lab-1", "")
		}
		for at := 0.0; at < 10000; at += 100 {
			b.sample(at, MetricLagReplaySeconds, "f2", 0.01)
			if at >= 3000 {
				v := 0.01
				if at < 6000 {
					v = 5
				}
				b.sample(at, MetricLagReplaySeconds, "lab-1", v)
			}
		}
		return b.h
	}
	t.Run("the rejoining node's catch-up is its own phase, not judged", func(t *testing.T) {
		h := rejoin(0)
		rj := Rejoins(h, MetricLagReplaySeconds, *target)
		if len(rj) != 1 || rj[0].Node != "lab-1" || rj[0].From != ms(2000) || rj[0].To != ms(6000) || !rj[0].Done || rj[0].Duration != 4*time.Second {
			t.Fatalf("rejoins %+v", rj)
		}
		c := checkLag(h, *target)
		if c.Status != StatusPass || !strings.Contains(c.Detail, "rejoin (not judged): lab-1 caught up 4s after its heal (lag ≤ 1s)") {
			t.Errorf("got %+v", c)
		}
		rep := Lag(h, MetricLagReplaySeconds, rj)
		if n := rep.Nodes[1]; n.Node != "lab-1" || n.Rejoin.Count != 30 || n.Judged.Count != 40 || n.Rejoin.Max != 5 {
			t.Errorf("lab-1 lag %+v", n)
		}
	})
	t.Run("streaming again is following, not caught up: the rejoin lasts until the lag is low", func(t *testing.T) {
		h := rejoin(3500)
		rj := Rejoins(h, MetricLagReplaySeconds, *target)
		if len(rj) != 1 || rj[0].To != ms(6000) {
			t.Fatalf("rejoins %+v, want lab-1's until 6s", rj)
		}
		if c := checkLag(h, *target); c.Status != StatusPass {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("planted: lag that comes back after the catch-up is judged", func(t *testing.T) {
		h := rejoin(3500)
		for at := 8000.0; at < 9000; at += 100 {
			h.Samples = append(h.Samples, SampleRecord{At: ms(at) + 50*time.Millisecond, Metric: MetricLagReplaySeconds, Node: "lab-1", Value: 5})
		}
		if c := checkLag(h, *target); c.Status != StatusFail {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("missing samples are gaps", func(t *testing.T) {
		b := newHB()
		for at := 0.0; at < 5000; at += 100 {
			if at > 1000 && at < 3000 {
				continue // replay_lag was NULL: not sampled
			}
			b.sample(at, MetricLagReplaySeconds, "f1", 0.01)
		}
		n := Lag(b.h, MetricLagReplaySeconds, nil).Nodes[0]
		if n.Period != ms(100) || n.Gaps != 1 || n.LongestGap != ms(2000) || n.All.Count != 31 {
			t.Errorf("node %+v", n)
		}
		var at []time.Duration
		for _, s := range b.h.Samples {
			at = append(at, s.At)
		}
		if segs := splitAtGaps(xys(b.h.Samples), secs(GapFactor*samplingPeriod(at))); len(segs) != 2 || len(segs[0]) != 11 || len(segs[1]) != 20 {
			t.Errorf("plot segments %d, want 2 (11 and 20 points)", len(segs))
		}
	})
}

func TestHeartbeatResolution(t *testing.T) {
	rec := NewRecorder(RunMeta{ID: "hb"})
	rec.SetResolution(MetricLagHeartbeatSeconds, 50*time.Millisecond)
	for i := range 40 {
		rec.Sample(Sample{Metric: MetricLagHeartbeatSeconds, Node: "f1", Value: float64(i%2) * 0.02})
	}
	h := rec.History()
	if h.MetricResolution(MetricLagHeartbeatSeconds) != 50*time.Millisecond {
		t.Fatalf("resolutions %v", h.Resolutions)
	}
	c := checkLag(h, time.Second)
	if c.Status != StatusPass || c.Measured != "< 50ms" || !strings.Contains(c.Detail, "is measured to 50ms (its resolution): a value under it reads as < 50ms") {
		t.Errorf("got %+v", c)
	}
	if c := checkLag(h, 10*time.Millisecond); c.Status != StatusInconclusive {
		t.Errorf("a 10ms target on a 50ms heartbeat: %+v", c)
	}
	// the resolution survives the saved history
	dir := t.TempDir()
	if err := WriteRun(dir, h, Evaluate(h, Targets{})); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHistory(dir)
	if err != nil || got.Resolutions[MetricLagHeartbeatSeconds] != 50*time.Millisecond {
		t.Errorf("loaded resolutions %v (%v)", got.Resolutions, err)
	}
}

// sessionHistory is a session writing keys 1..n through the endpoint and
// reading each back with target; stale lists keys whose first read misses
// (then found by a poll 10 ms later); faultAt, when positive, is a fault
// window from faultAt to faultAt+1000 ms.
func sessionHistory(mode, target string, n int, stale []int64, faultAt float64) History {
	b := newHB()
	b.h.Meta.Mode = mode
	for k := int64(1); k <= int64(n); k++ {
		at := float64(k) * 100
		b.op(Op{Kind: OpWrite, Process: "session-0", Target: TargetRW, Key: k, Invoke: ms(at), Complete: ms(at + 3), Outcome: OK, Member: "a", LSN: 1000 * uint64(k)})
		found := !slices.Contains(stale, k)
		b.op(Op{Kind: OpRead, Process: "session-0", Target: target, Key: k, Invoke: ms(at + 4), Complete: ms(at + 5), Outcome: OK, Found: found, Member: "b", LSN: 1000*uint64(k) - 300})
		if !found {
			b.op(Op{Kind: OpRead, Process: "session-0", Target: target, Key: k, Invoke: ms(at + 15), Complete: ms(at + 16), Outcome: OK, Found: true, Member: "b"})
		}
	}
	if faultAt > 0 {
		b.event(faultAt, EventFaultInjected, "a", "kill")
		b.event(faultAt+1000, EventFaultHealed, "a", "kill")
	}
	return b.h
}

func TestReadYourWrites(t *testing.T) {
	t.Run("sync: clean reads on the synchronous standby pass", func(t *testing.T) {
		c, ok := checkReadYourWrites(sessionHistory(ModeSync, TargetSync, 30, nil, 0))
		if !ok || c.Status != StatusPass || c.Samples != 30 {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("planted: sync, a stale read on the synchronous standby fails", func(t *testing.T) {
		h := sessionHistory(ModeSync, TargetSync, 30, []int64{7}, 0)
		c, _ := checkReadYourWrites(h)
		if c.Status != StatusFail || c.Measured != "1 of 30 stale" || !strings.Contains(c.Detail, "worst 300 B behind") || !strings.Contains(c.Detail, "visible at most 13ms after") {
			t.Errorf("got %+v", c)
		}
		if v := Evaluate(h, Targets{AllowInconclusive: true}); v.Pass {
			t.Errorf("verdict passed:\n%s", v.Table())
		}
		r := StaleReads(h)
		s := r.Stale[0]
		if !s.BytesKnown || s.BytesBehind != 300 || !s.Visible || s.VisibleAfter != ms(13) || s.IssuedAfterAck != ms(1) || s.Polls != 1 || r.Checked != 30 {
			t.Errorf("stale read %+v, checked %d", s, r.Checked)
		}
		md := RenderSummary(Summarize(h, Evaluate(h, Targets{})))
		if !strings.Contains(md, "| 300 B | 13ms | 1ms | no |") || strings.Contains(md, "behind the write |") {
			t.Errorf("summary stale table:\n%s", md)
		}
	})
	t.Run("sync: a stale read inside a fault window is not judged", func(t *testing.T) {
		c, _ := checkReadYourWrites(sessionHistory(ModeSync, TargetSync, 30, []int64{7}, 600))
		if c.Status != StatusPass || c.Samples != 20 {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("sync without reads pinned to the standby: inconclusive", func(t *testing.T) {
		c, ok := checkReadYourWrites(sessionHistory(ModeSync, TargetRO, 30, []int64{7}, 0))
		if !ok || c.Status != StatusInconclusive || !strings.Contains(c.Detail, `Target "sync"`) {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("async: stale reads are reported, not judged", func(t *testing.T) {
		c, ok := checkReadYourWrites(sessionHistory("async", TargetRO, 30, []int64{3, 7}, 0))
		if !ok || c.Status != StatusPass || c.Target != "not promised by mode async" || !strings.Contains(c.Detail, "2 of 30 reads") {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("no session reads outside sync: no check", func(t *testing.T) {
		b := newHB()
		b.write("w", 1, 0, 1, OK, "a")
		if _, ok := checkReadYourWrites(b.h); ok {
			t.Error("check present without reads")
		}
	})
}

func TestErrorBudget(t *testing.T) {
	b := newHB()
	b.writesWithOutage()
	b.event(10050, EventFaultInjected, "a", "kill")
	r := Availability(b.h, 0)
	if len(r.PerFault) != 1 || r.PerFault[0].Downtime != 10*time.Second || r.Unattributed != 0 {
		t.Fatalf("per fault %+v", r.PerFault)
	}
	want := []int64{3155, 315, 31} // 31557.6 s, 3155.76 s, 315.576 s a Julian year over 10 s
	for i, f := range r.PerFault[0].Fits {
		if f.PerYear != want[i] || f.Percent != Budgets[i] {
			t.Errorf("fit %d %+v, want %d a year", i, f, want[i])
		}
	}
	if YearlyBudget(99.99).Round(time.Second) != 52*time.Minute+36*time.Second {
		t.Errorf("99.99%% budget %v", YearlyBudget(99.99))
	}
	if r.Extrapolated || r.YearlyDowntime != 0 || !strings.Contains(r.ExtrapolationNote, "no yearly extrapolation: the run lasted 30.001s") {
		t.Errorf("a 30 s run extrapolated: %+v", r)
	}
	md := RenderSummary(Summarize(b.h, Evaluate(b.h, Targets{})))
	for _, s := range []string{"| error budget | downtime | fit a year in 99.9% (8h46m) | fit a year in 99.99% (52m35.76s) | fit a year in 99.999% (5m15.576s) |",
		"| fault 1 kill a at t=10.050s | 10s | 3155 | 315 | 31 |", "No yearly extrapolation"} {
		if !strings.Contains(md, s) {
			t.Errorf("summary lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "days of downtime a year") {
		t.Errorf("summary extrapolates a short run:\n%s", md)
	}

	long := newHB()
	for at := 0.0; at <= float64(MinExtrapolationSpan/time.Millisecond); at += 500 {
		long.write("w", int64(at), at, at+1, OK, "a")
	}
	if r := Availability(long.h, 0); !r.Extrapolated || !strings.Contains(r.ExtrapolationNote, "extrapolated from a") {
		t.Errorf("a 10 min run not extrapolated: %+v", r)
	}
}

func xys(s []SampleRecord) plotter.XYs {
	out := make(plotter.XYs, len(s))
	for i, r := range s {
		out[i] = plotter.XY{X: secs(r.At), Y: r.Value}
	}
	return out
}

func TestTargetsWithout(t *testing.T) {
	d := 30 * time.Second
	n := 0
	tg := Targets{FailoverTimeMax: &d, LostWritesMax: &n}
	out, err := tg.Without(CheckFailoverTime)
	if err != nil {
		t.Fatal(err)
	}
	if out.FailoverTimeMax != nil || out.LostWritesMax == nil || tg.FailoverTimeMax == nil {
		t.Fatalf("Without(failover_time) = %+v (original %+v): want only that target gone, the original untouched", out, tg)
	}
	// A history without any fault: failover_time would be inconclusive,
	// and fail the verdict, unless left out.
	h := History{Final: &FinalState{}}
	for _, c := range Evaluate(h, out).Checks {
		if c.Name == CheckFailoverTime {
			t.Errorf("failover_time judged after being left out: %+v", c)
		}
	}
	if _, err := tg.Without("split_brain"); err == nil {
		t.Error("leaving out split_brain (it has no target) must be an error")
	}
}
