package experiment

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// TestFailedPromotionHealsAndLeavesNothing: with every replica dead,
// replab's MariaDB runbook finds no candidate; the run fails naming it,
// heals every fault, and removes its lab (nothing of it for gc to find).
func TestFailedPromotionHealsAndLeavesNothing(t *testing.T) {
	if os.Getenv("REPLAB_INTEGRATION") == "" {
		t.Skip("set REPLAB_INTEGRATION=1 (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli, err := harness.Connect(ctx)
	if err != nil {
		t.Skipf("docker unreachable: %v", err)
	}
	_ = cli.Close()
	topo, err := topologies.Builtin("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	sc := Scenario{
		Name:  "promotion-without-candidates",
		Needs: Needs{Engines: []topologies.EngineKind{topologies.EngineMariaDB}},
		Steps: []Step{
			Sleep("warm up", time.Second),
			Inject("replicas", func(*Run) chaos.Fault { return chaos.Kill(chaos.Followers) }),
			Inject("kill", func(*Run) chaos.Fault { return chaos.Kill(chaos.Leader) }),
			mariadbFailover("kill"),
		},
	}
	res, err := Execute(ctx, Request{Scenario: sc, Topology: topo, OutDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if !errors.Is(err, harness.ErrNoCandidate) {
		t.Fatalf("run: %v, want %v", err, harness.ErrNoCandidate)
	}
	if res.LabID == "" {
		t.Fatal("the run reports no lab")
	}
	fs := results.Faults(res.History)
	if len(fs) != 2 {
		t.Errorf("%d faults in the history, want the replicas' and the primary's kills", len(fs))
	}
	for _, f := range fs {
		if f.EndReason != results.EndHealed {
			t.Errorf("fault %s on %s: %s, want healed", f.Detail, f.Node, f.EndReason)
		}
	}
	rep, err := harness.GC(ctx, harness.GCRequest{})
	if err != nil {
		t.Fatalf("gc: %v", err)
	}
	if slices.Contains(rep.Labs, res.LabID) || slices.Contains(rep.Kept, res.LabID) {
		t.Errorf("lab %s was left behind (gc: %+v)", res.LabID, rep)
	}
}
