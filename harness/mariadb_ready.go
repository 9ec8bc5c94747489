package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The driver logs connection errors to stderr on its own; replab reports
// the errors it gets instead.
func init() { _ = mysql.SetLogger(log.New(io.Discard, "", 0)) }

// ErrMariaDB is returned by the PostgreSQL-only calls (Connect, Patroni,
// the DCS) on a MariaDB lab.
var ErrMariaDB = errors.New("a MariaDB lab speaks MySQL's protocol, not PostgreSQL's: use Lab.SQL")

// mariadbURL is what DSN prints for a MariaDB lab: a mysql:// URL any
// MySQL client (or `mariadb -h 127.0.0.1 -P PORT -u replab -p`) can use.
func (l *Lab) mariadbURL(port int) string {
	u := url.URL{
		Scheme: "mysql",
		User:   url.UserPassword(l.creds.Superuser, l.creds.SuperPass),
		Host:   "127.0.0.1:" + strconv.Itoa(port),
		Path:   "/" + MariaDBDatabase,
	}
	return u.String()
}

// SQL opens a database/sql handle on a MariaDB lab's node or endpoint
// (rw, ro, rw@<region>, a node name) as the superuser, one connection at
// most: callers that need a session keep it with (*sql.DB).Conn. Close it
// when done. The superuser writes on a read-only node too: clients whose
// writes read_only must stop use AppSQL.
func (l *Lab) SQL(target string) (*sql.DB, error) {
	return l.openSQL(target, l.creds.Superuser, l.creds.SuperPass)
}

// AppSQL is SQL as the clients' account (Credentials.App), which
// read_only binds: what the workload writes and reads with.
func (l *Lab) AppSQL(target string) (*sql.DB, error) {
	return l.openSQL(target, l.creds.App, l.creds.AppPass)
}

func (l *Lab) openSQL(target, user, pass string) (*sql.DB, error) {
	if !l.isMariaDB() {
		return nil, fmt.Errorf("open %s: Lab.SQL is for MariaDB labs; use Lab.Connect", target)
	}
	port, err := l.targetPort(target)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, pass
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", "127.0.0.1:"+strconv.Itoa(port), MariaDBDatabase
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 30*time.Second, 30*time.Second
	cfg.ParseTime = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", target, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// mariadbPrimary is the node a MariaDB lab starts with as its primary:
// the first failover candidate in file order.
func (l *Lab) mariadbPrimary() string {
	if c := l.topo.Candidates(); len(c) > 0 {
		return c[0].Name
	}
	return ""
}

// mariadbUpstream is the node n replicates from: its upstream, else the
// primary.
func (l *Lab) mariadbUpstream(n member) string {
	if n.Node.Upstream != "" {
		return n.Node.Upstream
	}
	return l.mariadbPrimary()
}

// ReplicaStatus is what SHOW SLAVE STATUS says of a MariaDB replica.
type ReplicaStatus struct {
	Upstream   string `json:"upstream"`    // Master_Host
	IORunning  string `json:"io_running"`  // Slave_IO_Running: Yes, No or Connecting
	SQLRunning string `json:"sql_running"` // Slave_SQL_Running: Yes or No
	// SecondsBehind is Seconds_Behind_Master, -1 when NULL (a thread is
	// stopped: the replica cannot say).
	SecondsBehind int64 `json:"seconds_behind"`
	// GTIDIO is Gtid_IO_Pos: the last GTID the I/O thread received.
	GTIDIO    string `json:"gtid_io"`
	LastError string `json:"last_error,omitempty"` // Last_IO_Error or Last_SQL_Error, first non-empty
}

// Streaming reports whether both replication threads run.
func (r ReplicaStatus) Streaming() bool { return r.IORunning == "Yes" && r.SQLRunning == "Yes" }

// ReadReplicaStatus runs SHOW SLAVE STATUS on a MariaDB node; ok is false when the node is not
// a replica.
func ReadReplicaStatus(ctx context.Context, db *sql.DB) (st ReplicaStatus, ok bool, err error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return st, false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return st, false, err
	}
	if !rows.Next() {
		return st, false, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return st, false, err
	}
	get := func(name string) sql.NullString {
		for i, c := range cols {
			if c == name {
				return vals[i]
			}
		}
		return sql.NullString{}
	}
	st = ReplicaStatus{Upstream: get("Master_Host").String, IORunning: get("Slave_IO_Running").String,
		SQLRunning: get("Slave_SQL_Running").String, GTIDIO: get("Gtid_IO_Pos").String, SecondsBehind: -1}
	if s := get("Seconds_Behind_Master"); s.Valid {
		st.SecondsBehind, _ = strconv.ParseInt(s.String, 10, 64)
	}
	st.LastError = get("Last_IO_Error").String
	if st.LastError == "" {
		st.LastError = get("Last_SQL_Error").String
	}
	return st, true, rows.Err()
}

// makePrimary makes a node the primary: semi-sync's primary side on where
// the mode asks for it, then writable. The order matters: writable first
// would let a client commit without the wait the mode promises.
func (l *Lab) makePrimary(ctx context.Context, db *sql.DB) error {
	if semiSyncWaitPoint(l.topo.Replication.Mode) != "" {
		if _, err := db.ExecContext(ctx, "SET GLOBAL rpl_semi_sync_master_enabled = ON"); err != nil {
			return fmt.Errorf("turn semi-sync on: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL read_only = OFF"); err != nil {
		return fmt.Errorf("make writable: %w", err)
	}
	return nil
}

// attachReplica points node's replication at upstream by GTID
// (MASTER_USE_GTID=slave_pos) and starts it; heartbeats every second let
// it notice a dead upstream after slave_net_timeout.
func (l *Lab) attachReplica(ctx context.Context, db *sql.DB, upstream string) error {
	stmts := []string{
		"STOP SLAVE",
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1",
			upstream, portMariaDB, l.creds.Replicator, l.creds.ReplPass),
		"START SLAVE",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("attach replica to %s: %s: %w", upstream, strings.Fields(s)[0], err)
		}
	}
	return nil
}

// waitReadyMariaDB brings a MariaDB lab up: once every node answers, the
// primary is made writable and every other node attached to its upstream;
// the lab is ready when every replica's threads run, the primary has a
// semi-sync replica where the mode asks for one, and the endpoints route.
func (l *Lab) waitReadyMariaDB(ctx context.Context, start time.Time, proxy *wave) error {
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()
	for _, n := range l.plan.Nodes {
		db, err := l.SQL(n.Name)
		if err != nil {
			return err
		}
		dbs[n.Name] = db
	}
	primary := l.mariadbPrimary()
	attached := map[string]bool{}
	writable := false
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	lastReport := time.Now()
	var missing []string
	for {
		missing = missing[:0]
		up := 0
		for _, n := range l.plan.Nodes {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			err := dbs[n.Name].PingContext(qctx)
			cancel()
			if err == nil {
				up++
			} else {
				missing = append(missing, n.Name+" not answering")
			}
		}
		if up == len(l.plan.Nodes) && !writable {
			if err := l.makePrimary(ctx, dbs[primary]); err != nil {
				return fmt.Errorf("make %s the primary: %w", primary, err)
			}
			writable = true
			l.timings.Leader = time.Since(start)
			l.log.Info("primary accepts writes", "primary", primary, "at", l.timings.Leader.Round(time.Millisecond))
		}
		streaming := 0
		if writable {
			for _, n := range l.plan.Nodes {
				if n.Name == primary {
					continue
				}
				if !attached[n.Name] {
					if err := l.attachReplica(ctx, dbs[n.Name], l.mariadbUpstream(n)); err != nil {
						return fmt.Errorf("attach %s: %w", n.Name, err)
					}
					attached[n.Name] = true
				}
				st, ok, err := ReadReplicaStatus(ctx, dbs[n.Name])
				switch {
				case err != nil || !ok:
					missing = append(missing, fmt.Sprintf("%s: no replica status (%v)", n.Name, err))
				case st.Streaming():
					streaming++
				default:
					missing = append(missing, fmt.Sprintf("%s: io %s sql %s %s", n.Name, st.IORunning, st.SQLRunning, st.LastError))
				}
			}
		}
		if writable && streaming == len(l.plan.Nodes)-1 && l.timings.Streaming == 0 && l.semiSyncClients(ctx, dbs[primary]) {
			l.timings.Streaming = time.Since(start)
			l.log.Info("replicas streaming", "replicas", streaming, "at", l.timings.Streaming.Round(time.Millisecond))
		}
		proxyUp, err := proxy.started()
		if err != nil {
			return err
		}
		if proxyUp && l.timings.Containers == 0 {
			l.timings.Containers = proxy.at.Sub(start)
		}
		if l.timings.Streaming != 0 && proxyUp {
			if bad := append(l.routesSettled(ctx), l.mariadbEndpoints(ctx)...); len(bad) == 0 {
				l.timings.Endpoints = time.Since(start)
				l.log.Info("endpoints answer", "endpoints", len(l.plan.Proxies), "at", l.timings.Endpoints.Round(time.Millisecond))
				return nil
			} else {
				missing = append(missing, bad...)
			}
		}
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			if err := l.exited(ctx); err != nil {
				return err
			}
			l.log.Info("waiting for the MariaDB nodes", "elapsed", time.Since(start).Round(time.Second), "primary", primary, "streaming", fmt.Sprintf("%d/%d", streaming, len(l.plan.Nodes)-1))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lab %s to be ready: %w (%s)", l.id, ctx.Err(), strings.Join(missing, "; "))
		case <-tick.C:
		}
	}
}

// semiSyncClients reports whether the primary has the semi-sync replica
// the mode asks for (always true in async).
func (l *Lab) semiSyncClients(ctx context.Context, db *sql.DB) bool {
	if semiSyncWaitPoint(l.topo.Replication.Mode) == "" {
		return true
	}
	var name string
	var n int
	err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'").Scan(&name, &n)
	return err == nil && n >= 1
}

// mariadbEndpoints lists what is wrong with the endpoints: rw must reach
// a writable node, ro a read-only one.
func (l *Lab) mariadbEndpoints(ctx context.Context) []string {
	var bad []string
	check := func(target string, wantRO int) {
		db, err := l.SQL(target)
		if err != nil {
			bad = append(bad, target+": "+err.Error())
			return
		}
		defer db.Close()
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		var ro int
		if err := db.QueryRowContext(qctx, "SELECT @@global.read_only").Scan(&ro); err != nil || ro != wantRO {
			bad = append(bad, fmt.Sprintf("endpoint %s: read_only %d, err %v", target, ro, err))
		}
	}
	for _, region := range l.EndpointRegions() {
		check(l.EndpointIn(EndpointRW, region), 0)
		if len(l.plan.Nodes) > 1 {
			check(l.EndpointIn(EndpointRO, region), 1)
		}
	}
	return bad
}
