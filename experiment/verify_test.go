package experiment

import (
	"context"
	"strings"
	"testing"

	"github.com/replab/replab/topologies"
)

func TestVerifyPlanSkipsWhatTheTopologyCannotRun(t *testing.T) {
	topo := topologies.Default()
	topo.Replication.Mode, topo.Replication.SyncStandbys = topologies.Async, 0
	run, skipped, err := VerifyRequest{Topology: topo}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if len(run)+len(skipped) != len(Catalog()) {
		t.Fatalf("planned %d + skipped %d of %d scenarios", len(run), len(skipped), len(Catalog()))
	}
	why, ok := skipped["sync-standbys-lost"]
	if !ok || !strings.Contains(why, "mode") {
		t.Errorf("an async topology must skip sync-standbys-lost with the reason, got %q", why)
	}
	for _, s := range run {
		if s.Name == "sync-standbys-lost-strict" {
			t.Error("planned sync-standbys-lost-strict on an async topology")
		}
	}
}

func TestVerifyRefusesUnknownScenariosBeforeStarting(t *testing.T) {
	_, err := Verify(context.Background(), VerifyRequest{Topology: topologies.Default(), Scenarios: []string{"leader-kill", "leader-kil"}, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `unknown scenario leader-kil (scenarios: leader-kill,`) {
		t.Fatalf("err = %v, want the unknown name and the catalog", err)
	}
}
