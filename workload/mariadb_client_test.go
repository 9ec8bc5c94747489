package workload

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/replab/replab/results"
)

// A MariaDB write's outcome: refused or never sent is failed; lost while
// the statement ran is unknown, as for PostgreSQL.
func TestClassifyMariaDB(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want results.Outcome
		kept bool // the session survives (serverError)
	}{
		{"read-only refusal", &mysql.MySQLError{Number: 1290, Message: "The MariaDB server is running with the --read-only option"}, results.Failed, true},
		{"shutdown while it ran", &mysql.MySQLError{Number: erServerShutdown}, results.Unknown, false},
		{"session killed", fmt.Errorf("insert: %w", &mysql.MySQLError{Number: erConnectionKilled}), results.Unknown, false},
		{"dead before sending", driver.ErrBadConn, results.Failed, false},
		{"lost mid-statement", mysql.ErrInvalidConn, results.Unknown, false},
		{"could not connect", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, results.Failed, false},
		{"timed out", context.DeadlineExceeded, results.Unknown, false},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %s, want %s", c.name, got, c.want)
		}
		if got := serverError(c.err); got != c.kept {
			t.Errorf("%s: serverError = %v, want %v", c.name, got, c.kept)
		}
	}
}
