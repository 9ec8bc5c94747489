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

// TestRejoinsCoverAFollowerFallingBehindAfterTheHeal: a follower whose
// staleness only starts growing once the heal is under way (it shows old
// data while it waits to reconnect, and its lag is the age of what it
// misses, so it starts small) is waiting for the new leader too.
func TestRejoinsCoverAFollowerFallingBehindAfterTheHeal(t *testing.T) {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n1", "cut-dcs")
	b.event(3000, EventLeaderChanged, "n2", "")
	b.event(3100, EventFaultHealed, "n1", "cut-dcs")
	for t := 0.0; t < 12000; t += 100 {
		v := 0.01
		if t >= 3000 && t < 7000 {
			v = (t - 3000) / 1000 // grows 0 → 4s until it reconnects at 7s
		}
		b.sample(t, MetricLagHeartbeatSeconds, "n3", v)
	}
	if c := checkLag(b.h, time.Second); c.Status != StatusPass {
		t.Errorf("lag: %s %s (%s), want pass: n3 waited for the new leader", c.Status, c.Measured, c.Detail)
	}
	rj := Rejoins(b.h, MetricLagHeartbeatSeconds, time.Second)
	if len(rj) != 1 || rj[0].Node != "n3" || rj[0].To != ms(7000) {
		t.Errorf("rejoins = %+v, want n3's reconnect from the heal to 7s", rj)
	}
}
