package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/replab/replab/chaos"
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
	// Warmup is how long the writer runs before the cut (default 3s).
	Warmup time.Duration
	// Cut is how long the leader's WAL is cut off from every follower
	// (or slowed, with Slow) before the leader dies (default 2s).
	Cut time.Duration
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
	// Timeout bounds each wait (default 90s). Waiting for a promotion is
	// bounded by the TTL plus 25s: in (semi-)sync mode Patroni may promote
	// nobody, which is a finding, not a failure.
	Timeout time.Duration
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
	History                     results.History
	Verdict                     results.Verdict
}

func (r *RPORequest) defaults() {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.OutDir == "" {
		r.OutDir = "results"
	}
	if r.Warmup <= 0 {
		r.Warmup = 3 * time.Second
	}
	if r.Cut <= 0 {
		r.Cut = 2 * time.Second
	}
	if r.Rate <= 0 {
		r.Rate = 100
	}
	if r.Timeout <= 0 {
		r.Timeout = 90 * time.Second
	}
}

// RPO runs one trial on the default lab in the given mode: a writer at
// Rate through the endpoint; the leader's traffic to and from every
// follower is dropped (or, with Slow, slowed) for Cut (it keeps its lock
// and its clients); then it is SIGKILLed, the fault is healed, and whoever
// Patroni promotes (or, if it promotes nobody, the old leader started
// again) is read back.
//
// The article's claim, measured: async acknowledges what no follower has,
// so the writes acknowledged during the cut are lost; semi-sync and sync
// do not acknowledge them (or Patroni refuses to promote a follower that
// lacks them), so nothing acknowledged is lost.
func RPO(ctx context.Context, req RPORequest) (res RPOResult, err error) {
	req.defaults()
	log := req.Log.With("mode", string(req.Mode))
	res.Mode = req.Mode
	t := topologies.Default()
	t.Replication.Mode = req.Mode
	t.Replication.SyncStandbys = 1
	if req.Mode == topologies.Async {
		t.Replication.SyncStandbys = 0
	}
	lab, err := harness.Up(ctx, t, harness.WithLogger(log))
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, lab.Down(ctx)) }()

	r, err := startRun(ctx, lab, "rpo-"+string(req.Mode), req.Rate)
	if err != nil {
		return res, err
	}
	defer r.stop()
	defer func() { err = errors.Join(err, r.heal(ctx)) }()
	res.RunID = r.id
	finish := func(cause error) error {
		r.stop()
		res.History, res.Verdict, res.Dir, cause = r.write(req.OutDir, cause)
		lw := results.LostWrites(res.History)
		res.Lost, res.Acked = len(lw.Lost), lw.Acknowledged
		res.UnknownFound, res.UnknownAbsent = len(lw.UnknownFound), len(lw.UnknownAbsent)
		return cause
	}

	if err := sleep(ctx, req.Warmup); err != nil {
		return res, err
	}
	fault := chaos.Partition(chaos.Leader, chaos.Followers)
	if !req.Slow.IsZero() {
		fault = chaos.SlowLinks(chaos.Leader, chaos.Followers, req.Slow)
	}
	res.Fault = fault.Name()
	leader, err := lab.LeaderName(ctx)
	if err != nil {
		return res, finish(err)
	}
	cut, err := r.inj.Inject(ctx, fault)
	if err != nil {
		return res, finish(err)
	}
	res.OldLeader = leader
	log.Info("leader separated from its followers", "leader", res.OldLeader, "fault", cut.Target, "slow", req.Slow.String(), "for", req.Cut)
	if err := sleep(ctx, req.Cut); err != nil {
		return res, finish(err)
	}
	kill, err := r.inj.Inject(ctx, chaos.Kill(chaos.Node(res.OldLeader)))
	if err != nil {
		return res, finish(err)
	}
	// Counted from when the cut was wholly in effect (its end stamp) to
	// the kill's begin: writes no follower can have received. Writes
	// acknowledged while the rules were going in are not counted.
	res.AckedDuringCut = r.rec.AckedWrites(cut.InjectEnd) - r.rec.AckedWrites(kill.Injected)
	if err := cut.Heal(ctx); err != nil {
		return res, finish(err)
	}
	log.Info("leader killed, followers reconnected", "acked_during_cut", res.AckedDuringCut)

	promotion := lab.Topology().Patroni.TTL + 25*time.Second
	res.NewLeader, err = WaitNewLeader(ctx, lab, res.OldLeader, promotion)
	switch {
	case err == nil:
		log.Info("new leader", "leader", res.NewLeader)
		if err := WaitWriteAfter(ctx, r.rec, kill.Injected, req.Timeout); err != nil {
			return res, finish(err)
		}
		if err := kill.Heal(ctx); err != nil {
			return res, finish(err)
		}
	case ctx.Err() == nil:
		// Patroni refused every follower: none was a synchronous standby
		// holding the leader's WAL. The old leader must come back.
		log.Info("no follower was promoted; starting the old leader again", "waited", promotion)
		r.rec.Event(results.Event{Kind: results.EventNote, Detail: fmt.Sprintf("no promotion within %s: Patroni found no eligible synchronous standby", promotion)})
		if err := kill.Heal(ctx); err != nil {
			return res, finish(err)
		}
	default:
		return res, finish(err)
	}
	if err := WaitWriteAfter(ctx, r.rec, kill.Injected, req.Timeout); err != nil {
		return res, finish(err)
	}
	r.stop()
	rctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	if _, err := workload.ReadBack(rctx, lab, r.rec); err != nil {
		return res, finish(err)
	}
	return res, finish(nil)
}
