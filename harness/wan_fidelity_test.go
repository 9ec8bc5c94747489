package harness

import (
	"testing"
	"time"

	"github.com/replab/replab/netem"
	"github.com/replab/replab/topologies"
)

func TestWANFidelityWindow(t *testing.T) {
	topo, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	w := (&Lab{topo: topo}).WAN()
	q := func(released, stamped uint64, errSum, lagSum float64) netem.AgentQueueStatus {
		return netem.AgentQueueStatus{
			Num: 1000, Links: []string{"us-east->eu-west"}, Impairment: netem.Impairment{Delay: 40 * time.Millisecond},
			Released: released, Stamped: stamped, ReleaseErrorSumUS: errSum, ArrivalLagSumUS: lagSum,
		}
	}
	before := map[string]netem.AgentStatus{
		"euw-1": {PID: 7, Queues: []netem.AgentQueueStatus{q(1000, 1000, 500_000, 100_000)}},   // 500us late, 100us lag so far
		"use-1": {PID: 8, Queues: []netem.AgentQueueStatus{q(5000, 5000, 9_000_000, 100_000)}}, // restarted below
	}
	after := map[string]netem.AgentStatus{
		"euw-1": {PID: 7, Queues: []netem.AgentQueueStatus{q(3000, 3000, 6_500_000, 2_100_000)}},
		"use-1": {PID: 9, Queues: []netem.AgentQueueStatus{q(100, 100, 20_000, 10_000)}},
	}
	fs := w.Fidelity(before, after)
	if len(fs) != 2 || fs[0].Host != "euw-1" || fs[1].Host != "use-1" {
		t.Fatalf("fidelity %+v, want euw-1 then use-1", fs)
	}
	// euw-1, window only: 2000 packets, (6.5s-0.5s)/2000 = 3ms late, 1ms lag.
	if f := fs[0]; f.Packets != 2000 || f.ReleaseError != 3*time.Millisecond || f.ArrivalLag != time.Millisecond {
		t.Errorf("euw-1 window: %+v", f)
	}
	// 80ms RTT, tolerance max(5%, 1ms) = 4ms, half each way.
	if f := fs[0]; f.Budget != 2*time.Millisecond || f.OK() {
		t.Errorf("euw-1 budget %v ok %v, want 2ms and not ok", f.Budget, f.OK())
	}
	// use-1's agent restarted (another pid): its whole life counts.
	if f := fs[1]; f.Packets != 100 || f.ReleaseError != 200*time.Microsecond || !f.OK() {
		t.Errorf("use-1 after a restart: %+v", f)
	}

	// A link between two nodes of one region: 2 × 250ms, 5% = 25ms, half.
	nodeQ := netem.AgentQueueStatus{Links: []string{"lab-1->lab-2"}, Impairment: netem.Impairment{Delay: 250 * time.Millisecond}}
	if b := w.fidelityBudget(nodeQ); b != 12500*time.Microsecond {
		t.Errorf("node link budget %v, want 12.5ms", b)
	}
}
