package results

import (
	"math"
	"slices"
	"time"
)

// Lag phases.
const (
	LagSteady = "steady" // before the first fault
	LagDuring = "during" // inside a fault window (see Faults)
	LagAfter  = "after"  // after the first fault, outside every window
)

// Stats summarises a set of values by nearest-rank percentiles. With Count
// zero the other fields are zero and meaningless.
type Stats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// NewStats summarises values (in any order; the slice is not modified).
func NewStats(values []float64) Stats {
	if len(values) == 0 {
		return Stats{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	return Stats{Count: len(v), P50: rank(v, 0.50), P95: rank(v, 0.95), P99: rank(v, 0.99), Max: v[len(v)-1]}
}

// rank is the nearest-rank percentile of sorted values: the smallest value
// with at least q of them at or below it.
func rank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// NodeLag is one follower's lag, overall and per phase.
type NodeLag struct {
	Node   string `json:"node"`
	All    Stats  `json:"all"`
	Steady Stats  `json:"steady"`
	During Stats  `json:"during"`
	After  Stats  `json:"after"`
}

// LagReport is the outcome of Lag for one metric.
type LagReport struct {
	Metric string    `json:"metric"`
	Nodes  []NodeLag `json:"nodes"`
}

// Lag summarises one metric per node (sorted by name), split into phases:
// steady before the first fault, during inside any fault window, after for
// the rest.
func Lag(h History, metric string) LagReport {
	windows := Faults(h)
	r := LagReport{Metric: metric}
	type phases struct{ all, steady, during, after []float64 }
	byNode := map[string]*phases{}
	for _, s := range h.Samples {
		if s.Metric != metric {
			continue
		}
		p := byNode[s.Node]
		if p == nil {
			p = &phases{}
			byNode[s.Node] = p
		}
		p.all = append(p.all, s.Value)
		switch lagPhase(windows, s.At) {
		case LagSteady:
			p.steady = append(p.steady, s.Value)
		case LagDuring:
			p.during = append(p.during, s.Value)
		default:
			p.after = append(p.after, s.Value)
		}
	}
	for _, n := range sortedKeys(byNode) {
		p := byNode[n]
		r.Nodes = append(r.Nodes, NodeLag{Node: n, All: NewStats(p.all), Steady: NewStats(p.steady), During: NewStats(p.during), After: NewStats(p.after)})
	}
	return r
}

func lagPhase(windows []FaultWindow, at time.Duration) string {
	if len(windows) == 0 || at < windows[0].Injected {
		return LagSteady
	}
	for _, w := range windows {
		if at >= w.Injected && at < w.End {
			return LagDuring
		}
	}
	return LagAfter
}

// Metrics lists the sample metrics present, sorted.
func Metrics(h History) []string {
	seen := map[string]bool{}
	for _, s := range h.Samples {
		seen[s.Metric] = true
	}
	return sortedKeys(seen)
}
