package workload

import (
	"crypto/rand"
)

// BulkPayloadBytes is the payload the Bulk profile's writer adds to every
// write.
const BulkPayloadBytes = 8 << 10

// Bulk is the steady profile whose endpoint writes each carry
// BulkPayloadBytes of incompressible bytes: about 850 KB/s (7 Mbit/s) of
// WAL at 100 writes/s where Steady makes about 30 KB/s, enough to saturate
// a rate-limited follower link and to keep a follower's replay busy. The
// writer's rows, ids and outcomes are recorded as Steady's are, so every
// checker judges a bulk run alike.
var Bulk = Profile{Name: "bulk", WriteRate: 100, SessionRate: 10, ProbePeriod: ProbePeriod, ReaderPeriod: ReaderPeriod, PayloadBytes: BulkPayloadBytes}

// payloadSQL holds the writer's payloads, apart from replab_writes so that
// a profile without payload writes exactly the rows it always wrote. The
// table has no index: its rows are never read, only replicated.
const payloadSQL = `
CREATE TABLE IF NOT EXISTS replab_payload (run text NOT NULL, id bigint NOT NULL, payload bytea NOT NULL);
`

// insertSQL is the writer's statement: $1 id, $2 process, $3 run, and with
// a payload $4 the bytes, inserted into replab_payload by the same
// statement (one transaction, one commit) as the write it belongs to.
func insertSQL(payload bool) string {
	const write = `INSERT INTO replab_writes (id, process, run) VALUES ($1, $2, $3) RETURNING host(inet_server_addr())`
	if !payload {
		return write
	}
	return `WITH p AS (INSERT INTO replab_payload (run, id, payload) VALUES ($3, $1, $4)) ` + write
}

// newPayload returns n random bytes: PostgreSQL's TOAST compression finds
// nothing to squeeze in them, so each write logs about n bytes of WAL. One
// buffer serves every write of a writer: WAL is not deduplicated across
// rows, and drawing fresh bytes would cost the client CPU the lab needs.
func newPayload(n int) []byte {
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}
