package harness

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/replab/replab/netem"
)

// LinkFidelity is how faithfully one userspace netem queue held the
// packets of one emulated link in one host over a window: the userspace
// backend delays packets in a process, and on a busy machine that process
// wakes late. The fields are results.LinkFidelity's, in the same order and
// without its JSON tags, so the layer that records a run converts one into
// the other with a plain type conversion (workload does): the history's
// types belong to the run, and harness must not import results. Its OK,
// Idle and Breaks repeat results.LinkFidelity's, which the report uses,
// because logFidelity judges the rows below results; a test in workload,
// which imports both, holds the two copies to the same answers.
type LinkFidelity struct {
	Host string
	// Link is the emulated link, "from->to": traffic from the first
	// region held where it arrives, in Host.
	Link  string
	Delay time.Duration
	// Packets were released after their hold during the window; Dropped
	// were dropped for loss or a full queue.
	Packets uint64
	Dropped uint64
	// ReleaseError is the mean signed error of release times against
	// their targets (late is positive); it adds to the link's delay.
	ReleaseError time.Duration
	// ArrivalLag is the mean time from the kernel's receive timestamp to
	// the agent reading the packet; it is counted in the hold, not added.
	ArrivalLag time.Duration
	// Budget is the share of the topology's RTT tolerance one direction
	// may use (half of it): a mean release error past Budget moves the
	// link's round trip past its tolerance.
	Budget time.Duration
}

// OK reports whether the mean release error stayed within the budget.
func (f LinkFidelity) OK() bool { return f.ReleaseError <= f.Budget && f.ReleaseError >= -f.Budget }

// Idle reports whether the queue saw no packet during the window.
func (f LinkFidelity) Idle() bool { return f.Packets == 0 && f.Dropped == 0 }

// Breaks reports whether packets were released and their mean error broke
// the budget.
func (f LinkFidelity) Breaks() bool { return f.Packets > 0 && !f.OK() }

// logFidelity logs, per host and queue, how faithfully each userspace
// agent has held its link since it started: over provisioning that is
// the bootstrap of every node, the busiest minute of a lab. Idle queues
// and the kernel backend (no agent) log nothing.
func (w *WAN) logFidelity(ctx context.Context) {
	fs := w.Fidelity(nil, w.Counters(ctx))
	for _, f := range fs {
		if f.Idle() {
			continue
		}
		lvl := slog.LevelInfo
		if f.Breaks() {
			lvl = slog.LevelWarn
		}
		w.lab.log.Log(ctx, lvl, "netem fidelity", "host", f.Host, "link", f.Link, "delay", f.Delay, "packets", f.Packets, "dropped", f.Dropped,
			"release_error", f.ReleaseError.Round(time.Microsecond), "arrival_lag", f.ArrivalLag.Round(time.Microsecond), "budget", f.Budget, "ok", f.OK())
	}
}

// Counters reads every userspace agent's counters, by host; hosts
// without an agent (the kernel backend, no link) are absent. Two readings
// make Fidelity's window.
func (w *WAN) Counters(ctx context.Context) map[string]netem.AgentStatus {
	w.mu.Lock()
	shapers := maps.Clone(w.shapers)
	w.mu.Unlock()
	var mu sync.Mutex
	out := map[string]netem.AgentStatus{}
	_ = eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if st, ok, err := sh.AgentStatus(ctx); err == nil && ok {
			mu.Lock()
			out[name] = st
			mu.Unlock()
		}
		return nil
	})
	return out
}

// Fidelity turns two readings of the agents' counters into how
// faithfully each queue held its link between them: packets, drops, mean
// release error and arrival lag over the window (the whole life of an
// agent that restarted in between), and the budget: half the topology's
// RTT tolerance for the link (for a link between two nodes, the same rule
// applied to twice its delay). Pure apart from reading the topology.
func (w *WAN) Fidelity(before, after map[string]netem.AgentStatus) []LinkFidelity {
	var out []LinkFidelity
	for _, host := range slices.Sorted(maps.Keys(after)) {
		st := after[host]
		for _, q := range st.Queues {
			var q0 netem.AgentQueueStatus
			if b, ok := before[host]; ok && b.PID == st.PID {
				for _, bq := range b.Queues {
					if bq.Num == q.Num && bq.Released <= q.Released && bq.Stamped <= q.Stamped {
						q0 = bq
					}
				}
			}
			f := LinkFidelity{
				Host: host, Link: strings.Join(q.Links, ","), Delay: q.Impairment.Delay,
				Packets: q.Released - q0.Released,
				Dropped: (q.Lost + q.Overflow) - min(q0.Lost+q0.Overflow, q.Lost+q.Overflow),
				Budget:  w.fidelityBudget(q),
			}
			if f.Packets > 0 {
				f.ReleaseError = time.Duration((q.ReleaseErrorSumUS - q0.ReleaseErrorSumUS) / float64(f.Packets) * float64(time.Microsecond))
			}
			if n := q.Stamped - q0.Stamped; n > 0 {
				f.ArrivalLag = time.Duration((q.ArrivalLagSumUS - q0.ArrivalLagSumUS) / float64(n) * float64(time.Microsecond))
			}
			out = append(out, f)
		}
	}
	return out
}

// fidelityBudget is half the RTT tolerance of the queue's link: the
// larger of the topology's percentage of the round trip and its absolute
// slack, split between the two directions.
func (w *WAN) fidelityBudget(q netem.AgentQueueStatus) time.Duration {
	rtt := 2 * q.Impairment.Delay
	for _, name := range q.Links {
		if a, b, ok := strings.Cut(name, "->"); ok {
			if lk, ok := w.lab.topo.Link(a, b); ok {
				rtt = lk.RTT
				break
			}
		}
	}
	return w.rttTolerance(rtt) / 2
}
