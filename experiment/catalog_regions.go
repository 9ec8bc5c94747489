package experiment

import (
	"cmp"
	"context"
	"fmt"
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

// Timings of the region-loss plans.
const (
	// RegionWarmup is how long the workload runs before a region fault:
	// long enough for lag samples of every follower before it.
	RegionWarmup = 5 * time.Second
	// RegionCutPastTTL is how long a region cut lasts past the leader
	// key's ttl: the cut-off leader must have demoted by then, and a
	// leader on the other side been elected.
	RegionCutPastTTL = 15 * time.Second
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
	profile := workload.Steady
	profile.Name, profile.PrimaryWriterRate = "steady, and a writer next to the leader", workload.Steady.WriteRate
	return Scenario{
		Name:         "region-outage",
		Profile:      profile,
		Summary:      "kill every container of the primary region at once: failover to another region (by itself, or by promoting the standby cluster), its RTO, and the acknowledged writes lost beside the replication lag at the outage",
		Needs:        Needs{RegionOutage: true},
		ClientRegion: takeoverRegion,
		Steps: []Step{
			Measure(MeasureDCSWrite, dcsWriteFigure),
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

// FarRTT is the round trip region-outage-200ms gives the link between the
// primary region and the one that takes over: ap-southeast's, from
// us-east, in the built-in topologies.
const FarRTT = 200 * time.Millisecond

// RegionOutageAt is RegionOutageScenario with the round trip between the
// primary region and the one that takes over set to rtt (the link's
// jitter kept): the same loss farther away, where more WAL is in flight.
func RegionOutageAt(rtt time.Duration) Scenario {
	sc := RegionOutageScenario()
	sc.Name = fmt.Sprintf("region-outage-%s", rtt)
	sc.Summary = fmt.Sprintf("region-outage with %s between the primary region and the one that takes over: what more WAL in flight loses", rtt)
	sc.Shape = func(t *topologies.Topology) {
		links := slices.Clone(t.Network.Links)
		for i, l := range links {
			if (l.Between[0] == t.PrimaryRegion || l.Between[1] == t.PrimaryRegion) && slices.Contains(l.Between[:], takeoverRegion(t)) {
				links[i].RTT = rtt
			}
		}
		t.Network.Links = links
	}
	return sc
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
// other node streaming from its upstream, as a replica or as the leader
// of a standby cluster.
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
// outage or a cut) cost in acknowledged writes, client by client (the
// writer in the region that takes over, the writer next to the leader,
// the probes, the sessions), beside what was in flight to the node that
// took over: its replication lag in the last sample before the fault, and
// the declared round trip between the regions. It runs after the
// read-back, when every write's fate is known.
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
		lag := "no sample"
		if v, ok := lastSample(h, results.MetricLagReplaySeconds, promoted, a.Injected); ok {
			lag = results.FormatDuration(time.Duration(v * float64(time.Second)))
		}
		if v, ok := lastSample(h, results.MetricLagBytes, promoted, a.Injected); ok {
			lag += ", " + strconv.FormatFloat(v, 'f', 0, 64) + " B"
		}
		r.figure("takeover", fmt.Sprintf("%s → %s (%s, declared RTT %s)", r.Topology.PrimaryRegion, cmp.Or(region, "nobody"), cmp.Or(promoted, "no leader"), rtt))
		r.figure("new leader's replay lag before", lag)
		clientRegion := h.Meta.Labels["client_region"]
		// Clients by process: exactly, or by prefix for the probes (one
		// per member) and the sessions; "" is every client.
		groups := []struct{ process, what string }{
			{"writer-0", "writer in " + cmp.Or(clientRegion, r.Topology.PrimaryRegion)},
			{workload.PrimaryWriterProcess, "writer in " + r.Topology.PrimaryRegion + ", next to the leader"},
			{"probe:", "probes (every member directly)"},
			{"session", "read-your-writes sessions"},
			{"", "every client"},
		}
		var rows [][]string
		for _, g := range groups {
			in := func(o results.Op) bool {
				switch g.process {
				case "", "probe:", "session":
					return strings.HasPrefix(o.Process, g.process)
				}
				return o.Process == g.process
			}
			acked, lost, unknown := 0, 0, 0
			for _, o := range h.Ops {
				if in(o) && o.Outcome == results.OK && o.Complete < a.Injected && a.Injected-o.Complete <= time.Second && (o.Kind == results.OpWrite || o.Kind == results.OpProbe) {
					acked++
				}
			}
			for _, o := range lw.Lost {
				if in(o) {
					lost++
				}
			}
			for _, o := range append(slices.Clone(lw.UnknownFound), lw.UnknownAbsent...) {
				if in(o) {
					unknown++
				}
			}
			if acked == 0 && lost == 0 && unknown == 0 {
				continue // a client the run did not have
			}
			rows = append(rows, []string{g.what, strconv.Itoa(lost), strconv.Itoa(acked), strconv.Itoa(unknown)})
		}
		return r.Rec.RecordTable(results.Table{
			Title:   "What losing " + r.Topology.PrimaryRegion + " cost (" + fault + "), " + r.Topology.PrimaryRegion + " → " + cmp.Or(region, "nobody") + " at " + rtt,
			Columns: []string{"client", "acknowledged writes lost", "acknowledged in the last second before", "unknown outcome"},
			Rows:    rows,
			Note: "In async mode the leader acknowledges a commit before any replica has it: what the new leader had not received when the region went is lost, " +
				"about its lag before the fault (" + lag + ") times the rate of the writers next to the leader; a writer across the WAN has at most one commit in flight. " +
				"Lag samples come every " + results.FormatDuration(workload.LagPeriod) + "; 'no sample' is a gap, not zero.",
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

// MeasureDCSWrite names the figure of what a write to the DCS takes from
// the primary region: what every refresh of the leader key waits for.
const MeasureDCSWrite = "DCS write from the primary region"

// DCSWrites is how many writes dcsWriteFigure times.
const DCSWrites = 20

// dcsWriteFigure times DCSWrites writes through the primary region's etcd
// member: "p50 81.3ms, max 84ms (20 writes through etcd-1)".
func dcsWriteFigure(ctx context.Context, r *Run) string {
	ws, err := r.Lab.DCSWriteLatency(ctx, DCSWrites)
	if err != nil || len(ws) == 0 {
		return fmt.Sprintf("not measured: %v", err)
	}
	v := make([]float64, len(ws))
	for i, w := range ws {
		v[i] = float64(w.Took)
	}
	st := results.NewStats(v)
	return fmt.Sprintf("p50 %s, max %s (%d writes through %s, timed from the host)",
		results.FormatDuration(time.Duration(st.P50)), results.FormatDuration(time.Duration(st.Max)), len(ws), ws[0].Member)
}
