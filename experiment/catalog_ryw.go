package experiment

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Timings of the read-your-writes scenario: the strategies read with the
// links as they are for RYWWarmup, then for RYWHold with RYWDelay added
// each way between the leader and its followers, then for RYWAfter once
// it is healed.
const (
	RYWWarmup = 8 * time.Second
	RYWHold   = 20 * time.Second
	RYWAfter  = 8 * time.Second
	// RYWDelay is twice the default leader window, so that the replicas
	// trail by more than the window while it is in: what a fixed window
	// cannot see and LSN tracking can.
	RYWDelay = 2 * workload.DefaultLeaderWindow
)

// RYWSpec tunes the read-your-writes scenario; zero fields take the
// defaults (workload.DefaultLeaderWindow, RYWDelay, RYWHold).
type RYWSpec struct {
	// Window is the leader-after-write strategy's window.
	Window time.Duration
	// Delay is added each way on the leader's links to its followers for
	// Hold.
	Delay, Hold time.Duration
	// Region, when set, is the sessions' region (regional-reads): the
	// table says so, and that no link was slowed.
	Region string
	// Engine is the engine it runs on (default postgres). On MariaDB the
	// position a session tracks is its write's GTID, asked of the replica
	// with MASTER_GTID_WAIT(gtid, 0).
	Engine topologies.EngineKind
}

func (spec RYWSpec) withDefaults() RYWSpec {
	spec.Window = cmp.Or(spec.Window, workload.DefaultLeaderWindow)
	spec.Delay = cmp.Or(spec.Delay, RYWDelay)
	spec.Hold = cmp.Or(spec.Hold, RYWHold)
	return spec
}

// Sessions are the scenario's strategy sessions, one per strategy, in
// the table's order.
func (spec RYWSpec) Sessions() []workload.SessionConfig {
	return workload.StrategySessions(workload.Strategies(spec.withDefaults().Window))
}

// Processes are the sessions' process names, in the table's order.
func (spec RYWSpec) Processes() []string {
	var out []string
	for _, s := range spec.Sessions() {
		out = append(out, s.Process)
	}
	return out
}

// RYWScenario runs the four read-your-writes strategies side by side
// (workload.Strategies: any replica, the leader for a window after a
// write, LSN tracking, a sticky session on the leader), each a session of
// its own, under the steady workload, and records one table: reads, stale
// reads and how far behind, the share the leader served, read latency.
// It runs in async mode with no synchronous standby, whatever the
// topology says: there the replicas' lag is the links' and replay's
// alone, and the strategies are what stands between a session and its
// stale reads (sync's remote_apply makes its standby fresh by itself).
// The added delay makes the replicas trail by more than the leader
// window for part of the run.
func RYWScenario(spec RYWSpec) Scenario {
	spec = spec.withDefaults()
	slow := netem.Impairment{Delay: spec.Delay}
	profile := workload.Steady
	profile.Name = "read-your-writes"
	profile.Sessions = spec.Sessions()
	sc := Scenario{
		Name:  "read-your-writes",
		Netem: true,
		Summary: fmt.Sprintf("four read-your-writes strategies side by side (any replica, leader for %s after a write, LSN tracking, sticky), "+
			"replicas slowed by %s for %s: stale reads, the leader's share, read latency", spec.Window, spec.Delay, spec.Hold),
		Needs:   Needs{Candidates: 2},
		Shape:   func(t *topologies.Topology) { t.Replication.Mode, t.Replication.SyncStandbys = topologies.Async, 0 },
		Profile: profile,
		Steps: []Step{
			Sleep("read with the links as they are", RYWWarmup),
			Inject("slow", func(*Run) chaos.Fault { return chaos.SlowLinks(chaos.Leader, chaos.Followers, slow) }),
			Sleep("read while the replicas trail", spec.Hold),
			Heal("slow"),
			Sleep("read after the heal", RYWAfter),
			RYWTable(spec),
		},
	}
	if spec.Engine == topologies.EngineMariaDB {
		sc.Name = "read-your-writes-mariadb"
		sc.Summary = "MariaDB: " + strings.Replace(sc.Summary, "LSN tracking", "GTID tracking with MASTER_GTID_WAIT", 1)
		sc.Needs.Engines = []topologies.EngineKind{topologies.EngineMariaDB}
	}
	return sc
}

// RYWTable records the strategies' table from the run's history so far
// (results.ReadStrategies over the sessions' processes).
func RYWTable(spec RYWSpec) Step {
	spec = spec.withDefaults()
	return Do("measure the read strategies", func(_ context.Context, r *Run) error {
		sessions := spec.Sessions()
		figures := results.ReadStrategies(r.Rec.History(), spec.Processes())
		rows := make([][]string, len(figures))
		for i, f := range figures {
			name := sessions[i].Strategy.String()
			if spec.Engine == topologies.EngineMariaDB && sessions[i].Strategy.Kind == workload.ReadLSN {
				name = "GTID tracking (MASTER_GTID_WAIT(gtid, 0) on the replica, else the primary)"
			}
			rows[i] = rywRow(name, f)
		}
		t := r.Topology
		settings := map[string]string{
			"replication.mode":          string(t.Replication.Mode),
			"replication.sync_standbys": strconv.Itoa(t.Replication.SyncStandbys),
			"slow-links":                fmt.Sprintf("%s each way, the leader <-> every follower, for %s of the run", spec.Delay, spec.Hold),
			"leader window":             spec.Window.String(),
			"haproxy.checks":            harness.HAProxyChecks,
		}
		title := "Read-your-writes strategies"
		if spec.Region != "" {
			delete(settings, "slow-links")
			settings["sessions in"] = spec.Region + ", through its endpoint"
			title += " from " + spec.Region
		}
		if spec.Engine == topologies.EngineMariaDB {
			settings["position tracked"] = "the write's GTID (@@last_gtid in the writing session), asked of the replica with MASTER_GTID_WAIT(gtid, 0); bytes behind are unknown"
			title += " (MariaDB)"
		}
		return r.Rec.RecordTable(results.Table{
			Title: title,
			Columns: []string{"strategy", "reads", "stale", "stale while slowed", "worst behind (bytes)", "worst behind (time, at least)",
				"served by the leader", "read p50", "read p95", "read p99", "failed reads"},
			Rows: rows,
			Note: fmt.Sprintf("Each strategy is one session writing a row every %s through the read-write endpoint and reading its last row back %g times a second, "+
				"the first read right after the acknowledgement. A read is stale when it misses its own acknowledged row; bytes behind are the commit position "+
				"(pg_current_wal_insert_lsn() right after COMMIT, same session) minus the replica's pg_last_wal_replay_lsn() as it answered; time behind is "+
				"from the acknowledgement to the read's start, a lower bound on the replica's lag (and at most the time between writes). The leader's share counts reads served by the member "+
				"that acknowledged the row. A read's latency runs from the routing decision to the answer: LSN tracking's question to the replica "+
				"and its fallback to the leader are in it. Replicas are reached through HAProxy's read-only endpoint, balanced per connection.",
				workload.DefaultWriteEvery, workload.Steady.SessionRate),
			Settings: settings,
		})
	})
}

// rywRow is one strategy's row of the table.
func rywRow(strategy string, f results.StrategyReads) []string {
	row := []string{strategy, strconv.Itoa(f.Reads), strconv.Itoa(f.Stale), strconv.Itoa(f.StaleInFault), "", "",
		fmt.Sprintf("%.1f%%", f.LeaderShare()), results.FormatDuration(f.LatencyP50), results.FormatDuration(f.LatencyP95),
		results.FormatDuration(f.LatencyP99), strconv.Itoa(f.Failed)}
	if f.Stale > 0 {
		row[5] = results.FormatDuration(f.MaxBehind)
		row[4] = "unknown"
		if f.BytesKnown {
			row[4] = results.FormatMetric(results.MetricLagBytes, float64(f.MaxBytesBehind))
		}
	}
	return row
}
