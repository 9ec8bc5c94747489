package workload

import (
	"context"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// WriterConfig configures a writer.
type WriterConfig struct {
	// Rate is writes per second (default 100).
	Rate float64
	// OpTimeout bounds one write, connect included (default 1s). A write
	// that times out after being sent has an unknown outcome.
	OpTimeout time.Duration
	// Process names the writer in the history (default "writer-0").
	Process string
	// Target is an endpoint or node name (default harness.EndpointRW).
	Target string
	// Region, for an endpoint Target, is the region of the client: it
	// connects through that region's endpoint (harness.Lab.EndpointIn)
	// and is recorded under the plain route. Default: the primary
	// region's.
	Region string
	// FirstKey is the first id written (default 1); ids go up by one.
	FirstKey int64
	// Run is the run id written with every row (ReadBack reads only the
	// recorder's run).
	Run string
	// Kind is how writes are recorded (default results.OpWrite); direct
	// per-member probes for the split-brain checker use results.OpProbe.
	Kind results.OpKind
	// ConnectTimeout bounds a reconnect within OpTimeout (default: no
	// tighter bound), so a dead target does not stall a fast prober.
	ConnectTimeout time.Duration
	// KeepOnServerError keeps the session after a server error (e.g. a
	// read-only replica refusing a probe) instead of reconnecting. Off for
	// the endpoint: there a server error can mean the session is stuck on
	// a demoted leader.
	KeepOnServerError bool
	// PayloadBytes, when above 0, inserts that many incompressible bytes
	// into replab_payload with every write, in the same statement.
	PayloadBytes int
	payload      []byte
	// inflight, when set, is told each key before it is written, and
	// each key whose write ended with an unknown outcome.
	inflight *inflight
}

// StartWriter inserts sequential ids at a steady rate, recording each write
// with its invoke and complete times, the member that served it and its
// outcome: ok, failed (certainly not committed) or unknown (the connection
// died or timed out after the statement was sent).
func StartWriter(ctx context.Context, lab *harness.Lab, rec *results.Recorder, cfg WriterConfig) *Workload {
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = time.Second
	}
	if cfg.ConnectTimeout <= 0 || cfg.ConnectTimeout > cfg.OpTimeout {
		cfg.ConnectTimeout = cfg.OpTimeout
	}
	if cfg.Process == "" {
		cfg.Process = "writer-0"
	}
	if cfg.Target == "" {
		cfg.Target = harness.EndpointRW
	}
	if cfg.FirstKey == 0 {
		cfg.FirstKey = 1
	}
	if cfg.Kind == "" {
		cfg.Kind = results.OpWrite
	}
	cfg.payload = newPayload(cfg.PayloadBytes)
	var conn client
	key := cfg.FirstKey
	return startPeriodic(ctx, time.Duration(float64(time.Second)/cfg.Rate), func(ctx context.Context) {
		if cfg.inflight != nil {
			cfg.inflight.key.Store(key)
		}
		p := rec.Begin(results.OpStart{Kind: cfg.Kind, Process: cfg.Process, Target: cfg.Target, Key: key})
		var end results.OpEnd
		conn, end = writeOnce(ctx, lab, conn, cfg, key)
		p.End(end)
		if cfg.inflight != nil && end.Outcome == results.Unknown {
			cfg.inflight.unknown(key)
		}
		key++
	}, func() {
		if conn != nil {
			conn.close(ctx)
		}
	})
}

// writeOnce performs one insert, reconnecting first if needed, and
// classifies the outcome. A write sent to a node (not an endpoint) is
// attributed to that node whatever its outcome.
func writeOnce(ctx context.Context, lab *harness.Lab, conn client, cfg WriterConfig, key int64) (client, results.OpEnd) {
	var member string
	if cfg.Target != harness.EndpointRW && cfg.Target != harness.EndpointRO {
		member = cfg.Target
	}
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	defer cancel()
	if conn == nil {
		cctx, ccancel := context.WithTimeout(octx, cfg.ConnectTimeout)
		c, err := dialClient(cctx, lab, endpointIn(lab, cfg.Target, cfg.Region))
		ccancel()
		if err != nil {
			return nil, results.OpEnd{Outcome: results.Failed, Member: member, Err: err}
		}
		conn = c
	}
	served, err := conn.insert(octx, key, cfg.Process, cfg.Run, cfg.payload)
	if err == nil {
		return conn, results.OpEnd{Outcome: results.OK, Member: served}
	}
	if !cfg.KeepOnServerError || !serverError(err) {
		conn.close(ctx)
		conn = nil
	}
	return conn, results.OpEnd{Outcome: classify(err), Member: member, Err: err}
}

// endpointIn is what a client in region connects to for target: the
// region's endpoint for a route (rw, ro), target itself for a node.
func endpointIn(lab *harness.Lab, target, region string) string {
	if target != harness.EndpointRW && target != harness.EndpointRO {
		return target
	}
	return lab.EndpointIn(target, region)
}
