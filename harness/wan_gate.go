package harness

import "context"

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

// openGate lets name's gated command (Patroni) start.
func (w *WAN) openGate(ctx context.Context, name string) error {
	_, err := containerHost{w.lab, name}.Run(ctx, []string{"touch", gateFile})
	return err
}
