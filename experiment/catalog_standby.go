package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
)

// Figures of region-outage with a standby cluster.
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
