package experiment

import (
	"context"
	"log/slog"
	"strings"
	"time"

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

// LeaderKill runs the leader-kill scenario (LeaderKillScenario) through
// Execute, with the request's warm-up, settle time, timeout and writer
// rate, and reports it in the terms `replab lab` prints: who died, who
// took over, who could have, and when the old leader streamed again.
func LeaderKill(ctx context.Context, req LeaderKillRequest) (LeaderKillResult, error) {
	req.defaults()
	sc := LeaderKillScenario(LeaderKillSpec{Warmup: req.Warmup, Settle: req.Settle, Timeout: req.Timeout})
	sc.Profile = workload.Steady
	sc.Profile.WriteRate = req.Rate
	res, err := Execute(ctx, Request{Scenario: sc, Topology: req.Topology, Lab: req.Lab, Keep: req.Keep, OutDir: req.OutDir, Log: req.Log})
	out := LeaderKillResult{RunID: res.RunID, Dir: res.Dir, LabID: res.LabID, Timings: res.Timings, NewLeader: res.Leader,
		History: res.History, Verdict: res.Verdict}
	if a := res.Faults["kill"]; a != nil {
		out.OldLeader = a.Target
	}
	out.MostAdvanced = splitFigure(res.Measured(MeasureMostAdvanced))
	out.SyncStandbys = splitFigure(res.Measured(MeasureSyncStandbys))
	out.RejoinTime, out.Rejoined = rejoinTime(res.History, out.OldLeader)
	return out, err
}

// Figures the leader-kill run measures around the kill.
const (
	MeasureSyncStandbys = "synchronous standbys before the kill"
	MeasureMostAdvanced = "most advanced followers after the kill"
)

// membersFigure lists, comma-separated, the members pick chooses now.
func membersFigure(ctx context.Context, r *Run, pick func([]harness.Member) []string) string {
	ms, err := r.Lab.Members(ctx)
	if err != nil {
		return ""
	}
	return strings.Join(pick(ms), ",")
}

func splitFigure(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// rejoinTime is how long node took, after its fault's heal began, to be
// seen streaming again (the member.streaming event), if it was.
func rejoinTime(h results.History, node string) (time.Duration, bool) {
	for _, f := range results.Faults(h) {
		if f.Node != node || f.EndReason != results.EndHealed {
			continue
		}
		for _, e := range h.Events {
			if e.Kind == results.EventStreaming && e.Node == node && e.At >= f.End {
				return e.At - f.End, true
			}
		}
	}
	return 0, false
}
