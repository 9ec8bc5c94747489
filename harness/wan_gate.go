package harness

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// The WAN between regions is applied inside each container's network
// namespace before Patroni starts, so even the replicas' base backups cross
// it. A node's command waits for a gate file on a tmpfs; a restart empties
// the tmpfs, so a restarted node waits again until Start has re-applied its
// plan.
const (
	gateDir  = "/run/replab"
	gateFile = gateDir + "/go"
)

// gated wraps a command so it starts only once the gate file exists.
func gated(cmd []string) []string {
	return append([]string{"sh", "-c", `until [ -e ` + gateFile + ` ]; do sleep 0.02; done; exec "$@"`, "gate"}, cmd...)
}

// openGates lets the named nodes' gated command (Patroni) start, all at
// once: each is an exec into its container, and one after another they
// delay the last node by the others' execs.
func (w *WAN) openGates(ctx context.Context, names []string) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range names {
		g.Go(func() error {
			if err := w.openGate(gctx, n); err != nil {
				return fmt.Errorf("start patroni on %s: %w", n, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// openGate lets name's gated command (Patroni) start.
func (w *WAN) openGate(ctx context.Context, name string) error {
	_, err := containerHost{w.lab, name}.Run(ctx, []string{"touch", gateFile})
	return err
}

// bootstrapGates splits the nodes into those whose Patroni starts at once
// and those held until a leader accepts writes: the failover candidates
// outside the primary region. Any candidate may initialize a new cluster,
// the first to take Patroni's initialize key wins, and the lab's leader
// belongs in the primary region; held back, they join as replicas of it.
func (w *WAN) bootstrapGates() (now, held []string) {
	for _, n := range w.lab.plan.Nodes {
		if n.Node.Failover && n.Region != w.lab.topo.PrimaryRegion {
			held = append(held, n.Name)
		} else {
			now = append(now, n.Name)
		}
	}
	return now, held
}
