package results

import "time"

// StrategyReads is what one read-your-writes session's reads show, for
// comparing routing strategies run side by side as separate processes:
// how often they missed the session's own acknowledged rows and by how
// much, how many the leader served, and how long they took.
type StrategyReads struct {
	Process string `json:"process"`
	// Reads counts the ok reads of a key whose write by the same process
	// was acknowledged before the read was invoked; every figure below is
	// over them. Failed counts the process's reads that did not answer.
	Reads  int `json:"reads"`
	Failed int `json:"failed"`
	// Stale counts the reads that did not find the row; StaleInFault
	// those of them invoked inside a fault window (from a fault's begin
	// to its heal's end), when a fault made the replicas trail.
	Stale        int `json:"stale"`
	StaleInFault int `json:"stale_in_fault"`
	// MaxBytesBehind is the largest write LSN minus the answering
	// replica's replay LSN among the stale reads where both are known
	// (BytesKnown).
	MaxBytesBehind uint64 `json:"max_bytes_behind"`
	BytesKnown     bool   `json:"bytes_known"`
	// MaxBehind is the longest time from a write's acknowledgement to the
	// invocation of a stale read of it: the replica had not replayed a
	// commit acknowledged that long before, so it trailed by at least
	// this much.
	MaxBehind time.Duration `json:"max_behind_ns"`
	// Leader counts the reads served by the member that acknowledged the
	// row's write through the read-write endpoint: the leader then.
	Leader int `json:"leader"`
	// LatencyP50, P95 and P99 are nearest-rank percentiles of the reads'
	// Complete - Invoke.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP95 time.Duration `json:"latency_p95_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

// LeaderShare is the share of Reads the leader served, in percent (0
// without reads).
func (s StrategyReads) LeaderShare() float64 {
	if s.Reads == 0 {
		return 0
	}
	return 100 * float64(s.Leader) / float64(s.Reads)
}

// ReadStrategies computes StrategyReads for each of processes, in their
// order. A read counts when its own process's write of the same key was
// acknowledged (the earliest ok one) before the read was invoked; a
// concurrent or earlier read proves nothing about read-your-writes. Every
// such read is judged, not only the first of each key: a session that
// reads the same row as it ages is stale as often as it misses it.
// Reads inside fault windows are judged too, and also counted apart:
// what a strategy does while the replicas trail is the point.
func ReadStrategies(h History, processes []string) []StrategyReads {
	type pk struct {
		process string
		key     int64
	}
	want := map[string]int{}
	out := make([]StrategyReads, len(processes))
	for i, p := range processes {
		want[p] = i
		out[i].Process = p
	}
	acked := map[pk]Op{}
	for _, o := range h.Ops {
		if _, ok := want[o.Process]; !ok || !isWrite(o) || o.Outcome != OK {
			continue
		}
		k := pk{o.Process, o.Key}
		if w, seen := acked[k]; !seen || o.Complete < w.Complete {
			acked[k] = o
		}
	}
	faults := Faults(h)
	inFault := func(t time.Duration) bool {
		for _, f := range faults {
			if t >= f.Injected && t < max(f.End, f.HealEnd) {
				return true
			}
		}
		return false
	}
	latencies := make([][]float64, len(processes))
	for _, o := range h.Ops {
		i, ok := want[o.Process]
		if !ok || o.Kind != OpRead {
			continue
		}
		s := &out[i]
		if o.Outcome != OK {
			s.Failed++
			continue
		}
		w, seen := acked[pk{o.Process, o.Key}]
		if !seen || w.Complete >= o.Invoke {
			continue
		}
		s.Reads++
		latencies[i] = append(latencies[i], float64(o.Complete-o.Invoke))
		if o.Member != "" && o.Member == w.Member {
			s.Leader++
		}
		if o.Found {
			continue
		}
		s.Stale++
		if inFault(o.Invoke) {
			s.StaleInFault++
		}
		s.MaxBehind = max(s.MaxBehind, o.Invoke-w.Complete)
		if w.LSN > 0 && o.LSN > 0 && w.LSN > o.LSN {
			s.MaxBytesBehind, s.BytesKnown = max(s.MaxBytesBehind, w.LSN-o.LSN), true
		}
	}
	for i, l := range latencies {
		st := NewStats(l)
		out[i].LatencyP50, out[i].LatencyP95, out[i].LatencyP99 = time.Duration(st.P50), time.Duration(st.P95), time.Duration(st.P99)
	}
	return out
}
