package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Role is a member's role as Patroni reports it, normalised.
type Role string

const (
	RoleLeader  Role = "leader"
	RoleReplica Role = "replica"
	// RoleStandbyLeader leads a standby cluster: it replicates from the
	// primary cluster and its cluster's replicas stream from it.
	RoleStandbyLeader Role = "standby-leader"
	RoleUnknown       Role = "unknown" // unreachable or not yet initialised
)

// Member is one database node as seen now: Patroni's view merged with its
// upstream's pg_stat_replication.
type Member struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Role   Role   `json:"role"`
	// State is "streaming" for a replica its upstream streams to, else
	// Patroni's state (running, starting, stopped...) or "unreachable".
	State string `json:"state"`
	// SyncState is the upstream's view: sync, potential, async or quorum.
	SyncState string `json:"sync_state,omitempty"`
	Timeline  int    `json:"timeline,omitempty"`
	// LSN is the leader's current WAL position, or the replica's replayed one.
	LSN string `json:"lsn,omitempty"`
	// ReceivedLSN is what a replica has received (written) so far.
	ReceivedLSN string `json:"received_lsn,omitempty"`
	// LagBytes is the leader's current LSN minus the replayed LSN.
	LagBytes int64 `json:"lag_bytes"`
	Pending  bool  `json:"pending_restart,omitempty"`
	// Standby: the member belongs to the standby cluster
	// (topologies.StandbyCluster), whatever its role now.
	Standby bool `json:"standby_cluster,omitempty"`
	// MariaDB holds what a MariaDB node reports instead of LSNs and a
	// timeline; nil on PostgreSQL.
	MariaDB  *MariaDBState `json:"mariadb,omitempty"`
	lsn      uint64
	received uint64
}

// patroniStatus is the part of Patroni's GET /patroni that replab reads.
type patroniStatus struct {
	State    string `json:"state"`
	Role     string `json:"role"`
	Timeline int    `json:"timeline"`
	Xlog     struct {
		Location         uint64 `json:"location"`
		ReceivedLocation uint64 `json:"received_location"`
		ReplayedLocation uint64 `json:"replayed_location"`
	} `json:"xlog"`
	PendingRestart bool `json:"pending_restart"`
}

func (l *Lab) patroni(ctx context.Context, node string) (patroniStatus, error) {
	if !l.isPatroni() {
		return l.sqlStatus(ctx, node)
	}
	var st patroniStatus
	port := l.hostPort(node, portPatroni)
	if port == 0 {
		return st, fmt.Errorf("query patroni on %s: no published REST port", node)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/patroni", nil)
	if err != nil {
		return st, err
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("query patroni on %s: %w", node, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, fmt.Errorf("query patroni on %s: %w", node, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode patroni status of %s: %w", node, err)
	}
	return st, nil
}

func normaliseRole(r string) Role {
	switch r {
	case "master", "primary", "leader":
		return RoleLeader
	case "standby_leader":
		return RoleStandbyLeader
	case "replica", "sync_standby":
		return RoleReplica
	}
	return RoleUnknown
}

// DSN returns a libpq URL for a database node or an endpoint ("rw", "ro",
// or a region's: "rw@eu-west", see EndpointIn) on its 127.0.0.1-published
// port, with the lab's superuser credentials.
func (l *Lab) DSN(target string) (string, error) {
	port, err := l.targetPort(target)
	if err != nil {
		return "", err
	}
	if l.isMariaDB() {
		return l.mariadbURL(port), nil
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(l.creds.Superuser, l.creds.SuperPass),
		Host:     "127.0.0.1:" + strconv.Itoa(port),
		Path:     "/postgres",
		RawQuery: "sslmode=disable&connect_timeout=2&application_name=replab",
	}
	return u.String(), nil
}

// targetPort is the host port of a node's database or of an endpoint's
// route: rw, ro, rw@<region>, ro@<region> or a node name.
func (l *Lab) targetPort(target string) (int, error) {
	var port int
	route, region, regional := strings.Cut(target, "@")
	if !regional {
		region = l.topo.PrimaryRegion
	}
	proxy, _ := l.proxyFor(region) // none: no port, ErrUnknownTarget below
	switch route {
	case EndpointRW:
		port = l.hostPort(proxy.Name, portRW)
	case EndpointRO:
		port = l.hostPort(proxy.Name, portRO)
	default:
		if regional {
			return 0, fmt.Errorf("dsn for %q: want rw@<region> or ro@<region>: %w", target, ErrUnknownTarget)
		}
		db := portPostgres
		if l.isMariaDB() {
			db = portMariaDB
		}
		port = l.hostPort(target, db)
	}
	if port == 0 {
		return 0, fmt.Errorf("dsn for %q: %w", target, ErrUnknownTarget)
	}
	return port, nil
}

// Endpoints served by HAProxy.
const (
	EndpointRW = "rw" // the current leader
	EndpointRO = "ro" // round-robin over replicas
)

// EndpointIn names route (EndpointRW or EndpointRO) of the endpoint in
// region, for DSN and Connect: "rw@eu-west". The primary region's is the
// plain route.
func (l *Lab) EndpointIn(route, region string) string {
	if region == "" || region == l.topo.PrimaryRegion {
		return route
	}
	return route + "@" + region
}

// EndpointRegions lists the regions with an endpoint, the primary region
// first.
func (l *Lab) EndpointRegions() []string {
	var out []string
	for _, p := range l.plan.Proxies {
		out = append(out, p.Region)
	}
	return out
}

// proxyFor is region's endpoint, if it has one.
func (l *Lab) proxyFor(region string) (member, bool) {
	for _, p := range l.plan.Proxies {
		if p.Region == region {
			return p, true
		}
	}
	return member{}, false
}

// ErrUnknownTarget is returned for a node or endpoint name the lab lacks.
var ErrUnknownTarget = errors.New("no such node or endpoint in this lab")

// Connect opens a pgx connection to a node or endpoint.
func (l *Lab) Connect(ctx context.Context, target string) (*pgx.Conn, error) {
	if l.isMariaDB() {
		return nil, fmt.Errorf("connect to %s: %w", target, ErrMariaDB)
	}
	dsn, err := l.DSN(target)
	if err != nil {
		return nil, err
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", target, err)
	}
	return c, nil
}

type replicationRow struct {
	app       string
	state     string
	syncState string
	replay    uint64
}

// ParseLSN reads a PostgreSQL LSN ("0/3000060"); 0 when malformed.
func ParseLSN(s string) uint64 {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	lw, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0
	}
	return h<<32 | lw
}

func formatLSN(v uint64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%X/%X", v>>32, v&0xffffffff)
}

// replication reads pg_stat_replication on one node.
func (l *Lab) replication(ctx context.Context, node string) (map[string]replicationRow, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := l.Connect(cctx, node)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(cctx, `SELECT application_name, coalesce(host(client_addr), ''), coalesce(state, ''), coalesce(sync_state, ''), coalesce(replay_lsn::text, '') FROM pg_stat_replication`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_replication on %s: %w", node, err)
	}
	out := map[string]replicationRow{}
	for rows.Next() {
		var r replicationRow
		var replay, addr string
		if err := rows.Scan(&r.app, &addr, &r.state, &r.syncState, &replay); err != nil {
			return nil, fmt.Errorf("read pg_stat_replication on %s: %w", node, err)
		}
		r.app = l.standbyName(r.app, addr)
		r.replay = ParseLSN(replay)
		out[r.app] = r
	}
	return out, rows.Err()
}

// WALSender names the member node streams WAL from now, as its own
// pg_stat_wal_receiver says: "" when it is not streaming (no receiver, or
// one still connecting). It is the truth a cascading replica's
// replicatefrom tag only asks for.
func (l *Lab) WALSender(ctx context.Context, node string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := l.Connect(cctx, node)
	if err != nil {
		return "", err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var host string
	err = c.QueryRow(cctx, `SELECT coalesce(sender_host, '') FROM pg_stat_wal_receiver WHERE status = 'streaming'`).Scan(&host)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read pg_stat_wal_receiver on %s: %w", node, err)
	}
	return l.NodeByIP(host), nil
}

// Members returns every database node: role, state, sync state, timeline,
// LSNs and lag. Unreachable nodes are listed with state "unreachable".
func (l *Lab) Members(ctx context.Context) ([]Member, error) {
	if l.isMariaDB() {
		return l.mariadbMembers(ctx), nil
	}
	nodes := l.plan.Nodes
	out := make([]Member, len(nodes))
	type res struct {
		i   int
		st  patroniStatus
		err error
	}
	ch := make(chan res, len(nodes))
	for i, n := range nodes {
		go func() {
			st, err := l.patroni(ctx, n.Name)
			ch <- res{i, st, err}
		}()
	}
	for range nodes {
		r := <-ch
		n := nodes[r.i]
		m := Member{Name: n.Name, Region: n.Region, Role: RoleUnknown, State: "unreachable", Standby: n.Node.Standby}
		if r.err == nil {
			m.Role = normaliseRole(r.st.Role)
			m.State = r.st.State
			m.Timeline = r.st.Timeline
			m.Pending = r.st.PendingRestart
			if m.Role == RoleLeader {
				m.lsn = r.st.Xlog.Location
			} else {
				m.lsn = r.st.Xlog.ReplayedLocation
				m.received = r.st.Xlog.ReceivedLocation
			}
		}
		out[r.i] = m
	}
	var leader *Member
	for i := range out {
		if out[i].Role == RoleLeader && out[i].State == "running" {
			leader = &out[i]
		}
	}
	// Each replica streams from its upstream: the node its replicatefrom
	// tag names (cascading), else its cluster's head. A cluster's head is
	// its leader, or its standby leader, which streams from the leader
	// (of the other cluster).
	heads := map[bool]*Member{} // by Standby
	for i := range out {
		if (out[i].Role == RoleLeader || out[i].Role == RoleStandbyLeader) && out[i].State == "running" {
			heads[out[i].Standby] = &out[i]
		}
	}
	upstreamOf := func(i int) string {
		m := &out[i]
		if n := nodes[i].Node; n.Upstream != "" {
			return n.Upstream
		}
		if h := heads[m.Standby]; h != nil && h != m {
			return h.Name
		}
		if m.Role == RoleStandbyLeader && leader != nil {
			return leader.Name
		}
		return ""
	}
	upstreams := map[string]bool{}
	for i := range out {
		if u := upstreamOf(i); u != "" {
			upstreams[u] = true
		}
	}
	views := map[string]map[string]replicationRow{}
	for u := range upstreams {
		if rows, err := l.replication(ctx, u); err == nil {
			views[u] = rows
		}
	}
	for i := range out {
		m := &out[i]
		if leader != nil && m.Role != RoleLeader {
			up := upstreamOf(i)
			if row, ok := views[up][m.Name]; ok {
				if row.state == "streaming" {
					m.State = "streaming"
				}
				m.SyncState = row.syncState
			}
			if leader.lsn >= m.lsn && m.lsn > 0 {
				m.LagBytes = int64(leader.lsn - m.lsn)
			}
		}
		m.LSN = formatLSN(m.lsn)
		m.ReceivedLSN = formatLSN(m.received)
	}
	return out, nil
}

// Leader returns the member that holds the leader role now.
func (l *Lab) Leader(ctx context.Context) (Member, error) {
	ms, err := l.Members(ctx)
	if err != nil {
		return Member{}, err
	}
	var found []Member
	for _, m := range ms {
		if m.Role == RoleLeader {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Member{}, ErrNoLeader
	}
	return Member{}, fmt.Errorf("%w: %d members claim it", ErrManyLeaders, len(found))
}

// Sentinel errors for leadership queries.
var (
	ErrNoLeader    = errors.New("no member holds the leader role")
	ErrManyLeaders = errors.New("more than one leader")
)

// LeaderName returns the name of the member that leads now.
func (l *Lab) LeaderName(ctx context.Context) (string, error) {
	m, err := l.Leader(ctx)
	return m.Name, err
}

// MostAdvanced returns the replicas with the highest received LSN. Taken
// just after the leader died, these positions are final: what Patroni
// compares when it picks a new leader in async mode.
func MostAdvanced(ms []Member) []string {
	var best uint64
	var out []string
	for _, m := range ms {
		if m.Role != RoleReplica {
			continue
		}
		switch v := ParseLSN(m.ReceivedLSN); {
		case v > best:
			best, out = v, []string{m.Name}
		case v == best:
			out = append(out, m.Name)
		}
	}
	return out
}

// SyncStandbys returns the replicas their upstream calls synchronous (sync,
// or quorum in Patroni 4): in semi-sync and sync modes the only followers
// Patroni may promote.
func SyncStandbys(ms []Member) []string {
	var out []string
	for _, m := range ms {
		if m.Role == RoleReplica && (m.SyncState == "sync" || m.SyncState == "quorum") {
			out = append(out, m.Name)
		}
	}
	return out
}
