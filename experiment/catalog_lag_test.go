package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

func lagMS(v int) time.Duration { return time.Duration(v) * time.Millisecond }

// lagHistory is a run sampled every 100ms for 30s: a fault on n2 from 5s,
// wholly in effect at 5.2s, healed at 15s. replay and bytes give n2's replay_lag (seconds) and byte
// lag at each time; n3 lags 9s throughout and must not be read as n2.
func lagHistory(replay func(at time.Duration) float64, bytes func(at time.Duration) float64) (results.History, results.FaultWindow) {
	var h results.History
	h.Events = []results.EventRecord{
		{At: lagMS(5000), End: lagMS(5200), Kind: results.EventFaultInjected, Node: "n2", Detail: "cpu"},
		{At: lagMS(15000), Kind: results.EventFaultHealed, Node: "n2", Detail: "cpu"},
	}
	for at := time.Duration(0); at < 30*time.Second; at += lagMS(100) {
		h.Samples = append(h.Samples,
			results.SampleRecord{At: at, Metric: results.MetricLagReplaySeconds, Node: "n2", Value: replay(at)},
			results.SampleRecord{At: at, Metric: results.MetricLagBytes, Node: "n2", Value: bytes(at)},
			results.SampleRecord{At: at, Metric: results.MetricLagReplaySeconds, Node: "n3", Value: 9},
			results.SampleRecord{At: at, Metric: results.MetricLagBytes, Node: "n3", Value: 9e9},
		)
		// The heartbeat reader on n2 gets no answer from 6s to 17s.
		if at < lagMS(6000) || at >= lagMS(17000) {
			h.Samples = append(h.Samples, results.SampleRecord{At: at, Metric: results.MetricLagHeartbeatSeconds, Node: "n2", Value: replay(at) / 2})
		}
	}
	return h, results.Faults(h)[0]
}

// TestLagCurveOfAFollowerFallingBehindUntilTheHeal: lag grows through the
// fault, peaks at the heal and drains by 18s; the curve's peak, its time,
// the catch-up counted from the heal and the heartbeat gap are read off it.
func TestLagCurveOfAFollowerFallingBehindUntilTheHeal(t *testing.T) {
	replay := func(at time.Duration) float64 {
		switch {
		case at < lagMS(5000):
			return 0.02
		case at <= lagMS(15000):
			return (at - lagMS(5000)).Seconds() // 10s at the heal
		case at < lagMS(18000):
			return 10 - (at-lagMS(15000)).Seconds()*3 // 1s at 18s, above until then
		}
		return 0.03
	}
	bytes := func(at time.Duration) float64 { return replay(at) * 1e6 }
	h, w := lagHistory(replay, bytes)
	c := LagCurveOf(h, "n2", w, time.Second, 1e6)
	if !c.CaughtUp || c.Recovery != lagMS(3000) {
		t.Errorf("caught up %v after %v, want 3s after the heal (at 18s, the first sample at or under 1s)", c.CaughtUp, c.Recovery)
	}
	if c.PeakReplaySeconds != 10 || c.PeakAt != lagMS(9800) || c.PeakBytes != 1e7 {
		t.Errorf("peak %gs at %v, %g bytes; want 10s at 9.8s after the fault was in effect, 1e7 bytes", c.PeakReplaySeconds, c.PeakAt, c.PeakBytes)
	}
	if c.Before != 0.02 {
		t.Errorf("replay_lag before = %g, want 0.02 (n3's 9s is another follower)", c.Before)
	}
	if !c.PeakRecovered || c.FromPeak != lagMS(3000) || c.BeforeHeal {
		t.Errorf("from the peak: %v %v (before the heal %v), want 3s, after the heal", c.PeakRecovered, c.FromPeak, c.BeforeHeal)
	}
	if c.HeartbeatGap != lagMS(11100) {
		t.Errorf("heartbeat gap = %v, want 11.1s (5.9s to 17s)", c.HeartbeatGap)
	}
	if !c.Rose() {
		t.Error("a 10s peak over a 1s threshold did not rise")
	}
}

// TestLagCurveOfAStalledReplayIsNotCaughtUpOnAStaleReplayLag: while
// replay is stalled replay_lag holds its last small value and only the
// byte lag grows; a follower still stalled after the heal has not caught
// up until the bytes are back under a second's worth of WAL.
func TestLagCurveOfAStalledReplayIsNotCaughtUpOnAStaleReplayLag(t *testing.T) {
	replay := func(time.Duration) float64 { return 0.02 } // stale: never updated
	bytes := func(at time.Duration) float64 {
		if at >= lagMS(5000) && at < lagMS(20000) {
			return 5e6
		}
		return 1e3
	}
	h, w := lagHistory(replay, bytes)
	c := LagCurveOf(h, "n2", w, time.Second, 1e6)
	if !c.CaughtUp || c.Recovery != lagMS(5000) {
		t.Errorf("caught up %v after %v, want 5s after the heal (bytes back under 1e6 at 20s)", c.CaughtUp, c.Recovery)
	}
	if c.PeakBytes != 5e6 {
		t.Errorf("peak bytes = %g, want 5e6", c.PeakBytes)
	}
}

// TestLagCurveOfAFollowerCaughtUpBeforeTheHeal: a query cancelled
// mid-fault lets replay catch up before the heal: recovery after the heal
// is 0, and the time from the peak says how fast it caught up.
func TestLagCurveOfAFollowerCaughtUpBeforeTheHeal(t *testing.T) {
	replay := func(at time.Duration) float64 {
		if at >= lagMS(9000) && at < lagMS(9500) {
			return 4
		}
		return 0.02
	}
	h, w := lagHistory(replay, func(time.Duration) float64 { return 1e3 })
	c := LagCurveOf(h, "n2", w, time.Second, 1e6)
	if !c.CaughtUp || c.Recovery != 0 || !c.BeforeHeal || c.PeakAt != lagMS(3800) || c.FromPeak != lagMS(500) {
		t.Errorf("curve %+v, want caught up before the heal, peak 3.8s after the fault was in effect, 500ms from peak to catch-up", c)
	}
	row := LagTable("c", "n2", "async", c, conflicts{Total: 1, Lock: 1}, "why", nil).Rows[0]
	if !strings.Contains(strings.Join(row, "|"), "caught up before the heal") {
		t.Errorf("row %q does not say it caught up before the heal", row)
	}
}

// TestLagCurveOfAFollowerNeverCaughtUp: no sample under the threshold
// after the heal is no catch-up, and the table says so.
func TestLagCurveOfAFollowerNeverCaughtUp(t *testing.T) {
	replay := func(at time.Duration) float64 { return max(0.02, (at - lagMS(5000)).Seconds()) }
	h, w := lagHistory(replay, func(at time.Duration) float64 { return replay(at) * 1e6 })
	c := LagCurveOf(h, "n2", w, time.Second, 1e6)
	if c.CaughtUp || c.PeakRecovered {
		t.Errorf("curve %+v caught up, want not", c)
	}
	tab := LagTable("c", "n2", "", c, conflicts{}, "why", map[string]string{"x": "y"})
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := tab.Rows[0][7]; got != "not within the run" {
		t.Errorf("caught up after the heal = %q, want not within the run", got)
	}
}

func TestLagFollowerPrefersAFollowerTheLeaderDoesNotWaitFor(t *testing.T) {
	m := func(name string, role harness.Role, state, sync string) harness.Member {
		return harness.Member{Name: name, Role: role, State: state, SyncState: sync}
	}
	for _, tc := range []struct {
		ms   []harness.Member
		want string
	}{
		{[]harness.Member{m("a", harness.RoleLeader, "running", ""), m("b", harness.RoleReplica, "streaming", "sync"), m("c", harness.RoleReplica, "streaming", "async")}, "c"},
		{[]harness.Member{m("c", harness.RoleReplica, "streaming", "potential"), m("b", harness.RoleReplica, "streaming", "async"), m("a", harness.RoleLeader, "running", "")}, "b"},
		{[]harness.Member{m("a", harness.RoleLeader, "running", ""), m("c", harness.RoleReplica, "streaming", "sync"), m("b", harness.RoleReplica, "streaming", "quorum")}, "b"},
		{[]harness.Member{m("a", harness.RoleLeader, "running", ""), m("b", harness.RoleReplica, "starting", "async"), m("c", harness.RoleReplica, "streaming", "sync")}, "c"},
	} {
		got, ok := lagFollower(tc.ms)
		if !ok || got.Name != tc.want {
			t.Errorf("lagFollower(%v) = %s, %v; want %s", tc.ms, got.Name, ok, tc.want)
		}
	}
	if _, ok := lagFollower([]harness.Member{{Name: "a", Role: harness.RoleLeader, State: "running"}}); ok {
		t.Error("a lab with no streaming replica gave a follower")
	}
	// three-region: aps-1 sorts first by name, but its link to the leader
	// crosses the WAN; use-3, in the leader's region, is picked.
	r := func(name, region string, role harness.Role, state, sync string) harness.Member {
		return harness.Member{Name: name, Region: region, Role: role, State: state, SyncState: sync}
	}
	got, ok := lagFollower([]harness.Member{r("aps-1", "ap-southeast", harness.RoleReplica, "streaming", "async"),
		r("use-1", "us-east", harness.RoleLeader, "running", ""), r("use-2", "us-east", harness.RoleReplica, "streaming", "sync"),
		r("use-3", "us-east", harness.RoleReplica, "streaming", "potential")})
	if !ok || got.Name != "use-3" {
		t.Errorf("lagFollower on three-region = %s, want use-3 (not waited for, in the leader's region)", got.Name)
	}
}

func TestStandbyDelayTextIsWhatPostgreSQLTakesBack(t *testing.T) {
	for in, want := range map[int64]string{30000: "30s", 10000: "10s", 1500: "1500ms", 0: "0s", -1: "-1"} {
		if got := standbyDelayText(in); got != want {
			t.Errorf("standbyDelayText(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestLagScenariosAreInTheCatalog: each cause runs from the CLI by name,
// under the profile that makes it.
func TestLagScenariosAreInTheCatalog(t *testing.T) {
	for name, profile := range map[string]string{"lag-bandwidth": "bulk", "lag-cpu": "bulk", "lag-replay-conflict": "steady"} {
		sc, err := Lookup(name)
		if err != nil {
			t.Errorf("Lookup(%s): %v", name, err)
			continue
		}
		if sc.Profile.Name != profile {
			t.Errorf("%s runs profile %q, want %q", name, sc.Profile.Name, profile)
		}
	}
}

// TestResultLagCurveReadsTheRunsFigures: a spec reads the curve back from
// the result as the run judged it: its follower, its fault and the WAL
// rate the byte threshold comes from.
func TestResultLagCurveReadsTheRunsFigures(t *testing.T) {
	h, w := lagHistory(func(time.Duration) float64 { return 0.02 }, func(time.Duration) float64 { return 1e3 })
	res := Result{History: h,
		Faults:   map[string]*chaos.Active{"cpu": {Fault: "cpu", Target: "n2", Injected: w.Injected}},
		Measures: []Figure{{Name: MeasureLagFollower, Value: "n2"}, {Name: MeasureWALRate, Value: walRateText(555612)}}}
	c, err := res.LagCurve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "n2" || c.Threshold != results.DefaultRejoinLag || c.ThresholdBytes != 555612 || !c.CaughtUp {
		t.Errorf("curve %+v, want n2's, caught up, 1s and 555612 bytes as thresholds", c)
	}
	res.Faults["kill"] = &chaos.Active{}
	if _, err := res.LagCurve(); err == nil {
		t.Error("a run with two faults gave a lag curve")
	}
}
