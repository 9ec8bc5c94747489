package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// conflictTable is the small table LongQuery locks; it is created on the
// leader at inject and dropped at heal, so the workload's tables are never
// touched.
const conflictTable = "replab_chaos_conflict"

type longQueryFault struct {
	sel Selector
	d   time.Duration
}

// LongQuery runs a long query on the selected follower that conflicts with
// WAL replay, whatever hot_standby_feedback says: the follower holds an
// ACCESS SHARE lock on a table (SELECT pg_sleep(d) over it) while the
// leader takes an ACCESS EXCLUSIVE lock on the same table, which replay
// must acquire too. Replay stalls, the follower's replay lag grows, and
// after max_standby_streaming_delay (30s by default) PostgreSQL cancels the
// query. Heal cancels the query and drops the table. d defaults to 10m.
func LongQuery(s Selector, d time.Duration) Fault {
	if d <= 0 {
		d = 10 * time.Minute
	}
	return longQueryFault{sel: s, d: d}
}

func (l longQueryFault) Name() string { return "long-query" }
func (l longQueryFault) String() string {
	return fmt.Sprintf("run a %s query conflicting with replay on %s", l.d, l.sel)
}

func (l longQueryFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	db, err := need[SQL](c, "SQL")
	if err != nil {
		return "", nil, fmt.Errorf("inject long-query: %w", err)
	}
	node, err := resolveOne(ctx, c, l.sel)
	if err != nil {
		return "", nil, fmt.Errorf("inject long-query: %w", err)
	}
	leader, err := c.LeaderName(ctx)
	if err != nil {
		return node, nil, fmt.Errorf("inject long-query: %w", err)
	}
	if leader == node {
		return node, nil, fmt.Errorf("inject long-query: %s leads: a replay conflict needs a follower", node)
	}
	if err := db.ExecSQL(ctx, leader, "CREATE TABLE IF NOT EXISTS "+conflictTable+" (id int)"); err != nil {
		return node, nil, fmt.Errorf("inject long-query: create %s on %s: %w", conflictTable, leader, err)
	}
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	finished := make(chan struct{}) // closed when the query returns
	var qerr error
	heal := func(ctx context.Context) error {
		cancel()
		select {
		case <-finished:
		case <-ctx.Done():
		}
		ldr, err := c.LeaderName(ctx)
		if err != nil {
			return fmt.Errorf("drop %s: %w", conflictTable, err)
		}
		if err := db.ExecSQL(ctx, ldr, "DROP TABLE IF EXISTS "+conflictTable); err != nil {
			return fmt.Errorf("drop %s on %s: %w", conflictTable, ldr, err)
		}
		return nil
	}
	fail := func(err error) (string, Heal, error) {
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer hcancel()
		return node, nil, errors.Join(fmt.Errorf("inject long-query on %s: %w", node, err), heal(hctx))
	}
	// Wait until the table has replicated to the follower.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.ExecSQL(ctx, node, "SELECT 1 FROM "+conflictTable+" LIMIT 0")
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			close(finished)
			return fail(fmt.Errorf("wait for %s to replicate: %w", conflictTable, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
	go func() {
		defer close(finished)
		qerr = db.ExecSQL(qctx, node, fmt.Sprintf("SELECT pg_sleep(%d) FROM (SELECT count(*) FROM %s) s", int(l.d/time.Second), conflictTable))
	}()
	// Give the query time to take its lock; fail if it died at once.
	select {
	case <-finished:
		if qerr != nil {
			return fail(fmt.Errorf("start the query: %w", qerr))
		}
	case <-time.After(500 * time.Millisecond):
	}
	if err := db.ExecSQL(ctx, leader, "BEGIN; LOCK TABLE "+conflictTable+" IN ACCESS EXCLUSIVE MODE; COMMIT"); err != nil {
		return fail(fmt.Errorf("lock %s on %s: %w", conflictTable, leader, err))
	}
	return node, heal, nil
}
