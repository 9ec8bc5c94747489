package results

import (
	"math/rand/v2"
	"time"
)

// ms turns milliseconds into a duration: test histories are written in ms.
func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// hb builds synthetic histories for checker tests.
type hb struct {
	h  History
	id int64
}

func newHB() *hb {
	return &hb{h: History{
		Meta:  RunMeta{ID: "synthetic", Topology: "single-region", Mode: "async", Backend: "kernel", Seed: 7, Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		Clock: Clock{Resolution: 50 * time.Nanosecond, Note: "synthetic"},
	}}
}

func (b *hb) op(o Op) int64 {
	b.id++
	o.ID = b.id
	b.h.Ops = append(b.h.Ops, o)
	return o.ID
}

// write is a write through the endpoint from inv to comp (ms).
func (b *hb) write(proc string, key int64, inv, comp float64, out Outcome, member string) int64 {
	return b.op(Op{Kind: OpWrite, Process: proc, Target: TargetRW, Key: key, Invoke: ms(inv), Complete: ms(comp), Outcome: out, Member: member})
}

// probe is a direct write to node taking 2 ms from at.
func (b *hb) probe(node string, key int64, at float64, out Outcome) int64 {
	o := Op{Kind: OpProbe, Process: "probe:" + node, Target: node, Key: key, Invoke: ms(at), Complete: ms(at + 2), Outcome: out}
	if out == OK {
		o.Member = node
	}
	return b.op(o)
}

func (b *hb) read(proc string, key int64, inv, comp float64, found bool, member string) int64 {
	return b.op(Op{Kind: OpRead, Process: proc, Target: TargetRO, Key: key, Invoke: ms(inv), Complete: ms(comp), Outcome: OK, Found: found, Member: member})
}

func (b *hb) event(at float64, kind, node, detail string) {
	b.h.Events = append(b.h.Events, EventRecord{At: ms(at), Kind: kind, Node: node, Detail: detail})
}

func (b *hb) sample(at float64, metric, node string, v float64) {
	b.h.Samples = append(b.h.Samples, SampleRecord{At: ms(at), Metric: metric, Node: node, Value: v})
}

func (b *hb) final(member string, keys ...int64) {
	b.h.Final = &FinalState{Member: member, Keys: keys, Timeline: 2}
}

// scenario plants defects in an otherwise clean leader-kill failover.
type scenario struct {
	lose            int  // acknowledged writes just before the kill that the new leader lacks
	duplicate       bool // one id twice in the final table
	splitBrain      bool // the old leader keeps acknowledging probes until 41 s, after lab-2 is elected at 39.2 s
	discard         bool // with splitBrain: the old leader's late writes are missing at the end
	stale           int  // reads of the session's own write that miss it
	failedCommitted bool // one write reported failed is present
	noFinal         bool
}

// The clean story, in ms: lab-1 leads from 500; fault kill lab-1 at
// 20000; leader key gone at 38000; lab-2 elected at 39200 (polled every
// 100 ms), promoted at 39600; writes resume through the endpoint at about
// 39800; lab-1 restarted (healed) at 45000 and rejoins as a follower; the
// run ends at 60000.
const (
	scKill     = 20000.0
	scKeyGone  = 38000.0
	scElected  = 39200.0
	scPromoted = 39600.0
	scResume   = 39800.0
	scHeal     = 45000.0
	scEnd      = 60000.0
)

// build makes the history; it is deterministic.
func (s scenario) build() History {
	b := newHB()
	rng := rand.New(rand.NewPCG(1, 2))
	b.event(500, EventLeaderChanged, "lab-1", "initial")
	b.event(scKill, EventFaultInjected, "lab-1", "kill")
	b.event(scKeyGone, EventLeaderKeyGone, "lab-1", "")
	b.h.Events = append(b.h.Events, EventRecord{At: ms(scElected), Kind: EventLeaderChanged, Node: "lab-2", Resolution: 100 * time.Millisecond})
	b.event(scPromoted, EventPromoted, "lab-2", "")
	b.event(scPromoted+10, EventTimeline, "lab-2", "2")
	b.event(scHeal, EventFaultHealed, "lab-1", "kill")

	var final []int64
	key := int64(0)
	leaderAt := func(t float64) string {
		switch {
		case t < scKill:
			return "lab-1"
		case t >= scResume-5:
			return "lab-2"
		}
		return ""
	}
	// two writers every 20 ms
	var beforeKill []int64 // keys acknowledged just before the kill
	for w := range 2 {
		proc := []string{"writer-0", "writer-1"}[w]
		for t := 1000.0 + float64(w)*10; t < scEnd-200; t += 20 {
			key++
			lat := 2 + rng.Float64()*3
			switch l := leaderAt(t); {
			case l != "":
				b.write(proc, key, t, t+lat, OK, l)
				if t > scKill-200 && t < scKill {
					beforeKill = append(beforeKill, key)
				}
				final = append(final, key)
			case t < scKill+5:
				b.write(proc, key, t, t+lat, Unknown, "") // in flight at the kill: never committed
			default:
				b.write(proc, key, t, t+lat, Failed, "")
			}
		}
	}
	// lost writes: the newest acknowledged keys before the kill
	for i := 0; i < s.lose && i < len(beforeKill); i++ {
		k := beforeKill[len(beforeKill)-1-i]
		for j, f := range final {
			if f == k {
				final = append(final[:j], final[j+1:]...)
				break
			}
		}
	}
	// probes every 100 ms to each member, keys from 1e6
	pkey := int64(1_000_000)
	for t := 1000.0; t < scEnd-200; t += 100 {
		for _, n := range []string{"lab-1", "lab-2", "lab-3"} {
			pkey++
			leader := leaderAt(t) == n
			late := s.splitBrain && n == "lab-1" && t >= scKill && t < 41000
			switch {
			case n == "lab-1" && t >= scKill && t < scHeal+2000 && !late:
				b.probe(n, pkey, t, Failed) // dead, then restarting
			case leader || late:
				b.probe(n, pkey, t, OK)
				if !(late && s.discard) {
					final = append(final, pkey)
				}
			default:
				b.probe(n, pkey, t, Failed) // read-only
			}
		}
	}
	// a session that writes and reads its own key back from a follower
	for i, t := 0, 2000.0; t < scKill-1000; i, t = i+1, t+500 {
		key++
		b.write("session-0", key, t, t+3, OK, "lab-1")
		final = append(final, key)
		b.read("session-0", key, t+50, t+52, i >= s.stale, "lab-3")
	}
	if s.failedCommitted {
		key++
		b.write("writer-9", key, 5000, 5003, Failed, "")
		final = append(final, key)
	}
	if s.duplicate {
		final = append(final, final[10])
	}
	// lag samples every 100 ms per follower, in seconds
	for t := 600.0; t < scEnd; t += 100 {
		for _, n := range []string{"lab-2", "lab-3"} {
			v := 0.004 + rng.Float64()*0.012
			if t >= scKill && t < scResume {
				v = (t - scKill) / 1000 // nothing new arrives: visibility lag grows
			}
			if n == "lab-2" && t >= scPromoted {
				continue // now the leader
			}
			b.sample(t, MetricLagHeartbeatSeconds, n, v)
			b.sample(t, MetricLagBytes, n, float64(8000+rng.IntN(4000)))
		}
		if t >= scHeal+3000 {
			b.sample(t, MetricLagHeartbeatSeconds, "lab-1", 0.006+rng.Float64()*0.01)
			b.sample(t, MetricLagBytes, "lab-1", float64(8000+rng.IntN(4000)))
		}
	}
	if !s.noFinal {
		b.final("lab-2", final...)
	}
	return b.h
}

func ptr[T any](v T) *T { return &v }

// slaTargets are typical targets: 30 s failover, no lost write, 2 s p99
// lag, 99.9 % availability.
func slaTargets() Targets {
	return Targets{FailoverTimeMax: ptr(30 * time.Second), LostWritesMax: ptr(0), ReplicationLagP99: ptr(2 * time.Second), AvailabilityMin: ptr(99.9)}
}

// writesWithOutage writes through the endpoint every 100ms from 0 to 30s,
// acknowledged but for a 10s outage from 10s to 20s (failed attempts).
func (b *hb) writesWithOutage() {
	k := int64(0)
	for at := 0.0; at <= 30000; at += 100 {
		k++
		out := OK
		if at > 10000 && at < 20000 {
			out = Failed
		}
		b.write("w", k, at, at+1, out, "a")
	}
}
