package experiment

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
)

// Cluster adapts a *harness.Lab to every capability chaos asks for:
// processes, commands, resources, SQL, topology, and the links of the
// lab's WAN facet (harness.WAN). chaos cannot import harness, so this is
// where the two meet.
type Cluster struct {
	*harness.Lab
}

// ClusterOf wraps a lab for chaos: chaos.NewInjector(experiment.ClusterOf(lab), rec)
// can inject every fault, where a bare lab supports only kill.
func ClusterOf(lab *harness.Lab) Cluster { return Cluster{Lab: lab} }

// Compile-time proof that the adapter offers every capability.
var (
	_ chaos.Cluster       = Cluster{}
	_ chaos.Processes     = Cluster{}
	_ chaos.Commands      = Cluster{}
	_ chaos.Resources     = Cluster{}
	_ chaos.SQL           = Cluster{}
	_ chaos.Topology      = Cluster{}
	_ chaos.Links         = Cluster{}
	_ chaos.LinksBaseline = Cluster{}
	_ chaos.NodeLinks     = Cluster{}
)

// Run runs a command in a host; a non-zero exit is a *chaos.ExitError.
func (c Cluster) Run(ctx context.Context, cmd chaos.Command) (string, error) {
	res, err := c.Lab.Exec(ctx, cmd.Host, harness.ExecRequest{Cmd: cmd.Argv, User: cmd.User})
	if errors.Is(err, harness.ErrNotRunning) {
		return "", fmt.Errorf("%w: %v", chaos.ErrHostDown, err)
	}
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return string(res.Stdout), fmt.Errorf("run %q in %s: %w", strings.Join(cmd.Argv, " "), cmd.Host,
			&chaos.ExitError{Code: res.ExitCode, Stderr: strings.TrimSpace(string(res.Stderr))})
	}
	return string(res.Stdout), nil
}

// ExecSQL runs one statement directly on a database node.
func (c Cluster) ExecSQL(ctx context.Context, node, sql string) error {
	conn, err := c.Lab.Connect(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("exec sql on %s: %w", node, err)
	}
	return nil
}

// Hosts lists every container of the lab.
func (c Cluster) Hosts(context.Context) ([]chaos.Host, error) {
	var out []chaos.Host
	for _, h := range c.Lab.Hosts() {
		out = append(out, chaos.Host{Name: h.Name, Role: h.Role, Region: h.Region, IP: h.IP})
	}
	return out, nil
}

// Members lists the database nodes with their role and sync state now.
func (c Cluster) Members(ctx context.Context) ([]chaos.Member, error) {
	ms, err := c.Lab.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]chaos.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, chaos.Member{Name: m.Name, Region: m.Region, Role: string(m.Role), SyncState: m.SyncState})
	}
	return out, nil
}

// HostState inspects one host's container.
func (c Cluster) HostState(ctx context.Context, name string) (chaos.HostState, error) {
	st, err := c.Lab.ContainerStatus(ctx, name)
	if err != nil {
		return chaos.HostState{}, err
	}
	return chaos.HostState{Running: st.Running, Paused: st.Paused, CPUs: st.CPUs}, nil
}

// SetLink overlays imp on the emulated link between two regions; nil
// restores the baseline. chaos's degrade fault calls it.
func (c Cluster) SetLink(ctx context.Context, regionA, regionB string, imp *netem.Impairment) error {
	return c.Lab.WAN().SetLink(ctx, regionA, regionB, imp)
}

// SetNodeLinks overlays imp on the links between pairs of database nodes
// of one region, all at once (nil removes the overlays).
func (c Cluster) SetNodeLinks(ctx context.Context, pairs [][2]string, imp *netem.Impairment) error {
	return c.Lab.WAN().SetNodeLinks(ctx, pairs, imp)
}

// WANAtBaseline reads every host's netem state back against the
// topology's baseline, for chaos.VerifyBaseline.
func (c Cluster) WANAtBaseline(ctx context.Context) error {
	return c.Lab.WAN().AtBaseline(ctx)
}
