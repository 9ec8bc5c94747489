package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// ReadStrategyKind names how a read-your-writes session routes its reads.
type ReadStrategyKind string

const (
	// ReadAnyReplica reads on a replica (the read-only endpoint) whatever
	// it has replayed: read-your-writes is not guaranteed.
	ReadAnyReplica ReadStrategyKind = "none"
	// ReadLeaderAfterWrite reads on the leader for Window after each of
	// the session's writes and on a replica after that: safe only while
	// every replica trails by less than Window.
	ReadLeaderAfterWrite ReadStrategyKind = "leader-after-write"
	// ReadLSN reads on a replica only once its replay position
	// (pg_last_wal_replay_lsn) has reached the position the leader
	// reported in the same session right after the commit
	// (pg_current_wal_insert_lsn, at or past the commit record), and on
	// the leader otherwise: never stale, and on a replica as soon as one
	// has the write.
	ReadLSN ReadStrategyKind = "lsn"
	// ReadSticky pins the session's reads to the leader, on the
	// connection it writes on: never stale, and every read loads the
	// leader.
	ReadSticky ReadStrategyKind = "sticky"
)

// Defaults of a ReadStrategy.
const (
	// DefaultLeaderWindow is ReadLeaderAfterWrite's window.
	DefaultLeaderWindow = 500 * time.Millisecond
	// DefaultWriteEvery spaces a strategy session's writes: between two,
	// it reads its last row back at the session's rate, so that reads
	// come at every age of the write, inside and past a leader window.
	DefaultWriteEvery = 2 * time.Second
)

// ReadStrategy is how a read-your-writes session with one
// (SessionConfig.Strategy) routes its reads. Such a session writes a row
// through the read-write endpoint every WriteEvery, reads the leader's
// WAL position right after each commit, and at every tick of its rate
// reads its last acknowledged row back where the strategy says: the first
// read right after the acknowledgement, the later ones as the write
// ages. It does not poll after a stale read; the next tick's read is the
// next judgement.
type ReadStrategy struct {
	Kind ReadStrategyKind
	// Window is how long ReadLeaderAfterWrite reads on the leader after a
	// write (default DefaultLeaderWindow).
	Window time.Duration
	// WriteEvery spaces the session's writes (default DefaultWriteEvery).
	WriteEvery time.Duration
}

// withDefaults fills the zero fields.
func (s ReadStrategy) withDefaults() ReadStrategy {
	if s.Window <= 0 {
		s.Window = DefaultLeaderWindow
	}
	if s.WriteEvery <= 0 {
		s.WriteEvery = DefaultWriteEvery
	}
	return s
}

// Name is the strategy as one word, for process names: "none",
// "leader-500ms", "lsn", "sticky".
func (s ReadStrategy) Name() string {
	s = s.withDefaults()
	if s.Kind == ReadLeaderAfterWrite {
		return "leader-" + s.Window.String()
	}
	return string(s.Kind)
}

// String says what the strategy does, for tables.
func (s ReadStrategy) String() string {
	s = s.withDefaults()
	switch s.Kind {
	case ReadAnyReplica:
		return "none (any replica)"
	case ReadLeaderAfterWrite:
		return fmt.Sprintf("leader for %s after a write", s.Window)
	case ReadLSN:
		return "LSN tracking (replica once replayed, else leader)"
	case ReadSticky:
		return "sticky session on the leader"
	}
	return string(s.Kind)
}

// Strategies are the four read-your-writes strategies, the leader window
// being window (0: DefaultLeaderWindow).
func Strategies(window time.Duration) []ReadStrategy {
	return []ReadStrategy{
		{Kind: ReadAnyReplica},
		{Kind: ReadLeaderAfterWrite, Window: window},
		{Kind: ReadLSN},
		{Kind: ReadSticky},
	}
}

// Strategy sessions' processes and keys: process "ryw-<name>", keys from
// StrategyFirstKey + i*StrategyKeyStride for the i-th strategy, far from
// every other client's range.
const (
	StrategyProcessPrefix = "ryw-"
	StrategyFirstKey      = 2_200_000_000
	StrategyKeyStride     = 10_000_000
)

// StrategySessions is one session per strategy, to run side by side:
// each with its own process name and key range.
func StrategySessions(strategies []ReadStrategy) []SessionConfig {
	out := make([]SessionConfig, len(strategies))
	for i, s := range strategies {
		out[i] = SessionConfig{
			Process:  StrategyProcessPrefix + s.Name(),
			FirstKey: int64(StrategyFirstKey + i*StrategyKeyStride),
			Strategy: &s,
		}
	}
	return out
}

// readRoute is where one read goes.
type readRoute int

const (
	// routeReplica reads on the session's replica connection.
	routeReplica readRoute = iota
	// routeLeader reads on the session's leader connection.
	routeLeader
	// routeAskReplica asks the replica how far it has replayed first, then
	// reads there if it has the write and on the leader otherwise.
	routeAskReplica
)

// route decides where a read of the session's last row goes: sinceAck is
// how long ago the write was acknowledged, commit the leader's WAL
// position right after it (0: unknown) and replayed the replica's replay
// position as last seen on the session's replica connection (0: unknown).
// A replay position only grows on one server, so a replica once seen at
// or past commit needs no asking again.
func (s ReadStrategy) route(sinceAck time.Duration, commit, replayed uint64) readRoute {
	s = s.withDefaults()
	switch s.Kind {
	case ReadLeaderAfterWrite:
		if sinceAck < s.Window {
			return routeLeader
		}
		return routeReplica
	case ReadLSN:
		switch {
		case commit == 0:
			return routeLeader // nothing to compare: only the leader is safe
		case caughtUp(commit, replayed):
			return routeReplica
		}
		return routeAskReplica
	case ReadSticky:
		return routeLeader
	}
	return routeReplica
}

// caughtUp says whether a replica replayed up to replayed shows a commit
// whose record ends at or before commit.
func caughtUp(commit, replayed uint64) bool { return commit > 0 && replayed >= commit }

// startStrategySession runs a session under cfg.Strategy (see
// ReadStrategy). Each read is one operation from the routing decision
// (the LSN strategy's question to the replica included) to the answer,
// Target the endpoint it addressed first and Member the node that
// answered, so its latency is what the strategy costs the application.
func startStrategySession(ctx context.Context, lab *harness.Lab, rec *results.Recorder, cfg SessionConfig) *Workload {
	s := cfg.Strategy.withDefaults()
	wcfg := WriterConfig{Process: cfg.Process, Target: harness.EndpointRW, Region: cfg.Region, OpTimeout: cfg.OpTimeout, ConnectTimeout: cfg.OpTimeout, Kind: results.OpWrite, Run: cfg.Run}
	// wconn writes and reads on the leader (the read-write endpoint);
	// rconn reads on a replica (the read-only endpoint, which HAProxy
	// balances per connection). replayed is rconn's replay position as
	// last seen; a new connection may reach another replica, so it starts
	// again from unknown.
	var wconn client
	var rconn *pgx.Conn
	var replayed uint64
	type written struct {
		key    int64
		commit uint64
		acked  time.Time
	}
	var last *written
	key := cfg.FirstKey
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		if last == nil || time.Since(last.acked) >= s.WriteEvery {
			p := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: cfg.Process, Target: harness.EndpointRW, Key: key})
			var end results.OpEnd
			wconn, end = writeOnce(ctx, lab, wconn, wcfg, key)
			acked := time.Now()
			if end.Outcome == results.OK {
				end.LSN, _ = afterCommit(ctx, pgConnOf(wconn), cfg.OpTimeout)
			}
			p.End(end)
			key++
			if end.Outcome != results.OK {
				return
			}
			last = &written{key: key - 1, commit: end.LSN, acked: acked}
		}
		rt := s.route(time.Since(last.acked), last.commit, replayed)
		target := harness.EndpointRO
		if rt == routeLeader {
			target = harness.EndpointRW
		}
		r := rec.Begin(results.OpStart{Kind: results.OpRead, Process: cfg.Process, Target: target, Key: last.key})
		if rt == routeAskReplica {
			var pos uint64
			rconn, pos = replayPosition(ctx, lab, rconn, endpointIn(lab, harness.EndpointRO, cfg.Region), cfg.OpTimeout)
			if rconn == nil {
				replayed = 0
			}
			replayed = max(replayed, pos)
			if !caughtUp(last.commit, replayed) {
				rt = routeLeader
			}
		}
		var end results.OpEnd
		if rt == routeLeader {
			var c *pgx.Conn
			c, end = readOnce(ctx, lab, pgConnOf(wconn), harness.EndpointRW, cfg, last.key)
			wconn = asClient(lab, c)
		} else {
			fresh := rconn == nil
			rconn, end = readOnce(ctx, lab, rconn, harness.EndpointRO, cfg, last.key)
			switch {
			case rconn == nil:
				replayed = 0
			case fresh:
				replayed = end.LSN
			default:
				// Read after the snapshot was taken: a lower bound for
				// the next statement, not proof for this one.
				replayed = max(replayed, end.LSN)
			}
		}
		r.End(end)
	}, func() {
		closeClient(ctx, wconn)
		closeConn(ctx, rconn)
	})
}

// replayPosition asks the replica behind conn (the read-only endpoint ro,
// connected first if conn is nil) how far it has replayed: 0 on a
// primary, or when the question failed, which also drops the connection.
func replayPosition(ctx context.Context, lab *harness.Lab, conn *pgx.Conn, ro string, timeout time.Duration) (*pgx.Conn, uint64) {
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if conn == nil {
		c, err := lab.Connect(octx, ro)
		if err != nil {
			return nil, 0
		}
		conn = c
	}
	var pos int64
	if err := conn.QueryRow(octx, `SELECT coalesce((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)`).Scan(&pos); err != nil {
		closeConn(ctx, conn)
		return nil, 0
	}
	return conn, uint64(pos)
}
