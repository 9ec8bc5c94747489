package workload

import (
	"context"
	"fmt"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

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
