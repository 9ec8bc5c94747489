package experiment

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// RPORequest configures the replication-mode experiment: what does a leader
// crash lose when its WAL has not reached the followers?
type RPORequest struct {
	// Mode is the replication mode under test.
	Mode topologies.ReplicationMode
	Log  *slog.Logger
	// OutDir receives results/<run-id>/ (default "results").
	OutDir string
	// Slow, when not zero, slows the links between the leader and every
	// follower (chaos.SlowLinks, each way) instead of cutting them. Delay
	// alone loses nothing on a crash with the userspace backend: the WAL
	// the leader sent is held where it arrives and still reaches the
	// followers, as bytes on a real wire would. What async loses is the
	// backlog that never left the leader, so give Slow a Rate below the
	// rate the workload writes WAL at.
	Slow netem.Impairment
	// Rate is the writer's rate (default 100/s).
	Rate float64
	// LabOptions provision the trial's lab (see Request.LabOptions).
	LabOptions []harness.Option
	// Topology is the trial's lab (default topologies.Default()). On a
	// MariaDB topology the trial is MariaDBRPOScenario: replab's runbook
	// promotes, and Slow is refused.
	Topology *topologies.Topology
}

// RPOResult is what one trial measured.
type RPOResult struct {
	Mode topologies.ReplicationMode
	// Fault is what separated the leader from its followers before it
	// died: "partition" or "slow-links".
	Fault     string
	RunID     string
	Dir       string
	OldLeader string
	// NewLeader is who took over; empty when Patroni promoted nobody and
	// the old leader had to come back.
	NewLeader string
	// Lost are acknowledged writes missing after recovery (the RPO, in rows).
	Lost int
	// Acked counts acknowledged writes; AckedDuringCut those acknowledged
	// and invoked while the followers certainly could not receive the WAL:
	// from the cut's end stamp to the kill's begin.
	Acked, AckedDuringCut int
	// UnknownFound and UnknownAbsent split writes of unknown outcome.
	UnknownFound, UnknownAbsent int
	// Phantom are rows another session read while their write was in
	// flight and that were gone after the failover (results.PhantomReads);
	// PhantomUnacked those never acknowledged to their writer.
	Phantom, PhantomUnacked int
	// Errant counts the transactions a MariaDB primary came back with
	// that its successor never received (-1: not measured).
	Errant int
	// Steady is the writer's commit latency before the fault: what the
	// mode costs every write while nothing is wrong.
	Steady  results.Latency
	History results.History
	Verdict results.Verdict
}

func (r *RPORequest) defaults() {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.OutDir == "" {
		r.OutDir = "results"
	}
	if r.Rate <= 0 {
		r.Rate = 100
	}
}

// RPO runs one trial of RPOScenario (MariaDBRPOScenario on a MariaDB
// topology) in the given mode, through Execute, and reports it in the
// terms `replab rpo` prints.
func RPO(ctx context.Context, req RPORequest) (RPOResult, error) {
	req.defaults()
	topo := req.Topology
	if topo == nil {
		topo = topologies.Default()
	}
	sc := RPOScenario(RPOSpec{Mode: req.Mode, Slow: req.Slow})
	if topo.Engine.Kind == topologies.EngineMariaDB {
		if !req.Slow.IsZero() {
			return RPOResult{Mode: req.Mode}, errors.New("rpo: slowed links are not built for MariaDB labs yet; cut them instead")
		}
		sc = MariaDBRPOScenario(req.Mode)
	}
	sc.Profile = workload.Steady
	sc.Profile.WriteRate = req.Rate
	res, err := Execute(ctx, Request{Scenario: sc, Topology: topo, OutDir: req.OutDir, Log: req.Log.With("mode", string(req.Mode)), LabOptions: req.LabOptions})
	out := RPOResult{Mode: req.Mode, Fault: "partition", RunID: res.RunID, Dir: res.Dir, NewLeader: res.Leader, History: res.History, Verdict: res.Verdict}
	if !req.Slow.IsZero() {
		out.Fault = "slow-links"
	}
	if a := res.Faults["kill"]; a != nil {
		out.OldLeader = a.Target
	}
	out.AckedDuringCut, _ = strconv.Atoi(res.Measured(MeasureAckedDuringFault))
	out.Errant = -1
	if v, err := strconv.Atoi(res.Measured(MeasureErrant)); err == nil {
		out.Errant = v
	}
	lw := results.LostWrites(res.History)
	out.Lost, out.Acked = len(lw.Lost), lw.Acknowledged
	out.UnknownFound, out.UnknownAbsent = len(lw.UnknownFound), len(lw.UnknownAbsent)
	if fs := results.Faults(res.History); len(fs) > 0 {
		out.Steady = results.WriteLatency(res.History, "writer-0", results.Window{To: fs[0].Injected})
	}
	ph := results.PhantomReads(res.History)
	out.Phantom, out.PhantomUnacked = len(ph.Keys), ph.Unacknowledged
	return out, err
}
