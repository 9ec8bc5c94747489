package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Timings and sizes of the regional clients' plans.
const (
	// RegionalWindow is how long each region's clients are measured in
	// regional-latency.
	RegionalWindow = 6 * time.Second
	// RegionalRate is each regional client's rate in regional-latency:
	// the writer's commits and the session's write-then-read pairs per
	// second.
	RegionalRate = 10
	// RegionalTolerance is how far the WAN's share of a remote region's
	// write latency may stray from the declared round trip.
	RegionalTolerance = 0.05
	// regionalFirstKey is the first id of the regional clients' key
	// ranges, one million apiece, far above the other clients'.
	regionalFirstKey = 2_400_000_000
	// regionalOpTimeout bounds each regional operation, its connection
	// included: a connection through a far region's endpoint takes
	// several round trips (TCP, startup, SCRAM), a second and more at
	// 200ms.
	regionalOpTimeout = 5 * time.Second
)

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
			Measure(MeasureDCSWrite, dcsWriteFigure),
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
