package results

import (
	"strings"
	"testing"
	"time"
)

// How the fault of followerLagAfter went.
const (
	withFailover   = iota // n1, the leader, killed; n2 elected
	restartInPlace        // n1, the leader, killed and started again; no election
	followerKilled        // n2, a follower, killed; no election
)

// followerLagAfter builds a run in which a node is killed at 1s and healed
// at 5s, and n3 (not faulted) shows 4s of heartbeat lag from 4s to 7s, as
// a follower waiting to reconnect does.
func followerLagAfter(how int) History {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	victim := "n1"
	if how == followerKilled {
		victim = "n2"
	}
	b.event(1000, EventFaultInjected, victim, "kill")
	if how == withFailover {
		b.event(3000, EventLeaderChanged, "n2", "")
	}
	b.event(5000, EventFaultHealed, victim, "kill")
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

// TestRejoinsCoverFollowersOfANewLeader: after a failover, or after the
// leader was restarted in place, a follower's catch-up to its upstream is
// a rejoin (reported, not judged); when only another follower was killed,
// the same lag is steady lag and fails the target.
func TestRejoinsCoverFollowersOfANewLeader(t *testing.T) {
	target := time.Second
	for _, how := range []int{withFailover, restartInPlace} {
		h := followerLagAfter(how)
		rj := Rejoins(h, MetricLagHeartbeatSeconds, target)
		var n3 *Rejoin
		for i := range rj {
			if rj[i].Node == "n3" {
				n3 = &rj[i]
			}
		}
		if n3 == nil || !n3.Reconnect || !n3.Done || n3.To != ms(7000) {
			t.Fatalf("case %d: n3's reconnect rejoin = %+v, want one from the heal to 7s (lag back under 1s)", how, n3)
		}
		for _, r := range rj {
			if r.Node == "n2" && how == withFailover {
				t.Errorf("n2 (the new leader) got a rejoin: %+v", r)
			}
		}
		if c := checkLag(h, target); c.Status != StatusPass {
			t.Errorf("case %d: lag after the leader's loss: %s %s (%s), want pass: the reconnect is not steady lag", how, c.Status, c.Measured, c.Detail)
		}
	}
	if c := checkLag(followerLagAfter(followerKilled), target); c.Status != StatusFail {
		t.Errorf("lag after another follower's kill: %s %s, want fail: n3's 4s is steady lag then", c.Status, c.Measured)
	}
}

// demotedLeader builds a cut-dcs run: n1 leads, is cut at 1s, n2 is
// elected at 3s, the cut is healed at 3.1s. n1's heartbeat lag is the age
// of the first heartbeat it missed: it grows from 0 at the election until
// n1 follows n2 at 9s and catches up at 10s. With slow, it never catches
// up. n1 appears in n2's pg_stat_replication (lag.bytes) from 9s.
func demotedLeader(slow bool) History {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n1", "cut-dcs")
	b.event(3000, EventLeaderChanged, "n2", "")
	b.event(3100, EventFaultHealed, "n1", "cut-dcs")
	for at := 0.0; at < 20000; at += 100 {
		b.sample(at, MetricLagHeartbeatSeconds, "n3", 0.01)
		switch {
		case at < 1000:
			continue // n1 leads: not in recovery
		case at < 3000:
			b.sample(at, MetricLagHeartbeatSeconds, "n1", 0.01)
		case at < 10000 || slow:
			b.sample(at, MetricLagHeartbeatSeconds, "n1", (at-3000)/1000)
		default:
			b.sample(at, MetricLagHeartbeatSeconds, "n1", 0.01)
		}
		if at >= 9000 {
			b.sample(at, MetricLagBytes, "n1", 4096)
		}
	}
	return b.h
}

// TestRejoinsOfADemotedLeaderEndWhenItFollows: the demoted leader's first
// samples after the heal are low (it has the newest data it ever had) but
// it follows nobody; its rejoin lasts until it caught up with the new
// leader, so the lag it shows meanwhile is not judged as steady lag. Ended
// at its first low sample (the defect planted), the check fails.
func TestRejoinsOfADemotedLeaderEndWhenItFollows(t *testing.T) {
	h := demotedLeader(false)
	rj := Rejoins(h, MetricLagHeartbeatSeconds, time.Second)
	if len(rj) != 1 || rj[0].Node != "n1" || !rj[0].Done || rj[0].To != ms(10000) {
		t.Fatalf("rejoins = %+v, want n1's from the heal (3.1s) to 10s", rj)
	}
	if c := checkLag(h, time.Second); c.Status != StatusPass {
		t.Errorf("lag: %s %s (%s), want pass", c.Status, c.Measured, c.Detail)
	}
	early := rj[0]
	early.To = ms(3100)
	if rep := Lag(h, MetricLagHeartbeatSeconds, []Rejoin{early}); rep.Nodes[0].Node != "n1" || secondsDur(rep.Nodes[0].Judged.P99) <= time.Second {
		t.Errorf("a rejoin ended at the first low sample judges n1 at %v, want above 1s: the fixture does not plant the defect", rep.Nodes[0].Judged.P99)
	}
}

// TestLagFailsWhenARejoinNeverEnds: a node still behind when the run ends
// has not rejoined; its lag is not judged, but the check must not pass.
func TestLagFailsWhenARejoinNeverEnds(t *testing.T) {
	c := checkLag(demotedLeader(true), time.Second)
	if c.Status != StatusFail || !strings.Contains(c.Detail, "n1 still") {
		t.Errorf("lag with n1 never caught up: %s %s (%s), want fail naming n1", c.Status, c.Measured, c.Detail)
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

// TestPendingRejoinsListsOnlyNodesStillBehind: the runner waits on
// PendingRejoins; it must list a node still behind and nothing once every
// rejoin is done.
func TestPendingRejoinsListsOnlyNodesStillBehind(t *testing.T) {
	lag := ptr(time.Second)
	if p := PendingRejoins(demotedLeader(true), Targets{ReplicationLagP99: lag}); len(p) != 1 || p[0].Node != "n1" {
		t.Errorf("pending with n1 behind = %+v, want n1's", p)
	}
	if p := PendingRejoins(demotedLeader(false), Targets{ReplicationLagP99: lag}); len(p) != 0 {
		t.Errorf("pending once n1 caught up = %+v, want none", p)
	}
}

// TestRejoinsOfARestartedFollowerEndWhenItFollows: a follower killed
// while the leader could not commit (strict synchronous mode without its
// standbys) comes back with low lag, the age of the first write it
// missed, and only then falls behind until it streams; its rejoin lasts
// until it caught up. Ended at its first low sample, its catch-up would
// be judged.
func TestRejoinsOfARestartedFollowerEndWhenItFollows(t *testing.T) {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n3", "kill")
	b.event(2000, EventFaultHealed, "n3", "kill")
	for at := 0.0; at < 15000; at += 100 {
		switch {
		case at < 1000:
			b.sample(at, MetricLagHeartbeatSeconds, "n3", 0.01)
		case at < 3000:
			// down: no sample
		case at < 9000:
			b.sample(at, MetricLagHeartbeatSeconds, "n3", max(0, (at-4000)/1000))
		default:
			b.sample(at, MetricLagHeartbeatSeconds, "n3", 0.01)
		}
		if at >= 8500 {
			b.sample(at, MetricLagBytes, "n3", 2048)
		}
	}
	rj := Rejoins(b.h, MetricLagHeartbeatSeconds, time.Second)
	if len(rj) != 1 || rj[0].Node != "n3" || !rj[0].Done || rj[0].To != ms(9000) {
		t.Fatalf("rejoins = %+v, want n3's from the heal (2s) to 9s", rj)
	}
	if c := checkLag(b.h, time.Second); c.Status != StatusPass {
		t.Errorf("lag: %s %s (%s), want pass", c.Status, c.Measured, c.Detail)
	}
	early := rj[0]
	early.To = ms(3000)
	if n := Lag(b.h, MetricLagHeartbeatSeconds, []Rejoin{early}).Nodes[0]; secondsDur(n.Judged.P99) <= time.Second {
		t.Errorf("a rejoin ended at the first low sample judges n3 at %v, want above 1s: the fixture does not plant the defect", n.Judged.P99)
	}
}

// TestRejoinsOfAFollowerPromotedAfterTheHealEndWhenItLeads: the primary
// is cut from its followers, then a runbook promotes one after the cut
// was healed (MariaDB). The promoted follower's heartbeat lag grew during
// the cut and is never sampled again (a leader is no reader of the
// heartbeat): its rejoin ends when it leads, and nothing is pending. The
// follower that never catches up still fails the check.
func TestRejoinsOfAFollowerPromotedAfterTheHealEndWhenItLeads(t *testing.T) {
	build := func(promote bool) History {
		b := newHB()
		b.event(0, EventLeaderChanged, "n1", "initial")
		b.event(1000, EventFaultInjected, "n1", "partition")
		b.event(3000, EventFaultHealed, "n1", "partition")
		if promote {
			b.event(4500, EventLeaderChanged, "n3", "")
		}
		for t := 0.0; t < 10000; t += 100 {
			v := 0.01
			if t >= 1000 {
				v = (t - 1000) / 1000
			}
			if !promote || t < 4500 {
				b.sample(t, MetricLagHeartbeatSeconds, "n3", v)
			}
		}
		return b.h
	}
	lag := ptr(time.Second)
	h := build(true)
	if p := PendingRejoins(h, Targets{ReplicationLagP99: lag}); len(p) != 0 {
		t.Errorf("pending = %+v, want none: n3 leads from 4.5s", p)
	}
	rj := Rejoins(h, MetricLagHeartbeatSeconds, time.Second)
	if len(rj) != 1 || rj[0].Node != "n3" || rj[0].To != ms(4500) || rj[0].How != "leads" {
		t.Errorf("rejoins = %+v, want n3's, ended at 4.5s because it leads", rj)
	}
	if p := PendingRejoins(build(false), Targets{ReplicationLagP99: lag}); len(p) != 1 || p[0].Node != "n3" {
		t.Errorf("pending without the promotion = %+v, want n3's", p)
	}
}

// TestRejoinsCoverAFollowerOfALeaderRestartedInPlace: the leader is
// killed and restarted in place (it keeps its key: no election). A far
// follower catches up once while the fault lasts, then falls behind again
// when the leader commits again, until it reconnects: that second episode
// is its reconnect, not steady lag (crash-schedule on three-region). The
// same episode starting past ReconnectWindow is steady lag, and judged.
func TestRejoinsCoverAFollowerOfALeaderRestartedInPlace(t *testing.T) {
	build := func(after float64) History {
		b := newHB()
		b.event(0, EventLeaderChanged, "n1", "initial")
		b.h.Events = append(b.h.Events, EventRecord{At: ms(16000), End: ms(16000), Kind: EventFaultInjected, Node: "n1", Detail: "kill"})
		b.h.Events = append(b.h.Events, EventRecord{At: ms(16000), End: ms(19000), Kind: EventFaultHealed, Node: "n1", Detail: "kill"})
		for t := 0.0; t < 40000; t += 100 {
			v := 0.05
			switch {
			case t >= 16600 && t < 18900: // behind during the fault, caught up before its heal
				v = (t - 16500) / 1000
			case t >= 19000+after && t < 19000+after+1500: // behind again once writes resume
				v = (t - 19000 - after + 1000) / 1000
			}
			b.sample(t, MetricLagHeartbeatSeconds, "n3", v)
		}
		return b.h
	}
	h := build(5400)
	if c := checkLag(h, 2*time.Second); c.Status != StatusPass {
		t.Errorf("lag: %s %s (%s), want pass: n3 reconnecting after the restart", c.Status, c.Measured, c.Detail)
	}
	rj := Rejoins(h, MetricLagHeartbeatSeconds, 2*time.Second)
	if len(rj) != 1 || rj[0].Node != "n3" || !rj[0].Reconnect || !rj[0].Done {
		t.Errorf("rejoins = %+v, want n3's reconnect after the heal", rj)
	}
	if c := checkLag(build(ReconnectWindow.Seconds()*1000+2000), 2*time.Second); c.Status != StatusFail {
		t.Errorf("lag with the episode past ReconnectWindow: %s %s, want fail", c.Status, c.Measured)
	}
}
