package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replab/replab/results"
)

// The workload's tables. Ids are not unique on purpose: a duplicate is a
// finding, not a constraint error. Every row carries the run that wrote
// it, and a run reads back only its own rows: on a reused lab an earlier
// run's row with the same id must not hide a loss.
const schemaSQL = `
CREATE TABLE IF NOT EXISTS replab_writes (id bigint NOT NULL, process text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
ALTER TABLE replab_writes ADD COLUMN IF NOT EXISTS run text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS replab_writes_run_id ON replab_writes (run, id);
`

// PrepareWorkload creates the workload's tables through the read-write
// endpoint.
func (l *Lab) PrepareWorkload(ctx context.Context) error {
	c, err := l.Connect(ctx, EndpointRW)
	if err != nil {
		return fmt.Errorf("prepare workload: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, schemaSQL+heartbeatSQL); err != nil {
		return fmt.Errorf("prepare workload: create tables: %w", err)
	}
	return nil
}

// WriterConfig configures a writer.
type WriterConfig struct {
	// Rate is writes per second (default 100).
	Rate float64
	// OpTimeout bounds one write, connect included (default 1s). A write
	// that times out after being sent has an unknown outcome.
	OpTimeout time.Duration
	// Process names the writer in the history (default "writer-0").
	Process string
	// Target is an endpoint or node name (default EndpointRW).
	Target string
	// FirstKey is the first id written (default 1); ids go up by one.
	FirstKey int64
	// Run is the run id written with every row (ReadBack reads only the
	// recorder's run).
	Run string
	// Kind is how writes are recorded (default results.OpWrite); direct
	// per-member probes for the split-brain checker use results.OpProbe.
	Kind results.OpKind
	// ConnectTimeout bounds a reconnect within OpTimeout (default: no
	// tighter bound), so a dead target does not stall a fast prober.
	ConnectTimeout time.Duration
	// KeepOnServerError keeps the session after a server error (e.g. a
	// read-only replica refusing a probe) instead of reconnecting. Off for
	// the endpoint: there a server error can mean the session is stuck on
	// a demoted leader.
	KeepOnServerError bool
}

// Workload is a running client; Stop ends it and waits.
type Workload struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Stop ends the workload and waits for its last operation to complete.
func (w *Workload) Stop() {
	w.cancel()
	<-w.done
}

func startWorkload(ctx context.Context, run func(context.Context)) *Workload {
	ctx, cancel := context.WithCancel(ctx)
	w := &Workload{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		run(ctx)
	}()
	return w
}

// startPeriodic runs step every period until the workload stops, then
// cleanup (which may be nil).
func startPeriodic(ctx context.Context, period time.Duration, step func(context.Context), cleanup func()) *Workload {
	return startWorkload(ctx, func(ctx context.Context) {
		if cleanup != nil {
			defer cleanup()
		}
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			step(ctx)
		}
	})
}

// StartWriter inserts sequential ids at a steady rate, recording each write
// with its invoke and complete times, the member that served it and its
// outcome: ok, failed (certainly not committed) or unknown (the connection
// died or timed out after the statement was sent).
func (l *Lab) StartWriter(ctx context.Context, rec *results.Recorder, cfg WriterConfig) *Workload {
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = time.Second
	}
	if cfg.ConnectTimeout <= 0 || cfg.ConnectTimeout > cfg.OpTimeout {
		cfg.ConnectTimeout = cfg.OpTimeout
	}
	if cfg.Process == "" {
		cfg.Process = "writer-0"
	}
	if cfg.Target == "" {
		cfg.Target = EndpointRW
	}
	if cfg.FirstKey == 0 {
		cfg.FirstKey = 1
	}
	if cfg.Kind == "" {
		cfg.Kind = results.OpWrite
	}
	var conn *pgx.Conn
	key := cfg.FirstKey
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		p := rec.Begin(results.OpStart{Kind: cfg.Kind, Process: cfg.Process, Target: cfg.Target, Key: key})
		var end results.OpEnd
		conn, end = l.writeOnce(ctx, conn, cfg, key)
		p.End(end)
		key++
	}, func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	})
}

// writeOnce performs one insert, reconnecting first if needed, and
// classifies the outcome. A write sent to a node (not an endpoint) is
// attributed to that node whatever its outcome.
func (l *Lab) writeOnce(ctx context.Context, conn *pgx.Conn, cfg WriterConfig, key int64) (*pgx.Conn, results.OpEnd) {
	var member string
	if cfg.Target != EndpointRW && cfg.Target != EndpointRO {
		member = cfg.Target
	}
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	defer cancel()
	if conn == nil {
		cctx, ccancel := context.WithTimeout(octx, cfg.ConnectTimeout)
		c, err := l.Connect(cctx, cfg.Target)
		ccancel()
		if err != nil {
			return nil, results.OpEnd{Outcome: results.Failed, Member: member, Err: err}
		}
		conn = c
	}
	var addr string
	err := conn.QueryRow(octx, `INSERT INTO replab_writes (id, process, run) VALUES ($1, $2, $3) RETURNING host(inet_server_addr())`, key, cfg.Process, cfg.Run).Scan(&addr)
	if err == nil {
		return conn, results.OpEnd{Outcome: results.OK, Member: l.nodeByIP(addr)}
	}
	var pgErr *pgconn.PgError
	if !cfg.KeepOnServerError || !errors.As(err, &pgErr) {
		_ = conn.Close(context.WithoutCancel(ctx))
		conn = nil
	}
	return conn, results.OpEnd{Outcome: classify(err), Member: member, Err: err}
}

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
	// PinSync reads from the member the leader names as its synchronous
	// standby right after the commit (Target results.TargetSync), instead
	// of through the read-only endpoint: the one read that sync
	// (remote_apply) promises is never stale. Without a synchronous
	// standby the pair's read is skipped.
	PinSync bool
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
func (l *Lab) StartSession(ctx context.Context, rec *results.Recorder, cfg SessionConfig) *Workload {
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
	wcfg := WriterConfig{Process: cfg.Process, Target: EndpointRW, OpTimeout: cfg.OpTimeout, ConnectTimeout: cfg.OpTimeout, Kind: results.OpWrite, Run: cfg.Run}
	var wconn *pgx.Conn
	rconns := map[string]*pgx.Conn{} // by read target: EndpointRO or a node
	key := cfg.FirstKey
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		p := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: cfg.Process, Target: EndpointRW, Key: key})
		var end results.OpEnd
		wconn, end = l.writeOnce(ctx, wconn, wcfg, key)
		var sync string
		if end.Outcome == results.OK {
			end.LSN, sync = afterCommit(ctx, wconn, cfg.OpTimeout)
		}
		p.End(end)
		if end.Outcome != results.OK {
			key++
			return
		}
		target, recTarget := EndpointRO, results.TargetRO
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
			rconns[target], end = l.readOnce(ctx, rconns[target], target, cfg, key)
			r.End(end)
			if end.Outcome != results.OK || end.Found || time.Now().After(deadline) || sleepCtx(ctx, StalePollPeriod) != nil {
				break
			}
		}
		key++
	}, func() {
		closeConn(ctx, wconn)
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
func (l *Lab) readOnce(ctx context.Context, conn *pgx.Conn, target string, cfg SessionConfig, key int64) (*pgx.Conn, results.OpEnd) {
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	defer cancel()
	if conn == nil {
		c, err := l.Connect(octx, target)
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
	return conn, results.OpEnd{Outcome: results.OK, Found: found, Member: l.nodeByIP(addr), LSN: uint64(replay)}
}

// classify decides whether a failed write may have committed. A server
// error (read-only, shutting down) or a statement never sent certainly did
// not; a connection lost or timed out after sending might have.
func classify(err error) results.Outcome {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57P01 admin_shutdown and 57P02 crash_shutdown can arrive after
		// the commit record was written: unknown.
		if pgErr.Code == "57P01" || pgErr.Code == "57P02" {
			return results.Unknown
		}
		return results.Failed
	}
	if pgconn.SafeToRetry(err) {
		return results.Failed
	}
	return results.Unknown
}

func (l *Lab) nodeByIP(ip string) string {
	for _, n := range l.plan.Nodes {
		if n.IP.String() == ip {
			return n.Name
		}
	}
	return ip
}

// ReadBack reads every id the recorder's run wrote from the current leader,
// once the cluster has a writable leader again, and records it as the
// final state. It waits up to the context's deadline.
func (l *Lab) ReadBack(ctx context.Context, rec *results.Recorder) (results.FinalState, error) {
	run := rec.History().Meta.ID
	for {
		fs, err := l.readBackOnce(ctx, run)
		if err == nil {
			rec.RecordFinal(fs)
			return fs, nil
		}
		select {
		case <-ctx.Done():
			return results.FinalState{}, fmt.Errorf("read back writes: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (l *Lab) readBackOnce(ctx context.Context, run string) (results.FinalState, error) {
	leader, err := l.Leader(ctx)
	if err != nil {
		return results.FinalState{}, err
	}
	c, err := l.Connect(ctx, leader.Name)
	if err != nil {
		return results.FinalState{}, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var inRecovery bool
	if err := c.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || inRecovery {
		return results.FinalState{}, fmt.Errorf("read back from %s: not a writable leader yet (%v)", leader.Name, err)
	}
	rows, err := c.Query(ctx, `SELECT id FROM replab_writes WHERE run = $1 ORDER BY id`, run)
	if err != nil {
		return results.FinalState{}, fmt.Errorf("read back from %s: %w", leader.Name, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return results.FinalState{}, fmt.Errorf("read back from %s: %w", leader.Name, err)
	}
	return results.FinalState{Member: leader.Name, Keys: keys, Timeline: leader.Timeline, Run: run}, nil
}

// MonitorPeriod is how often the monitor polls the DCS leader key and each
// member's REST API: the resolution of the leader events it records.
const MonitorPeriod = 50 * time.Millisecond

// StartMonitor records the cluster's side of a failover on the run's
// clock: the DCS leader key disappearing (leader.key_gone), a new holder of
// the key (leader.changed), a member finishing promotion (leader.promoted,
// from its Patroni REST API) and timeline switches. Each event carries
// MonitorPeriod as its resolution.
func (l *Lab) StartMonitor(ctx context.Context, rec *results.Recorder) *Workload {
	var (
		keyHolder = "?" // unknown until the first read
		leaders   = map[string]bool{}
		timeline  = 0
		mu        sync.Mutex
	)
	return startPeriodic(ctx, MonitorPeriod, func(ctx context.Context) {
		holder, err := l.leaderKey(ctx)
		if err == nil && holder != keyHolder {
			switch {
			case holder == "":
				rec.Event(results.Event{Kind: results.EventLeaderKeyGone, Node: keyHolder, Resolution: MonitorPeriod})
			case keyHolder != "?":
				rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: holder, Resolution: MonitorPeriod})
			default:
				rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: holder, Detail: "initial", Resolution: MonitorPeriod})
			}
			keyHolder = holder
		}
		var wg sync.WaitGroup
		for _, n := range l.plan.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := l.patroni(ctx, n.Name)
				mu.Lock()
				defer mu.Unlock()
				isLeader := err == nil && normaliseRole(st.Role) == RoleLeader && st.State == "running"
				if isLeader && !leaders[n.Name] {
					rec.Event(results.Event{Kind: results.EventPromoted, Node: n.Name, Detail: "timeline " + strconv.Itoa(st.Timeline), Resolution: MonitorPeriod})
				}
				if isLeader && st.Timeline > timeline {
					if timeline != 0 {
						rec.Event(results.Event{Kind: results.EventTimeline, Node: n.Name, Detail: strconv.Itoa(st.Timeline), Resolution: MonitorPeriod})
					}
					timeline = st.Timeline
				}
				if err == nil || ctx.Err() == nil {
					leaders[n.Name] = isLeader
				}
			}()
		}
		wg.Wait()
	}, nil)
}

// leaderKey reads Patroni's leader key from etcd's v3 JSON gateway on the
// first member that answers; "" means no key.
func (l *Lab) leaderKey(ctx context.Context) (string, error) {
	key := base64.StdEncoding.EncodeToString([]byte(dcsNamespace + l.plan.Scope + "/leader"))
	body := []byte(`{"key":"` + key + `"}`)
	var lastErr error
	for _, e := range l.plan.Etcd {
		port := l.hostPort(e.Name, portEtcd)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/v3/kv/range", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		resp, err := l.http.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("etcd %s: status %d: %v", e.Name, resp.StatusCode, err)
			continue
		}
		var out struct {
			Kvs []struct {
				Value string `json:"value"`
			} `json:"kvs"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			lastErr = err
			continue
		}
		if len(out.Kvs) == 0 {
			return "", nil
		}
		v, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
		if err != nil {
			return "", fmt.Errorf("decode leader key: %w", err)
		}
		return string(v), nil
	}
	return "", fmt.Errorf("read leader key: %w", lastErr)
}

// LagPeriod is how often StartLagSampler reads pg_stat_replication.
const LagPeriod = 100 * time.Millisecond

// StartLagSampler records, every LagPeriod, each follower's write, flush and
// replay lag (seconds) and byte lag as the current leader's
// pg_stat_replication reports them.
func (l *Lab) StartLagSampler(ctx context.Context, rec *results.Recorder) *Workload {
	return l.startConnPeriodic(ctx, LagPeriod, LagPeriod*5, EndpointRW, func(ctx context.Context, conn *pgx.Conn) error {
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

// startConnPeriodic runs step every period on a connection to target,
// opened on first use and again after any error step returns; each step,
// connect included, is bounded by timeout. A step that cannot connect is
// skipped.
func (l *Lab) startConnPeriodic(ctx context.Context, period, timeout time.Duration, target string, step func(ctx context.Context, conn *pgx.Conn) error) *Workload {
	var conn *pgx.Conn
	return startPeriodic(ctx, period, func(ctx context.Context) {
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if conn == nil {
			c, err := l.Connect(octx, target)
			if err != nil {
				return
			}
			conn = c
		}
		if err := step(octx, conn); err != nil {
			closeConn(ctx, conn)
			conn = nil
		}
	}, func() { closeConn(ctx, conn) })
}

func closeConn(ctx context.Context, c *pgx.Conn) {
	if c != nil {
		_ = c.Close(context.WithoutCancel(ctx))
	}
}
