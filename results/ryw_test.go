package results

import (
	"testing"
	"time"
)

// rywHistory is two strategy sessions side by side, "lsn" and "none",
// each writing key 1 on lab-1 (acknowledged at 10 ms, commit LSN 5000)
// and reading it back three times, with the replicas slowed from 50 to
// 100 ms; staleNone plants one stale read on a replica of "none" at
// 60 ms, 1000 bytes behind.
func rywHistory(staleNone bool) History {
	b := newHB()
	b.event(50, EventFaultInjected, "lab-1<->lab-2,lab-3", "slow")
	b.event(100, EventFaultHealed, "lab-1<->lab-2,lab-3", "slow")
	for _, p := range []string{"lsn", "none"} {
		b.op(Op{Kind: OpWrite, Process: p, Target: TargetRW, Key: 1, Invoke: ms(0), Complete: ms(10), Outcome: OK, Member: "lab-1", LSN: 5000})
	}
	// lsn: the leader while the replica trails, then the replica.
	b.op(Op{Kind: OpRead, Process: "lsn", Target: TargetRO, Key: 1, Invoke: ms(11), Complete: ms(13), Outcome: OK, Found: true, Member: "lab-1"})
	b.op(Op{Kind: OpRead, Process: "lsn", Target: TargetRO, Key: 1, Invoke: ms(60), Complete: ms(64), Outcome: OK, Found: true, Member: "lab-1"})
	b.op(Op{Kind: OpRead, Process: "lsn", Target: TargetRO, Key: 1, Invoke: ms(110), Complete: ms(111), Outcome: OK, Found: true, Member: "lab-2", LSN: 5100})
	// none: replicas only.
	b.op(Op{Kind: OpRead, Process: "none", Target: TargetRO, Key: 1, Invoke: ms(11), Complete: ms(12), Outcome: OK, Found: true, Member: "lab-2", LSN: 5000})
	b.op(Op{Kind: OpRead, Process: "none", Target: TargetRO, Key: 1, Invoke: ms(60), Complete: ms(61), Outcome: OK, Found: !staleNone, Member: "lab-3", LSN: 4000})
	b.op(Op{Kind: OpRead, Process: "none", Target: TargetRO, Key: 1, Invoke: ms(110), Complete: ms(111), Outcome: Failed, Err: "connection refused"})
	// Not counted: a read invoked before the write's acknowledgement, and
	// another process's miss of the same key.
	b.op(Op{Kind: OpRead, Process: "none", Target: TargetRO, Key: 1, Invoke: ms(5), Complete: ms(6), Outcome: OK, Member: "lab-2", LSN: 3000})
	b.op(Op{Kind: OpRead, Process: "session-0", Target: TargetRO, Key: 1, Invoke: ms(60), Complete: ms(61), Outcome: OK, Member: "lab-2"})
	return b.h
}

func TestReadStrategiesCatchesAPlantedStaleRead(t *testing.T) {
	got := ReadStrategies(rywHistory(true), []string{"lsn", "none"})
	lsn, none := got[0], got[1]
	if lsn.Process != "lsn" || lsn.Reads != 3 || lsn.Stale != 0 || lsn.Leader != 2 {
		t.Errorf("lsn = %+v, want 3 reads, none stale, 2 on the leader", lsn)
	}
	if none.Reads != 2 || none.Failed != 1 || none.Stale != 1 || none.StaleInFault != 1 {
		t.Fatalf("none = %+v, want 2 reads, 1 failed, 1 stale, inside the fault", none)
	}
	if !none.BytesKnown || none.MaxBytesBehind != 1000 || none.MaxBehind != ms(50) {
		t.Errorf("none behind %d bytes (known %t), %s; want 1000 bytes, 50ms", none.MaxBytesBehind, none.BytesKnown, none.MaxBehind)
	}
	if none.Leader != 0 || none.LeaderShare() != 0 {
		t.Errorf("none served by the leader %d times", none.Leader)
	}
	if s := lsn.LeaderShare(); s < 66.6 || s > 66.7 {
		t.Errorf("lsn leader share %g%%, want 2 of 3", s)
	}
	// Latencies 2, 4 and 1 ms: nearest rank p50 2 ms, p95 and p99 4 ms.
	if lsn.LatencyP50 != ms(2) || lsn.LatencyP95 != ms(4) || lsn.LatencyP99 != ms(4) {
		t.Errorf("lsn latency p50/p95/p99 %s/%s/%s, want 2ms/4ms/4ms", lsn.LatencyP50, lsn.LatencyP95, lsn.LatencyP99)
	}
}

func TestReadStrategiesPassesACleanHistory(t *testing.T) {
	for _, s := range ReadStrategies(rywHistory(false), []string{"lsn", "none", "absent"}) {
		if s.Stale != 0 || s.MaxBehind != 0 || s.BytesKnown {
			t.Errorf("%s: %d stale in a clean history (%+v)", s.Process, s.Stale, s)
		}
		if s.Process == "absent" && (s.Reads != 0 || s.LatencyP99 != time.Duration(0)) {
			t.Errorf("a process without operations has figures: %+v", s)
		}
	}
}
