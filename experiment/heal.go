package experiment

import (
	"context"
	"errors"
	"fmt"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
)

// HealEverything brings every host of a running lab back to baseline
// without knowing which faults are active (`replab chaos heal`, or after a
// run that was killed): chaos.Reset thaws, starts, lifts CPU quotas and
// deletes every chaos chain; then the WAN's baseline plan is re-applied on
// every host, because link overlays (degrade, slow) live in the process
// that made them and this one cannot undo them one by one (without a WAN
// the baseline is no rule: whatever netem rules and agents are left are
// removed). Only when both succeed does it read every host back with
// chaos.VerifyBaseline. It returns what it did, in order, whether or not it
// fails; an empty list means every host already was at baseline.
func HealEverything(ctx context.Context, lab *harness.Lab) ([]string, error) {
	c := ClusterOf(lab)
	did, err := chaos.Reset(ctx, c)
	if werr := lab.WAN().Reset(ctx); werr != nil {
		err = errors.Join(err, fmt.Errorf("restore the netem baseline: %w", werr))
	} else if lab.Topology().Network.Links != nil {
		did = append(did, "WAN: baseline plan re-applied on every host")
	} else if b, _ := lab.WAN().Backend(); b != "none" {
		did = append(did, "netem: every node's rules and agent removed (no WAN: the baseline is none)")
	}
	if err != nil {
		return did, err
	}
	if err := chaos.VerifyBaseline(ctx, c); err != nil {
		return did, fmt.Errorf("heal: hosts still off baseline: %w", err)
	}
	return did, nil
}
