package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// ReadBack reads every id the recorder's run wrote from the current leader,
// once the cluster has a writable leader again, and records it as the
// final state. It waits up to the context's deadline.
func ReadBack(ctx context.Context, lab *harness.Lab, rec *results.Recorder) (results.FinalState, error) {
	run := rec.History().Meta.ID
	for {
		fs, err := readBackOnce(ctx, lab, run)
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

func readBackOnce(ctx context.Context, lab *harness.Lab, run string) (results.FinalState, error) {
	if isMariaDB(lab) {
		return readBackMariaDB(ctx, lab, run)
	}
	leader, err := lab.Leader(ctx)
	if err != nil {
		return results.FinalState{}, err
	}
	c, err := lab.Connect(ctx, leader.Name)
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
