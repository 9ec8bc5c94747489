package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
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
	endpoints bool
	missing   []string
}

func (l *Lab) etcdHealthy(ctx context.Context) bool {
	healthy := 0
	for _, e := range l.plan.Etcd {
		port := l.hostPort(e.Name, portEtcd)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/health", nil)
		if err != nil {
			continue
		}
		resp, err := l.http.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if strings.Contains(string(b), `"true"`) {
			healthy++
		}
	}
	return healthy > len(l.plan.Etcd)/2
}

func (l *Lab) observe(ctx context.Context) readiness {
	var r readiness
	r.etcd = l.etcdHealthy(ctx)
	ms, err := l.Members(ctx)
	if err != nil {
		r.missing = append(r.missing, err.Error())
		return r
	}
	for _, m := range ms {
		switch {
		case m.Role == RoleLeader && m.State == "running":
			r.leader = m.Name
		case m.State == "streaming":
			r.streaming++
			if m.SyncState == "sync" || m.SyncState == "quorum" {
				r.syncs++
			}
		default:
			r.missing = append(r.missing, fmt.Sprintf("%s is %s (%s)", m.Name, m.State, m.Role))
		}
	}
	if r.leader != "" {
		r.writable = l.sqlOK(ctx, r.leader, "SELECT 1 WHERE NOT pg_is_in_recovery()")
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

func (l *Lab) waitReady(ctx context.Context, start time.Time) error {
	wantReplicas := len(l.plan.Nodes) - 1
	wantSyncs := l.topo.Replication.SyncStandbys
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	var last readiness
	lastReport := time.Now()
	for {
		r := l.observe(ctx)
		if r.etcd && l.timings.Etcd == 0 {
			l.timings.Etcd = time.Since(start)
			l.log.Info("etcd has a quorum", "at", l.timings.Etcd.Round(time.Millisecond))
		}
		if r.writable && l.timings.Leader == 0 {
			l.timings.Leader = time.Since(start)
			l.log.Info("leader accepts writes", "leader", r.leader, "at", l.timings.Leader.Round(time.Millisecond))
		}
		if r.writable && r.streaming >= wantReplicas && r.syncs >= wantSyncs && l.timings.Streaming == 0 {
			l.timings.Streaming = time.Since(start)
			l.log.Info("replicas streaming", "replicas", r.streaming, "sync", r.syncs, "at", l.timings.Streaming.Round(time.Millisecond))
		}
		if l.timings.Streaming != 0 {
			rw := l.sqlOK(ctx, EndpointRW, "SELECT 1 WHERE NOT pg_is_in_recovery()")
			ro := wantReplicas == 0 || l.sqlOK(ctx, EndpointRO, "SELECT 1 WHERE pg_is_in_recovery()")
			if rw && ro {
				l.timings.Endpoints = time.Since(start)
				l.log.Info("endpoints answer", "at", l.timings.Endpoints.Round(time.Millisecond))
				return nil
			}
			r.missing = append(r.missing, fmt.Sprintf("endpoint rw ok=%v ro ok=%v", rw, ro))
		}
		last = r
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
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
	for _, n := range append(append([]member{}, l.plan.Etcd[:1]...), l.plan.Nodes...) {
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
