package experiment

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Timings of the multi-region plans.
const (
	// RegionWarmup is how long the workload runs before a region fault:
	// long enough for lag samples of every follower before it.
	RegionWarmup = 5 * time.Second
	// RegionCutPastTTL is how long a region cut lasts past the leader
	// key's ttl: the cut-off leader must have demoted by then, and a
	// leader on the other side been elected.
	RegionCutPastTTL = 15 * time.Second
	// RegionalWindow is how long each region's clients are measured in
	// regional-latency.
	RegionalWindow = 6 * time.Second
	// RegionalRate is the write-then-read pairs per second of each
	// region's client in regional-latency.
	RegionalRate = 10
	// RegionalTolerance is how far the WAN's share of a remote region's
	// write latency may stray from the declared round trip.
	RegionalTolerance = 0.05
	// regionalFirstKey is the first id of the regional clients' key
	// ranges, one million apiece, far above the other clients'.
	regionalFirstKey = 2_200_000_000
	// regionalOpTimeout bounds each regional operation, its connection
	// included: a connection through a far region's endpoint takes
	// several round trips (TCP, startup, SCRAM), a second and more at
	// 200ms.
	regionalOpTimeout = 5 * time.Second
)

// RegionOutageScenario kills every container of the primary region at
// once (its nodes, etcd members and endpoint) with the clients in the
// region that takes over, writing through that region's endpoint. With a
// stretched DCS the quorum survives and a candidate there takes over
// after the leader key expires; with a standby cluster the plan does what
// an operator does: promotes it, and heals by rebuilding the old primary
// as the new standby (drOutage). The report says what the outage cost in
// time and in acknowledged writes.
func RegionOutageScenario() Scenario {
	return Scenario{
		Name:         "region-outage",
		Summary:      "kill every container of the primary region at once: failover to another region (by itself, or by promoting the standby cluster), its RTO, and the acknowledged writes lost beside the replication lag at the outage",
		Needs:        Needs{RegionOutage: true},
		ClientRegion: takeoverRegion,
		Steps: []Step{
			Sleep("warm up", RegionWarmup),
			Inject("outage", func(r *Run) chaos.Fault {
				if r.Topology.Standby.Region != "" {
					return drOutage{region: r.Topology.PrimaryRegion, lab: r.Lab}
				}
				return chaos.RegionOutage(r.Topology.PrimaryRegion)
			}),
			Do("promote the standby cluster, if there is one", func(ctx context.Context, r *Run) error {
				if r.Topology.Standby.Region == "" {
					return nil
				}
				return promoteStandby("outage")(ctx, r)
			}),
			Await(NewLeaderAfter("outage"), WaitTimeout, ""),
			Await(WritesOnNewLeader("outage"), WaitTimeout, ""),
			FailoverTable("outage", "region outage"),
			Sleep("let writes run on the new leader", LeaderKillSettle),
			Heal("outage"),
			Await(EveryNodeStreaming(), WaitTimeout, "not every node streamed again in time"),
		},
		Report: []Step{RegionLossTable("outage")},
	}
}

// RegionPartitionScenario cuts the primary region off from every other
// container for the leader key's ttl and RegionCutPastTTL more, the
// clients in the survivor region. With a stretched DCS the primary region
// is the minority: its leader cannot refresh the key and must demote, and
// a candidate on the majority side must take over, with never two
// leaders acknowledging writes (the probes write to every member
// directly; the split-brain check judges them).
func RegionPartitionScenario() Scenario {
	return Scenario{
		Name:         "region-partition",
		Summary:      "cut the primary region off from the others past the leader key's ttl: the old leader's demotion, the failover on the majority side, no split brain",
		Needs:        Needs{RegionLoss: true},
		ClientRegion: SurvivorRegion,
		Steps: []Step{
			Sleep("warm up", RegionWarmup),
			Inject("cut", func(r *Run) chaos.Fault { return chaos.CutRegion(r.Topology.PrimaryRegion) }),
			Await(NoLeaderIn("cut"), WaitTimeout, ""),
			Await(NewLeaderAfter("cut"), WaitTimeout, ""),
			Await(WritesOnNewLeader("cut"), WaitTimeout, ""),
			FailoverTable("cut", "primary region cut off"),
			Measure(MeasureCutLeaders, cutLeaders("cut")),
			Do("hold the cut past the ttl", func(ctx context.Context, r *Run) error {
				a, err := r.Fault("cut")
				if err != nil {
					return err
				}
				return clock.Sleep(ctx, a.Injected+r.Topology.Patroni.TTL+RegionCutPastTTL-r.Rec.Now())
			}),
			Heal("cut"),
			Await(EveryNodeStreaming(), WaitTimeout, "not every node streamed again in time"),
		},
		Report: []Step{RegionLossTable("cut")},
	}
}

// takeoverRegion is where the clients of a region outage sit: the standby
// cluster's region, else SurvivorRegion.
func takeoverRegion(t *topologies.Topology) string {
	if t.Standby.Region != "" {
		return t.Standby.Region
	}
	return SurvivorRegion(t)
}

// NoLeaderIn is no member among the targets of fault (the first side of a
// partition) a running leader any more, as each says of itself: it
// records when, as the figure "<fault> demoted after", counted from the
// fault's begin. A leader cut off from its replicas may report its role
// for a long while after, in state stopping: its PostgreSQL refuses
// connections but its shutdown waits for the walsenders to hand the
// shutdown checkpoint to standbys it cannot reach (wal_sender_timeout).
func NoLeaderIn(fault string) Condition {
	return Condition{Detail: "no leader among the targets of " + fault, Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil // a failed listing is polled again
		}
		for _, m := range ms {
			if slices.Contains(targets(a), m.Name) && m.Role == harness.RoleLeader && m.State == "running" {
				return false, nil
			}
		}
		r.figure(fault+" demoted after", (r.Rec.Now() - a.Injected).Round(time.Millisecond).String())
		return true, nil
	}}
}

// MeasureCutLeaders names region-partition's figure: what the members of
// the cut-off region that still report the leader role are doing once
// the other side has a leader.
const MeasureCutLeaders = "old leader once the other side leads"

// cutLeaders says, for each target of fault still reporting the leader
// role, its state: "use-1 stopping" is a leader whose PostgreSQL is
// shutting down and refusing connections.
func cutLeaders(fault string) func(ctx context.Context, r *Run) string {
	return func(ctx context.Context, r *Run) string {
		a, err := r.Fault(fault)
		if err != nil {
			return err.Error()
		}
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return "unknown: " + err.Error()
		}
		var out []string
		for _, m := range ms {
			if slices.Contains(targets(a), m.Name) && m.Role == harness.RoleLeader {
				out = append(out, m.Name+" "+m.State)
			}
		}
		if len(out) == 0 {
			return "none reports the leader role"
		}
		return strings.Join(out, ", ") + " (reports the leader role; not accepting writes unless running)"
	}
}

// EveryNodeStreaming is every node back: one running leader and every
// other node a replica streaming from its upstream.
func EveryNodeStreaming() Condition {
	return Condition{Detail: "every node streaming", Until: func(ctx context.Context, r *Run) (bool, error) {
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil
		}
		leaders := 0
		for _, m := range ms {
			switch {
			case m.Role == harness.RoleLeader && m.State == "running":
				leaders++
			case (m.Role == harness.RoleReplica || m.Role == harness.RoleStandbyLeader) && m.State == "streaming":
			default:
				return false, nil
			}
		}
		return leaders == 1, nil
	}}
}

// RegionLossTable records what losing the primary region (fault: an
// outage or a cut) cost in acknowledged writes, beside what was in flight
// to the node that took over: its replication lag in the last sample
// before the fault, and the declared round trip between the regions. It
// runs after the read-back, when every write's fate is known.
func RegionLossTable(fault string) Step {
	return Do("tabulate the writes "+fault+" lost", func(_ context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		h := r.Rec.History()
		lw := results.LostWrites(h)
		promoted, region := r.Leader, ""
		if n, ok := r.Topology.Node(promoted); ok {
			region = n.Region
		}
		rtt := "no link"
		if l, ok := r.Topology.Link(r.Topology.PrimaryRegion, region); ok {
			rtt = results.FormatDuration(l.RTT)
		}
		lagTime, lagBytes := "no sample", "no sample"
		if v, ok := lastSample(h, results.MetricLagReplaySeconds, promoted, a.Injected); ok {
			lagTime = results.FormatDuration(time.Duration(v * float64(time.Second)))
		}
		if v, ok := lastSample(h, results.MetricLagBytes, promoted, a.Injected); ok {
			lagBytes = strconv.FormatFloat(v, 'f', 0, 64) + " B"
		}
		acked := r.Rec.AckedWrites(a.Injected-time.Second) - r.Rec.AckedWrites(a.Injected)
		row := []string{
			r.Topology.PrimaryRegion + " → " + cmp.Or(region, "nobody"), rtt, strconv.Itoa(len(lw.Lost)),
			fmt.Sprintf("%d (%d found, %d absent)", len(lw.UnknownFound)+len(lw.UnknownAbsent), len(lw.UnknownFound), len(lw.UnknownAbsent)),
			strconv.Itoa(acked), lagTime, lagBytes,
		}
		return r.Rec.RecordTable(results.Table{
			Title:   "What losing " + r.Topology.PrimaryRegion + " cost (" + fault + ")",
			Columns: []string{"failover", "declared RTT", "acknowledged writes lost", "unknown outcome", "acknowledged in the last second before", "new leader's replay lag before", "its lag in bytes before"},
			Rows:    [][]string{row},
			Note: "In async mode the leader acknowledges a commit before any replica has it: what the new leader had not received when the region went is lost, " +
				"about the lag before the fault times the write rate. Lag samples come every " + results.FormatDuration(workload.LagPeriod) + "; 'no sample' is a gap, not zero.",
			Settings: regionLossSettings(r.Topology),
		})
	})
}

// regionLossSettings are the settings a region's loss is made of.
func regionLossSettings(t *topologies.Topology) map[string]string {
	s := map[string]string{"replication.mode": string(t.Replication.Mode), "dcs.regions": fmt.Sprint(t.DCS.Regions)}
	if t.Standby.Region != "" {
		s["standby_cluster"] = fmt.Sprintf("%s, %d etcd members of its own", t.Standby.Region, t.Standby.DCSMembers)
	}
	return s
}

// lastSample is the value of the last sample of metric for node taken
// before at.
func lastSample(h results.History, metric, node string, at time.Duration) (float64, bool) {
	v, ok := 0.0, false
	for _, s := range h.Samples {
		if s.Metric == metric && s.Node == node && s.At < at {
			v, ok = s.Value, true
		}
	}
	return v, ok
}

// RegionalLatencyScenario puts a client in every region with an endpoint,
// one after another, each writing through its region's rw route and
// reading through its ro route: reads answer from the region's own
// replica at LAN latency, writes cross the WAN to the leader. The table
// sets each region's write latency, less the primary region's, beside the
// declared round trip to the leader's region.
func RegionalLatencyScenario() Scenario {
	return Scenario{
		Name:    "regional-latency",
		Summary: "a client in each region with an endpoint: reads from the regional replica at LAN latency, writes pay the WAN round trip to the leader, against the declared RTTs",
		Needs:   Needs{Regions: 2, Endpoints: 2},
		NotJudged: map[string]string{
			results.CheckFailoverTime: "the scenario injects no fault",
		},
		Steps: []Step{
			Sleep("warm up", time.Second),
			Do("measure each region's client", regionalLatency),
		},
	}
}

// MeasureRegionalWithin names regional-latency's verdict figure: "yes"
// when every remote region's WAN share is within RegionalTolerance of its
// declared round trip.
const MeasureRegionalWithin = "WAN share within 5% of the declared RTT"

// regionalLatency runs each endpoint region's client for RegionalWindow,
// one region at a time, and tabulates them.
func regionalLatency(ctx context.Context, r *Run) error {
	leader, err := r.Lab.Leader(ctx)
	if err != nil {
		return fmt.Errorf("regional latency: %w", err)
	}
	runID := r.Rec.History().Meta.ID
	type cell struct {
		region          string
		read, write     results.Latency
		rtt             time.Duration
		declared        bool
		writer, session string
		window          results.Window
		readReplicas    []string
	}
	var cells []cell
	for i, region := range r.Lab.EndpointRegions() {
		// The writer's ops are bare commits, one round trip each; the
		// session's reads follow its own writes (whose recorded time also
		// holds a query for the commit's LSN, so they are not used).
		c := cell{region: region, writer: "writer@" + region, session: "session@" + region}
		first := regionalFirstKey + int64(i)*1_000_000
		from := r.Rec.Now()
		ws := []*workload.Workload{
			workload.StartWriter(ctx, r.Lab, r.Rec, workload.WriterConfig{
				Rate: RegionalRate, Process: c.writer, FirstKey: first, Run: runID, Region: region, OpTimeout: regionalOpTimeout,
			}),
			workload.StartSession(ctx, r.Lab, r.Rec, workload.SessionConfig{
				Rate: RegionalRate, Process: c.session, FirstKey: first + 500_000, Run: runID, Region: region, OpTimeout: regionalOpTimeout,
			}),
		}
		err := clock.Sleep(ctx, RegionalWindow)
		c.window = results.Window{From: from, To: r.Rec.Now()}
		for _, w := range ws {
			w.Stop()
		}
		if err != nil {
			return err
		}
		if l, ok := r.Topology.Link(region, leader.Region); ok {
			c.rtt, c.declared = l.RTT, true
		} else if region == leader.Region {
			c.declared = true
		}
		cells = append(cells, c)
	}
	h := r.Rec.History()
	var base time.Duration
	for i := range cells {
		c := &cells[i]
		c.read, c.write = results.ReadLatency(h, c.session, c.window), results.WriteLatency(h, c.writer, c.window)
		for _, o := range h.Ops {
			if o.Process == c.session && o.Kind == results.OpRead && o.Outcome == results.OK && !slices.Contains(c.readReplicas, o.Member) {
				c.readReplicas = append(c.readReplicas, o.Member)
			}
		}
		if c.region == leader.Region && c.write.Known() {
			base = c.write.P50
		}
	}
	within := "yes"
	var rows [][]string
	for _, c := range cells {
		rp50, _, _ := c.read.Cells()
		wp50, _, _ := c.write.Cells()
		share, err := "", ""
		switch {
		case c.region == leader.Region:
			share, err = "(the leader's region)", ""
		case !c.write.Known() || base == 0 || !c.declared:
			share, err, within = results.NoSamples, "", "inconclusive"
		default:
			d := c.write.P50 - base
			share = results.FormatDuration(d)
			e := (float64(d) - float64(c.rtt)) / float64(c.rtt)
			err = fmt.Sprintf("%+.1f%%", 100*e)
			if math.Abs(e) > RegionalTolerance && within == "yes" {
				within = "no"
			}
		}
		rows = append(rows, []string{c.region, results.FormatDuration(c.rtt), rp50, fmt.Sprint(c.readReplicas), wp50, share, err})
	}
	r.figure(MeasureRegionalWithin, within)
	return r.Rec.RecordTable(results.Table{
		Title:   "Regional latency (leader in " + leader.Region + ")",
		Columns: []string{"client region", "declared RTT to the leader's region", "read p50 (ro)", "read from", "write p50 (rw)", "WAN share (write p50 − the leader region's)", "against the declared RTT"},
		Rows:    rows,
		Note: fmt.Sprintf("Each region's clients (a writer of bare commits and a read-your-writes session, %d/s each) run %s through their own region's endpoint, one region after another. "+
			"A write over an open connection is one round trip to the leader; the WAN's share is the write p50 less the leader region's own.", RegionalRate, results.FormatDuration(RegionalWindow)),
	})
}

// RegionalReadsHold is how long regional-reads runs its sessions.
const RegionalReadsHold = 20 * time.Second

// RegionalReadsScenario runs the four read-your-writes strategies of
// read-your-writes from the remote region farthest from the leader's, in
// async mode: its replica trails the leader by the WAN, and the table
// shows how often each strategy must read from the leader across the WAN
// instead, and what its reads cost.
func RegionalReadsScenario() Scenario {
	spec := RYWSpec{}.withDefaults()
	return Scenario{
		Name:    "regional-reads",
		Summary: "the read-your-writes strategies from the region farthest from the leader: stale reads from the regional replica, how often each falls back to the leader across the WAN, read latency",
		Needs:   Needs{Regions: 2, Endpoints: 2, Candidates: 1},
		Shape:   func(t *topologies.Topology) { t.Replication.Mode, t.Replication.SyncStandbys = topologies.Async, 0 },
		ClientRegion: func(t *topologies.Topology) string {
			return FarthestEndpointRegion(t)
		},
		Profile: workload.Profile{Name: "regional-reads", WriteRate: workload.Steady.WriteRate, SessionRate: workload.Steady.SessionRate,
			ProbePeriod: workload.Steady.ProbePeriod, Sessions: spec.Sessions()},
		NotJudged: map[string]string{results.CheckFailoverTime: "the scenario injects no fault"},
		Steps: []Step{
			Sleep("read from the far region", RegionalReadsHold),
			Do("measure the read strategies", func(ctx context.Context, r *Run) error {
				s := spec
				s.Region = FarthestEndpointRegion(r.Topology)
				return RYWTable(s).do(ctx, r)
			}),
		},
	}
}

// FarthestEndpointRegion is the region with an endpoint and the longest
// declared round trip to the primary region; "" when only the primary
// region has an endpoint.
func FarthestEndpointRegion(t *topologies.Topology) string {
	best, far := time.Duration(-1), ""
	for _, r := range t.EndpointRegions() {
		if l, ok := t.Link(r, t.PrimaryRegion); ok && r != t.PrimaryRegion && l.RTT > best {
			best, far = l.RTT, r
		}
	}
	return far
}

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
func chainMiddle(t *topologies.Topology) string {
	for _, n := range t.Nodes() {
		if n.Upstream != "" {
			return n.Upstream
		}
	}
	return ""
}

// chainFar is the first cascading node.
func chainFar(t *topologies.Topology) string {
	for _, n := range t.Nodes() {
		if n.Upstream != "" {
			return n.Name
		}
	}
	return ""
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
