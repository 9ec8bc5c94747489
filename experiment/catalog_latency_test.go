package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

func lat(p50 time.Duration, n int) results.Latency {
	if n == 0 {
		return results.Latency{Excluded: 3}
	}
	return results.Latency{Samples: n, P50: p50, P95: 2 * p50, P99: 3 * p50, Max: 4 * p50}
}

// TestLatencyTableSetsEachModeAgainstAsyncAtItsOwnRTT: the overhead is a
// mode's p50 minus async's at the same round trip (the remote rows
// against the remote async row), placed against the usual claim; a cell
// without samples says so and has no overhead.
func TestLatencyTableSetsEachModeAgainstAsyncAtItsOwnRTT(t *testing.T) {
	ms := time.Millisecond
	cells := []LatencyCell{
		{RTT: 0, Mode: topologies.Async, Latency: lat(2*ms, 500)},
		{RTT: 0, Mode: topologies.SemiSync, Standby: "lab-2", Latency: lat(3500*time.Microsecond, 480)},
		{RTT: 0, Mode: topologies.Sync, Standby: "lab-2", Latency: lat(4*ms, 470)},
		{RTT: 10 * ms, Mode: topologies.Async, Latency: lat(2*ms, 500)},
		{RTT: 10 * ms, Mode: topologies.SemiSync, Standby: "lab-2", Caveat: "moved to lab-3", Latency: lat(13*ms, 300)},
		{RTT: 10 * ms, Mode: topologies.Sync, Standby: "lab-2", Latency: lat(0, 0)},
		{RTT: 80 * ms, Remote: true, Mode: topologies.SemiSync, Standby: "lab-2", Latency: lat(83*ms, 60)},
		{RTT: 80 * ms, Remote: true, Mode: topologies.Async, Latency: lat(1500*time.Microsecond, 500)},
	}
	tbl := LatencyTable(cells, map[string]string{"synchronous_node_count": "1"})
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"0ms", "async", "-", "500", "0", "2ms", "4ms", "6ms", "baseline", "-", "-"},
		{"0ms", "semi-sync", "lab-2", "480", "0", "3.5ms", "7ms", "10.5ms", "+1.5ms", "+1ms–2ms", "within the claim"},
		{"0ms", "sync", "lab-2", "470", "0", "4ms", "8ms", "12ms", "+2ms", "+10ms–50ms", "below the claim"},
		{"10ms", "async", "-", "500", "0", "2ms", "4ms", "6ms", "baseline", "-", "-"},
		{"10ms", "semi-sync", "lab-2 (moved to lab-3)", "300", "0", "13ms", "26ms", "39ms", "+11ms", "+1ms–2ms", "above the claim"},
		{"10ms", "sync", "lab-2", "0", "3", results.NoSamples, results.NoSamples, results.NoSamples, results.NoSamples, "+10ms–50ms", "-"},
		{"80ms (remote sync standby)", "semi-sync", "lab-2", "60", "0", "83ms", "166ms", "249ms", "+81.5ms", "+1ms–2ms", "above the claim"},
		{"80ms (remote sync standby)", "async", "-", "500", "0", "1.5ms", "3ms", "4.5ms", "baseline", "-", "-"},
	}
	if len(tbl.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(tbl.Rows), len(want))
	}
	for i := range want {
		if strings.Join(tbl.Rows[i], " | ") != strings.Join(want[i], " | ") {
			t.Errorf("row %d:\n got %q\nwant %q", i, tbl.Rows[i], want[i])
		}
	}

	for _, c := range []struct {
		rtt  string
		mode topologies.ReplicationMode
		want time.Duration
		ok   bool
	}{
		{"10ms", topologies.SemiSync, 13 * ms, true},
		{"0ms", topologies.Sync, 4 * ms, true},
		{"80ms" + RemoteSuffix, topologies.SemiSync, 83 * ms, true},
		{"10ms", topologies.Sync, 0, false}, // no samples
		{"2ms", topologies.Async, 0, false}, // no such row
	} {
		got, ok := LatencyP50(tbl, c.rtt, c.mode)
		if got != c.want || ok != c.ok {
			t.Errorf("LatencyP50(%s, %s) = %s, %t; want %s, %t", c.rtt, c.mode, got, ok, c.want, c.ok)
		}
	}
}

// TestModePatchMatchesTheBootstrappedModes: a switch at runtime sets what
// the lab bootstraps each mode with, and async turns synchronous_mode off.
func TestModePatchMatchesTheBootstrappedModes(t *testing.T) {
	for m, want := range map[topologies.ReplicationMode]struct {
		on     bool
		commit string
	}{topologies.Async: {false, "on"}, topologies.SemiSync: {true, "remote_write"}, topologies.Sync: {true, "remote_apply"}} {
		p := modePatch(m, 1)
		commit := p["postgresql"].(map[string]any)["parameters"].(map[string]any)["synchronous_commit"]
		if p["synchronous_mode"] != want.on || commit != want.commit || p["synchronous_node_count"] != 1 {
			t.Errorf("%s: %v", m, p)
		}
	}
	if n := syncNodeCount(&topologies.Topology{Replication: topologies.Replication{Mode: topologies.Async}}); n != 1 {
		t.Errorf("an async topology's semi-sync cells run with %d standbys, want 1", n)
	}
}

// TestWriteLatencyScenarioRestoresTheMode: the plan ends by setting the
// topology's mode back, and every step is wrapped so that a failing one
// restores it too.
func TestWriteLatencyScenarioRestoresTheMode(t *testing.T) {
	sc := WriteLatencyScenario(LatencySpec{})
	n := len(sc.Steps)
	if n < 2 || !strings.Contains(sc.Steps[n-2].Text, "restore") || !strings.Contains(sc.Steps[n-1].Text, "table") {
		t.Errorf("the plan ends with %q, %q; want the restore, then the table", sc.Steps[n-2].Text, sc.Steps[n-1].Text)
	}
	var measures, injects, heals int
	for _, st := range sc.Steps {
		switch {
		case strings.HasPrefix(st.Text, "measure commit latency"):
			measures++
		case strings.HasPrefix(st.Text, "inject "):
			injects++
		case strings.HasPrefix(st.Text, "heal "):
			heals++
		}
	}
	if measures != LatencyRounds*(3*len(LatencyRTTs)+3) || injects != heals || injects != 3 {
		t.Errorf("%d windows, %d injects, %d heals; want %d rounds of a window per mode per RTT plus the remote three, each fault healed", measures, injects, heals, LatencyRounds)
	}
	if got := WriteLatencyScenario(LatencySpec{Remote: -1}); strings.Contains(got.Summary, "away") {
		t.Errorf("without the remote row the summary still says %q", got.Summary)
	}
}

func TestAddDistinct(t *testing.T) {
	got := addDistinct(addDistinct(addDistinct(addDistinct("", ",", "lab-2"), ",", "lab-3"), ",", "lab-2"), ",", "")
	if got != "lab-2,lab-3" {
		t.Errorf("got %q", got)
	}
}
