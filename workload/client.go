package workload

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// client is one session of a workload process on a node or an endpoint,
// in the protocol of the lab's engine. The writer and the probes write
// through it, so each engine's rows, outcomes and members are recorded
// alike and every checker judges them alike.
type client interface {
	// insert writes one row of run and returns the node that served it.
	insert(ctx context.Context, key int64, process, run string, payload []byte) (member string, err error)
	// found reads whether run's row key is visible, and the node that
	// answered.
	found(ctx context.Context, key int64, run string) (ok bool, member string, err error)
	close(ctx context.Context)
}

// dialClient opens a session on target (an endpoint such as rw@eu-west,
// or a node) in the lab's engine.
func dialClient(ctx context.Context, lab *harness.Lab, target string) (client, error) {
	if isMariaDB(lab) {
		return dialMariaDB(ctx, lab, target)
	}
	c, err := lab.Connect(ctx, target)
	if err != nil {
		return nil, err
	}
	return pgClient{conn: c, lab: lab}, nil
}

func isMariaDB(lab *harness.Lab) bool {
	return lab.Topology().Engine.Kind == topologies.EngineMariaDB
}

// pgClient is a PostgreSQL session (pgx).
type pgClient struct {
	conn *pgx.Conn
	lab  *harness.Lab
}

func (c pgClient) insert(ctx context.Context, key int64, process, run string, payload []byte) (string, error) {
	var addr string
	args := []any{key, process, run}
	if payload != nil {
		args = append(args, payload)
	}
	if err := c.conn.QueryRow(ctx, insertSQL(payload != nil), args...).Scan(&addr); err != nil {
		return "", err
	}
	return c.lab.NodeByIP(addr), nil
}

func (c pgClient) found(ctx context.Context, key int64, run string) (bool, string, error) {
	var ok bool
	var addr string
	err := c.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM replab_writes WHERE run = $2 AND id = $1), host(inet_server_addr())`, key, run).Scan(&ok, &addr)
	return ok, c.lab.NodeByIP(addr), err
}

func (c pgClient) close(ctx context.Context) { _ = c.conn.Close(context.WithoutCancel(ctx)) }

// serverError reports whether err is the server refusing the statement
// (read-only, a constraint): the session itself is sound.
func serverError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || mariadbServerError(err)
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
	if o, ok := classifyMariaDB(err); ok {
		return o
	}
	if pgconn.SafeToRetry(err) {
		return results.Failed
	}
	return results.Unknown
}

// pgConnOf is a PostgreSQL client's connection (nil for none or another
// engine's): what the sessions read positions and replicas on.
func pgConnOf(c client) *pgx.Conn {
	if p, ok := c.(pgClient); ok {
		return p.conn
	}
	return nil
}

// asClient wraps a PostgreSQL connection; nil stays nil.
func asClient(lab *harness.Lab, conn *pgx.Conn) client {
	if conn == nil {
		return nil
	}
	return pgClient{conn: conn, lab: lab}
}

func closeClient(ctx context.Context, c client) {
	if c != nil {
		c.close(ctx)
	}
}
