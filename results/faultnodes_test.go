package results

import (
	"slices"
	"testing"
	"time"
)

func TestFaultedNodesReadsBothSidesOfALinkFault(t *testing.T) {
	for target, want := range map[string][]string{
		"lab-2":               {"lab-2"},
		"lab-1,lab-2":         {"lab-1", "lab-2"},
		"lab-1<->lab-3":       {"lab-1", "lab-3"},
		"lab-1<->lab-2,lab-3": {"lab-1", "lab-2", "lab-3"},
		"":                    nil,
	} {
		if got := FaultedNodes(target); !slices.Equal(got, want) {
			t.Errorf("FaultedNodes(%q) = %q, want %q", target, got, want)
		}
	}
}

// TestRejoinsCoverTheFollowerOfASlowedLink: a follower whose link to the
// leader was slowed (target "n1<->n3") catches up after the heal; that
// catch-up is its rejoin, reported and not judged, as for a fault on the
// follower itself.
func TestRejoinsCoverTheFollowerOfASlowedLink(t *testing.T) {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n1<->n3", "slow-links")
	b.event(5000, EventFaultHealed, "n1<->n3", "slow-links")
	for at := 0.0; at < 12000; at += 100 {
		v := 0.01
		if at >= 1500 && at < 6500 {
			v = 3
		}
		b.sample(at, MetricLagHeartbeatSeconds, "n3", v)
	}
	rj := Rejoins(b.h, MetricLagHeartbeatSeconds, time.Second)
	if len(rj) != 1 || rj[0].Node != "n3" || !rj[0].Done || rj[0].To != ms(6500) {
		t.Fatalf("rejoins = %+v, want n3's from the heal to 6.5s", rj)
	}
	if c := checkLag(b.h, time.Second); c.Status != StatusPass {
		t.Errorf("lag check: %s %s (%s), want pass: n3's catch-up after the heal is its rejoin", c.Status, c.Measured, c.Detail)
	}
}
