package workload

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// The heartbeat's cadence. A follower's visibility lag is measured to
// HeartbeatPeriod: a follower less than one heartbeat behind shows every
// acknowledged heartbeat, so it reads as 0.
const (
	HeartbeatPeriod = 50 * time.Millisecond
	HeartbeatPoll   = 100 * time.Millisecond
)

// heartbeatSQL holds one row whose seq the heartbeat writer bumps.
const heartbeatSQL = `
CREATE TABLE IF NOT EXISTS replab_heartbeat (id int PRIMARY KEY, seq bigint NOT NULL);
INSERT INTO replab_heartbeat VALUES (1, 0) ON CONFLICT DO NOTHING;
`

// heartbeats is the writer's acknowledged sequence numbers, ascending,
// with the time each was acknowledged on the run's clock.
type heartbeats struct {
	mu   sync.Mutex
	seqs []int64
	acks []time.Duration
}

func (h *heartbeats) acked(seq int64, at time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seqs = append(h.seqs, seq)
	h.acks = append(h.acks, at)
}

// staleness is how a reader that shows heartbeat seen at time at is
// behind: the age, at at, of the oldest heartbeat acknowledged after seen
// (one it does not show although its commit was acknowledged), or 0 when
// it shows every heartbeat acknowledged before at. Unlike byte or replay
// lag it counts what a client would miss, including while the follower is
// not connected to any leader at all.
func (h *heartbeats) staleness(seen int64, at time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.seqs), func(i int) bool { return h.seqs[i] > seen })
	if i == len(h.seqs) || h.acks[i] >= at {
		return 0
	}
	return at - h.acks[i]
}

// StartHeartbeat measures visibility lag, what a reader of a follower
// sees: every HeartbeatPeriod it bumps a sequence number through the
// read-write endpoint, and every HeartbeatPoll it reads each node directly;
// a node in recovery yields a results.MetricLagHeartbeatSeconds sample
// (see heartbeats.staleness). A node that cannot be read yields no sample:
// dead members are the availability checker's business. The tables must
// exist (Prepare). On a MariaDB lab the same runs in MySQL's protocol
// (startMariaDBHeartbeat).
func StartHeartbeat(ctx context.Context, lab *harness.Lab, rec *results.Recorder) *Workload {
	// A sample is an age counted in heartbeats: it cannot resolve less
	// than one period.
	rec.SetResolution(results.MetricLagHeartbeatSeconds, HeartbeatPeriod)
	hb := &heartbeats{}
	return startGroup(ctx, func(ctx context.Context) []*Workload {
		if isMariaDB(lab) {
			return startMariaDBHeartbeat(ctx, lab, rec, hb)
		}
		ws := []*Workload{startHeartbeatWriter(ctx, lab, rec, hb)}
		for _, n := range lab.Topology().Nodes() {
			ws = append(ws, startHeartbeatReader(ctx, lab, rec, hb, n.Name))
		}
		return ws
	})
}

func startHeartbeatWriter(ctx context.Context, lab *harness.Lab, rec *results.Recorder, hb *heartbeats) *Workload {
	var seq int64
	return startConnPeriodic(ctx, lab, HeartbeatPeriod, time.Second, harness.EndpointRW, func(ctx context.Context, conn *pgx.Conn) error {
		seq++
		if _, err := conn.Exec(ctx, `UPDATE replab_heartbeat SET seq = $1 WHERE id = 1`, seq); err != nil {
			return err
		}
		hb.acked(seq, rec.Now())
		return nil
	})
}

func startHeartbeatReader(ctx context.Context, lab *harness.Lab, rec *results.Recorder, hb *heartbeats, node string) *Workload {
	return startConnPeriodic(ctx, lab, HeartbeatPoll, HeartbeatPoll*5, node, func(ctx context.Context, conn *pgx.Conn) error {
		// The snapshot is taken after at: a heartbeat acknowledged before
		// at must be in it.
		at := rec.Now()
		var standby bool
		var seen int64
		if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), seq FROM replab_heartbeat WHERE id = 1`).Scan(&standby, &seen); err != nil {
			return err
		}
		if standby {
			rec.Sample(results.Sample{Metric: results.MetricLagHeartbeatSeconds, Node: node, Value: hb.staleness(seen, at).Seconds()})
		}
		return nil
	})
}
