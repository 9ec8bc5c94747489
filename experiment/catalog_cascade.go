package experiment

import (
	"context"
	"slices"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Timings of the cascading plan.
const (
	// CascadeWarmup is how long the chain runs before its middle node
	// dies: the per-hop lag is measured over it.
	CascadeWarmup = 10 * time.Second
	// CascadeSettle is how long the far node runs without its upstream
	// after it streams again, before the middle node is started.
	CascadeSettle = 3 * time.Second
)

// CascadeScenario chains replication across regions: the far region's
// node replicates from the middle region's (Patroni's replicatefrom), as
// us-east → eu-west → ap-southeast, and it measures the lag each hop adds
// under the steady load; then it kills the middle node and measures how
// long the far one is left without WAL, until it streams from someone
// else (Patroni moves a replica whose replicatefrom member is gone to the
// leader once that member's key has expired).
func CascadeScenario() Scenario {
	return Scenario{
		Name:    "cascading",
		Summary: "a chain across regions (leader → middle → far): the lag per hop, then the middle node killed: how long the far one is left without WAL",
		Needs:   Needs{Regions: 3},
		Shape:   chainThrough,
		NotJudged: map[string]string{
			results.CheckFailoverTime: "the leader is never lost",
			results.CheckLagP99:       "the plan breaks the chain on purpose and the far node trails until it and its upstream have caught up; the cascading table reports its lag before, during and the worst",
		},
		Steps: []Step{
			Measure(MeasureDCSWrite, dcsWriteFigure),
			Sleep("let the chain run", CascadeWarmup),
			Inject("middle", func(r *Run) chaos.Fault { return chaos.Kill(chaos.Node(chainMiddle(r.Topology))) }),
			Await(StreamsFromOtherThan(chainFar, "middle"), WaitTimeout, ""),
			Sleep("let the far node stream without its upstream", CascadeSettle),
			Heal("middle"),
			Await(EveryNodeStreaming(), WaitTimeout, "not every node streamed again in time"),
			CascadeTable("middle"),
		},
	}
}

// chainThrough makes the topology a chain when it is not one: the first
// node of the region farthest from the primary replicates from the first
// node of another region outside it, the nearest to the primary. It
// copies the regions it changes: the topology given is shared.
func chainThrough(t *topologies.Topology) {
	if chainMiddle(t) != "" {
		return
	}
	far, mid := chainRegions(t)
	if far < 0 || mid < 0 {
		return
	}
	regions := slices.Clone(t.Regions)
	regions[far].Nodes = slices.Clone(regions[far].Nodes)
	regions[far].Nodes[0].Upstream = regions[mid].Nodes[0].Name
	t.Regions = regions
}

// chainRegions are the indexes of the region farthest from the primary
// and of the other non-primary region nearest to it (-1 when missing).
func chainRegions(t *topologies.Topology) (far, mid int) {
	far, mid = -1, -1
	rtt := func(i int) time.Duration {
		l, _ := t.Link(t.Regions[i].Name, t.PrimaryRegion)
		return l.RTT
	}
	for i, r := range t.Regions {
		if r.Name == t.PrimaryRegion || len(r.Nodes) == 0 {
			continue
		}
		if far < 0 || rtt(i) > rtt(far) {
			far = i
		}
	}
	for i, r := range t.Regions {
		if i == far || r.Name == t.PrimaryRegion || len(r.Nodes) == 0 {
			continue
		}
		if mid < 0 || rtt(i) < rtt(mid) {
			mid = i
		}
	}
	return far, mid
}

// chainMiddle is the upstream of the first cascading node ("" for none).
func chainMiddle(t *topologies.Topology) string { return firstCascading(t).Upstream }

// chainFar is the first cascading node ("" for none).
func chainFar(t *topologies.Topology) string { return firstCascading(t).Name }

// firstCascading is the first node, in file order, that replicates from
// another (zero when none does).
func firstCascading(t *topologies.Topology) topologies.Node {
	for _, n := range t.Nodes() {
		if n.Upstream != "" {
			return n
		}
	}
	return topologies.Node{}
}

// StreamsFromOtherThan is the node pick names streaming WAL from a member
// other than the target of fault, as its own pg_stat_wal_receiver says;
// it records the figure "<node> streams again after" (from the fault's
// begin) and "<node> streams from".
func StreamsFromOtherThan(pick func(*topologies.Topology) string, fault string) Condition {
	return Condition{Detail: "the far node streaming from another member", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		node := pick(r.Topology)
		from, err := r.Lab.WALSender(ctx, node)
		if err != nil || from == "" || slices.Contains(targets(a), from) {
			return false, nil
		}
		r.figure(node+" streams again after", (r.Rec.Now() - a.Injected).Round(time.Millisecond).String())
		r.figure(node+" streams from", from)
		return true, nil
	}}
}

// CascadeTable records the chain's lag per hop before fault (heartbeat
// lag medians: the first hop's node, the far node and their difference)
// and how stale the far node got while its upstream was dead.
func CascadeTable(fault string) Step {
	return Do("tabulate the chain", func(_ context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		h := r.Rec.History()
		mid, far := chainMiddle(r.Topology), chainFar(r.Topology)
		before := results.Window{From: 0, To: a.Injected}
		during := results.Window{From: a.Injected, To: r.Rec.Now()}
		m, mok := sampleStats(h, results.MetricLagHeartbeatSeconds, mid, before)
		f, fok := sampleStats(h, results.MetricLagHeartbeatSeconds, far, before)
		worst, wok := sampleStats(h, results.MetricLagHeartbeatSeconds, far, during)
		res := h.MetricResolution(results.MetricLagHeartbeatSeconds)
		seconds := func(v float64) string {
			d := time.Duration(v * float64(time.Second))
			if d < res {
				return "< " + results.FormatDuration(res)
			}
			return results.FormatDuration(d)
		}
		cell := func(ok bool, v float64) string {
			if !ok {
				return results.NoSamples
			}
			return seconds(v)
		}
		hop2 := results.NoSamples
		if mok && fok {
			hop2 = seconds(f.P50 - m.P50)
		}
		t := r.Topology
		link := func(a, b string) string {
			l, ok := t.Link(a, b)
			if !ok {
				return "LAN"
			}
			return results.FormatDuration(l.RTT)
		}
		leader := r.Leader
		if leader == "" {
			leader = "the leader"
		}
		return r.Rec.RecordTable(results.Table{
			Title:   "Cascading replication: " + leader + " → " + mid + " → " + far,
			Columns: []string{"node", "hop RTT", "heartbeat lag p50 before", "p99 before", "this hop's share of the p50", "worst while " + mid + " was dead"},
			Rows: [][]string{
				{mid, link(regionOf(t, mid), t.PrimaryRegion), cell(mok, m.P50), cell(mok, m.P99), cell(mok, m.P50), "-"},
				{far, link(regionOf(t, far), regionOf(t, mid)), cell(fok, f.P50), cell(fok, f.P99), hop2, cell(wok, worst.Max)},
			},
			Note: "Heartbeat lag is the age of the oldest acknowledged heartbeat a node does not show, read on each node directly (resolution " +
				results.FormatDuration(workload.HeartbeatPeriod) + "). A hop's share is the far node's p50 less the middle one's.",
		})
	})
}

// sampleStats are the statistics of metric's samples for node in w.
func sampleStats(h results.History, metric, node string, w results.Window) (results.Stats, bool) {
	var v []float64
	for _, s := range h.Samples {
		if s.Metric == metric && s.Node == node && s.At >= w.From && s.At < w.To {
			v = append(v, s.Value)
		}
	}
	return results.NewStats(v), len(v) > 0
}

// regionOf is a topology node's region, "" for a name it lacks.
func regionOf(t *topologies.Topology, name string) string {
	n, _ := t.Node(name)
	return n.Region
}
