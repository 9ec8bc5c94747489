package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/go-sql-driver/mysql"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// MariaDB labs run the same clients in MySQL's protocol: the writer and
// the probes through mariadbClient, the heartbeat and the read-back on
// their tables, and a lag sampler reading SHOW SLAVE STATUS. They connect
// as the lab's application account (harness.Lab.AppSQL), which read_only
// binds, as it binds an application's.

// mariadbClient is a MariaDB session: one connection, and the node it
// landed on (@@hostname, a node's name in a lab) read when it opened.
type mariadbClient struct {
	db   *sql.DB
	conn *sql.Conn
	node string
}

func dialMariaDB(ctx context.Context, lab *harness.Lab, target string) (client, error) {
	db, err := lab.AppSQL(target)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	c := &mariadbClient{db: db, conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT @@hostname").Scan(&c.node); err != nil {
		c.close(ctx)
		return nil, err
	}
	return c, nil
}

func (c *mariadbClient) insert(ctx context.Context, key int64, process, run string, _ []byte) (string, error) {
	if _, err := c.conn.ExecContext(ctx, "INSERT INTO replab_writes (id, process, run) VALUES (?, ?, ?)", key, process, run); err != nil {
		return "", err
	}
	return c.node, nil
}

func (c *mariadbClient) found(ctx context.Context, key int64, run string) (bool, string, error) {
	var n int
	err := c.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM replab_writes WHERE run = ? AND id = ?", run, key).Scan(&n)
	return n > 0, c.node, err
}

func (c *mariadbClient) close(context.Context) {
	_ = c.conn.Close()
	_ = c.db.Close()
}

// MariaDB server errors whose statement may have committed: the server
// going down, or the session killed, while it ran.
const (
	erServerShutdown   = 1053
	erConnectionKilled = 1927
)

// mariadbServerError reports whether err is the server refusing the
// statement (read-only: 1290), the session sound.
func mariadbServerError(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && myErr.Number != erServerShutdown && myErr.Number != erConnectionKilled
}

// classifyMariaDB classifies a MariaDB client's error (ok false: not
// one). A refused statement, a connection that was dead before the
// statement went out (driver.ErrBadConn) or that never opened did not
// commit; a connection lost while the statement ran (mysql.ErrInvalidConn)
// may have.
func classifyMariaDB(err error) (results.Outcome, bool) {
	var myErr *mysql.MySQLError
	var opErr *net.OpError
	switch {
	case errors.As(err, &myErr):
		if myErr.Number == erServerShutdown || myErr.Number == erConnectionKilled {
			return results.Unknown, true
		}
		return results.Failed, true
	case errors.Is(err, driver.ErrBadConn):
		return results.Failed, true
	case errors.Is(err, mysql.ErrInvalidConn):
		return results.Unknown, true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return results.Failed, true
	}
	return "", false
}
