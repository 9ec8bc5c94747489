package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/topologies"
)

// Container roles of the other failover managers' coordinators, also
// values of the replab.role label: pg_auto_failover's monitor and
// repmgr's witness. Each lab has at most one.
const (
	RoleMonitor = "monitor"
	RoleWitness = "witness"
)

// ErrNoLeaderKey is returned by LeaderKey on a lab whose manager keeps no
// record of who leads (repmgr): there is no key to lose or win, so the
// failover phases that come from one are absent.
var ErrNoLeaderKey = errors.New("the failover manager keeps no leader key")

// manager is the lab's failover manager; "" on MariaDB.
func (l *Lab) manager() topologies.ManagerKind { return l.topo.Manager }

// isPatroni reports whether Patroni manages the lab's PostgreSQL.
func (l *Lab) isPatroni() bool {
	return !l.isMariaDB() && l.manager() == topologies.ManagerPatroni
}

// coordinator plans the manager's own node other than the database
// nodes: pg_auto_failover's monitor in its region, or repmgr's witness
// where the topology asks for one. It takes .10, which etcd would have.
func coordinator(t *topologies.Topology, at func(int) member) []member {
	if t.Engine.Kind != topologies.EnginePostgres {
		return nil
	}
	switch t.Manager {
	case topologies.ManagerPGAutoFailover:
		m := at(10)
		m.Name, m.Region = RoleMonitor, t.PGAutoFailover.Region
		return []member{m}
	case topologies.ManagerRepmgr:
		if t.Repmgr.Witness == "" {
			return nil
		}
		m := at(10)
		m.Name, m.Region = RoleWitness, t.Repmgr.Witness
		return []member{m}
	}
	return nil
}

// coordinatorAnswers is the progress line for readiness's first phase
// (Timings.Etcd): what answered.
func (l *Lab) coordinatorAnswers() string {
	switch l.manager() {
	case topologies.ManagerPGAutoFailover:
		return "the monitor answers"
	case topologies.ManagerRepmgr:
		return "a node answers"
	}
	return "etcd has a quorum"
}

// sqlStatus is what a node managed by pg_auto_failover or repmgr says of
// itself over SQL: the part of Patroni's GET /patroni replab reads.
const sqlStatusQuery = `SELECT NOT pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0') ELSE pg_current_wal_lsn() END::text,
  coalesce(pg_last_wal_receive_lsn(), '0/0')::text,
  CASE WHEN pg_is_in_recovery() THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), 0)
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END`

// statusConns keeps one connection per node for sqlStatus: the monitor
// asks every 50 ms, and a new connection each time (scram, a backend
// fork) would cost the lab's CPU more than the question.
type statusConns struct {
	mu    sync.Mutex
	conns map[string]*statusConn
}

type statusConn struct {
	mu   sync.Mutex
	conn *pgx.Conn
}

func (s *statusConns) of(node string) *statusConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[string]*statusConn{}
	}
	c, ok := s.conns[node]
	if !ok {
		c = &statusConn{}
		s.conns[node] = c
	}
	return c
}

func (s *statusConns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.mu.Lock()
		if c.conn != nil {
			_ = c.conn.Close(context.Background())
			c.conn = nil
		}
		c.mu.Unlock()
	}
}

// sqlStatus reads a node's role, LSNs and timeline over SQL, in the shape
// of Patroni's status: state "running" once it answers.
func (l *Lab) sqlStatus(ctx context.Context, node string) (patroniStatus, error) {
	var st patroniStatus
	var primary bool
	var lsn, received string
	err := l.onKept(ctx, node, func() (string, error) { return l.DSN(node) }, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, sqlStatusQuery).Scan(&primary, &lsn, &received, &st.Timeline)
	})
	if err != nil {
		return st, fmt.Errorf("query status of %s: %w", node, err)
	}
	st.State = "running"
	st.Role = "replica"
	if primary {
		st.Role = "primary"
		st.Xlog.Location = ParseLSN(lsn)
	} else {
		st.Xlog.ReplayedLocation = ParseLSN(lsn)
		st.Xlog.ReceivedLocation = ParseLSN(received)
	}
	return st, nil
}

// onKept runs f, bounded by a second, on the connection kept for key
// (statusConns), opening it from dsn when there is none and closing it
// after an error so that the next call opens a fresh one.
func (l *Lab) onKept(ctx context.Context, key string, dsn func() (string, error), f func(context.Context, *pgx.Conn) error) error {
	sc := l.status.of(key)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if sc.conn == nil || sc.conn.IsClosed() {
		url, err := dsn()
		if err != nil {
			return err
		}
		c, err := pgx.Connect(cctx, url)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", key, err)
		}
		sc.conn = c
	}
	if err := f(cctx, sc.conn); err != nil {
		_ = sc.conn.Close(context.WithoutCancel(ctx))
		sc.conn = nil
		return err
	}
	return nil
}

// sqlLeader names the one node that accepts writes, "" when none or
// several do: readiness of a manager without a leader key.
func (l *Lab) sqlLeader(ctx context.Context) string {
	var leaders []string
	for _, n := range l.plan.Nodes {
		if st, err := l.sqlStatus(ctx, n.Name); err == nil && st.Role == "primary" {
			leaders = append(leaders, n.Name)
		}
	}
	if len(leaders) != 1 {
		return ""
	}
	return leaders[0]
}

// standbyName names the node behind a pg_stat_replication row: its
// application_name, which Patroni and repmgr set to the node's name;
// pg_auto_failover names its standbys by id (pgautofailover_standby_N),
// so there the client's address says who it is.
func (l *Lab) standbyName(app, addr string) string {
	if strings.HasPrefix(app, "pgautofailover_standby_") && addr != "" {
		return l.NodeByIP(addr)
	}
	return app
}

// pgCheckPath is HAProxy's external check for PostgreSQL under a manager
// without a REST API (pgCheckScript), pgCheckPass its password file.
const (
	pgCheckPath = "/etc/replab/pg-check"
	pgCheckPass = "/etc/replab/pgpass"
)

// pgCheckScript is HAProxy's external check for a node managed by
// pg_auto_failover or repmgr (arguments: proxy address and port, server
// address and port; HAProxy names the section in HAPROXY_PROXY_NAME): rw
// passes a node out of recovery, ro one in recovery whose WAL receiver
// streams. It asks the node, not the manager: a former primary that still
// accepts writes is routed to, as a client of it would be, and replab
// counts what that costs.
func pgCheckScript() []byte {
	return []byte(`#!/bin/sh
case "$HAPROXY_PROXY_NAME" in
rw) q="SELECT 1 WHERE NOT pg_is_in_recovery()" ;;
*) q="SELECT 1 WHERE pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" ;;
esac
out=$(PGCONNECT_TIMEOUT=1 PGPASSFILE=` + pgCheckPass + ` psql -h "$3" -p "$4" -U postgres -d postgres -XAtqc "$q" 2>/dev/null) || exit 1
[ "$out" = 1 ]
`)
}

// pgCheckPassFile is the check's libpq password file.
func pgCheckPassFile(c Credentials) []byte {
	return []byte(fmt.Sprintf("*:*:*:%s:%s\n", c.Superuser, strings.ReplaceAll(c.SuperPass, ":", `\:`)))
}
