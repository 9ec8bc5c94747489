package results

import (
	"cmp"
	"slices"
	"time"
)

// Stint is one member's run of acknowledged probe writes as leader: from its
// first to its last ok probe write. A member's stints are split at every
// leader.changed event that names it.
type Stint struct {
	Member string        `json:"member"`
	Start  time.Duration `json:"start_ns"`
	End    time.Duration `json:"end_ns"`
	Writes int           `json:"writes"`
}

// SplitBrainWindow is a time when two members both acknowledged writes.
type SplitBrainWindow struct {
	// Former is the member whose stint began first, Later the other.
	Former   string        `json:"former"`
	Later    string        `json:"later"`
	Start    time.Duration `json:"start_ns"`
	End      time.Duration `json:"end_ns"`
	Duration time.Duration `json:"duration_ns"`
	// Ops are the ids of both members' ok probe writes acknowledged inside
	// the window.
	Ops []int64 `json:"ops"`
}

// SplitBrainReport is the outcome of SplitBrain.
type SplitBrainReport struct {
	// ProbeWrites counts ok probe writes: with none, no window can be seen.
	ProbeWrites int                `json:"probe_writes"`
	Stints      []Stint            `json:"stints"`
	Windows     []SplitBrainWindow `json:"windows"`
	// Overlap is the summed duration of the windows.
	Overlap time.Duration `json:"overlap_ns"`
	// AfterElection are ok writes (through the endpoint or probes)
	// acknowledged by a former leader after the leader.changed event that
	// named another member: acknowledged by a member other than the elected
	// leader, which had itself led (been named, or acknowledged a write)
	// before that election.
	AfterElection []Op `json:"after_election"`
	// Discarded are those of AfterElection whose key is absent from the
	// final state: writes the old timeline had and pg_rewind threw away.
	Discarded     []Op `json:"discarded"`
	FinalRecorded bool `json:"final_recorded"`
}

// SplitBrain looks for two members accepting writes at the same time. A
// write's time is its acknowledgement (Complete). Each member's ok probe
// writes (member: Op.Member, else Op.Target) form stints; two stints of
// different members that overlap are a window. With leader changes within a
// stint missed by the event source, a member that lost and regained the
// lead shows one long stint, which may be reported as overlapping.
func SplitBrain(h History) SplitBrainReport {
	var r SplitBrainReport
	ev := sortedEvents(h)
	acks := map[string][]Op{}
	for _, o := range h.Ops {
		if o.Kind != OpProbe || o.Outcome != OK {
			continue
		}
		m := servedBy(o)
		if m == "" {
			continue
		}
		r.ProbeWrites++
		acks[m] = append(acks[m], o)
	}
	members := sortedKeys(acks)
	for _, m := range members {
		ops := acks[m]
		slices.SortStableFunc(ops, func(a, b Op) int { return cmp.Compare(a.Complete, b.Complete) })
		var elected []time.Duration
		for _, e := range ev {
			if e.Kind == EventLeaderChanged && e.Node == m {
				elected = append(elected, e.At)
			}
		}
		group := func(t time.Duration) int {
			n := 0
			for _, at := range elected {
				if at <= t {
					n++
				}
			}
			return n
		}
		cur := -1
		for _, o := range ops {
			g := group(o.Complete)
			if g != cur {
				r.Stints = append(r.Stints, Stint{Member: m, Start: o.Complete, End: o.Complete})
				cur = g
			}
			s := &r.Stints[len(r.Stints)-1]
			s.End = o.Complete
			s.Writes++
		}
	}
	for i, a := range r.Stints {
		for _, b := range r.Stints[i+1:] {
			if a.Member == b.Member {
				continue
			}
			start, end := max(a.Start, b.Start), min(a.End, b.End)
			if start > end {
				continue
			}
			w := SplitBrainWindow{Former: a.Member, Later: b.Member, Start: start, End: end, Duration: end - start}
			if b.Start < a.Start || (b.Start == a.Start && b.Member < a.Member) {
				w.Former, w.Later = b.Member, a.Member
			}
			for _, m := range []string{w.Former, w.Later} {
				for _, o := range acks[m] {
					if o.Complete >= start && o.Complete <= end {
						w.Ops = append(w.Ops, o.ID)
					}
				}
			}
			slices.Sort(w.Ops)
			r.Windows = append(r.Windows, w)
			r.Overlap += w.Duration
		}
	}
	slices.SortStableFunc(r.Windows, func(a, b SplitBrainWindow) int { return cmp.Compare(a.Start, b.Start) })

	present := map[int64]bool{}
	if h.Final != nil {
		r.FinalRecorded = true
		for _, k := range h.Final.Keys {
			present[k] = true
		}
	}
	// A member led before t if an event named it leader before t or it
	// acknowledged a write before t. A new leader whose leader.changed event
	// is observed late is therefore not mistaken for a former one.
	ledSince := map[string]time.Duration{}
	for _, e := range ev {
		if _, seen := ledSince[e.Node]; e.Kind == EventLeaderChanged && e.Node != "" && !seen {
			ledSince[e.Node] = e.At
		}
	}
	for _, o := range h.Ops {
		if m := servedBy(o); isWrite(o) && o.Outcome == OK && m != "" {
			if t, seen := ledSince[m]; !seen || o.Complete < t {
				ledSince[m] = o.Complete
			}
		}
	}
	for _, o := range h.Ops {
		if !isWrite(o) || o.Outcome != OK {
			continue
		}
		m := servedBy(o)
		if m == "" {
			continue
		}
		leader, since, ok := leaderAt(ev, o.Complete)
		if t, led := ledSince[m]; !ok || leader == m || !led || t >= since {
			continue
		}
		r.AfterElection = append(r.AfterElection, o)
		if h.Final != nil && !present[o.Key] {
			r.Discarded = append(r.Discarded, o)
		}
	}
	return r
}

// servedBy is the member that served an operation: Member, or for a probe
// its Target node.
func servedBy(o Op) string {
	if o.Member != "" {
		return o.Member
	}
	if o.Kind == OpProbe && o.Target != TargetRW && o.Target != TargetRO {
		return o.Target
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
