package workload

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/results"
)

// SessionConfig configures a read-your-writes session.
type SessionConfig struct {
	// Rate is write-then-read pairs per second (default 10).
	Rate float64
	// Process names the session in the history (default "session-0").
	Process string
	// FirstKey is the first id written (default 2,000,000,000, far from
	// the writer's and the probes' ranges).
	FirstKey int64
	// OpTimeout bounds each write and each read (default 1s).
	OpTimeout time.Duration
	// Run is the run id written with every row.
	Run string
	// Region is the client's region: its endpoint reads and writes go
	// through that region's endpoint (WriterConfig.Region).
	Region string
	// PinSync reads from the member the leader names as its synchronous
	// standby right after the commit (Target results.TargetSync), instead
	// of through the read-only endpoint: the one read that sync
	// (remote_apply) promises is never stale. Without a synchronous
	// standby the pair's read is skipped.
	PinSync bool
	// Strategy, when set, routes the session's reads as ReadStrategy
	// says, in its own write-then-read pattern (PinSync is then
	// ignored); nil keeps the pairs above.
	Strategy *ReadStrategy
}

// StalePollPeriod is how often a session polls the member that served a
// stale read until its own write shows there; StalePollMax bounds it.
const (
	StalePollPeriod = 10 * time.Millisecond
	StalePollMax    = 5 * time.Second
)

// StartSession plays an application that reads its own writes: it writes
// a row through the read-write endpoint and, as soon as the write is
// acknowledged, reads it back from a replica (the read-only endpoint, or
// the synchronous standby with PinSync). The write records the leader's
// WAL position right after the commit and the read the replica's replay
// position, so a stale read (results.StaleReads) says how far behind it
// was; the session then polls that replica every StalePollPeriod until
// the row shows, each poll a read of the same key, so the report can say
// how long the row took to become visible.
func StartSession(ctx context.Context, lab *harness.Lab, rec *results.Recorder, cfg SessionConfig) *Workload {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Process == "" {
		cfg.Process = "session-0"
	}
	if cfg.FirstKey == 0 {
		cfg.FirstKey = 2_000_000_000
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = time.Second
	}
	if cfg.Strategy != nil {
		if isMariaDB(lab) {
			return startStrategySessionMariaDB(ctx, lab, rec, cfg)
		}
		return startStrategySession(ctx, lab, rec, cfg)
	}
	wcfg := WriterConfig{Process: cfg.Process, Target: harness.EndpointRW, Region: cfg.Region, OpTimeout: cfg.OpTimeout, ConnectTimeout: cfg.OpTimeout, Kind: results.OpWrite, Run: cfg.Run}
	var wconn client
	rconns := map[string]*pgx.Conn{} // by read target: harness.EndpointRO or a node
	key := cfg.FirstKey
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		p := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: cfg.Process, Target: harness.EndpointRW, Key: key})
		var end results.OpEnd
		wconn, end = writeOnce(ctx, lab, wconn, wcfg, key)
		var sync string
		if end.Outcome == results.OK {
			end.LSN, sync = afterCommit(ctx, pgConnOf(wconn), cfg.OpTimeout)
		}
		p.End(end)
		if end.Outcome != results.OK {
			key++
			return
		}
		target, recTarget := harness.EndpointRO, results.TargetRO
		if cfg.PinSync {
			if sync == "" {
				key++
				return
			}
			target, recTarget = sync, results.TargetSync
		}
		deadline := time.Now().Add(StalePollMax)
		for {
			r := rec.Begin(results.OpStart{Kind: results.OpRead, Process: cfg.Process, Target: recTarget, Key: key})
			rconns[target], end = readOnce(ctx, lab, rconns[target], target, cfg, key)
			r.End(end)
			if end.Outcome != results.OK || end.Found || time.Now().After(deadline) || clock.Sleep(ctx, StalePollPeriod) != nil {
				break
			}
		}
		key++
	}, func() {
		closeClient(ctx, wconn)
		for _, c := range rconns {
			closeConn(ctx, c)
		}
	})
}

// afterCommit reads, on the session's connection right after a commit,
// the leader's WAL insert position (at or past the commit record) and the
// member it names as synchronous standby ("" for none or on error).
func afterCommit(ctx context.Context, conn *pgx.Conn, timeout time.Duration) (lsn uint64, sync string) {
	if conn == nil {
		return 0, ""
	}
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var pos int64
	err := conn.QueryRow(octx, `SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint,
		coalesce((SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync' ORDER BY application_name LIMIT 1), '')`).Scan(&pos, &sync)
	if err != nil {
		return 0, ""
	}
	return uint64(pos), sync
}

// readOnce looks one of the session's keys up on target (an endpoint or a
// node), reconnecting first if needed, with the replica's replay position.
func readOnce(ctx context.Context, lab *harness.Lab, conn *pgx.Conn, target string, cfg SessionConfig, key int64) (*pgx.Conn, results.OpEnd) {
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	defer cancel()
	if conn == nil {
		c, err := lab.Connect(octx, endpointIn(lab, target, cfg.Region))
		if err != nil {
			return nil, results.OpEnd{Outcome: results.Failed, Err: err}
		}
		conn = c
	}
	var found bool
	var addr string
	var replay int64
	err := conn.QueryRow(octx, `SELECT EXISTS (SELECT 1 FROM replab_writes WHERE run = $2 AND id = $1), host(inet_server_addr()),
		coalesce((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)`, key, cfg.Run).Scan(&found, &addr, &replay)
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, results.OpEnd{Outcome: results.Failed, Err: err}
	}
	return conn, results.OpEnd{Outcome: results.OK, Found: found, Member: lab.NodeByIP(addr), LSN: uint64(replay)}
}
