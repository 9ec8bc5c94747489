package results

import (
	"testing"
	"time"
)

// followerAfterFailover builds a run in which n1 is killed at 1s and healed
// at 5s, and n3 (not faulted) shows 4s of heartbeat lag from 4s to 7s, as
// a follower waiting to reconnect does; with failover, n2 took over at 3s.
func followerAfterFailover(failover bool) History {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n1", "kill")
	if failover {
		b.event(3000, EventLeaderChanged, "n2", "")
	}
	b.event(5000, EventFaultHealed, "n1", "kill")
	for t := 0.0; t < 12000; t += 100 {
		v := 0.01
		if t >= 4000 && t < 7000 {
			v = 4
		}
		b.sample(t, MetricLagHeartbeatSeconds, "n3", v)
		b.sample(t, MetricLagHeartbeatSeconds, "n2", 0.01)
	}
	return b.h
}

// TestRejoinsCoverFollowersOfANewLeader: after a failover, a follower's
// catch-up to the new leader is a rejoin (reported, not judged); without a
// leader change the same lag is steady lag and fails the target.
func TestRejoinsCoverFollowersOfANewLeader(t *testing.T) {
	target := time.Second
	h := followerAfterFailover(true)
	rj := Rejoins(h, MetricLagHeartbeatSeconds, target)
	var n3 *Rejoin
	for i := range rj {
		if rj[i].Node == "n3" {
			n3 = &rj[i]
		}
	}
	if n3 == nil || !n3.Reconnect || !n3.Done || n3.To != ms(7000) {
		t.Fatalf("n3's reconnect rejoin = %+v, want one from the heal to 7s (lag back under 1s)", n3)
	}
	for _, r := range rj {
		if r.Node == "n2" {
			t.Errorf("n2 (never behind) got a rejoin: %+v", r)
		}
	}
	if c := checkLag(h, target); c.Status != StatusPass {
		t.Errorf("lag after a failover: %s %s (%s), want pass: the reconnect is not steady lag", c.Status, c.Measured, c.Detail)
	}
	if c := checkLag(followerAfterFailover(false), target); c.Status != StatusFail {
		t.Errorf("lag with no failover: %s %s, want fail: n3's 4s is steady lag then", c.Status, c.Measured)
	}
}
