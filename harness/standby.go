package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/errgroup"
)

// A lab with a standby cluster (topologies.StandbyCluster) runs two
// Patroni clusters: the primary one and, in another region with an etcd
// of its own, one whose leader (a standby leader) replicates from the
// primary through its endpoint. Promoting the standby cluster and
// rebuilding the other one as its standby are explicit steps, as they are
// for the operators who run them.

// ErrNoStandbyCluster is returned by the standby cluster's operations on a
// lab without one, or with none in standby now.
var ErrNoStandbyCluster = errors.New("no standby cluster to act on (topology: standby_cluster)")

// StandbyPollPeriod is how often PromoteStandby and RebuildAsStandby look
// at the members while they wait.
const StandbyPollPeriod = 100 * time.Millisecond

// Promotion is what PromoteStandby did: the node that now leads, and
// when the request was sent and answered (the promotion's begin lies
// between them).
type Promotion struct {
	Leader             string
	Sent, Answered, Up time.Time
}

// PromoteStandby promotes the cluster that is a standby cluster now: it
// removes standby_cluster from that cluster's dynamic configuration
// (PATCH /config with standby_cluster null, on the first of its nodes
// that answers) and waits until one of its nodes leads, running. Patroni
// promotes the standby leader within a loop_wait.
func (l *Lab) PromoteStandby(ctx context.Context) (Promotion, error) {
	var p Promotion
	group, err := l.standbyGroup(ctx)
	if err != nil {
		return p, err
	}
	body := []byte(`{"standby_cluster": null}`)
	var errs []error
	sent := false
	for _, n := range l.plan.Nodes {
		if n.Node.Standby != group {
			continue
		}
		p.Sent = time.Now()
		status, reply, err := l.patroniCall(ctx, n.Name, http.MethodPatch, "/config", body)
		p.Answered = time.Now()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status != http.StatusOK {
			return p, fmt.Errorf("promote the standby cluster: Patroni on %s answered %d: %s", n.Name, status, strings.TrimSpace(reply))
		}
		sent = true
		break
	}
	if !sent {
		return p, fmt.Errorf("promote the standby cluster: no node answered: %w", errors.Join(errs...))
	}
	for {
		ms, err := l.Members(ctx)
		if err == nil {
			for _, m := range ms {
				if m.Standby == group && m.Role == RoleLeader && m.State == "running" {
					p.Leader, p.Up = m.Name, time.Now()
					l.log.Info("standby cluster promoted", "leader", m.Name, "took", p.Up.Sub(p.Sent).Round(time.Millisecond))
					return p, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("promote the standby cluster: no node of it leads yet: %w", ctx.Err())
		case <-time.After(StandbyPollPeriod):
		}
	}
}

// standbyGroup is the Standby flag of the cluster that is a standby
// cluster now: the one whose head is a standby leader.
func (l *Lab) standbyGroup(ctx context.Context) (bool, error) {
	if len(l.plan.StandbyEtcd) == 0 {
		return false, ErrNoStandbyCluster
	}
	ms, err := l.Members(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Role == RoleStandbyLeader {
			return m.Standby, nil
		}
	}
	return false, fmt.Errorf("%w: no member is a standby leader", ErrNoStandbyCluster)
}

// RebuildAsStandby rebuilds the cluster that does not lead (after a
// promotion of the standby cluster: the old primary, whose region was
// lost) as a standby cluster of the one that does. Its containers are
// started again if they were stopped; before any of its Patroni starts,
// its DCS loses the leader key and gains standby_cluster (following the
// endpoint in the leading cluster's region) and each node's data
// directory is emptied, so that every node copies the new primary's data
// afresh: its own has diverged (it may hold writes the new primary never
// received). Returns once it has a standby leader streaming and every
// other node streaming from it.
func (l *Lab) RebuildAsStandby(ctx context.Context) error {
	if len(l.plan.StandbyEtcd) == 0 {
		return ErrNoStandbyCluster
	}
	ms, err := l.Members(ctx)
	if err != nil {
		return err
	}
	leading, found := false, false
	for _, m := range ms {
		if m.Role == RoleLeader && m.State == "running" {
			leading, found = m.Standby, true
		}
	}
	if !found {
		return errors.New("rebuild as standby: no cluster leads")
	}
	rebuild := !leading
	etcd, scope, follow := l.plan.Etcd, l.plan.Scope, l.plan.Proxies[0]
	if rebuild {
		etcd, scope = l.plan.StandbyEtcd, l.plan.standbyScope()
	} else if p, ok := l.proxyFor(l.topo.Standby.Region); ok {
		follow = p // validation gives the standby region an endpoint
	}
	l.log.Info("rebuilding a cluster as the standby", "scope", scope, "follows", follow.Name)
	for _, e := range etcd {
		if err := l.startIfStopped(ctx, e.Name); err != nil {
			return err
		}
	}
	if err := l.setStandbyConfig(ctx, etcd, scope, follow); err != nil {
		return err
	}
	var nodes []string
	for _, n := range l.plan.Nodes {
		if n.Node.Standby == rebuild {
			nodes = append(nodes, n.Name)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range nodes {
		g.Go(func() error { return l.restartEmpty(gctx, n) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, p := range l.plan.Proxies {
		if err := l.startIfStopped(ctx, p.Name); err != nil {
			return err
		}
	}
	for {
		ms, err := l.Members(ctx)
		if err == nil && len(standbyMissing(ms, rebuild)) == 0 {
			l.log.Info("standby cluster rebuilt", "scope", scope)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rebuild %s as standby: not streaming yet: %w", scope, ctx.Err())
		case <-time.After(StandbyPollPeriod):
		}
	}
}

// standbyMissing says what keeps the cluster with Standby flag group from
// being an up standby cluster (one standby leader, every member
// streaming); nothing when it is one.
func standbyMissing(ms []Member, group bool) []string {
	var missing []string
	heads := 0
	for _, m := range ms {
		if m.Standby != group {
			continue
		}
		if m.Role == RoleStandbyLeader {
			heads++
		}
		if m.State != "streaming" {
			missing = append(missing, fmt.Sprintf("standby cluster: %s is %s %s", m.Name, m.Role, m.State))
		}
	}
	if heads != 1 {
		missing = append(missing, fmt.Sprintf("standby cluster: %d standby leaders", heads))
	}
	return missing
}

// setStandbyConfig turns scope's DCS into a standby cluster's that
// follows proxy's rw route: standby_cluster in its configuration, and no
// leader, synchronous-standby, failover or initialize key. It waits for
// the DCS to answer.
func (l *Lab) setStandbyConfig(ctx context.Context, etcd []member, scope string, proxy member) error {
	prefix := dcsNamespace + scope + "/"
	var raw string
	for {
		v, ok, err := l.etcdGet(ctx, etcd, prefix+"config")
		if err == nil && ok {
			raw = v
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rebuild %s as standby: read its configuration: %v: %w", scope, err, ctx.Err())
		case <-time.After(StandbyPollPeriod):
		}
	}
	cfg := map[string]any{}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("rebuild %s as standby: decode its configuration: %w", scope, err)
	}
	cfg["standby_cluster"] = l.plan.standbyClusterConfig(proxy)
	cfg["synchronous_mode"] = false
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := l.etcdPut(ctx, etcd, prefix+"config", string(b)); err != nil {
		return fmt.Errorf("rebuild %s as standby: write its configuration: %w", scope, err)
	}
	// Without the initialize key the first node to start bootstraps a
	// standby leader from the followed endpoint; with it, a node without
	// data waits for a leader to clone from, forever.
	for _, k := range []string{"leader", "sync", "failover", "status", "initialize"} {
		if err := l.etcdDelete(ctx, etcd, prefix+k); err != nil {
			return fmt.Errorf("rebuild %s as standby: delete its %s key: %w", scope, k, err)
		}
	}
	return nil
}

// restartEmpty starts a node with its Patroni held at the gate (stopping
// it first if it runs), empties its data directory, and lets Patroni
// start.
func (l *Lab) restartEmpty(ctx context.Context, name string) error {
	st, err := l.ContainerStatus(ctx, name)
	if err != nil {
		return err
	}
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	if st.Running {
		timeout := 10
		if err := l.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
			return fmt.Errorf("rebuild %s: stop it: %w", name, err)
		}
	}
	if err := l.startContainer(ctx, name); err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	if err := l.WAN().shapeHost(ctx, name); err != nil {
		return err
	}
	res, err := l.Exec(ctx, name, ExecRequest{Cmd: []string{"rm", "-rf", pgDataDir}, User: "root"})
	if err != nil {
		return fmt.Errorf("rebuild %s: empty its data directory: %w", name, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("rebuild %s: empty its data directory: exit %d: %s", name, res.ExitCode, res.Stderr)
	}
	return l.WAN().openGate(ctx, name)
}

// startIfStopped starts a container that is not running.
func (l *Lab) startIfStopped(ctx context.Context, name string) error {
	st, err := l.ContainerStatus(ctx, name)
	if err != nil {
		return err
	}
	if st.Running {
		return nil
	}
	return l.Start(ctx, name)
}
