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
// survivor region, writing through that region's endpoint: the stretched
// DCS keeps a quorum, a candidate there takes over after the leader key
// expires, and the report says what the outage cost in time and in
// acknowledged writes.
func RegionOutageScenario() Scenario {
	return Scenario{
		Name:         "region-outage",
		Summary:      "kill every container of the primary region at once: failover to another region, its RTO, and the acknowledged writes lost beside the replication lag at the outage",
		Needs:        Needs{RegionLoss: true},
		ClientRegion: SurvivorRegion,
		Steps: []Step{
			Sleep("warm up", RegionWarmup),
			Inject("outage", func(r *Run) chaos.Fault { return chaos.RegionOutage(r.Topology.PrimaryRegion) }),
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
			case m.Role == harness.RoleReplica && m.State == "streaming":
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
			Settings: map[string]string{"replication.mode": string(r.Topology.Replication.Mode), "dcs.regions": fmt.Sprint(r.Topology.DCS.Regions)},
		})
	})
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
			"failover_time": "the scenario injects no fault",
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
