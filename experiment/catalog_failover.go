package experiment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// The usual claim for automated failover with a consensus-backed manager:
// 10 to 30 seconds from losing the leader to writes again.
const (
	ClaimFailoverMin = 10 * time.Second
	ClaimFailoverMax = 30 * time.Second
)

// FailoverWarmup is how long the workload runs before a failover kind's
// fault, so that the last ok write before it is known.
const FailoverWarmup = 3 * time.Second

// The failover kinds beside the SIGKILL of leader-kill: each scenario
// loses the leader another way and reports, in a table, the write gap,
// the lost writes, what the manager did and the settings it is made of.
var _ chaos.Switchovers = Cluster{}

// SwitchoverScenario is a planned switchover through Patroni's REST API:
// the leader demotes itself in order, so it must lose nothing, and the
// write gap is the price of the handover alone.
func SwitchoverScenario() Scenario {
	return Scenario{
		Name:    "switchover",
		Summary: "planned switchover (Patroni POST /switchover): the write gap, and no acknowledged write lost",
		Needs:   Needs{Candidates: 2},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("switchover", func(*Run) chaos.Fault { return chaos.Switchover(nil) }),
			Await(NewLeaderAfter("switchover"), WaitTimeout, ""),
			Await(WritesOnNewLeader("switchover"), WaitTimeout, ""),
			Await(Streams("switchover"), WaitTimeout, "the old leader did not stream from the new one in time"),
			FailoverTable("switchover", "planned switchover"),
		},
	}
}

// GracefulStopScenario stops the leader's container (SIGTERM, Patroni
// shuts PostgreSQL down and releases the leader key on its way out):
// failover without waiting for the TTL.
func GracefulStopScenario() Scenario {
	return Scenario{
		Name:    "graceful-stop",
		Summary: "stop the leader gracefully (SIGTERM): Patroni releases the key, a replica takes over without waiting for the TTL",
		Needs:   Needs{Candidates: 2},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("stop", func(*Run) chaos.Fault { return chaos.Stop(chaos.Leader) }),
			Await(NewLeaderAfter("stop"), WaitTimeout, ""),
			Await(WritesOnNewLeader("stop"), WaitTimeout, ""),
			FailoverTable("stop", "graceful stop"),
			Heal("stop"),
			Await(Streams("stop"), WaitTimeout, "the old leader did not stream again in time"),
		},
	}
}

// PostgresCrashScenario SIGKILLs the leader's postmaster while Patroni
// lives on: Patroni either restarts PostgreSQL in place (crash recovery,
// keeping its key) or, if that takes too long, lets another node take
// over. The table says which happened.
func PostgresCrashScenario() Scenario {
	return Scenario{
		Name:    "postgres-crash",
		Summary: "SIGKILL the leader's postmaster with Patroni alive: restarted in place or failed over, and how long writes stopped",
		Needs:   Needs{Candidates: 2},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("crash", func(*Run) chaos.Fault { return chaos.CrashPostgres(chaos.Leader) }),
			// Backends outlive their postmaster for a moment and may still
			// commit: wait until Patroni saw the crash, then for a leader
			// running again and a write it acknowledged.
			Await(crashNoticed("crash"), CrashNoticeTimeout, "Patroni never showed the leader down: PostgreSQL was back within a poll"),
			Await(writesOnARunningLeader(), WaitTimeout, ""),
			Measure(MeasureCrashOutcome, crashOutcome),
			FailoverTable("crash", "postmaster SIGKILL"),
		},
	}
}

// CrashNoticeTimeout bounds the wait for Patroni to show a crashed
// PostgreSQL: a loop_wait or two, with room for a loaded machine.
const CrashNoticeTimeout = 15 * time.Second

// crashNoticed is the target of fault no longer a running leader in
// Patroni's eyes (PostgreSQL restarting, or the role given up).
func crashNoticed(fault string) Condition {
	return Condition{Detail: "Patroni noticing the crash of " + fault, Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		m, found, err := member(ctx, r, a.Target)
		if err != nil {
			return false, nil // a failed listing is polled again
		}
		return !found || m.Role != harness.RoleLeader || m.State != "running", nil
	}}
}

// writesOnARunningLeader is a running leader, and then a write invoked
// after it was seen, acknowledged.
func writesOnARunningLeader() Condition {
	var since time.Duration = -1
	return Condition{Detail: "a running leader acknowledging writes", Until: func(ctx context.Context, r *Run) (bool, error) {
		if since < 0 {
			m, err := r.Lab.Leader(ctx)
			if err != nil || m.State != "running" {
				return false, nil
			}
			since = r.Rec.Now()
		}
		return r.Rec.AckedWrites(since) > 0, nil
	}}
}

// MeasureCrashOutcome names postgres-crash's figure: what Patroni did.
const MeasureCrashOutcome = "outcome"

func crashOutcome(ctx context.Context, r *Run) string {
	a, err := r.Fault("crash")
	if err != nil {
		return ""
	}
	m, err := r.Lab.Leader(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	if m.Name == a.Target {
		return "restarted in place on " + m.Name + " (kept the leader key)"
	}
	return "failed over from " + a.Target + " to " + m.Name
}

// PausePastTTLScenario freezes the leader for longer than the TTL (a
// long GC pause, a stalled VM): its key expires, a replica takes over,
// and when it thaws the old leader must find it was demoted and accept
// no write. The split-brain check judges the thaw.
func PausePastTTLScenario() Scenario {
	return Scenario{
		Name:    "pause-past-ttl",
		Summary: "freeze the leader past the TTL, then thaw it: failover, and the thawed leader must not accept writes (split-brain)",
		Needs:   Needs{Candidates: 2},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("pause", func(*Run) chaos.Fault { return chaos.Pause(chaos.Leader) }),
			Await(NewLeaderAfter("pause"), WaitTimeout, ""),
			Await(WritesOnNewLeader("pause"), WaitTimeout, ""),
			FailoverTable("pause", "frozen past the TTL"),
			Heal("pause"),
			Await(Demoted("pause"), WaitTimeout, ""),
			Await(Streams("pause"), WaitTimeout, "the thawed leader did not stream from the new one in time"),
		},
	}
}

// SyncStandbysLostScenario kills every replica at once in semi-sync or
// sync mode, holds them down for SyncLossHold and starts them again.
// Without synchronous_mode_strict Patroni drops to async and writes go on
// (after a stall); with strict, commits wait until a standby is back: the
// write gap is the hold. Strict is set through Patroni's dynamic
// configuration for the run.
func SyncStandbysLostScenario(strict bool) Scenario {
	name, what := "sync-standbys-lost", "Patroni falls back to async, writes go on after a stall"
	if strict {
		name, what = "sync-standbys-lost-strict", "synchronous_mode_strict: commits wait until a standby is back"
	}
	steps := []Step{Sleep("warm up", FailoverWarmup)}
	if strict {
		steps = []Step{setStrict(true), Sleep("warm up", FailoverWarmup)}
	}
	steps = append(steps,
		Inject("standbys", func(*Run) chaos.Fault { return chaos.Kill(chaos.Followers) }),
		Sleep("hold the standbys down", SyncLossHold),
		Measure(MeasureAckedWhileLost, func(_ context.Context, r *Run) string {
			a, _ := r.Fault("standbys")
			return strconv.Itoa(r.Rec.AckedWrites(a.InjectEnd))
		}),
		Heal("standbys"),
		Await(WritesAfter("standbys"), WaitTimeout, ""),
		FailoverTable("standbys", "every standby lost"),
	)
	if strict {
		steps = append(steps, setStrict(false))
	}
	return Scenario{
		Name:    name,
		Summary: fmt.Sprintf("kill every replica for %s in semi-sync/sync: %s", SyncLossHold, what),
		Needs:   Needs{Candidates: 2, Modes: []topologies.ReplicationMode{topologies.SemiSync, topologies.Sync}},
		Steps:   steps,
	}
}

// SyncLossHold is how long sync-standbys-lost keeps the replicas down.
const SyncLossHold = 15 * time.Second

// MeasureAckedWhileLost names the count of writes acknowledged while no
// standby ran.
const MeasureAckedWhileLost = "acknowledged with no standby"

func setStrict(on bool) Step {
	return Do(fmt.Sprintf("set synchronous_mode_strict=%t", on), func(ctx context.Context, r *Run) error {
		return r.Lab.SetDynamicConfig(ctx, map[string]any{"synchronous_mode_strict": on})
	})
}

// FailoverTable records, as the run's table, what fault cost the clients:
// its write gap and RTO with their uncertainty, beside the usual 10–30 s
// claim, and the settings the figure is made of.
func FailoverTable(fault, kind string) Step {
	return Do("measure the failover of "+fault, func(_ context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		h := r.Rec.History()
		idx := -1
		for i, f := range results.Faults(h) {
			if f.Injected == a.Injected {
				idx = i
			}
		}
		rep := results.FailoverPhases(h, idx)
		row := []string{kind, "no outage", "", "", results.FormatDuration(a.InjectEnd - a.Injected), "writes never stopped for " + results.FormatDuration(results.DefaultOutageGap)}
		switch {
		case rep.Outage && rep.Recovered:
			row[1] = results.FormatDuration(rep.RTO)
			row[2] = "±" + results.FormatDuration(rep.RTOUncertainty)
			if rep.WriteGapKnown {
				row[3] = results.FormatDuration(rep.WriteGap)
			}
			row[5] = claimPlace(rep.RTO)
		case rep.Outage:
			row[1], row[5] = "not recovered", "no ok write after the fault"
		}
		return r.Rec.RecordTable(results.Table{
			Title:   "Failover: " + kind,
			Columns: []string{"kind", "RTO (fault → first ok write)", "uncertainty", "write gap", "fault stamp span", fmt.Sprintf("against the usual %s–%s claim", results.FormatDuration(ClaimFailoverMin), results.FormatDuration(ClaimFailoverMax))},
			Rows:    [][]string{row},
			Note: "A crash waits for the leader key to expire (ttl) and a Patroni loop to notice; a release (stop, switchover) does not. " +
				"HAProxy then routes the new leader after its next check.",
			Settings: failoverSettings(r.Topology),
		})
	})
}

// claimPlace says where d falls against the usual claim.
func claimPlace(d time.Duration) string {
	switch {
	case d < ClaimFailoverMin:
		return "faster than the claim"
	case d > ClaimFailoverMax:
		return "slower than the claim"
	}
	return "within the claim"
}

// failoverSettings are the settings a failover time is made of.
func failoverSettings(t *topologies.Topology) map[string]string {
	s := t.ManagerSettings()
	if s == nil {
		s = map[string]string{}
	}
	s["replication.mode"] = string(t.Replication.Mode)
	s["haproxy.checks"] = harness.HAProxyChecks
	return s
}
