package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Request is one run of a scenario.
type Request struct {
	Scenario Scenario
	// Topology is provisioned (after Scenario.Shape) unless Lab is set.
	Topology *topologies.Topology
	// Lab runs the scenario on a lab already up; it is not removed.
	Lab *harness.Lab
	// Keep leaves a lab Run provisioned running at the end.
	Keep bool
	// OutDir receives <run-id>/ (default "results").
	OutDir string
	Seed   int64
	Log    *slog.Logger
	// Labels are copied into the run's metadata.
	Labels map[string]string
	// LabOptions provision the lab (after the logger): which engine it
	// runs on (harness.WithEngine), whether it holds it alone
	// (harness.WithExclusiveEngine). Unused with Lab.
	LabOptions []harness.Option
	// Promoter fails a MariaDB primary over in the scenarios that need
	// one (default: replab's runbook, harness.Lab.PromoteMariaDB).
	Promoter Promoter
}

// Figure is a named measurement a scenario's Measure step took; it is
// also in the run's history (History.Figures).
type Figure = results.Figure

// Result is what a run measured. History and Verdict are set whenever the
// run got as far as starting its workload, failed or not.
type Result struct {
	Scenario string
	RunID    string
	Dir      string
	LabID    string
	// Lab is the lab the run used: still up only with Request.Keep (or a
	// lab the caller gave), for checks after the workload stopped.
	Lab     *harness.Lab
	Timings harness.Timings
	// Faults are the plan's faults by name: targets and stamps.
	Faults map[string]*chaos.Active
	// Leader is the leader the last NewLeaderAfter condition saw.
	Leader   string
	Measures []Figure
	History  results.History
	Verdict  results.Verdict
}

// Run is a scenario's state while it runs: what steps read and write.
type Run struct {
	Lab      *harness.Lab
	Rec      *results.Recorder
	Inj      *chaos.Injector
	Topology *topologies.Topology
	Log      *slog.Logger
	// Leader is set by NewLeaderAfter.
	Leader string
	// Promoter fails a MariaDB primary over (Request.Promoter).
	Promoter Promoter
	// promotedAt is where the MariaDB promotion promoted Leader (what it
	// had received of the old primary), for the old primary's rejoin.
	promotedAt string
	faults     map[string]*chaos.Active
	measures   []Figure
}

// Execute runs a scenario from start to end: it checks the topology's fit,
// provisions (or uses req.Lab), starts the recorder and the workload,
// runs the plan, heals every fault still active and reads every host back
// to baseline, reads the run's writes back, evaluates the SLA and writes
// OUTDIR/<run-id>/. On an error or a cancellation at any point it still
// heals, verifies, writes what it has and tears down; the error says
// which step failed.
func Execute(ctx context.Context, req Request) (res Result, err error) {
	sc := req.Scenario
	res.Scenario = sc.Name
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("scenario", sc.Name)
	if req.OutDir == "" {
		req.OutDir = "results"
	}
	profile := sc.Profile
	if profile.Name == "" {
		profile = workload.Steady
	}
	lab := req.Lab
	if lab == nil {
		if req.Topology == nil {
			return res, errors.New("run scenario: no topology and no lab")
		}
		t := *req.Topology // Shape changes scalar settings only
		if sc.Shape != nil {
			sc.Shape(&t)
		}
		if err := sc.Needs.Check(&t); err != nil {
			return res, fmt.Errorf("run scenario %s: %w", sc.Name, err)
		}
		lab, err = harness.Up(ctx, &t, append([]harness.Option{harness.WithLogger(log)}, req.LabOptions...)...)
		if err != nil {
			return res, err
		}
		if !req.Keep {
			defer func() { err = errors.Join(err, lab.Down(context.WithoutCancel(ctx))) }()
		}
	} else if err := sc.Needs.Check(lab.Topology()); err != nil {
		return res, fmt.Errorf("run scenario %s: %w", sc.Name, err)
	}
	res.Lab, res.LabID, res.Timings = lab, lab.ID(), lab.Timings()

	if err := workload.Prepare(ctx, lab); err != nil {
		return res, err
	}
	if sc.Netem {
		if err := lab.WAN().Prepare(ctx); err != nil {
			return res, fmt.Errorf("run scenario %s: %w", sc.Name, err)
		}
	}
	topo := lab.Topology()
	backend, _ := lab.WAN().Backend()
	res.RunID = NewRunID()
	labels := TopologyLabels(topo)
	labels["scenario"], labels["experiment"], labels["lab"], labels["profile"] = sc.Name, sc.Name, lab.ID(), profile.Name
	if sc.ClientRegion != nil {
		profile.ClientRegion = sc.ClientRegion(topo)
		labels["client_region"] = profile.ClientRegion
	}
	for k, v := range req.Labels {
		labels[k] = v
	}
	rec := results.NewRecorder(results.RunMeta{
		ID: res.RunID, Topology: topo.Name, Backend: backend, Started: time.Now(), Seed: req.Seed,
		Mode: string(topo.Replication.Mode), Labels: labels,
	})
	cluster := ClusterOf(lab)
	r := &Run{Lab: lab, Rec: rec, Inj: chaos.NewInjector(cluster, rec), Topology: topo, Log: log, Promoter: req.Promoter, faults: map[string]*chaos.Active{}}
	if r.Promoter == nil {
		r.Promoter = lab
	}
	stop := workload.Start(ctx, lab, rec, profile)
	log.Info("workload running", "profile", profile.Name, "rate", profile.WriteRate, "client_region", cmp.Or(profile.ClientRegion, topo.PrimaryRegion))

	var planErr error
	for i, st := range sc.Steps {
		log.Info(st.Text, "step", fmt.Sprintf("%d/%d", i+1, len(sc.Steps)))
		if err := st.do(ctx, r); err != nil {
			planErr = fmt.Errorf("run scenario %s: step %d (%s): %w", sc.Name, i+1, st.Text, err)
			break
		}
	}
	targets, terr := Targets(topo).Without(slices.Sorted(maps.Keys(sc.NotJudged))...)
	if planErr == nil && terr == nil {
		planErr = awaitRejoins(ctx, r, targets)
	}
	stop()
	if b, _ := lab.WAN().Backend(); b != backend {
		rec.SetBackend(b) // chosen by the plan's first slowed link
	}
	// No fault outlives its run: heal what is left, then read every host
	// back (running, thawed, no quota, no chaos rules, the baseline WAN).
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	healErr := r.Inj.HealAll(hctx)
	if healErr == nil {
		if verr := chaos.VerifyBaseline(hctx, cluster); verr != nil {
			healErr = fmt.Errorf("after the run: %w", verr)
		}
	}
	var readErr error
	if planErr == nil && healErr == nil {
		rctx, rcancel := context.WithTimeout(ctx, 90*time.Second)
		_, readErr = workload.ReadBack(rctx, lab, rec)
		rcancel()
	}
	var reportErr error
	if planErr == nil && healErr == nil && readErr == nil {
		for _, st := range sc.Report {
			log.Info(st.Text, "step", "report")
			if err := st.do(ctx, r); err != nil {
				reportErr = fmt.Errorf("run scenario %s: report step (%s): %w", sc.Name, st.Text, err)
				break
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sc.NotJudged)) {
		r.figure("not judged: "+name, sc.NotJudged[name])
	}
	res.Faults, res.Leader, res.Measures = r.faults, r.Leader, r.measures
	res.History = rec.History()
	res.Verdict = results.Evaluate(res.History, targets)
	res.Dir = filepath.Join(req.OutDir, res.RunID)
	werr := results.WriteRun(res.Dir, res.History, res.Verdict)
	return res, errors.Join(planErr, healErr, readErr, reportErr, terr, werr)
}

// RejoinWait bounds how long a run waits, after its plan, for its
// followers to stream and for the nodes its faults struck to catch up
// (results.PendingRejoins) before the workload stops. A rejoin cut short
// by the run's end could not be told from one that never ends; one still
// under way after RejoinWait fails the lag check, naming the node.
const RejoinWait = time.Minute

// rejoinSettle is how long every follower must have streamed before the
// run may end: long enough for the heartbeat to sample each one several
// times (workload.HeartbeatPoll), so that one still behind shows it.
const rejoinSettle = time.Second

// awaitRejoins waits up to RejoinWait, with the workload running, until
// every follower that answers streams from its upstream (a MariaDB node
// left detached is not trying to), has done so for
// rejoinSettle, and no rejoin is under way; it logs who it waits for
// every 10s. Right after a failover the followers have not reconnected
// yet (PostgreSQL retries every wal_retrieve_retry_interval) and their
// lag has not grown yet: ending there would leave their rejoin unseen.
// Running out of time is not an error: the lag check reports it.
func awaitRejoins(ctx context.Context, r *Run, targets results.Targets) error {
	begin := time.Now()
	logged, streamingSince := time.Time{}, time.Time{}
	for {
		var who []string
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			who = append(who, "members ("+err.Error()+")")
		}
		for _, m := range ms {
			if (m.Role == harness.RoleReplica || m.Role == harness.RoleStandbyLeader) && m.State != "streaming" && m.State != "unreachable" && m.State != "stopped" && m.State != harness.StateDetached {
				who = append(who, m.Name+" "+m.State)
			}
		}
		switch {
		case len(who) > 0:
			streamingSince = time.Time{}
		case streamingSince.IsZero():
			streamingSince = time.Now()
		}
		if len(who) == 0 && time.Since(streamingSince) >= rejoinSettle {
			for _, p := range results.PendingRejoins(r.Rec.History(), targets) {
				if !slices.Contains(who, p.Node) {
					who = append(who, p.Node)
				}
			}
			if len(who) == 0 {
				if time.Since(begin) > 2*rejoinSettle {
					r.Log.Info("every follower streams and has caught up", "waited", time.Since(begin).Round(time.Millisecond))
				}
				return nil
			}
		}
		if time.Since(begin) >= RejoinWait {
			r.Rec.Event(results.Event{Kind: results.EventNote, Detail: fmt.Sprintf("still catching up %s after the plan: %s", RejoinWait, strings.Join(who, ", "))})
			r.Log.Warn("followers still catching up: the lag check reports them", "nodes", strings.Join(who, ","), "waited", RejoinWait)
			return nil
		}
		if len(who) > 0 && time.Since(logged) >= 10*time.Second {
			r.Log.Info("waiting for followers to stream and catch up before the run ends", "nodes", strings.Join(who, ","), "waited", time.Since(begin).Round(time.Second))
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for rejoins: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
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
