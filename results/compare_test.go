package results

import (
	"strings"
	"testing"
	"time"
)

func TestManagerTrialOfACleanFailover(t *testing.T) {
	b := scenario{}
	h := b.build()
	h.Events = append(h.Events, EventRecord{At: ms(scHeal + 1500), Kind: EventStreaming, Node: "lab-1"})
	tr := ManagerTrialOf(h)
	if !tr.Recovered || tr.RTO < ms(scResume-scKill-50) || tr.RTO > ms(scResume-scKill+100) {
		t.Errorf("RTO %s recovered=%v, want about %s", tr.RTO, tr.Recovered, ms(scResume-scKill))
	}
	if !tr.LostKnown || tr.Lost != 0 || tr.SplitBrain != 0 || tr.AfterElection != 0 {
		t.Errorf("clean history: lost %d (known %v), split-brain %s, after election %d", tr.Lost, tr.LostKnown, tr.SplitBrain, tr.AfterElection)
	}
	if !tr.FailedOver || !tr.Rejoined || tr.Rejoin != 1500*time.Millisecond {
		t.Errorf("rejoin %s (rejoined %v), want 1.5s after the heal", tr.Rejoin, tr.Rejoined)
	}
}

func TestManagerTrialOfCatchesLossAndSplitBrain(t *testing.T) {
	tr := ManagerTrialOf(scenario{lose: 3, splitBrain: true}.build())
	if tr.Lost != 3 {
		t.Errorf("lost %d, want the 3 planted", tr.Lost)
	}
	if tr.SplitBrain <= 0 || tr.AfterElection == 0 {
		t.Errorf("split-brain %s with %d writes after the election, want both caught", tr.SplitBrain, tr.AfterElection)
	}
	if tr.Rejoined {
		t.Errorf("rejoined with no streaming event after the heal")
	}
}

func TestCompareManagersTable(t *testing.T) {
	trials := []ManagerTrial{
		{Manager: "patroni", Settings: "tuned", Scenario: "leader-kill", Outage: true, Recovered: true, RTO: 12 * time.Second, LostKnown: true, FailedOver: true, Rejoined: true, Rejoin: 4 * time.Second},
		{Manager: "patroni", Settings: "tuned", Scenario: "leader-kill", Outage: true, Recovered: true, RTO: 14 * time.Second, LostKnown: true, FailedOver: true, Rejoined: true, Rejoin: 6 * time.Second},
		{Manager: "patroni", Settings: "tuned", Scenario: "leader-kill", Err: "lab did not come up"},
		{Manager: "repmgr", Settings: "tuned", Scenario: "leader-partition", Outage: false, LostKnown: true, FailedOver: true, Lost: 7, SplitBrain: 9 * time.Second, AfterElection: 40, Notes: []string{"two leaders after the heal"}},
	}
	cells := CompareManagers(trials)
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2", len(cells))
	}
	if c := cells[0]; c.Trials != 3 || c.Failed != 1 || c.RTO.P50 != 12 || c.RTO.Max != 14 {
		t.Errorf("patroni cell %+v, want 3 trials, 1 failed, RTO p50 12s max 14s", c)
	}
	md := CompareMarkdown(cells)
	for _, want := range []string{"| tuned | patroni | leader-kill | 3 (1 failed) | 12.0s / 14.0s | 0, 0 | none | 0, 0 | 4.0s / 6.0s | – |",
		"| tuned | repmgr | leader-partition | 1 | no outage | 7 | 9s | 40 | never | two leaders after the heal |"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

func TestLeadersOutcome(t *testing.T) {
	for value, want := range map[string]string{
		"mgr-1":        "the old leader kept leading",
		"mgr-1, mgr-2": "two primaries at the bound",
		"mgr-2":        "failed over by the bound",
		"none":         "no leader at the bound",
		"unknown: x":   "leaders at the bound unknown",
	} {
		if got := leadersOutcome(value, "mgr-1"); got != want {
			t.Errorf("leadersOutcome(%q) = %q, want %q", value, got, want)
		}
	}
}
