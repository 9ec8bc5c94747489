package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/topologies"
)

// DRFailoverScenario loses the primary region of a topology with a
// standby cluster (every container of it killed at once), with the
// clients in the standby cluster's region writing through its endpoint,
// and does what an operator does: promotes the standby cluster, then,
// once the lost region is back, rebuilds the old primary cluster as the
// new standby. It measures the time to promote, the time to the first ok
// write at the standby region's endpoint and the acknowledged writes lost
// beside the standby leader's lag before the loss.
func DRFailoverScenario() Scenario {
	return Scenario{
		Name:         "dr-failover",
		Summary:      "lose the primary region, promote the standby cluster by hand: time to promote, to the first ok write in its region, writes lost; then rebuild the old primary as the new standby",
		Needs:        Needs{StandbyCluster: true},
		ClientRegion: func(t *topologies.Topology) string { return t.Standby.Region },
		Steps: []Step{
			Sleep("warm up", RegionWarmup),
			Inject("outage", func(r *Run) chaos.Fault { return drOutage{region: r.Topology.PrimaryRegion, lab: r.Lab} }),
			Do("promote the standby cluster", promoteStandby("outage")),
			Await(WritesOnNewLeader("outage"), WaitTimeout, ""),
			FailoverTable("outage", "region outage, standby cluster promoted by hand"),
			Sleep("let writes run on the promoted cluster", LeaderKillSettle),
			Heal("outage"),
			Await(EveryNodeStreaming(), WaitTimeout, "not every node streamed again in time"),
		},
		Report: []Step{RegionLossTable("outage")},
	}
}

// Figures of dr-failover.
const (
	MeasurePromoteTook = "promotion took"
	MeasurePromotedBy  = "promoted after the outage by"
)

// promoteStandby promotes the standby cluster through the lab and records
// who leads, how long the promotion took (from the request to a leader
// running) and when it was asked for, from fault's begin.
func promoteStandby(fault string) func(ctx context.Context, r *Run) error {
	return func(ctx context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		asked := r.Rec.Now()
		p, err := r.Lab.PromoteStandby(ctx)
		if err != nil {
			return err
		}
		r.Leader = p.Leader
		r.figure(MeasurePromotedBy, (asked - a.Injected).Round(time.Millisecond).String())
		r.figure(MeasurePromoteTook, fmt.Sprintf("%s (request answered after %s)", p.Up.Sub(p.Sent).Round(time.Millisecond), p.Answered.Sub(p.Sent).Round(time.Millisecond)))
		return nil
	}
}

// drOutage is a region outage whose heal is what follows a disaster
// recovery: the lost region's containers come back as the standby cluster
// of the promoted one (harness.Lab.RebuildAsStandby), not as the primary
// they were, which would give the lab two.
type drOutage struct {
	region string
	lab    *harness.Lab
}

func (f drOutage) Name() string { return "region-outage" }

func (f drOutage) Inject(ctx context.Context, c chaos.Cluster) (string, chaos.Heal, error) {
	target, _, err := chaos.RegionOutage(f.region).Inject(ctx, c)
	if err != nil {
		return target, nil, err
	}
	return target, f.lab.RebuildAsStandby, nil
}
