package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// MariaDB labs run the same clients in MySQL's protocol: the writer and
// the probes through mariadbClient, the heartbeat and the read-back on
// their tables, and a lag sampler reading SHOW SLAVE STATUS. They connect
// as the lab's application account (harness.Lab.AppSQL), which read_only
// binds, as it binds an application's.

// mariadbSchemaSQL are the workload's tables, one statement each (the
// driver runs one per call). replab_writes keeps PostgreSQL's columns and
// meaning: ids not unique, every row tagged with its run.
var mariadbSchemaSQL = []string{
	`CREATE TABLE IF NOT EXISTS replab_writes (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, id BIGINT NOT NULL,
		process VARCHAR(64) NOT NULL, run VARCHAR(64) NOT NULL DEFAULT '', at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
		KEY replab_writes_run_id (run, id)) ENGINE=InnoDB`,
	`CREATE TABLE IF NOT EXISTS replab_heartbeat (id INT PRIMARY KEY, seq BIGINT NOT NULL) ENGINE=InnoDB`,
	`INSERT IGNORE INTO replab_heartbeat VALUES (1, 0)`,
}

// mariadbClient is a MariaDB session: one connection, and the node it
// landed on (@@hostname, a node's name in a lab) read when it opened.
type mariadbClient struct {
	db   *sql.DB
	conn *sql.Conn
	node string
}

func dialMariaDB(ctx context.Context, lab *harness.Lab, target string) (client, error) {
	db, err := lab.AppSQL(target)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	c := &mariadbClient{db: db, conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT @@hostname").Scan(&c.node); err != nil {
		c.close(ctx)
		return nil, err
	}
	return c, nil
}

func (c *mariadbClient) insert(ctx context.Context, key int64, process, run string, _ []byte) (string, error) {
	if _, err := c.conn.ExecContext(ctx, "INSERT INTO replab_writes (id, process, run) VALUES (?, ?, ?)", key, process, run); err != nil {
		return "", err
	}
	return c.node, nil
}

func (c *mariadbClient) found(ctx context.Context, key int64, run string) (bool, string, error) {
	var n int
	err := c.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM replab_writes WHERE run = ? AND id = ?", run, key).Scan(&n)
	return n > 0, c.node, err
}

func (c *mariadbClient) close(context.Context) {
	_ = c.conn.Close()
	_ = c.db.Close()
}

// MariaDB server errors whose statement may have committed: the server
// going down, or the session killed, while it ran.
const (
	erServerShutdown   = 1053
	erConnectionKilled = 1927
)

// mariadbServerError reports whether err is the server refusing the
// statement (read-only: 1290), the session sound.
func mariadbServerError(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number != erServerShutdown && myErr.Number != erConnectionKilled
}

// classifyMariaDB classifies a MariaDB client's error (ok false: not
// one). A refused statement, a connection that was dead before the
// statement went out (driver.ErrBadConn) or that never opened did not
// commit; a connection lost while the statement ran (mysql.ErrInvalidConn)
// may have.
func classifyMariaDB(err error) (results.Outcome, bool) {
	var myErr *mysql.MySQLError
	var opErr *net.OpError
	switch {
	case errors.As(err, &myErr):
		if myErr.Number == erServerShutdown || myErr.Number == erConnectionKilled {
			return results.Unknown, true
		}
		return results.Failed, true
	case errors.Is(err, driver.ErrBadConn):
		return results.Failed, true
	case errors.Is(err, mysql.ErrInvalidConn):
		return results.Unknown, true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return results.Failed, true
	}
	return "", false
}

// prepareMariaDB creates the workload's tables through rw.
func prepareMariaDB(ctx context.Context, lab *harness.Lab) error {
	db, err := lab.AppSQL(harness.EndpointRW)
	if err != nil {
		return fmt.Errorf("prepare workload: %w", err)
	}
	defer db.Close()
	for _, s := range mariadbSchemaSQL {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare workload: create tables: %w", err)
		}
	}
	return nil
}

// readBackMariaDB reads the run's ids from the node that is writable
// now, once there is exactly one.
func readBackMariaDB(ctx context.Context, lab *harness.Lab, run string) (results.FinalState, error) {
	ms, err := lab.Members(ctx)
	if err != nil {
		return results.FinalState{}, err
	}
	var primary []string
	for _, m := range ms {
		if m.Role == harness.RoleLeader {
			primary = append(primary, m.Name)
		}
	}
	if len(primary) != 1 {
		return results.FinalState{}, fmt.Errorf("read back writes: %d writable nodes %v, want one", len(primary), primary)
	}
	db, err := lab.AppSQL(primary[0])
	if err != nil {
		return results.FinalState{}, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id FROM replab_writes WHERE run = ? ORDER BY id", run)
	if err != nil {
		return results.FinalState{}, fmt.Errorf("read back from %s: %w", primary[0], err)
	}
	defer rows.Close()
	var keys []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return results.FinalState{}, fmt.Errorf("read back from %s: %w", primary[0], err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return results.FinalState{}, fmt.Errorf("read back from %s: %w", primary[0], err)
	}
	return results.FinalState{Member: primary[0], Keys: keys, Run: run}, nil
}

// startSQLPeriodic is startConnPeriodic for a MariaDB target: step runs
// every period on a handle opened on first use and again after any error,
// each bounded by timeout. super opens it as the superuser (for SHOW
// SLAVE STATUS) instead of the application account.
func startSQLPeriodic(ctx context.Context, lab *harness.Lab, period, timeout time.Duration, target string, super bool, step func(ctx context.Context, db *sql.DB) error) *Workload {
	var db *sql.DB
	return startPeriodic(ctx, period, func(ctx context.Context) {
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if db == nil {
			open := lab.AppSQL
			if super {
				open = lab.SQL
			}
			d, err := open(target)
			if err != nil {
				return
			}
			db = d
		}
		if err := step(octx, db); err != nil {
			_ = db.Close()
			db = nil
		}
	}, func() {
		if db != nil {
			_ = db.Close()
		}
	})
}

// startMariaDBHeartbeat is StartHeartbeat's MariaDB form: the same
// sequence through rw, read on every node; a read-only node that
// replicates (SHOW SLAVE STATUS has a row) is a follower.
func startMariaDBHeartbeat(ctx context.Context, lab *harness.Lab, rec *results.Recorder, hb *heartbeats) []*Workload {
	var seq int64
	ws := []*Workload{startSQLPeriodic(ctx, lab, HeartbeatPeriod, time.Second, harness.EndpointRW, false, func(ctx context.Context, db *sql.DB) error {
		seq++
		if _, err := db.ExecContext(ctx, "UPDATE replab_heartbeat SET seq = ? WHERE id = 1", seq); err != nil {
			return err
		}
		hb.acked(seq, rec.Now())
		return nil
	})}
	for _, n := range lab.Topology().Nodes() {
		var replicates bool
		var checked time.Time
		ws = append(ws, startSQLPeriodic(ctx, lab, HeartbeatPoll, HeartbeatPoll*5, n.Name, false, func(ctx context.Context, db *sql.DB) error {
			if time.Since(checked) >= replicaCheckPeriod {
				_, ok, err := harness.ReadReplicaStatus(ctx, db)
				if err != nil {
					return err
				}
				replicates, checked = ok, time.Now()
			}
			at := rec.Now()
			var ro int
			var seen int64
			if err := db.QueryRowContext(ctx, "SELECT @@global.read_only, seq FROM replab_heartbeat WHERE id = 1").Scan(&ro, &seen); err != nil {
				return err
			}
			if ro == 1 && replicates {
				rec.Sample(results.Sample{Metric: results.MetricLagHeartbeatSeconds, Node: n.Name, Value: hb.staleness(seen, at).Seconds()})
			}
			return nil
		}))
	}
	return ws
}

// replicaCheckPeriod is how often the heartbeat reader asks a node
// whether it replicates from anyone: a read-only node that does not (a
// former primary left detached) is no follower, and its staleness no
// replication lag.
const replicaCheckPeriod = time.Second

// MariaDBLagPeriod is how often the MariaDB lag sampler reads each
// replica's SHOW SLAVE STATUS (a heavier statement than PostgreSQL's view).
const MariaDBLagPeriod = 250 * time.Millisecond

// startMariaDBLagSampler records, for every replica, Seconds_Behind_Master
// (results.MetricLagBehindMasterSeconds; NULL, a stopped thread, is a
// gap) and how many transactions of domain 0 it has received but not
// applied (results.MetricLagTransactions), from SHOW SLAVE STATUS and
// @@gtid_slave_pos.
func startMariaDBLagSampler(ctx context.Context, lab *harness.Lab, rec *results.Recorder) []*Workload {
	rec.SetResolution(results.MetricLagBehindMasterSeconds, time.Second) // the server reports whole seconds
	var ws []*Workload
	for _, n := range lab.Topology().Nodes() {
		ws = append(ws, startSQLPeriodic(ctx, lab, MariaDBLagPeriod, MariaDBLagPeriod*4, n.Name, true, func(ctx context.Context, db *sql.DB) error {
			st, ok, err := harness.ReadReplicaStatus(ctx, db)
			if err != nil || !ok {
				return err
			}
			if st.SecondsBehind >= 0 {
				rec.Sample(results.Sample{Metric: results.MetricLagBehindMasterSeconds, Node: n.Name, Value: float64(st.SecondsBehind)})
			}
			var applied string
			if err := db.QueryRowContext(ctx, "SELECT @@global.gtid_slave_pos").Scan(&applied); err != nil {
				return err
			}
			if r, a := harness.GTIDSeq(st.GTIDIO), harness.GTIDSeq(applied); r >= 0 && a >= 0 {
				rec.Sample(results.Sample{Metric: results.MetricLagTransactions, Node: n.Name, Value: float64(max(r-a, 0))})
			}
			return nil
		}))
	}
	return ws
}

// startMariaDBMonitor records the writable node changing: a node that
// turns read_only OFF is promoted (results.EventPromoted) and leads
// (results.EventLeaderChanged, "initial" for the first). MariaDB has no
// DCS leader key; the promotion's own steps are the scenario's to record.
func startMariaDBMonitor(ctx context.Context, lab *harness.Lab, rec *results.Recorder) []*Workload {
	var ws []*Workload
	leader := ""
	var mu sync.Mutex
	for _, n := range lab.Topology().Nodes() {
		writable := false
		ws = append(ws, startSQLPeriodic(ctx, lab, MonitorPeriod, MonitorPeriod*4, n.Name, false, func(ctx context.Context, db *sql.DB) error {
			var ro int
			if err := db.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil {
				return err
			}
			now := ro == 0
			if now && !writable {
				mu.Lock()
				detail := ""
				if leader == "" {
					detail = "initial"
				} else {
					rec.Event(results.Event{Kind: results.EventPromoted, Node: n.Name, Resolution: MonitorPeriod})
				}
				rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: n.Name, Detail: detail, Resolution: MonitorPeriod})
				leader = n.Name
				mu.Unlock()
			}
			writable = now
			return nil
		}))
	}
	return ws
}
