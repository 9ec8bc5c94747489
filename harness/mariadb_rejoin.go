package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A primary that died and came back may hold transactions nobody else
// has: those it committed (async) or binlogged (semi-sync, committed by
// its crash recovery) that no replica received before the promotion. With
// gtid_strict_mode they stop its replication from the new primary, and
// they are exactly what the failover lost. A runbook counts them and
// rebuilds the node instead of attaching it; RejoinMariaDB does the
// counting and attaches only a node without any.

// MariaDBRejoin is what RejoinMariaDB found and did.
type MariaDBRejoin struct {
	Node, Primary string
	// Fork is the position the new primary was promoted at (what it had
	// received of the old primary's binlog), Own the node's
	// gtid_binlog_pos when it was checked.
	Fork, Own string
	// Errant counts the node's domain-0 transactions past Fork: written
	// after the last one the new primary received.
	Errant int64
	// Attached says it now replicates from Primary.
	Attached bool
}

// rejoinAnswer bounds RejoinMariaDB's wait for the node to answer (its
// crash recovery after a SIGKILL).
const rejoinAnswer = time.Minute

// RejoinMariaDB makes node, a former primary that is running again,
// replicate from primary, which was promoted at position fork
// (MariaDBPromotion.Received of the new primary). A node with errant
// transactions is left detached and read-only, and reported. It waits
// up to a minute for the node to answer.
func (l *Lab) RejoinMariaDB(ctx context.Context, node, primary, fork string) (MariaDBRejoin, error) {
	r := MariaDBRejoin{Node: node, Primary: primary, Fork: fork}
	if !l.isMariaDB() {
		return r, errors.New("rejoin: not a MariaDB lab")
	}
	db, err := l.SQL(node)
	if err != nil {
		return r, err
	}
	defer db.Close()
	if err := waitAnswers(ctx, db, rejoinAnswer); err != nil {
		return r, fmt.Errorf("rejoin %s: %w", node, err)
	}
	var ro int
	if err := db.QueryRowContext(ctx, "SELECT @@global.read_only, @@global.gtid_binlog_pos").Scan(&ro, &r.Own); err != nil {
		return r, fmt.Errorf("rejoin %s: %w", node, err)
	}
	if ro != 1 {
		return r, fmt.Errorf("rejoin %s: it is writable: fence it (read_only) before it rejoins", node)
	}
	if own, at := GTIDSeq(r.Own), GTIDSeq(fork); own > at {
		r.Errant = own - max(at, 0)
		return r, nil
	}
	// A former primary's gtid_slave_pos is where it last replicated, if
	// ever; what it has is its binlog.
	if _, err := db.ExecContext(ctx, "STOP SLAVE"); err != nil {
		return r, fmt.Errorf("rejoin %s: %w", node, err)
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL gtid_slave_pos = @@global.gtid_binlog_pos"); err != nil {
		return r, fmt.Errorf("rejoin %s: set gtid_slave_pos: %w", node, err)
	}
	if err := l.attachReplica(ctx, db, primary); err != nil {
		return r, fmt.Errorf("rejoin %s: %w", node, err)
	}
	r.Attached = true
	return r, nil
}

// String says what the rejoin found, for a scenario's figure.
func (r MariaDBRejoin) String() string {
	if r.Attached {
		return fmt.Sprintf("%s follows %s again (it had %s, the promotion %s)", r.Node, r.Primary, dash(r.Own), dash(r.Fork))
	}
	return fmt.Sprintf("%s left out: %d errant transactions (it had %s, %s was promoted at %s); rebuild it from %s", r.Node, r.Errant, dash(r.Own), r.Primary, dash(r.Fork), r.Primary)
}

// waitAnswers waits until db's node answers, up to timeout.
func waitAnswers(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("wait for an answer: %w", errors.Join(err, ctx.Err()))
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
