package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// LeaderKillRequest configures the leader-loss experiment.
type LeaderKillRequest struct {
	Topology *topologies.Topology
	Log      *slog.Logger
	// OutDir receives results/<run-id>/ (default "results").
	OutDir string
	// Warmup is how long the writer runs before the fault (default 5s).
	Warmup time.Duration
	// Settle is how long the writer keeps running after the first write
	// the new leader acknowledged (default 3s).
	Settle time.Duration
	// Timeout bounds the wait for a new leader and for the old one to
	// rejoin (default 90s each).
	Timeout time.Duration
	// Rate is the writer's rate (default 100/s).
	Rate float64
	// Keep leaves the lab running at the end (its id is in the result).
	Keep bool
	// Lab runs the experiment on an already provisioned lab instead of a
	// new one; it is not removed at the end.
	Lab *harness.Lab
}

// LeaderKillResult is what the experiment measured.
type LeaderKillResult struct {
	RunID     string
	Dir       string // where results.json and friends were written
	LabID     string
	Timings   harness.Timings
	OldLeader string
	NewLeader string
	// MostAdvanced lists the followers that had received the most WAL
	// once the leader was dead; in async mode the new leader is one of them.
	MostAdvanced []string
	// SyncStandbys were the synchronous standbys at the fault: in
	// semi-sync and sync modes, the only followers Patroni may promote.
	SyncStandbys []string
	Rejoined     bool // the old leader came back as a streaming replica
	RejoinTime   time.Duration
	History      results.History
	Verdict      results.Verdict
}

func (r *LeaderKillRequest) defaults() {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.OutDir == "" {
		r.OutDir = "results"
	}
	if r.Warmup <= 0 {
		r.Warmup = 5 * time.Second
	}
	if r.Settle <= 0 {
		r.Settle = 3 * time.Second
	}
	if r.Timeout <= 0 {
		r.Timeout = 90 * time.Second
	}
	if r.Rate <= 0 {
		r.Rate = 100
	}
}

// LeaderKill provisions the topology (unless req.Lab is set), runs a writer
// through the read-write endpoint, SIGKILLs the leader's container, waits
// for a new leader and for writes to resume, starts the old leader again and
// waits for it to rejoin as a replica, reads every write back, and evaluates
// the topology's SLA. The results directory is written even when a later
// step fails, so a failure can be studied.
func LeaderKill(ctx context.Context, req LeaderKillRequest) (res LeaderKillResult, err error) {
	req.defaults()
	log := req.Log
	lab := req.Lab
	if lab == nil {
		lab, err = harness.Up(ctx, req.Topology, harness.WithLogger(log))
		if err != nil {
			return res, err
		}
		if !req.Keep {
			defer func() { err = errors.Join(err, lab.Down(ctx)) }()
		}
	}
	res.LabID = lab.ID()
	res.Timings = lab.Timings()

	r, err := startRun(ctx, lab, "leader-kill", req.Rate)
	if err != nil {
		return res, err
	}
	defer r.stop()
	defer func() { err = errors.Join(err, r.heal(ctx)) }()
	res.RunID = r.id
	writeAnyway := func(cause error) error {
		res.History, res.Verdict, res.Dir, cause = r.write(req.OutDir, cause)
		return cause
	}

	log.Info("writer running", "rate", req.Rate, "warmup", req.Warmup)
	if err := sleep(ctx, req.Warmup); err != nil {
		r.stop()
		return res, err
	}

	before, err := lab.Members(ctx)
	if err != nil {
		r.stop()
		return res, err
	}
	fault, err := r.inj.Inject(ctx, chaos.Kill(chaos.Leader))
	if err != nil {
		r.stop()
		return res, err
	}
	res.OldLeader = fault.Target
	// With the leader dead the followers' received positions are final:
	// what Patroni compares. In (semi-)sync modes only a synchronous
	// standby is eligible.
	if after, err := lab.Members(ctx); err == nil {
		res.MostAdvanced = harness.MostAdvanced(after)
	}
	res.SyncStandbys = harness.SyncStandbys(before)
	log.Info("killed the leader with SIGKILL", "leader", res.OldLeader, "most_advanced_followers", res.MostAdvanced)

	res.NewLeader, err = WaitNewLeader(ctx, lab, res.OldLeader, req.Timeout)
	if err != nil {
		r.stop()
		return res, writeAnyway(err)
	}
	if err := WaitWriteAfter(ctx, r.rec, fault.Injected, req.Timeout); err != nil {
		r.stop()
		return res, writeAnyway(err)
	}
	log.Info("new leader accepts writes", "leader", res.NewLeader)
	if err := sleep(ctx, req.Settle); err != nil {
		r.stop()
		return res, err
	}

	log.Info("starting the old leader again", "node", res.OldLeader)
	healedAt := time.Now()
	if err := fault.Heal(ctx); err != nil {
		r.stop()
		return res, writeAnyway(err)
	}
	if err := WaitStreaming(ctx, lab, res.OldLeader, req.Timeout); err != nil {
		log.Warn("old leader did not rejoin", "node", res.OldLeader, "err", err)
	} else {
		res.Rejoined = true
		res.RejoinTime = time.Since(healedAt)
		r.rec.Event(results.Event{Kind: results.EventStreaming, Node: res.OldLeader, Resolution: PollPeriod})
		log.Info("old leader rejoined as a replica", "node", res.OldLeader, "after", res.RejoinTime.Round(time.Millisecond))
	}
	r.stop()

	rctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	if _, err := workload.ReadBack(rctx, lab, r.rec); err != nil {
		return res, writeAnyway(err)
	}
	return res, writeAnyway(nil)
}

// Targets converts a topology's SLA into the checker's targets.
func Targets(t *topologies.Topology) results.Targets {
	var out results.Targets
	if t == nil {
		return out
	}
	out.AllowInconclusive = t.SLA.AllowInconclusive
	out.FailoverTimeMax = t.SLA.FailoverTimeMax
	out.LostWritesMax = t.SLA.LostWritesMax
	out.ReplicationLagP99 = t.SLA.ReplicationLagP99
	if t.SLA.AvailabilityMin != nil {
		v := float64(*t.SLA.AvailabilityMin)
		out.AvailabilityMin = &v
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func poll(ctx context.Context, timeout time.Duration, what string, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(PollPeriod):
		}
	}
}

// PollPeriod is how often the Wait functions poll: the resolution of what
// they observe.
const PollPeriod = 100 * time.Millisecond

// WaitNewLeader waits up to timeout for a running leader other than old
// and returns its name.
func WaitNewLeader(ctx context.Context, lab *harness.Lab, old string, timeout time.Duration) (string, error) {
	var name string
	err := poll(ctx, timeout, "a new leader", func() (bool, error) {
		m, err := lab.Leader(ctx)
		if err != nil || m.Name == old || m.State != "running" {
			return false, err
		}
		name = m.Name
		return true, nil
	})
	return name, err
}

// WaitWriteAfter waits up to timeout until the recorder holds an
// acknowledged write invoked at or after the given moment (the fault).
func WaitWriteAfter(ctx context.Context, rec *results.Recorder, after time.Duration, timeout time.Duration) error {
	return poll(ctx, timeout, "the first acknowledged write after the fault", func() (bool, error) {
		return rec.AckedWrites(after) > 0, nil
	})
}

// WaitStreaming waits up to timeout until the named member is a replica
// streaming from its upstream.
func WaitStreaming(ctx context.Context, lab *harness.Lab, name string, timeout time.Duration) error {
	return poll(ctx, timeout, name+" streaming again", func() (bool, error) {
		ms, err := lab.Members(ctx)
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			if m.Name == name {
				return m.Role == harness.RoleReplica && m.State == "streaming", nil
			}
		}
		return false, nil
	})
}
