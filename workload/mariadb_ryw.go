package workload

import (
	"context"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// startStrategySessionMariaDB is startStrategySession on a MariaDB lab.
// The position a write is tracked by is its GTID (@@last_gtid, read in
// the writing session right after the commit); ReadLSN's question to the
// replica is MASTER_GTID_WAIT(gtid, 0), which answers at once whether the
// replica has applied it. Read ops carry no replay position (LSN 0): a
// GTID is no byte count, so the table's bytes behind stay unknown.
func startStrategySessionMariaDB(ctx context.Context, lab *harness.Lab, rec *results.Recorder, cfg SessionConfig) *Workload {
	s := cfg.Strategy.withDefaults()
	// wconn writes and reads on the primary (rw); rconn reads on a
	// replica (ro, balanced per connection). replayed is the highest
	// GTID sequence number rconn's replica was seen to have applied.
	var wconn, rconn client
	var replayed uint64
	type written struct {
		key   int64
		gtid  string
		seq   uint64
		acked time.Time
	}
	var last *written
	key := cfg.FirstKey
	dial := func(ctx context.Context, c client, target string) (client, error) {
		if c != nil {
			return c, nil
		}
		return dialClient(ctx, lab, endpointIn(lab, target, cfg.Region))
	}
	drop := func(ctx context.Context, c *client) {
		closeClient(ctx, *c)
		*c = nil
	}
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		if last == nil || time.Since(last.acked) >= s.WriteEvery {
			p := rec.Begin(results.OpStart{Kind: results.OpWrite, Process: cfg.Process, Target: harness.EndpointRW, Key: key})
			octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
			defer cancel()
			c, err := dial(octx, wconn, harness.EndpointRW)
			if err != nil {
				p.End(results.OpEnd{Outcome: results.Failed, Err: err})
				key++
				return
			}
			wconn = c
			member, err := wconn.insert(octx, key, cfg.Process, cfg.Run, nil)
			acked := time.Now()
			if err != nil {
				drop(ctx, &wconn)
				p.End(results.OpEnd{Outcome: classify(err), Err: err})
				key++
				return
			}
			var gtid string
			if m, ok := wconn.(*mariadbClient); ok {
				_ = m.conn.QueryRowContext(octx, "SELECT @@last_gtid").Scan(&gtid)
			}
			p.End(results.OpEnd{Outcome: results.OK, Member: member})
			seq := harness.GTIDSeq(gtid)
			last = &written{key: key, gtid: gtid, seq: uint64(max(seq, 0)), acked: acked}
			key++
		}
		rt := s.route(time.Since(last.acked), last.seq, replayed)
		target := harness.EndpointRO
		if rt == routeLeader {
			target = harness.EndpointRW
		}
		r := rec.Begin(results.OpStart{Kind: results.OpRead, Process: cfg.Process, Target: target, Key: last.key})
		octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		defer cancel()
		if rt == routeAskReplica {
			rt = routeLeader
			if c, err := dial(octx, rconn, harness.EndpointRO); err == nil {
				rconn = c
				var w int
				m, _ := rconn.(*mariadbClient)
				switch err := m.conn.QueryRowContext(octx, "SELECT MASTER_GTID_WAIT(?, 0)", last.gtid).Scan(&w); {
				case err != nil:
					drop(ctx, &rconn)
					replayed = 0
				case w == 0:
					replayed = max(replayed, last.seq)
					rt = routeReplica
				}
			}
		}
		conn, where := &rconn, harness.EndpointRO
		if rt == routeLeader {
			conn, where = &wconn, harness.EndpointRW
		}
		fresh := *conn == nil
		c, err := dial(octx, *conn, where)
		if err != nil {
			r.End(results.OpEnd{Outcome: results.Failed, Err: err})
			return
		}
		*conn = c
		if fresh && conn == &rconn {
			replayed = 0 // a new connection may reach another replica
		}
		found, member, err := c.found(octx, last.key, cfg.Run)
		if err != nil {
			drop(ctx, conn)
			r.End(results.OpEnd{Outcome: results.Failed, Err: err})
			return
		}
		r.End(results.OpEnd{Outcome: results.OK, Found: found, Member: member})
	}, func() {
		closeClient(ctx, wconn)
		closeClient(ctx, rconn)
	})
}
