package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// Defaults of follower-work.
const (
	// FollowerWorkRows fills the work table: about 110 bytes a row, so
	// some 90 MB of heap, which one pg_dump reads in a few seconds on a
	// small machine, and which the lab's volumes and wal_keep_size (256MB)
	// hold without trouble.
	FollowerWorkRows = 800_000
	// FollowerWorkWindow is how long each window's work runs, and its
	// commits are measured.
	FollowerWorkWindow = 20 * time.Second
	// FollowerWorkSettle passes between the followers having caught up
	// and a window.
	FollowerWorkSettle = 3 * time.Second
)

// followerWorkTable is the table follower-work fills: no index, so that
// filling it costs the WAL of its rows alone, and nothing pg_dump does not
// read.
const followerWorkTable = "replab_follower_work"

// The work: a plain pg_dump of the table to nowhere (the reading and
// formatting a backup does, without the host's disk in the figure), and a
// grouping aggregate with a median per group, which sorts the table.
var followerWorkDump = []string{"pg_dump", "-h", "/var/run/postgresql", "-d", "postgres", "-t", followerWorkTable, "-f", "/dev/null"}

const followerWorkAggregate = "SELECT account, count(*), sum(amount), avg(length(note)), percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM " +
	followerWorkTable + " GROUP BY account"

// FollowerWorkSpec tunes follower-work; zero fields take the defaults.
type FollowerWorkSpec struct {
	Rows           int
	Window, Settle time.Duration
}

// Where a window's work runs.
const (
	WorkNone      = "none"
	WorkFollowers = "followers"
	WorkLeader    = "leader"
)

// WorkWindow is one window of follower-work: the leader's commits while
// the work ran where it says, and what the work did.
type WorkWindow struct {
	// Where is WorkNone, WorkFollowers or WorkLeader; Dump and Aggregate
	// name the nodes the work ran on ("" for none).
	Where           string
	Dump, Aggregate string
	// From and To bound the window, Stopped is when its work had stopped
	// (the last cut run gone), on the history's clock.
	From, To, Stopped time.Duration
	Latency           results.Latency
	// Dumps and Aggregates are the runs that completed in the window, and
	// their mean duration; a run still going at the window's end is cut
	// and not counted.
	Dumps, Aggregates       int
	DumpMean, AggregateMean time.Duration
	// BackupLag and AnalyticsLag are the largest heartbeat lag (seconds)
	// of the backup and the analytics follower in the window and until
	// its work stopped; BackupBytes the backup's largest byte lag. -1
	// without a sample.
	BackupLag, AnalyticsLag, BackupBytes float64
}

// followerWork is what one run's steps share.
type followerWork struct {
	backup, analytics string
	tableBytes        int64
	fill              time.Duration
	windows           []WorkWindow
	// target is the leader's LSN the followers must replay, read when a
	// wait for them begins; 0 between waits.
	target uint64
}

// FollowerWorkScenario is claim 5: a backup follower (Patroni's
// nofailover, noloadbalance and nosync tags) dumps a sizeable table and an
// analytics follower runs a long aggregate while the steady load writes.
// Three windows of equal length on one lab: no work, the work on those
// followers, the same work on the leader. The table has the leader's
// commit latency in each and the followers' lag. Shape designates the
// followers when the topology has none (see ShapeFollowerWork).
func FollowerWorkScenario(spec FollowerWorkSpec) Scenario {
	spec.Rows = cmp.Or(spec.Rows, FollowerWorkRows)
	spec.Window = cmp.Or(spec.Window, FollowerWorkWindow)
	spec.Settle = cmp.Or(spec.Settle, FollowerWorkSettle)
	st := &followerWork{}
	window := func(where string) []Step {
		return []Step{
			Await(followersCaughtUp(st), WaitTimeout, ""),
			Sleep("let the load settle", spec.Settle),
			workWindow(st, where, spec.Window),
		}
	}
	steps := []Step{
		Do("find the backup and analytics followers", func(ctx context.Context, r *Run) error {
			*st = followerWork{}
			b, a := r.Topology.WithRole(topologies.RoleBackup), r.Topology.WithRole(topologies.RoleAnalytics)
			if len(b) == 0 || len(a) == 0 {
				return fmt.Errorf("find the followers: topology %s has no node of role %s or %s", r.Topology.Name, topologies.RoleBackup, topologies.RoleAnalytics)
			}
			st.backup, st.analytics = b[0].Name, a[0].Name
			r.figure("backup follower", st.backup)
			r.figure("analytics follower", st.analytics)
			return nil
		}),
		Do(fmt.Sprintf("fill %s with %d rows", followerWorkTable, spec.Rows), func(ctx context.Context, r *Run) error {
			return fillWorkTable(ctx, r, st, spec.Rows)
		}),
	}
	for _, where := range []string{WorkNone, WorkFollowers, WorkLeader} {
		steps = append(steps, window(where)...)
	}
	steps = append(steps,
		Await(followersCaughtUp(st), WaitTimeout, ""),
		Do("record the follower-work table", func(ctx context.Context, r *Run) error {
			set, err := followerWorkSettings(ctx, r, st, spec)
			if err != nil {
				return err
			}
			// Read from the history now, so that every window's writes
			// have completed (the last window's while the followers caught
			// up).
			h := r.Rec.History()
			for i := range st.windows {
				measureWindow(h, &st.windows[i], st)
			}
			return r.Rec.RecordTable(FollowerWorkTable(st.windows, set))
		}),
		Do("drop "+followerWorkTable, func(ctx context.Context, r *Run) error {
			return execRW(ctx, r.Lab, "DROP TABLE IF EXISTS "+followerWorkTable)
		}),
	)
	return Scenario{
		Name: "follower-work",
		Summary: fmt.Sprintf("pg_dump on a backup follower and a long aggregate on an analytics follower under the steady load, then on the leader (%s windows): "+
			"the leader's commit latency p50/p95/p99 in each, and the backup's lag during the dump", spec.Window),
		Needs:     Needs{Candidates: 2, Roles: []string{topologies.RoleBackup, topologies.RoleAnalytics}},
		Shape:     ShapeFollowerWork,
		Steps:     steps,
		NotJudged: map[string]string{results.CheckFailoverTime: "the scenario injects no fault: there is nothing to fail over from"},
	}
}

// ShapeFollowerWork designates follower-work's followers on a topology
// that has none, as a user would write them: when no node has role
// backup, the last failover candidate of the primary region becomes one if
// the candidates left still allow the synchronous standbys (and a
// failover), else the last node that is no candidate; when no node has
// role analytics, a node "analytics" joins the primary region with
// failover: false and noloadbalance: true, so that the aggregate runs on a
// follower that is neither the synchronous standby nor one the
// application reads from. It copies the regions it changes, so that the
// topology it was given stays as it was.
func ShapeFollowerWork(t *topologies.Topology) {
	regions := make([]topologies.Region, len(t.Regions))
	for i, r := range t.Regions {
		regions[i] = topologies.Region{Name: r.Name, Nodes: slices.Clone(r.Nodes)}
	}
	t.Regions = regions
	if len(t.WithRole(topologies.RoleBackup)) == 0 {
		if n := backupPick(t); n != nil {
			n.Role, n.Failover, n.NoSync, n.NoLoadBalance = topologies.RoleBackup, false, true, true
		}
	}
	if len(t.WithRole(topologies.RoleAnalytics)) == 0 {
		name := "analytics"
		for i := 2; ; i++ {
			if _, taken := t.Node(name); !taken {
				break
			}
			name = "analytics-" + strconv.Itoa(i)
		}
		for i := range t.Regions {
			if t.Regions[i].Name == t.PrimaryRegion {
				t.Regions[i].Nodes = append(t.Regions[i].Nodes, topologies.Node{
					Name: name, Region: t.PrimaryRegion, Role: topologies.RoleAnalytics, NoLoadBalance: true,
				})
			}
		}
	}
}

// backupPick is the node ShapeFollowerWork makes the backup follower, nil
// when none fits.
func backupPick(t *topologies.Topology) *topologies.Node {
	var cand, other *topologies.Node
	candidates := 0
	for i := range t.Regions {
		for j := range t.Regions[i].Nodes {
			n := &t.Regions[i].Nodes[j]
			if n.Failover {
				candidates++
				cand = n
			} else if n.Role == "" {
				other = n
			}
		}
	}
	if candidates-1 >= max(2, t.Replication.SyncStandbys+1) {
		return cand
	}
	return other
}

// fillWorkTable creates and fills the work table through the leader,
// freezes it (so that reading it sets no hint bit, which with checksums
// would write WAL on the leader's first read and not on a follower's) and
// records its size and how long the fill took.
func fillWorkTable(ctx context.Context, r *Run, st *followerWork, rows int) error {
	conn, err := r.Lab.Connect(ctx, harness.EndpointRW)
	if err != nil {
		return fmt.Errorf("fill %s: %w", followerWorkTable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	start := time.Now()
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + followerWorkTable,
		"CREATE TABLE " + followerWorkTable + " (id bigint NOT NULL, account int NOT NULL, amount bigint NOT NULL, note text NOT NULL)",
		"INSERT INTO " + followerWorkTable + " SELECT g, g % 1000, (g * 7919) % 100000, md5(g::text) || md5((g + 1)::text) FROM generate_series(1::bigint, " +
			strconv.Itoa(rows) + ") g",
		"VACUUM (FREEZE, ANALYZE) " + followerWorkTable,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("fill %s: %w", followerWorkTable, err)
		}
	}
	st.fill = time.Since(start)
	if err := conn.QueryRow(ctx, "SELECT pg_table_size('"+followerWorkTable+"')").Scan(&st.tableBytes); err != nil {
		return fmt.Errorf("fill %s: read its size: %w", followerWorkTable, err)
	}
	r.figure("work table", fmt.Sprintf("%d rows, %s", rows, results.FormatMetric(results.MetricLagBytes, float64(st.tableBytes))))
	r.figure("work table filled in", results.FormatDuration(st.fill.Round(time.Millisecond)))
	return nil
}

// execRW runs one statement through the read-write endpoint.
func execRW(ctx context.Context, lab *harness.Lab, q string) error {
	conn, err := lab.Connect(ctx, harness.EndpointRW)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("run %q: %w", q, err)
	}
	return nil
}

// followersCaughtUp is the backup and the analytics follower having
// replayed everything the leader had written when the condition was first
// polled: the work table's fill, or the WAL a window's work caused.
func followersCaughtUp(st *followerWork) Condition {
	return Condition{Detail: "the backup and analytics followers caught up", Until: func(ctx context.Context, r *Run) (bool, error) {
		if st.target == 0 {
			lsn, err := walLSN(ctx, r.Lab, harness.EndpointRW, "pg_current_wal_lsn()")
			if err != nil {
				return false, nil // polled again
			}
			st.target = lsn
		}
		for _, node := range []string{st.backup, st.analytics} {
			lsn, err := walLSN(ctx, r.Lab, node, "pg_last_wal_replay_lsn()")
			if err != nil || lsn < st.target {
				return false, nil
			}
		}
		st.target = 0 // the next wait reads the leader afresh
		return true, nil
	}}
}

// walLSN reads a WAL position function on a node or endpoint.
func walLSN(ctx context.Context, lab *harness.Lab, target, fn string) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := lab.Connect(cctx, target)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var lsn string
	if err := conn.QueryRow(cctx, "SELECT coalesce("+fn+"::text, '')").Scan(&lsn); err != nil {
		return 0, fmt.Errorf("read %s on %s: %w", fn, target, err)
	}
	return harness.ParseLSN(lsn), nil
}

// workWindow runs one window: for its length the dump runs again and
// again on the dump node and the aggregate on the aggregate node (none,
// the followers, or the leader), each cut at the window's end, and the
// steady writer's commits invoked meanwhile are measured.
func workWindow(st *followerWork, where string, d time.Duration) Step {
	return Do(fmt.Sprintf("measure commit latency with the work on: %s", where), func(ctx context.Context, r *Run) error {
		w := WorkWindow{Where: where}
		switch where {
		case WorkFollowers:
			w.Dump, w.Aggregate = st.backup, st.analytics
		case WorkLeader:
			leader, err := r.Lab.LeaderName(ctx)
			if err != nil {
				return fmt.Errorf("find the leader: %w", err)
			}
			w.Dump, w.Aggregate = leader, leader
		}
		from := r.Rec.Now()
		end := time.Now().Add(d)
		var wg sync.WaitGroup
		var dumps, aggs []time.Duration
		var dumpErr, aggErr error
		if w.Dump != "" {
			wg.Add(2)
			go func() { defer wg.Done(); dumps, dumpErr = repeatDump(ctx, r.Lab, w.Dump, end) }()
			go func() { defer wg.Done(); aggs, aggErr = repeatAggregate(ctx, r.Lab, w.Aggregate, end) }()
		}
		if err := sleepUntil(ctx, end); err != nil {
			return err
		}
		to := r.Rec.Now()
		wg.Wait()
		stopped := r.Rec.Now()
		if err := errors.Join(dumpErr, aggErr); err != nil {
			return err
		}
		w.From, w.To, w.Stopped = from, to, stopped
		w.Dumps, w.DumpMean = len(dumps), meanDuration(dumps)
		w.Aggregates, w.AggregateMean = len(aggs), meanDuration(aggs)
		st.windows = append(st.windows, w)
		r.Log.Info("work window done", "work on", where, "dumps", w.Dumps, "dump mean", w.DumpMean, "aggregates", w.Aggregates, "aggregate mean", w.AggregateMean)
		return nil
	})
}

// measureWindow reads w's commit latency and the followers' lag from h.
func measureWindow(h results.History, w *WorkWindow, st *followerWork) {
	w.Latency = results.WriteLatency(h, steadyWriter, results.Window{From: w.From, To: w.To})
	w.BackupLag = maxSample(h, st.backup, results.MetricLagHeartbeatSeconds, w.From, w.Stopped)
	w.AnalyticsLag = maxSample(h, st.analytics, results.MetricLagHeartbeatSeconds, w.From, w.Stopped)
	w.BackupBytes = maxSample(h, st.backup, results.MetricLagBytes, w.From, w.Stopped)
}

// repeatDump runs the dump on node until end, each run under timeout(1)
// so that the last one stops at end; it returns the completed runs'
// durations.
func repeatDump(ctx context.Context, lab *harness.Lab, node string, end time.Time) ([]time.Duration, error) {
	var out []time.Duration
	for {
		left := time.Until(end)
		if left <= 0 {
			return out, nil
		}
		start := time.Now()
		res, err := lab.Exec(ctx, node, harness.ExecRequest{
			User: "postgres",
			Cmd:  append([]string{"timeout", strconv.FormatFloat(left.Seconds(), 'f', 3, 64)}, followerWorkDump...),
		})
		switch {
		case err != nil:
			return out, fmt.Errorf("pg_dump on %s: %w", node, err)
		case res.ExitCode == 124: // timeout(1): cut at the window's end
			return out, nil
		case res.ExitCode != 0:
			return out, fmt.Errorf("pg_dump on %s: exit %d: %s", node, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
		}
		out = append(out, time.Since(start))
	}
}

// repeatAggregate runs the aggregate on node until end, each run under a
// statement_timeout of the time left, so that PostgreSQL itself stops the
// last one at end (a client that only went away would leave it running:
// the server notices a gone client when it next writes to it, at the
// result). The run it stops is not counted.
func repeatAggregate(ctx context.Context, lab *harness.Lab, node string, end time.Time) ([]time.Duration, error) {
	conn, err := lab.Connect(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("aggregate on %s: %w", node, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var out []time.Duration
	for {
		left := time.Until(end).Milliseconds()
		if left <= 0 {
			return out, nil
		}
		if _, err := conn.Exec(ctx, "SET statement_timeout = "+strconv.FormatInt(left, 10)); err != nil {
			return out, fmt.Errorf("aggregate on %s: %w", node, err)
		}
		start := time.Now()
		rows, err := conn.Query(ctx, followerWorkAggregate)
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == sqlstateQueryCanceled {
			return out, nil // stopped at the window's end
		}
		if err != nil {
			return out, fmt.Errorf("aggregate on %s: %w", node, err)
		}
		out = append(out, time.Since(start))
	}
}

// sqlstateQueryCanceled is PostgreSQL's query_canceled, which a
// statement_timeout raises.
const sqlstateQueryCanceled = "57014"

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func meanDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// maxSample is the largest sample of metric on node in [from, to], -1
// without one.
func maxSample(h results.History, node, metric string, from, to time.Duration) float64 {
	m := -1.0
	for _, s := range h.Samples {
		if s.Node == node && s.Metric == metric && s.At >= from && s.At <= to {
			m = max(m, s.Value)
		}
	}
	return m
}

// followerWorkSettings are the settings the figures are made of: the
// work, the roles, the replication mode, and the PostgreSQL settings the
// leader and the backup ran with (the topology's parameters among them).
func followerWorkSettings(ctx context.Context, r *Run, st *followerWork, spec FollowerWorkSpec) (map[string]string, error) {
	set := map[string]string{
		"work table":            fmt.Sprintf("%s, %d rows, %s, no index", followerWorkTable, spec.Rows, results.FormatMetric(results.MetricLagBytes, float64(st.tableBytes))),
		"work.dump":             strings.Join(followerWorkDump, " "),
		"work.aggregate":        followerWorkAggregate,
		"window":                fmt.Sprintf("%s of work each after %s to settle", spec.Window, spec.Settle),
		"replication.mode":      string(r.Topology.Replication.Mode),
		"roles":                 fmt.Sprintf("%s=backup (nofailover, noloadbalance, nosync), %s=analytics", st.backup, st.analytics),
		"postgresql.parameters": orDash(topologies.ParametersText(r.Topology.PostgreSQL.Parameters)),
		"workload.write_rate":   "100/s (steady)",
	}
	for _, node := range []string{harness.EndpointRW, st.backup} {
		who := "leader"
		if node != harness.EndpointRW {
			who = "backup"
		}
		conn, err := r.Lab.Connect(ctx, node)
		if err != nil {
			return nil, fmt.Errorf("read the settings on %s: %w", node, err)
		}
		var sb, wm, hsf, delay, commit string
		err = conn.QueryRow(ctx, `SELECT current_setting('shared_buffers'), current_setting('work_mem'), current_setting('hot_standby_feedback'),
			current_setting('max_standby_streaming_delay'), current_setting('synchronous_commit')`).Scan(&sb, &wm, &hsf, &delay, &commit)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("read the settings on %s: %w", node, err)
		}
		if who == "leader" {
			set["synchronous_commit"] = commit
			set["shared_buffers"], set["work_mem"] = sb, wm
		} else {
			set["backup.hot_standby_feedback"], set["backup.max_standby_streaming_delay"] = hsf, delay
		}
	}
	return set, nil
}

// FollowerWorkTable lays the windows out as the run's table, one row
// each, with the change in p50 and p99 over the window without work. It
// is pure.
func FollowerWorkTable(ws []WorkWindow, settings map[string]string) results.Table {
	t := results.Table{
		Title: "Leader commit latency with backup and analytics work on followers vs on the leader",
		Columns: []string{"work on", "pg_dump on", "aggregate on", "ok writes", "not ok", "p50", "p95", "p99", "p50 / p99 over no work",
			"pg_dumps done (mean)", "aggregates done (mean)", "backup lag max (heartbeat)", "backup byte lag max", "analytics lag max (heartbeat)"},
		Note: "Latency is Complete − Invoke of the steady writer's acknowledged commits (INSERT through HAProxy's rw endpoint) invoked in each window. " +
			"In each window the dump runs again and again on one node and the aggregate on one node, both stopped at the window's end (a run cut there is not counted). " +
			"Lag is the followers' heartbeat lag (what a reader sees, sampled every 100ms) from the window's start until its work stopped; byte lag is the leader's LSN minus the backup's replay LSN. " +
			"Every container shares the host's CPUs: work on a follower still takes CPU from the leader here, which separate hosts would not.",
		Settings: settings,
	}
	var base results.Latency
	for _, w := range ws {
		if w.Where == WorkNone {
			base = w.Latency
		}
	}
	for _, w := range ws {
		p50, p95, p99 := w.Latency.Cells()
		over := "baseline"
		if w.Where != WorkNone {
			over = latencyDelta(base, w.Latency)
		}
		t.Rows = append(t.Rows, []string{w.Where, orDash(w.Dump), orDash(w.Aggregate), strconv.Itoa(w.Latency.Samples), strconv.Itoa(w.Latency.Excluded),
			p50, p95, p99, over, runsCell(w.Dump, w.Dumps, w.DumpMean), runsCell(w.Aggregate, w.Aggregates, w.AggregateMean),
			lagCell(w.BackupLag, results.MetricLagHeartbeatSeconds), lagCell(w.BackupBytes, results.MetricLagBytes), lagCell(w.AnalyticsLag, results.MetricLagHeartbeatSeconds)})
	}
	return t
}

// latencyDelta is "+p50 / +p99" of l over base.
func latencyDelta(base, l results.Latency) string {
	if !base.Known() || !l.Known() {
		return results.NoSamples
	}
	signed := func(d time.Duration) string {
		if d >= 0 {
			return "+" + results.FormatDuration(d)
		}
		return "-" + results.FormatDuration(-d)
	}
	return signed(l.P50-base.P50) + " / " + signed(l.P99-base.P99)
}

func runsCell(node string, n int, mean time.Duration) string {
	switch {
	case node == "":
		return "-"
	case n == 0:
		return "0 (each longer than the window)"
	}
	return fmt.Sprintf("%d (%s)", n, results.FormatDuration(mean.Round(time.Millisecond)))
}

func lagCell(v float64, metric string) string {
	if v < 0 {
		return "no sample"
	}
	return results.FormatMetric(metric, v)
}
