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

// openGates lets every node's gated command (Patroni) start, all at once:
// each is an exec into its container, and one after another they delay
// the last node by the others' execs.
func (w *WAN) openGates(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range w.lab.plan.Nodes {
		g.Go(func() error {
			if err := w.openGate(gctx, n.Name); err != nil {
				return fmt.Errorf("start patroni on %s: %w", n.Name, err)
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
