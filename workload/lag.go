package workload

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// LagPeriod is how often StartLagSampler reads pg_stat_replication.
const LagPeriod = 100 * time.Millisecond

// StartLagSampler records, every LagPeriod, each follower's write, flush and
// replay lag (seconds) and byte lag as the current leader's
// pg_stat_replication reports them; on a MariaDB lab, each replica's
// SHOW SLAVE STATUS (startMariaDBLagSampler).
func StartLagSampler(ctx context.Context, lab *harness.Lab, rec *results.Recorder) *Workload {
	if isMariaDB(lab) {
		return startGroup(ctx, func(ctx context.Context) []*Workload { return startMariaDBLagSampler(ctx, lab, rec) })
	}
	return startConnPeriodic(ctx, lab, LagPeriod, LagPeriod*5, harness.EndpointRW, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT application_name,
			extract(epoch FROM write_lag)::float8,
			extract(epoch FROM flush_lag)::float8,
			extract(epoch FROM replay_lag)::float8,
			pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8
			FROM pg_stat_replication`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var app string
			var w, f, r, b *float64
			if rows.Scan(&app, &w, &f, &r, &b) != nil {
				continue
			}
			// A NULL lag is "no fresh measurement" (PostgreSQL clears
			// it when the standby has caught up and nothing new was
			// sent): a gap in the series, never a zero.
			for _, m := range []struct {
				metric string
				v      *float64
			}{{results.MetricLagWriteSeconds, w}, {results.MetricLagFlushSeconds, f}, {results.MetricLagReplaySeconds, r}, {results.MetricLagBytes, b}} {
				if m.v != nil {
					rec.Sample(results.Sample{Metric: m.metric, Node: app, Value: *m.v})
				}
			}
		}
		return rows.Err()
	})
}
