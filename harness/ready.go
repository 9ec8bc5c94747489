package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/topologies"
)

func newHTTPClient() *http.Client { return &http.Client{Timeout: 700 * time.Millisecond} }

func (l *Lab) hostPort(name string, port int) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ports[name][port]
}

// refreshPorts re-reads a container's published ports: Docker picks new
// random host ports when a stopped container starts again.
func (l *Lab) refreshPorts(ctx context.Context, name string) error {
	l.mu.RLock()
	id := l.ids[name]
	l.mu.RUnlock()
	insp, err := l.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	l.mu.Lock()
	l.ports[name] = publishedPorts(insp)
	l.mu.Unlock()
	return nil
}

// publishedPorts maps container ports to the host ports published on
// 127.0.0.1 (the only address replab publishes on).
func publishedPorts(insp container.InspectResponse) map[int]int {
	ports := map[int]int{}
	if insp.NetworkSettings == nil {
		return ports
	}
	for p, bs := range insp.NetworkSettings.Ports {
		for _, b := range bs {
			if b.HostIP == "127.0.0.1" {
				if hp, err := strconv.Atoi(b.HostPort); err == nil {
					ports[p.Int()] = hp
				}
			}
		}
	}
	return ports
}

// readiness is one observation of how far the lab has come.
type readiness struct {
	etcd      bool
	leader    string
	writable  bool
	streaming int // replicas streaming from their upstream
	syncs     int // synchronous standbys in place
	missing   []string
}

// readyProbe observes the lab while it comes up, asking at each poll only
// what the next phase needs, as cheaply as it can be asked: the lab is
// bootstrapping on the same cores, and every poll's CPU is taken from the
// bootstrap (a poll that opens database connections and calls every
// node's REST API and etcd's /health costs most of a core at 50ms:
// docs/provisioning.md).
//
//   - etcd's quorum and the leader both come from one linearizable read of
//     Patroni's leader key: it answers only when etcd has a quorum, and the
//     key names the member holding the leader lock.
//   - The leader's writability and its replicas come from one connection
//     to it (and one to each cascading upstream), opened once and kept:
//     pg_stat_replication there says which replicas stream and which are
//     synchronous.
type readyProbe struct {
	l     *Lab
	conns map[string]*pgx.Conn // upstream node -> open connection
}

func (p *readyProbe) close(ctx context.Context) {
	for n, c := range p.conns {
		_ = c.Close(context.WithoutCancel(ctx))
		delete(p.conns, n)
	}
}

// conn returns the kept connection to node, opening it when needed.
func (p *readyProbe) conn(ctx context.Context, node string) (*pgx.Conn, error) {
	if c, ok := p.conns[node]; ok && !c.IsClosed() {
		return c, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := p.l.Connect(cctx, node)
	if err != nil {
		return nil, err
	}
	p.conns[node] = c
	return c, nil
}

// drop closes node's connection after an error, so the next poll opens a
// fresh one.
func (p *readyProbe) drop(ctx context.Context, node string) {
	if c, ok := p.conns[node]; ok {
		_ = c.Close(context.WithoutCancel(ctx))
		delete(p.conns, node)
	}
}

// replicas reads pg_stat_replication on node; primary says whether node is
// out of recovery (accepts writes).
func (p *readyProbe) replicas(ctx context.Context, node string) (rows map[string]replicationRow, primary bool, err error) {
	c, err := p.conn(ctx, node)
	if err != nil {
		return nil, false, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	q, err := c.Query(cctx, `SELECT NOT pg_is_in_recovery(), coalesce(application_name, ''), coalesce(host(client_addr), ''), coalesce(state, ''), coalesce(sync_state, '') FROM (SELECT 1) one LEFT JOIN pg_stat_replication ON true`)
	if err != nil {
		p.drop(ctx, node)
		return nil, false, fmt.Errorf("read pg_stat_replication on %s: %w", node, err)
	}
	rows = map[string]replicationRow{}
	for q.Next() {
		var r replicationRow
		var addr string
		if err := q.Scan(&primary, &r.app, &addr, &r.state, &r.syncState); err != nil {
			q.Close()
			p.drop(ctx, node)
			return nil, false, fmt.Errorf("read pg_stat_replication on %s: %w", node, err)
		}
		if r.app != "" {
			rows[p.l.standbyName(r.app, addr)] = r
		}
	}
	if err := q.Err(); err != nil {
		p.drop(ctx, node)
		return nil, false, fmt.Errorf("read pg_stat_replication on %s: %w", node, err)
	}
	return rows, primary, nil
}

func (p *readyProbe) observe(ctx context.Context) readiness {
	var r readiness
	leader, err := p.l.LeaderKey(ctx)
	if errors.Is(err, ErrNoLeaderKey) {
		leader, err = p.l.sqlLeader(ctx), nil
	}
	if err != nil {
		r.missing = append(r.missing, "etcd: "+err.Error())
		return r
	}
	r.etcd = true
	if leader == "" {
		r.missing = append(r.missing, "no member holds the leader lock")
		return r
	}
	r.leader = leader
	views := map[string]map[string]replicationRow{}
	for _, n := range p.l.plan.Nodes {
		up := leader
		if n.Node.Upstream != "" {
			up = n.Node.Upstream
		}
		if n.Name == leader || n.Node.Standby {
			continue // the standby cluster is waited for on its own
		}
		if _, ok := views[up]; !ok {
			rows, primary, err := p.replicas(ctx, up)
			if err != nil {
				r.missing = append(r.missing, err.Error())
			}
			if up == leader {
				r.writable = err == nil && primary
			}
			views[up] = rows
		}
		row, ok := views[up][n.Name]
		switch {
		case ok && row.state == "streaming":
			r.streaming++
			if row.syncState == "sync" || row.syncState == "quorum" {
				r.syncs++
			}
		case ok:
			r.missing = append(r.missing, fmt.Sprintf("%s is %s from %s", n.Name, row.state, up))
		default:
			r.missing = append(r.missing, fmt.Sprintf("%s does not stream from %s yet", n.Name, up))
		}
	}
	if p.l.primaryNodes() == 1 {
		_, primary, err := p.replicas(ctx, leader)
		r.writable = err == nil && primary
	}
	if !r.writable {
		r.missing = append(r.missing, leader+" holds the leader lock but does not accept writes yet")
	}
	return r
}

// sqlOK runs a query that must return one row.
func (l *Lab) sqlOK(ctx context.Context, target, query string) bool {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := l.Connect(cctx, target)
	if err != nil {
		return false
	}
	defer c.Close(context.WithoutCancel(ctx))
	var one int
	return c.QueryRow(cctx, query).Scan(&one) == nil
}

// waitReady polls until the lab is ready. proxy is HAProxy's container
// wave: its failure fails the wait, and the endpoints are tried once it
// has started.
func (l *Lab) waitReady(ctx context.Context, start time.Time, proxy *wave) error {
	if l.isMariaDB() {
		return l.waitReadyMariaDB(ctx, start, proxy)
	}
	wantReplicas := l.primaryNodes() - 1
	wantSyncs := l.topo.Replication.SyncStandbys
	probe := &readyProbe{l: l, conns: map[string]*pgx.Conn{}}
	defer probe.close(ctx)
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	var last readiness
	lastReport := time.Now()
	// Without a standby cluster there is nothing more to wait for.
	standbyReady, lastStandby := len(l.plan.StandbyEtcd) == 0, time.Time{}
	for {
		var r readiness
		if l.timings.Streaming == 0 {
			r = probe.observe(ctx)
		} else {
			r = last
		}
		if r.etcd && l.timings.Etcd == 0 {
			l.timings.Etcd = time.Since(start)
			l.log.Info(l.coordinatorAnswers(), "at", l.timings.Etcd.Round(time.Millisecond))
		}
		if r.writable && l.timings.Leader == 0 {
			l.timings.Leader = time.Since(start)
			l.log.Info("leader accepts writes", "leader", r.leader, "at", l.timings.Leader.Round(time.Millisecond))
			if len(l.heldGates) > 0 {
				l.log.Info("starting the failover candidates outside the primary region", "nodes", l.heldGates)
				if err := l.WAN().openGates(ctx, l.heldGates); err != nil {
					return err
				}
				l.heldGates = nil
			}
		}
		if r.writable && r.streaming >= wantReplicas && r.syncs >= wantSyncs && l.timings.Streaming == 0 {
			l.timings.Streaming = time.Since(start)
			l.log.Info("replicas streaming", "replicas", r.streaming, "sync", r.syncs, "at", l.timings.Streaming.Round(time.Millisecond))
			probe.close(ctx)
		}
		proxyUp, err := proxy.started()
		if err != nil {
			return err
		}
		if proxyUp && l.timings.Containers == 0 {
			l.timings.Containers = proxy.at.Sub(start)
		}
		if l.timings.Streaming != 0 && !standbyReady && time.Since(lastStandby) >= standbyPoll {
			lastStandby = time.Now()
			standbyReady, r.missing = l.standbyStreaming(ctx)
			if standbyReady && len(l.plan.StandbyEtcd) > 0 {
				l.log.Info("standby cluster streaming", "region", l.topo.Standby.Region, "at", time.Since(start).Round(time.Millisecond))
			}
		}
		if l.timings.Streaming != 0 && standbyReady && proxyUp {
			r.missing = l.routesSettled(ctx)
			if l.manager() == topologies.ManagerPGAutoFailover {
				missing, err := l.pgafSettle(ctx)
				if err != nil {
					return err
				}
				r.missing = append(r.missing, missing...)
			}
			for _, region := range l.EndpointRegions() {
				rw := l.sqlOK(ctx, l.EndpointIn(EndpointRW, region), "SELECT 1 WHERE NOT pg_is_in_recovery()")
				ro := wantReplicas == 0 || l.sqlOK(ctx, l.EndpointIn(EndpointRO, region), "SELECT 1 WHERE pg_is_in_recovery()")
				if !rw || !ro {
					r.missing = append(r.missing, fmt.Sprintf("endpoint in %s: rw ok=%v ro ok=%v", region, rw, ro))
				}
			}
			if len(r.missing) == 0 {
				l.timings.Endpoints = time.Since(start)
				l.log.Info("endpoints answer", "endpoints", len(l.plan.Proxies), "at", l.timings.Endpoints.Round(time.Millisecond))
				return nil
			}
		}
		last = r
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			if err := l.exited(ctx); err != nil {
				return err
			}
			l.log.Info("waiting for the cluster", "elapsed", time.Since(start).Round(time.Second), "etcd", r.etcd, "leader", r.leader, "streaming", fmt.Sprintf("%d/%d", r.streaming, wantReplicas))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lab %s to be ready: %w (etcd quorum %v, leader %q, %d/%d replicas streaming, %d/%d sync standbys; %s)",
				l.id, ctx.Err(), last.etcd, last.leader, last.streaming, wantReplicas, last.syncs, wantSyncs, strings.Join(last.missing, "; "))
		case <-tick.C:
		}
	}
}

// explain adds the last log lines of every node to a provisioning error, so
// a failure says why without a second run.
func (l *Lab) explain(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var b strings.Builder
	shown := append(append([]member(nil), l.plan.Coordinator...), l.plan.Nodes...)
	if len(l.plan.Etcd) > 0 {
		shown = append([]member{l.plan.Etcd[0]}, shown...)
	}
	for _, n := range shown {
		fmt.Fprintf(&b, "\n--- last log lines of %s ---\n%s", n.Name, l.tail(cctx, n.Name, 8))
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// tail returns the last n lines of a container's output.
func (l *Lab) tail(ctx context.Context, name string, n int) string {
	l.mu.RLock()
	id := l.ids[name]
	l.mu.RUnlock()
	rc, err := l.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	defer rc.Close()
	var out strings.Builder
	_, _ = stdcopy.StdCopy(&out, &out, rc)
	return out.String()
}

// waitEtcdDecided waits until every etcd member reports a decided cluster
// version (GET /version: etcdcluster is "not_decided" until the members
// have agreed on one, which over a WAN takes a few of its longer
// heartbeats after the quorum). Patroni 3.0 reads that version when it
// first connects and exits on "not_decided" (ValueError in
// _ensure_version_prefix), so the gated nodes start only after it.
func (l *Lab) waitEtcdDecided(ctx context.Context) error {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		undecided := ""
		for _, e := range append(append([]member{}, l.plan.Etcd...), l.plan.StandbyEtcd...) {
			if v := l.etcdClusterVersion(ctx, e.Name); v == "" || v == "not_decided" {
				undecided = e.Name
				break
			}
		}
		if undecided == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for etcd's cluster version: %s has not decided one: %w", undecided, ctx.Err())
		case <-tick.C:
		}
	}
}

// etcdClusterVersion is member's /version etcdcluster field, "" when it
// does not answer.
func (l *Lab) etcdClusterVersion(ctx context.Context, member string) string {
	port := l.hostPort(member, portEtcd)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/version", nil)
	if err != nil {
		return ""
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Cluster string `json:"etcdcluster"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return ""
	}
	return v.Cluster
}

// exited fails when a container of the lab has exited while it comes up
// (Patroni exits on some errors rather than retrying): waiting on would
// only run into the ready timeout. The error names the containers; Up
// adds their last log lines.
func (l *Lab) exited(ctx context.Context) error {
	f := labFilter(l.id)
	f.Add("status", "exited")
	cs, err := l.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil || len(cs) == 0 {
		return nil // a failed listing is tried again at the next report
	}
	var names []string
	for _, c := range cs {
		names = append(names, fmt.Sprintf("%s (%s)", c.Labels[LabelNode], c.Status))
	}
	return fmt.Errorf("wait for lab %s to be ready: %s exited", l.id, strings.Join(names, ", "))
}

// standbyPoll is how often readiness lists the members for the standby
// cluster (a REST call per node): less often than the leader key.
const standbyPoll = 500 * time.Millisecond

// primaryNodes counts the primary cluster's nodes.
func (l *Lab) primaryNodes() int {
	n := 0
	for _, m := range l.plan.Nodes {
		if !m.Node.Standby {
			n++
		}
	}
	return n
}

// standbyStreaming reports whether the standby cluster is up: its
// standby leader streaming from the leader, each other node from it; and
// what is missing if not.
func (l *Lab) standbyStreaming(ctx context.Context) (bool, []string) {
	ms, err := l.Members(ctx)
	if err != nil {
		return false, []string{"standby cluster: " + err.Error()}
	}
	missing := standbyMissing(ms, true)
	return len(missing) == 0, missing
}
