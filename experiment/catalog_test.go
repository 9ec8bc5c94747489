package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

func TestCatalogNamesAreUniqueAndFound(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Catalog() {
		if s.Name == "" || s.Summary == "" || len(s.Steps) == 0 {
			t.Errorf("scenario %+v lacks a name, a summary or a plan", s.Name)
		}
		if seen[s.Name] {
			t.Errorf("scenario %s listed twice", s.Name)
		}
		seen[s.Name] = true
		if got, err := Lookup(s.Name); err != nil || got.Name != s.Name {
			t.Errorf("Lookup(%s) = %v, %v", s.Name, got.Name, err)
		}
	}
	if _, err := Lookup("nosuch"); err == nil || !strings.Contains(err.Error(), "leader-kill") {
		t.Errorf("Lookup of an unknown name: %v, want an error listing the catalog", err)
	}
}

func TestNeedsCheck(t *testing.T) {
	topo := topologies.Default()
	if err := (Needs{Candidates: 2}).Check(topo); err != nil {
		t.Errorf("the default topology cannot run a 2-candidate scenario: %v", err)
	}
	err := (Needs{Regions: 3, Modes: []topologies.ReplicationMode{topologies.Async}, Candidates: 9}).Check(topo)
	if err == nil {
		t.Fatal("the default topology fits 3 regions, async and 9 candidates?")
	}
	for _, want := range []string{"3 regions", "mode", "9 failover candidates"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	mdb, err := topologies.Builtin("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Needs{Candidates: 2}).Check(mdb); err == nil || !strings.Contains(err.Error(), "engine") {
		t.Errorf("a Patroni scenario on mariadb: %v, want an error naming the engine", err)
	}
	if err := (Needs{Candidates: 2, Engines: []topologies.EngineKind{topologies.EngineMariaDB}}).Check(mdb); err != nil {
		t.Errorf("a mariadb scenario on mariadb: %v", err)
	}
}

// TestRPOScenarioShapesTheMode: the per-mode trial shapes a copy of the
// topology, one synchronous standby unless async.
func TestRPOScenarioShapesTheMode(t *testing.T) {
	for _, m := range topologies.ReplicationModes() {
		sc := RPOScenario(RPOSpec{Mode: m})
		topo := *topologies.Default()
		sc.Shape(&topo)
		want := 1
		if m == topologies.Async {
			want = 0
		}
		if topo.Replication.Mode != m || topo.Replication.SyncStandbys != want {
			t.Errorf("%s: shaped to %s with %d sync standbys", sc.Name, topo.Replication.Mode, topo.Replication.SyncStandbys)
		}
	}
}

// TestTargetOfTakesTheFirstHostOfTheFirstSide: the RPO trials kill the
// node they cut off or slowed; a slow-links target names both sides.
func TestTargetOfTakesTheFirstHostOfTheFirstSide(t *testing.T) {
	for target, want := range map[string]string{"lab-1": "lab-1", "lab-3<->lab-1,lab-2": "lab-3", "lab-1,lab-2": "lab-1"} {
		r := &Run{faults: map[string]*chaos.Active{"f": {Target: target}}}
		if got := TargetOf(r, "f").String(); !strings.Contains(got, want) || strings.Contains(got, "<->") {
			t.Errorf("TargetOf(%q) = %s, want node %s", target, got, want)
		}
	}
}

// TestRegionLossNeeds: only a topology whose DCS, a candidate and an
// endpoint survive its primary region can run the region scenarios, and
// its clients go to that region; the refusal says what is missing.
func TestRegionLossNeeds(t *testing.T) {
	stretched, err := topologies.Builtin("stretched")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Needs{RegionLoss: true, Endpoints: 2}).Check(stretched); err != nil {
		t.Errorf("stretched cannot run a region-loss scenario: %v", err)
	}
	if got := SurvivorRegion(stretched); got != "eu-west" {
		t.Errorf("SurvivorRegion(stretched) = %q, want eu-west", got)
	}
	three, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	err = (Needs{RegionLoss: true, Endpoints: 2}).Check(three)
	for _, want := range []string{"loses the etcd quorum (0 of 3 members outside it", "a failover candidate and an endpoint", "endpoints in 2 regions, the topology has 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("three-region: %v, want it to say %q", err, want)
		}
	}
	if err := (Needs{RegionOutage: true}).Check(three); err == nil {
		t.Error("three-region recovers from losing us-east?")
	}
	dr, err := topologies.Builtin("dr")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Needs{RegionOutage: true}).Check(dr); err != nil || takeoverRegion(dr) != "eu-west" {
		t.Errorf("dr: %v, clients in %q; want a region outage recovered from eu-west", err, takeoverRegion(dr))
	}
	if err := (Needs{RegionOutage: true}).Check(stretched); err != nil || takeoverRegion(stretched) != "eu-west" {
		t.Errorf("stretched: %v, clients in %q", err, takeoverRegion(stretched))
	}
	if SurvivorRegion(three) != "" {
		t.Errorf("three-region has a survivor region: %q", SurvivorRegion(three))
	}
}

// TestTargetsOfAFault: a fault's struck hosts are its target's first side,
// every host of it.
func TestTargetsOfAFault(t *testing.T) {
	for target, want := range map[string]string{"lab-1": "lab-1", "use-1,use-2,etcd-1,haproxy<->euw-1,aps-1": "use-1 use-2 etcd-1 haproxy", "lab-1,lab-2": "lab-1 lab-2"} {
		if got := strings.Join(targets(&chaos.Active{Target: target}), " "); got != want {
			t.Errorf("targets(%q) = %q, want %q", target, got, want)
		}
	}
}

// TestChainThroughCopies: on three-region the far node (aps-1, 200ms
// away) is made to replicate from the nearest other region's (euw-1),
// on a copy: the topology given is left as it was.
func TestChainThroughCopies(t *testing.T) {
	orig, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	shaped := *orig
	chainThrough(&shaped)
	if chainMiddle(&shaped) != "euw-1" || chainFar(&shaped) != "aps-1" {
		t.Errorf("chain %s → %s, want euw-1 → aps-1", chainMiddle(&shaped), chainFar(&shaped))
	}
	if chainMiddle(orig) != "" {
		t.Errorf("the original topology was changed: %s has an upstream", chainFar(orig))
	}
	if err := (CascadeScenario().Needs).Check(&shaped); err != nil {
		t.Errorf("three-region cannot run cascading: %v", err)
	}
}

// TestNotJudgedNamesChecksWithTargets: every check a scenario leaves out
// of its verdict is one that has a target, or the run would fail to
// evaluate.
func TestNotJudgedNamesChecksWithTargets(t *testing.T) {
	for _, s := range Catalog() {
		for name := range s.NotJudged {
			if _, err := (results.Targets{}).Without(name); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		}
	}
}

// TestRegionOutageAtShapesACopy: the far variant sets the takeover link's
// round trip on a copy of the links; the topology given keeps its own.
func TestRegionOutageAtShapesACopy(t *testing.T) {
	orig, err := topologies.Builtin("stretched")
	if err != nil {
		t.Fatal(err)
	}
	shaped := *orig
	sc := RegionOutageAt(FarRTT)
	sc.Shape(&shaped)
	if l, _ := shaped.Link("us-east", "eu-west"); l.RTT != FarRTT {
		t.Errorf("shaped us-east↔eu-west %s, want %s", l.RTT, FarRTT)
	}
	if l, _ := orig.Link("us-east", "eu-west"); l.RTT != 80*time.Millisecond {
		t.Errorf("the original's link changed to %s", l.RTT)
	}
	if sc.Name != "region-outage-200ms" {
		t.Errorf("name %q", sc.Name)
	}
}

func TestNeedsCheckTheManager(t *testing.T) {
	topo, err := topologies.Builtin("managers")
	if err != nil {
		t.Fatal(err)
	}
	repmgr, err := topo.WithManager(topologies.ManagerRepmgr, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := SwitchoverScenario().Needs.Check(repmgr); err == nil || !strings.Contains(err.Error(), "manager") {
		t.Errorf("Patroni's switchover scenario on repmgr: %v, want refused naming the manager", err)
	}
	if err := LeaderKillScenario(LeaderKillSpec{}).Needs.Check(repmgr); err != nil {
		t.Errorf("leader-kill on repmgr: %v", err)
	}
	for _, sc := range CompareScenarios() {
		if err := sc.Needs.Check(repmgr); err != nil {
			t.Errorf("%s on repmgr: %v", sc.Name, err)
		}
	}
	if b := ManagerBound(repmgr); b != time.Second+2*time.Second {
		t.Errorf("repmgr bound at the file's settings = %s, want monitor_interval + 2 × reconnect_interval = 3s", b)
	}
}
