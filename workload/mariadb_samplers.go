package workload

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

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
