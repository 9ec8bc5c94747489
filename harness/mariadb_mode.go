package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/replab/replab/topologies"
)

// SetMariaDBMode switches a MariaDB lab's replication mode at runtime, as
// an operator would with SET GLOBAL: on the primary semi-sync's primary
// side and its wait point (AFTER_SYNC for semi-sync, AFTER_COMMIT for
// semi-sync-after-commit), and on every replica that may acknowledge
// (not nosync) the replica side, its I/O thread restarted when it was
// off so that it asks for semi-sync again. Async turns the primary side
// off. MariaDBModeInEffect says when the primary runs it.
func (l *Lab) SetMariaDBMode(ctx context.Context, m topologies.ReplicationMode) error {
	if !l.isMariaDB() {
		return errors.New("set mode: not a MariaDB lab")
	}
	wait := semiSyncWaitPoint(m)
	if m != topologies.Async && wait == "" {
		return fmt.Errorf("set mode: %s is not a MariaDB mode (modes: %v)", m, topologies.EngineModes(topologies.EngineMariaDB))
	}
	primary, err := l.mariadbWritable(ctx)
	if err != nil {
		return fmt.Errorf("set mode %s: %w", m, err)
	}
	for _, n := range l.plan.Nodes {
		if n.Name == primary || n.Node.NoSync || wait == "" {
			continue
		}
		if err := l.withSQL(n.Name, func(db *sql.DB) error { return semiSyncReplicaOn(ctx, db) }); err != nil {
			return fmt.Errorf("set mode %s: %s: %w", m, n.Name, err)
		}
	}
	return l.withSQL(primary, func(db *sql.DB) error {
		stmts := []string{"SET GLOBAL rpl_semi_sync_master_enabled = OFF"}
		if wait != "" {
			stmts = []string{
				"SET GLOBAL rpl_semi_sync_master_wait_point = " + wait,
				fmt.Sprintf("SET GLOBAL rpl_semi_sync_master_timeout = %d", l.topo.MariaDB.SemiSyncTimeout.Milliseconds()),
				"SET GLOBAL rpl_semi_sync_master_enabled = ON",
			}
		}
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("set mode %s on %s: %s: %w", m, primary, s, err)
			}
		}
		return nil
	})
}

// semiSyncReplicaOn turns a replica's semi-sync side on; the I/O thread
// asks for semi-sync when it connects, so it is restarted if it was off.
func semiSyncReplicaOn(ctx context.Context, db *sql.DB) error {
	var on int
	if err := db.QueryRowContext(ctx, "SELECT @@global.rpl_semi_sync_slave_enabled").Scan(&on); err != nil {
		return err
	}
	if on == 1 {
		return nil
	}
	for _, s := range []string{"SET GLOBAL rpl_semi_sync_slave_enabled = ON", "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD"} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// MariaDBModeInEffect reports whether the primary runs mode m: in async
// semi-sync's primary side is off; in the semi-sync modes it is on
// (Rpl_semi_sync_master_status: a replica acknowledges) at m's wait
// point. It returns the primary.
func (l *Lab) MariaDBModeInEffect(ctx context.Context, m topologies.ReplicationMode) (primary string, ok bool, err error) {
	primary, err = l.mariadbWritable(ctx)
	if err != nil {
		return "", false, err
	}
	err = l.withSQL(primary, func(db *sql.DB) error {
		var point string
		var status sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT @@global.rpl_semi_sync_master_wait_point, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS')").Scan(&point, &status); err != nil {
			return err
		}
		wait := semiSyncWaitPoint(m)
		ok = (wait == "" && status.String != "ON") || (wait != "" && point == wait && status.String == "ON")
		return nil
	})
	return primary, ok, err
}

// mariadbWritable is the one node that is not read-only.
func (l *Lab) mariadbWritable(ctx context.Context) (string, error) {
	var writable []string
	for _, m := range l.mariadbMembers(ctx) {
		if m.Role == RoleLeader {
			writable = append(writable, m.Name)
		}
	}
	if len(writable) != 1 {
		return "", fmt.Errorf("%d writable nodes %v, want one", len(writable), writable)
	}
	return writable[0], nil
}

// withSQL runs f on a superuser handle on target, closed after.
func (l *Lab) withSQL(target string, f func(*sql.DB) error) error {
	db, err := l.SQL(target)
	if err != nil {
		return err
	}
	defer db.Close()
	return f(db)
}
