package experiment

import (
	"context"
	"testing"

	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// TestRYWScenarioShapesAsync: the strategies are compared where replicas
// trail by their links and replay alone, whatever mode the topology has.
func TestRYWScenarioShapesAsync(t *testing.T) {
	sc := RYWScenario(RYWSpec{})
	topo := *topologies.Default()
	sc.Shape(&topo)
	if topo.Replication.Mode != topologies.Async || topo.Replication.SyncStandbys != 0 {
		t.Errorf("shaped to %s with %d sync standbys, want async with none", topo.Replication.Mode, topo.Replication.SyncStandbys)
	}
	if len(sc.Profile.Sessions) != 4 || sc.Profile.WriteRate != 100 {
		t.Errorf("profile %+v: want the steady workload and four strategy sessions", sc.Profile)
	}
}

// TestRYWTableRows: one row per strategy, in order; the stale read
// planted in "none" shows with how far behind it was, the others say
// none.
func TestRYWTableRows(t *testing.T) {
	spec := RYWSpec{}
	rec := results.NewRecorder(results.RunMeta{ID: "t"})
	for i, p := range spec.Processes() {
		w := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: p, Target: results.TargetRW, Key: int64(i)})
		w.End(results.OpEnd{Outcome: results.OK, Member: "lab-1", LSN: 9000})
		member, found := "lab-1", true
		if i == 0 {
			member, found = "lab-2", false
		}
		r := rec.Begin(results.OpStart{Kind: results.OpRead, Process: p, Target: results.TargetRO, Key: int64(i)})
		r.End(results.OpEnd{Outcome: results.OK, Member: member, Found: found, LSN: 8000})
	}
	topo := *topologies.Default()
	RYWScenario(spec).Shape(&topo)
	if err := RYWTable(spec).do(context.Background(), &Run{Rec: rec, Topology: &topo}); err != nil {
		t.Fatal(err)
	}
	h := rec.History()
	if len(h.Tables) != 1 || len(h.Tables[0].Rows) != 4 {
		t.Fatalf("tables %+v: want one with four rows", h.Tables)
	}
	rows := h.Tables[0].Rows
	if r := rows[0]; r[0] != "none (any replica)" || r[2] != "1" || r[3] != "0" || r[4] != "1000 B" || r[6] != "0.0%" {
		t.Errorf("none's row %q: want 1 stale, 1000 B behind, 0%% on the leader", r)
	}
	if r := rows[3]; r[0] != "sticky session on the leader" || r[2] != "0" || r[4] != "" || r[6] != "100.0%" {
		t.Errorf("sticky's row %q: want none stale, 100%% on the leader", r)
	}
	if got := h.Tables[0].Settings["replication.mode"]; got != "async" {
		t.Errorf("settings say mode %q", got)
	}
}
