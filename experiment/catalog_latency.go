package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// The usual claim of what a commit costs over async: semi-sync 1–2 ms,
// sync 10–50 ms.
const (
	ClaimSemiSyncMin = 1 * time.Millisecond
	ClaimSemiSyncMax = 2 * time.Millisecond
	ClaimSyncMin     = 10 * time.Millisecond
	ClaimSyncMax     = 50 * time.Millisecond
)

// Defaults of the write-latency grid.
var (
	// LatencyRTTs are the round trips added between the leader and the
	// other nodes of its region: none, and two intra-region figures.
	LatencyRTTs = []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond}
	// LatencyModes are measured in this order at each RTT; every switch
	// changes synchronous_commit, so the wait for it cannot pass on the
	// previous mode's settings.
	LatencyModes = []topologies.ReplicationMode{topologies.Async, topologies.SemiSync, topologies.Sync}
)

const (
	// RemoteSyncRTT is the inter-region round trip given to the
	// synchronous standby's link for the remote row (us-east to eu-west in
	// three-region.yaml).
	RemoteSyncRTT = 80 * time.Millisecond
	// LatencySettle passes between a mode taking effect and its window:
	// the writer's session reloads the setting at its next statement.
	LatencySettle = time.Second
	// LatencyWindow is how long one window of a cell lasts (a cell has
	// LatencySpec.Rounds of them).
	LatencyWindow = 4 * time.Second
	// ModeSwitchTimeout bounds the wait for Patroni to apply a mode
	// (within a loop_wait or two).
	ModeSwitchTimeout = 30 * time.Second
	// steadyWriter is the workload's endpoint writer (workload.StartWriter's
	// default process): the one client whose every op is a bare commit
	// at a steady rate, which the latency is measured on.
	steadyWriter = "writer-0"
)

// LatencySpec tunes the write-latency grid; zero fields take the defaults
// (LatencyRTTs, RemoteSyncRTT, LatencySettle, LatencyWindow,
// LatencyRounds). A negative Remote leaves the remote rows out.
type LatencySpec struct {
	// Engine is the engine the grid runs on (default postgres); on
	// mariadb the modes switch with SET GLOBAL (harness.SetMariaDBMode)
	// and there are no remote rows.
	Engine topologies.EngineKind
	// Modes take turns at each round trip (default LatencyModes; on
	// MariaDB its three).
	Modes          []topologies.ReplicationMode
	RTTs           []time.Duration
	Remote         time.Duration
	Settle, Window time.Duration
	// Rounds is how many windows each cell gets, the modes taking turns:
	// load from outside the lab that comes and goes then falls on every
	// mode alike instead of on whichever ran at the time.
	Rounds int
}

// LatencyRounds is the default number of windows per cell.
const LatencyRounds = 2

// LatencyCell is one cell of the grid: a mode at a round trip.
type LatencyCell struct {
	// RTT is the round trip added on the slowed links.
	RTT time.Duration
	// Remote marks the rows where only the synchronous standby's link is
	// slowed, to an inter-region round trip.
	Remote bool
	Mode   topologies.ReplicationMode
	// Standby names the synchronous standbys of its windows ("" in async).
	Standby string
	// Caveat says where a window did not measure what the row says: the
	// synchronous standby changed during it, or a remote row's standby is
	// not the node whose link was slowed.
	Caveat  string
	Latency results.Latency
	windows []results.Window
}

// latencyGrid is one run's cells, filled by its steps in order.
type latencyGrid struct {
	cells   []LatencyCell
	standby string // the synchronous standby modeInEffect last saw
}

// cell is the grid's cell for a mode at a round trip, added on first use.
func (g *latencyGrid) cell(rtt time.Duration, remote bool, m topologies.ReplicationMode) *LatencyCell {
	for i, c := range g.cells {
		if c.RTT == rtt && c.Remote == remote && c.Mode == m {
			return &g.cells[i]
		}
	}
	g.cells = append(g.cells, LatencyCell{RTT: rtt, Remote: remote, Mode: m})
	return &g.cells[len(g.cells)-1]
}

// WriteLatencyScenario measures commit latency per replication mode on one
// lab: at each round trip (added between the leader and the rest of its
// region with slow-links, each way half of it) it switches async,
// semi-sync and sync in turn, Rounds times, through Patroni's dynamic
// configuration, waits until the leader runs the mode, and measures the
// steady writer's acknowledged commits over a window. A last group slows
// only the synchronous standby's link to an inter-region round trip: what
// a synchronous standby in a remote region would cost. The topology's
// mode is restored at the end, and also when a step fails.
func WriteLatencyScenario(spec LatencySpec) Scenario {
	if spec.RTTs == nil {
		spec.RTTs = LatencyRTTs
	}
	spec.Engine = cmp.Or(spec.Engine, topologies.EnginePostgres)
	if spec.Modes == nil {
		spec.Modes = LatencyModes
		if spec.Engine == topologies.EngineMariaDB {
			spec.Modes = topologies.EngineModes(topologies.EngineMariaDB)
		}
	}
	if spec.Engine == topologies.EngineMariaDB {
		spec.Remote = -1 // no synchronous standby to single out
	}
	spec.Remote = cmp.Or(spec.Remote, RemoteSyncRTT)
	spec.Settle = cmp.Or(spec.Settle, LatencySettle)
	spec.Window = cmp.Or(spec.Window, LatencyWindow)
	spec.Rounds = max(cmp.Or(spec.Rounds, LatencyRounds), 1)
	g := &latencyGrid{}
	steps := []Step{Do("start the latency grid", func(context.Context, *Run) error {
		*g = latencyGrid{}
		return nil
	})}
	window := func(rtt time.Duration, remote bool, m topologies.ReplicationMode) []Step {
		return []Step{
			setMode(m),
			Await(modeInEffect(m, &g.standby), ModeSwitchTimeout, ""),
			Sleep("let the writer's session take the setting", spec.Settle),
			measureLatency(g, rtt, remote, m, spec.Window),
		}
	}
	for _, rtt := range spec.RTTs {
		fault := ""
		if rtt > 0 {
			fault = "rtt " + RTTLabel(rtt)
			steps = append(steps, Inject(fault, func(*Run) chaos.Fault {
				return chaos.SlowLinks(chaos.Leader, chaos.LeaderRegion, netem.Impairment{Delay: rtt / 2})
			}))
		}
		for range spec.Rounds {
			for _, m := range spec.Modes {
				steps = append(steps, window(rtt, false, m)...)
			}
		}
		if fault != "" {
			steps = append(steps, Heal(fault))
		}
	}
	if spec.Remote > 0 {
		// The standby must be synchronous before its link is chosen, so
		// the group starts in semi-sync. Patroni keeps a synchronous
		// standby that stays streaming, so it stays the slowed one while
		// semi-sync and sync take turns; after async Patroni would choose
		// afresh, and the faster standby, so async comes last.
		steps = append(steps, setMode(topologies.SemiSync), Await(modeInEffect(topologies.SemiSync, &g.standby), ModeSwitchTimeout, ""),
			Inject(remoteFault, func(*Run) chaos.Fault {
				return chaos.SlowLinks(chaos.Leader, chaos.SyncStandby, netem.Impairment{Delay: spec.Remote / 2})
			}))
		for range spec.Rounds {
			for _, m := range []topologies.ReplicationMode{topologies.SemiSync, topologies.Sync} {
				steps = append(steps, window(spec.Remote, true, m)...)
			}
		}
		for range spec.Rounds {
			steps = append(steps, window(spec.Remote, true, topologies.Async)...)
		}
		steps = append(steps, Heal(remoteFault))
	}
	steps = append(steps,
		Do("restore the topology's replication mode", func(ctx context.Context, r *Run) error {
			m := r.Topology.Replication.Mode
			if err := setMode(m).do(ctx, r); err != nil {
				return err
			}
			return Await(modeInEffect(m, new(string)), ModeSwitchTimeout, "").do(ctx, r)
		}),
		Do("record the latency table", func(ctx context.Context, r *Run) error {
			// Every write of the last window has ended once the writer's
			// timeout has passed since: none is counted as pending.
			if len(g.cells) > 0 {
				last := slices.MaxFunc(g.cells, func(a, b LatencyCell) int {
					return cmp.Compare(a.windows[len(a.windows)-1].To, b.windows[len(b.windows)-1].To)
				})
				if err := clock.Sleep(ctx, last.windows[len(last.windows)-1].To+writerTimeout-r.Rec.Now()); err != nil {
					return err
				}
			}
			h := r.Rec.History()
			for i := range g.cells {
				g.cells[i].Latency = results.WriteLatency(h, steadyWriter, g.cells[i].windows...)
			}
			backend, _ := r.Lab.WAN().Backend()
			settings := latencySettings(r.Topology, backend, spec)
			if spec.Engine == topologies.EngineMariaDB {
				settings = mariadbLatencySettings(r.Topology, backend, spec)
			}
			return r.Rec.RecordTable(LatencyTable(g.cells, settings))
		}),
	)
	var modes []string
	for _, m := range spec.Modes {
		modes = append(modes, string(m))
	}
	summary := fmt.Sprintf("commit latency p50/p95/p99 per mode (%s) at %s intra-region RTT", strings.Join(modes, ", "), rttList(spec.RTTs))
	if spec.Remote > 0 {
		summary += fmt.Sprintf(" and with the sync standby %s away", RTTLabel(spec.Remote))
	}
	sc := Scenario{
		Name:    "write-latency",
		Netem:   true,
		Summary: summary + ", beside the usual +1–2ms / +10–50ms claim",
		Needs:   Needs{Candidates: 2},
		Profile: LatencyProfile,
		Steps:   restoringMode(steps),
	}
	if spec.Engine == topologies.EngineMariaDB {
		sc.Name, sc.Summary = "write-latency-mariadb", "MariaDB: "+summary+", beside the usual +1–2ms claim for semi-sync"
		sc.Needs.Engines = []topologies.EngineKind{topologies.EngineMariaDB}
	}
	return sc
}

// writerTimeout bounds one write of the steady writer (workload's
// WriterConfig.OpTimeout default) with a margin.
const writerTimeout = 1500 * time.Millisecond

// LatencyProfile is write-latency's workload: the steady writer at its
// rate, with the read-your-writes sessions and the per-member probes
// turned down, so that on a small machine the lab's own clients load the
// leader less while it is measured. The monitor, the lag sampler and the
// heartbeat run as in every profile.
var LatencyProfile = workload.Profile{Name: "latency", WriteRate: workload.Steady.WriteRate, SessionRate: 1, ProbePeriod: time.Second}

// setMode switches the lab's replication mode at runtime through Patroni's
// dynamic configuration: synchronous_mode, synchronous_node_count (the
// topology's, at least 1) and synchronous_commit as the lab bootstraps
// them (harness.SynchronousCommit).
func setMode(m topologies.ReplicationMode) Step {
	return Do("switch to "+string(m), func(ctx context.Context, r *Run) error {
		if r.Topology.Engine.Kind == topologies.EngineMariaDB {
			return r.Lab.SetMariaDBMode(ctx, m)
		}
		if err := r.Lab.SetDynamicConfig(ctx, modePatch(m, syncNodeCount(r.Topology))); err != nil {
			return fmt.Errorf("switch to %s: %w", m, err)
		}
		return nil
	})
}

// modePatch is the dynamic configuration of mode m.
func modePatch(m topologies.ReplicationMode, n int) map[string]any {
	return map[string]any{
		"synchronous_mode":       m != topologies.Async,
		"synchronous_node_count": n,
		"postgresql": map[string]any{"parameters": map[string]any{
			"synchronous_commit": harness.SynchronousCommit(m),
		}},
	}
}

// syncNodeCount is the synchronous_node_count the semi-sync and sync
// cells run with: the topology's, or 1 for an async topology.
func syncNodeCount(t *topologies.Topology) int { return max(t.Replication.SyncStandbys, 1) }

// modeInEffect is the leader running mode m: its synchronous_commit is
// m's and, in semi-sync and sync, synchronous_standby_names names a
// standby and one streams as sync (its name goes into standby); in async
// none is named. A failed query is polled again.
func modeInEffect(m topologies.ReplicationMode, standby *string) Condition {
	return Condition{Detail: "the leader running " + string(m), Until: func(ctx context.Context, r *Run) (bool, error) {
		if r.Topology.Engine.Kind == topologies.EngineMariaDB {
			// Any replica of the primary region may acknowledge: there is
			// no one synchronous standby to name.
			// A failed read is a "not yet": the lab may be between states.
			_, ok, _ := r.Lab.MariaDBModeInEffect(ctx, m)
			*standby = ""
			if ok && m != topologies.Async {
				*standby = "any replica"
			}
			return ok, nil
		}
		leader, err := r.Lab.LeaderName(ctx)
		if err != nil {
			return false, nil
		}
		commit, names, err := syncSettings(ctx, r.Lab, leader)
		if err != nil || commit != harness.SynchronousCommit(m) || (names != "") != (m != topologies.Async) {
			return false, nil
		}
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil
		}
		sb := harness.SyncStandbys(ms)
		if (len(sb) > 0) != (m != topologies.Async) {
			return false, nil
		}
		*standby = strings.Join(sb, ",")
		return true, nil
	}}
}

// syncSettings reads synchronous_commit and synchronous_standby_names on
// a node, from a new session: what a session started now gets.
func syncSettings(ctx context.Context, lab *harness.Lab, node string) (commit, names string, err error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := lab.Connect(cctx, node)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(cctx, `SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names')`).Scan(&commit, &names); err != nil {
		return "", "", fmt.Errorf("read synchronous settings on %s: %w", node, err)
	}
	return commit, names, nil
}

// remoteFault names the remote group's slow-links fault.
const remoteFault = "remote sync standby"

// measureLatency lets the writer run for window and adds the window to
// the cell of mode m at rtt, with the synchronous standby it ran with.
func measureLatency(g *latencyGrid, rtt time.Duration, remote bool, m topologies.ReplicationMode, window time.Duration) Step {
	where := RTTLabel(rtt)
	if remote {
		where += RemoteSuffix
	}
	return Do(fmt.Sprintf("measure commit latency: %s at %s", m, where), func(ctx context.Context, r *Run) error {
		standby := g.standby
		from := r.Rec.Now()
		if err := clock.Sleep(ctx, window); err != nil {
			return err
		}
		c := g.cell(rtt, remote, m)
		c.windows = append(c.windows, results.Window{From: from, To: r.Rec.Now()})
		if m == topologies.Async {
			return nil
		}
		c.Standby = addDistinct(c.Standby, ",", standby)
		if r.Topology.Engine.Kind == topologies.EngineMariaDB {
			return nil // any replica acknowledges: none to have moved
		}
		if ms, err := r.Lab.Members(ctx); err == nil {
			if now := strings.Join(harness.SyncStandbys(ms), ","); now != standby {
				c.Caveat = addDistinct(c.Caveat, "; ", "moved to "+orDash(now))
			}
		}
		if a, err := r.Fault(remoteFault); remote && err == nil {
			if _, slowed, _ := strings.Cut(a.Target, "<->"); slowed != standby {
				c.Caveat = addDistinct(c.Caveat, "; ", "not the slowed "+slowed)
			}
		}
		return nil
	})
}

// addDistinct appends v to the sep-separated list unless it is there.
func addDistinct(list, sep, v string) string {
	switch {
	case v == "" || slices.Contains(strings.Split(list, sep), v):
		return list
	case list == "":
		return v
	}
	return list + sep + v
}

// restoringMode wraps steps so that a failing one sets the topology's
// replication mode back before the run ends: Run heals the faults, not
// Patroni's dynamic configuration, and a lab the caller owns outlives the
// run.
func restoringMode(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, st := range steps {
		do := st.do
		out[i] = Step{Text: st.Text, do: func(ctx context.Context, r *Run) error {
			err := do(ctx, r)
			if err == nil {
				return nil
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ModeSwitchTimeout)
			defer cancel()
			m := r.Topology.Replication.Mode
			if rerr := setMode(m).do(rctx, r); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restore replication mode %s: %w", m, rerr))
			}
			return err
		}}
	}
	return out
}

// Column names of the latency table that LatencyP50 reads.
const (
	latencyColRTT  = "RTT leader↔standby (added)"
	latencyColMode = "mode"
	latencyColP50  = "p50"
)

// LatencyTable lays the cells out as the run's table: per round trip and
// mode the ok writes, the excluded ones, p50/p95/p99, the p50 overhead
// over async at the same round trip, and the usual claim beside it. It is
// pure.
func LatencyTable(cells []LatencyCell, settings map[string]string) results.Table {
	t := results.Table{
		Title: "Commit latency per replication mode",
		Columns: []string{latencyColRTT, latencyColMode, "sync standby", "ok writes", "not ok", latencyColP50, "p95", "p99",
			"overhead over async (p50)", "usual claim", "against the claim"},
		Note: "Latency is Complete − Invoke of the steady writer's acknowledged commits (INSERT through HAProxy's rw endpoint), " +
			"invoked in the cell's windows; failed and unknown writes are counted apart, and a cell without an acknowledged write says no samples. " +
			"At each RTT the modes take turns, window by window, so that load from outside the lab falls on each alike; " +
			"the absolute figures include the machine's CPU contention, the overheads over async at the same RTT are what to compare. " +
			"The RTT is added on top of the Docker network's with slow-links between the leader and every other node of its region (half each way). " +
			"The remote rows emulate a synchronous standby in another region by slowing the leader↔standby link alone: " +
			"topology validation refuses a cross-region synchronous standby (every node outside the primary region is nosync). " +
			"A remote standby costs at least one round trip per commit in semi-sync and sync. Overhead is p50 minus async's p50 at the same RTT.",
		Settings: settings,
	}
	for _, c := range cells {
		p50, p95, p99 := c.Latency.Cells()
		rtt := RTTLabel(c.RTT)
		if c.Remote {
			rtt += RemoteSuffix
		}
		standby, caveat := orDash(c.Standby), c.Caveat
		if c.Latency.Pending > 0 {
			caveat = addDistinct(caveat, "; ", fmt.Sprintf("%d writes still pending", c.Latency.Pending))
		}
		if caveat != "" {
			standby += " (" + caveat + ")"
		}
		over, claim, place := latencyOverhead(cells, c)
		t.Rows = append(t.Rows, []string{rtt, string(c.Mode), standby, strconv.Itoa(c.Latency.Samples), strconv.Itoa(c.Latency.Excluded),
			p50, p95, p99, over, claim, place})
	}
	return t
}

// latencyOverhead is c's p50 over async's at the same round trip (and
// remoteness), the usual claim for c's mode, and where the overhead falls
// against it.
func latencyOverhead(cells []LatencyCell, c LatencyCell) (over, claim, place string) {
	lo, hi := ClaimSemiSyncMin, ClaimSemiSyncMax
	switch c.Mode {
	case topologies.Async:
		return "baseline", "-", "-"
	case topologies.Sync:
		lo, hi = ClaimSyncMin, ClaimSyncMax
	}
	claim = "+" + results.FormatDuration(lo) + "–" + results.FormatDuration(hi)
	for _, a := range cells {
		if a.Mode != topologies.Async || a.RTT != c.RTT || a.Remote != c.Remote {
			continue
		}
		if !a.Latency.Known() || !c.Latency.Known() {
			return results.NoSamples, claim, "-"
		}
		d := c.Latency.P50 - a.Latency.P50
		over = results.FormatDuration(d)
		if d >= 0 {
			over = "+" + over
		}
		switch {
		case d < lo:
			place = "below the claim"
		case d > hi:
			place = "above the claim"
		default:
			place = "within the claim"
		}
		return over, claim, place
	}
	return "no async cell", claim, "-"
}

// LatencyP50 reads the p50 of mode at a round trip (a cell of the RTT
// column: RTTLabel, plus RemoteSuffix for a remote row) from a latency table; false when the table has no
// such row or the row has no samples.
func LatencyP50(t results.Table, rtt string, m topologies.ReplicationMode) (time.Duration, bool) {
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c] = i
	}
	for _, c := range []string{latencyColRTT, latencyColMode, latencyColP50} {
		if _, ok := col[c]; !ok {
			return 0, false
		}
	}
	for _, row := range t.Rows {
		if row[col[latencyColRTT]] != rtt || row[col[latencyColMode]] != string(m) {
			continue
		}
		d, err := time.ParseDuration(row[col[latencyColP50]])
		return d, err == nil
	}
	return 0, false
}

// latencySettings are the settings the grid's figures are made of.
func latencySettings(t *topologies.Topology, backend string, spec LatencySpec) map[string]string {
	s := map[string]string{
		"synchronous_node_count": strconv.Itoa(syncNodeCount(t)),
		"synchronous_mode":       "false in async, true in semi-sync and sync",
		"patroni.loop_wait":      t.Patroni.LoopWait.String(),
		"network.backend":        backend,
		"windows":                fmt.Sprintf("%d per cell, modes in turn, %s each after %s to settle", spec.Rounds, spec.Window, spec.Settle),
		"workload":               fmt.Sprintf("writer %g/s, one write at a time; sessions %g pairs/s; probes every %s", LatencyProfile.WriteRate, LatencyProfile.SessionRate, LatencyProfile.ProbePeriod),
	}
	for _, m := range LatencyModes {
		s["synchronous_commit ("+string(m)+")"] = harness.SynchronousCommit(m)
	}
	return s
}

// mariadbLatencySettings are latencySettings on MariaDB: the semi-sync
// variables each mode sets.
func mariadbLatencySettings(t *topologies.Topology, backend string, spec LatencySpec) map[string]string {
	return map[string]string{
		"rpl_semi_sync_master_enabled":                   "OFF in async, ON in the semi-sync modes (SET GLOBAL on the primary)",
		"rpl_semi_sync_master_wait_point (semi-sync)":    "AFTER_SYNC",
		"rpl_semi_sync_master_wait_point (after-commit)": "AFTER_COMMIT",
		"rpl_semi_sync_master_timeout":                   t.MariaDB.SemiSyncTimeout.String(),
		"sync_binlog, innodb_flush_log_at_trx_commit":    "1, 1",
		"rpl_semi_sync_slave_enabled (primary region)":   "ON",
		"network.backend":                                backend,
		"windows":                                        fmt.Sprintf("%d per cell, modes in turn, %s each after %s to settle", spec.Rounds, spec.Window, spec.Settle),
		"workload":                                       fmt.Sprintf("writer %g/s, one write at a time; probes every %s", LatencyProfile.WriteRate, LatencyProfile.ProbePeriod),
	}
}

// RTTLabel is how the latency table names a round trip: "0ms", "2ms".
func RTTLabel(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return results.FormatDuration(d)
}

// RemoteSuffix follows the round trip of the remote rows' RTT cells.
const RemoteSuffix = " (remote sync standby)"

// rttList joins round trips for the summary: "0ms, 2ms and 10ms".
func rttList(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, RTTLabel(d))
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
