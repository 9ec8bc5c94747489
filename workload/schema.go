package workload

import (
	"context"
	"fmt"

	"github.com/replab/replab/harness"
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

// Prepare creates the workload's tables through the read-write
// endpoint.
func Prepare(ctx context.Context, lab *harness.Lab) error {
	if isMariaDB(lab) {
		return prepareMariaDB(ctx, lab)
	}
	c, err := lab.Connect(ctx, harness.EndpointRW)
	if err != nil {
		return fmt.Errorf("prepare workload: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, schemaSQL+heartbeatSQL+payloadSQL); err != nil {
		return fmt.Errorf("prepare workload: create tables: %w", err)
	}
	return nil
}
