package experiment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// The settings groups replab compare runs each manager at.
const (
	// SettingsDefaults runs each manager at its own release's defaults
	// (topologies.PatroniDefaults, PGAutoFailoverDefaults, RepmgrDefaults).
	SettingsDefaults = "defaults"
	// SettingsTuned runs each manager at the topology file's settings.
	SettingsTuned = "tuned"
)

// CompareSlack is added to a manager's own bound on acting (ManagerBound)
// for how long a comparison waits for it: a promotion, a base backup or a
// rewind takes seconds of its own on a small machine.
const CompareSlack = 30 * time.Second

// ManagerBound is how long, by its settings, the topology's manager may
// take to notice a lost leader and act:
//   - Patroni: ttl + loop_wait + retry_timeout, for the key to expire and
//     a loop to see it;
//   - pg_auto_failover: a health-check round with its retries, then
//     node_considered_unhealthy_timeout (a primary alone demotes itself
//     after network_partition_timeout), then primary_demote_timeout for
//     the old primary to confirm;
//   - repmgr: reconnect_attempts × reconnect_interval after the
//     monitor_interval that noticed.
func ManagerBound(t *topologies.Topology) time.Duration {
	switch t.Manager {
	case topologies.ManagerPGAutoFailover:
		a := t.PGAutoFailover
		checks := a.HealthCheckPeriod + time.Duration(a.HealthCheckMaxRetries+1)*(a.HealthCheckTimeout+a.HealthCheckRetryDelay)
		return max(checks+a.UnhealthyTimeout, a.NetworkPartitionTimeout) + a.PrimaryDemoteTimeout
	case topologies.ManagerRepmgr:
		g := t.Repmgr
		return g.MonitorInterval + time.Duration(g.ReconnectAttempts)*g.ReconnectInterval
	}
	p := t.Patroni
	return p.TTL + p.LoopWait + p.RetryTimeout
}

// CompareScenarios are the faults replab compare runs against each
// manager, by name: the leader killed, cut from its coordinator, cut
// from its peers, and handed over. Each waits ManagerBound + CompareSlack
// for what a manager may or may not do, and records what it did not do
// as a note (the outcome), not a failure.
func CompareScenarios() []Scenario {
	return []Scenario{
		managerFaultScenario("leader-kill", "SIGKILL the leader", false, func(*Run) chaos.Fault { return chaos.Kill(chaos.Leader) }),
		managerFaultScenario("cut-coordinator", "cut the leader from its coordinator (etcd, monitor or witness)", true, func(*Run) chaos.Fault { return chaos.CutFromDCS(chaos.Leader) }),
		managerFaultScenario("leader-partition", "cut the leader from every other node and the coordinator; its clients still reach it", true, func(*Run) chaos.Fault { return chaos.Partition(chaos.Leader, chaos.Peers) }),
		managerSwitchoverScenario(),
	}
}

// CompareScenario finds one of CompareScenarios by name.
func CompareScenario(name string) (Scenario, error) {
	var names []string
	for _, s := range CompareScenarios() {
		if s.Name == name || s.Name == "compare-"+name {
			return s, nil
		}
		names = append(names, strings.TrimPrefix(s.Name, "compare-"))
	}
	return Scenario{}, fmt.Errorf("unknown comparison scenario %q (scenarios: %s)", strings.TrimPrefix(name, "compare-"), strings.Join(names, ", "))
}

// managerFaultScenario injects a fault on the leader, waits for the
// manager to elect another and for writes there, keeps a cut (hold)
// until the manager's bound has passed, so that a leader that stays
// writable on its side shows as split-brain, heals, and waits for the lab
// to have one leader that every other node streams from. A dead leader
// has no side to take writes on: a kill is healed once writes resumed.
func managerFaultScenario(name, what string, hold bool, fault func(*Run) chaos.Fault) Scenario {
	return Scenario{
		Name:    "compare-" + name,
		Summary: what + ": what the manager did, how long writes stopped, lost writes, split-brain, the old leader's rejoin",
		Needs:   Needs{Candidates: 2, Managers: topologies.ManagerKinds()},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("fault", fault),
			{Text: "await a new leader within the manager's bound", do: func(ctx context.Context, r *Run) error {
				bound := ManagerBound(r.Topology) + CompareSlack
				err := Await(NewLeaderAfter("fault"), bound, fmt.Sprintf("no new leader within %s", bound.Round(time.Second))).do(ctx, r)
				if err == nil && r.Leader != "" {
					return Await(WritesOnNewLeader("fault"), WaitTimeout, "no write acknowledged by the new leader").do(ctx, r)
				}
				return err
			}},
			{Text: "hold the fault for the manager's bound", do: func(ctx context.Context, r *Run) error {
				a, err := r.Fault("fault")
				if err != nil || !hold {
					return err
				}
				if left := ManagerBound(r.Topology) - (r.Rec.Now() - a.Injected); left > 0 {
					return Sleep("", left).do(ctx, r)
				}
				return nil
			}},
			Measure(results.FigureLeadersAtBound, leadersFigure),
			Heal("fault"),
			{Text: "await one leader and every other node streaming", do: func(ctx context.Context, r *Run) error {
				bound := ManagerBound(r.Topology) + CompareSlack
				return Await(converged("fault"), bound, "the cluster did not converge on one leader with every other node streaming").do(ctx, r)
			}},
			Measure("leaders after the heal", leadersFigure),
			{Text: "restart what did not rejoin, as an operator would", do: restartLeftovers},
		},
	}
}

// managerSwitchoverScenario hands the leader over to another node in the
// manager's own way (harness.Lab.Switchover).
func managerSwitchoverScenario() Scenario {
	return Scenario{
		Name:    "compare-switchover",
		Summary: "planned switchover by the manager's own command: the write gap, and no acknowledged write lost",
		Needs:   Needs{Candidates: 2, Managers: topologies.ManagerKinds()},
		Steps: []Step{
			Sleep("warm up", FailoverWarmup),
			Inject("fault", func(*Run) chaos.Fault { return chaos.Switchover(nil) }),
			Await(NewLeaderAfter("fault"), WaitTimeout, ""),
			Await(WritesOnNewLeader("fault"), WaitTimeout, ""),
			{Text: "await one leader and every other node streaming", do: func(ctx context.Context, r *Run) error {
				return Await(converged("fault"), ManagerBound(r.Topology)+CompareSlack, "the old leader did not stream from the new one").do(ctx, r)
			}},
		},
	}
}

// restartLeftovers is the operator's move when the cluster has not
// converged once the manager's bound has passed after the heal (repmgr
// fences nothing): every leader but the one on the newest timeline, then
// every replica that does not stream, is restarted, one after another. A
// restarted node's entrypoint finds the primary and rejoins it
// (harness/scripts/repmgr-node.sh), and what a former leader acknowledged
// meanwhile is rewound away: the comparison's lost writes. Each restart
// is a fault of its own ("operator-N"), so the runner heals and reports
// it.
func restartLeftovers(ctx context.Context, r *Run) error {
	ms, err := r.Lab.Members(ctx)
	if err != nil {
		return nil // the next await sees it
	}
	var leaders []harness.Member
	for _, m := range ms {
		if leading(m) {
			leaders = append(leaders, m)
		}
	}
	if len(leaders) == 0 {
		return nil
	}
	newest := slices.MaxFunc(leaders, func(a, b harness.Member) int { return cmp.Compare(a.Timeline, b.Timeline) })
	var restart []string
	for _, m := range leaders {
		if m.Name != newest.Name {
			restart = append(restart, m.Name)
		}
	}
	for _, m := range ms {
		if !leading(m) && m.State != "streaming" {
			restart = append(restart, m.Name)
		}
	}
	if len(restart) == 0 {
		return nil
	}
	r.Rec.Event(results.Event{Kind: results.EventNote, Detail: fmt.Sprintf("not converged after the heal (%d leaders): replab restarted %s to rejoin %s", len(leaders), strings.Join(restart, ", "), newest.Name)})
	for i, name := range restart {
		if err := Inject(fmt.Sprintf("operator-%d", i+1), func(*Run) chaos.Fault { return chaos.Restart(chaos.Node(name)) }).do(ctx, r); err != nil {
			return err
		}
	}
	return Await(converged("fault"), ManagerBound(r.Topology)+CompareSlack, "the cluster did not converge after the restarts").do(ctx, r)
}

// converged is exactly one leader, every other node streaming; the
// target of fault among them records its member.streaming event, which
// the comparison reads its rejoin from.
func converged(fault string) Condition {
	return Condition{Detail: "one leader, every other node streaming", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil
		}
		leaders, others := 0, 0
		for _, m := range ms {
			switch {
			case leading(m):
				leaders++
			case m.Role == harness.RoleReplica && m.State == "streaming":
			default:
				others++
			}
		}
		if leaders != 1 || others > 0 {
			return false, nil
		}
		for _, t := range targets(a) {
			for _, m := range ms {
				if m.Name == t && m.Role == harness.RoleReplica {
					r.Rec.Event(results.Event{Kind: results.EventStreaming, Node: m.Name, Resolution: PollPeriod})
				}
			}
		}
		return true, nil
	}}
}

// leadersFigure names the members that lead and run now.
func leadersFigure(ctx context.Context, r *Run) string {
	ms, err := r.Lab.Members(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	var ls []string
	for _, m := range ms {
		if leading(m) {
			ls = append(ls, m.Name)
		}
	}
	if len(ls) == 0 {
		return "none"
	}
	return strings.Join(ls, ", ")
}

// CompareRequest is a side-by-side run of failover managers.
type CompareRequest struct {
	// Topology is run under each manager (topologies.Topology.WithManager).
	Topology *topologies.Topology
	Managers []topologies.ManagerKind
	// Scenarios are names of CompareScenarios (default: all).
	Scenarios []string
	// Settings are SettingsDefaults and/or SettingsTuned (default both).
	Settings []string
	Trials   int // per cell, default 3
	OutDir   string
	Log      *slog.Logger
	// LabOptions provision each trial's lab.
	LabOptions []harness.Option
	// Progress, when set, is told each trial as it ends.
	Progress func(done, total int, t results.ManagerTrial)
}

// CompareResult is every trial and the table they make.
type CompareResult struct {
	Trials []results.ManagerTrial
	Cells  []results.ManagerCell
	// Settings lists each manager's settings per group, as key=value.
	Settings map[string]map[string]map[string]string
	// Table is CompareMarkdown of Cells; Path where it was written.
	Table, Path string
}

// Compare runs every scenario Trials times against every manager at every
// settings group, each trial on a lab of its own (a fault may leave a
// manager's cluster in a state the next trial must not inherit: two
// primaries under repmgr), and writes OUTDIR/compare-<id>/compare.md.
// A trial that fails is recorded with its error and the comparison goes
// on; cancelling ctx ends it after the trial under way has cleaned up.
func Compare(ctx context.Context, req CompareRequest) (CompareResult, error) {
	var res CompareResult
	if req.Topology == nil {
		return res, errors.New("compare managers: no topology")
	}
	if req.Trials <= 0 {
		req.Trials = 3
	}
	if len(req.Settings) == 0 {
		req.Settings = []string{SettingsDefaults, SettingsTuned}
	}
	if len(req.Scenarios) == 0 {
		for _, s := range CompareScenarios() {
			req.Scenarios = append(req.Scenarios, strings.TrimPrefix(s.Name, "compare-"))
		}
	}
	if req.OutDir == "" {
		req.OutDir = "results"
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var scs []Scenario
	for _, n := range req.Scenarios {
		s, err := CompareScenario(n)
		if err != nil {
			return res, fmt.Errorf("compare managers: %w", err)
		}
		scs = append(scs, s)
	}
	type cell struct {
		settings string
		topo     *topologies.Topology
	}
	var cells []cell
	res.Settings = map[string]map[string]map[string]string{}
	for _, set := range req.Settings {
		if set != SettingsDefaults && set != SettingsTuned {
			return res, fmt.Errorf("compare managers: unknown settings %q (use %s or %s)", set, SettingsDefaults, SettingsTuned)
		}
		res.Settings[set] = map[string]map[string]string{}
		for _, m := range req.Managers {
			t, err := req.Topology.WithManager(m, set == SettingsDefaults)
			if err != nil {
				return res, fmt.Errorf("compare managers: %w", err)
			}
			res.Settings[set][string(m)] = t.ManagerSettings()
			cells = append(cells, cell{set, t})
		}
	}
	total := len(cells) * len(scs) * req.Trials
	dir := filepath.Join(req.OutDir, "compare-"+NewRunID())
	for _, c := range cells {
		for _, sc := range scs {
			for trial := range req.Trials {
				if err := ctx.Err(); err != nil {
					return res, fmt.Errorf("compare managers: %w", err)
				}
				log.Info("comparison trial", "settings", c.settings, "manager", c.topo.Manager, "scenario", sc.Name, "trial", trial+1, "of", req.Trials)
				r, err := Execute(ctx, Request{Scenario: sc, Topology: c.topo, OutDir: dir, Log: log, LabOptions: req.LabOptions,
					Labels: map[string]string{"manager": string(c.topo.Manager), "settings": c.settings}})
				tr := results.ManagerTrial{Err: ""}
				if len(r.History.Ops) > 0 {
					tr = results.ManagerTrialOf(r.History)
				}
				tr.Manager, tr.Settings, tr.Scenario, tr.RunID = string(c.topo.Manager), c.settings, strings.TrimPrefix(sc.Name, "compare-"), r.RunID
				if err != nil {
					tr.Err = err.Error()
					log.Warn("comparison trial failed", "manager", tr.Manager, "scenario", tr.Scenario, "error", err)
				}
				res.Trials = append(res.Trials, tr)
				if err := res.write(dir); err != nil {
					return res, err
				}
				if req.Progress != nil {
					req.Progress(len(res.Trials), total, tr)
				}
				if ctx.Err() != nil {
					return res, fmt.Errorf("compare managers: %w", ctx.Err())
				}
			}
		}
	}
	return res, nil
}

// write renders the table of the trials so far into dir/compare.md and
// every trial into dir/compare.json: after each trial, so that a
// comparison cut short keeps what it measured.
func (res *CompareResult) write(dir string) error {
	res.Cells = results.CompareManagers(res.Trials)
	res.Table = CompareMarkdown(*res)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	res.Path = filepath.Join(dir, "compare.md")
	if err := os.WriteFile(res.Path, []byte(res.Table), 0o644); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	js, err := json.MarshalIndent(struct {
		Trials   []results.ManagerTrial                  `json:"trials"`
		Settings map[string]map[string]map[string]string `json:"settings"`
	}{res.Trials, res.Settings}, "", "  ")
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compare.json"), js, 0o644); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// CompareMarkdown is the comparison's table followed by each manager's
// settings per group.
func CompareMarkdown(res CompareResult) string {
	var b strings.Builder
	b.WriteString(results.CompareMarkdown(res.Cells))
	b.WriteString("\nSettings:\n\n")
	for _, set := range slices.Sorted(maps.Keys(res.Settings)) {
		for _, m := range slices.Sorted(maps.Keys(res.Settings[set])) {
			kv := res.Settings[set][m]
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kv)) {
				if k != "manager" {
					parts = append(parts, fmt.Sprintf("`%s=%s`", k, kv[k]))
				}
			}
			fmt.Fprintf(&b, "- %s, %s: %s\n", set, m, strings.Join(parts, " "))
		}
	}
	return b.String()
}
