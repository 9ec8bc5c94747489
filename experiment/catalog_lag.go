package experiment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/units"
	"github.com/replab/replab/workload"
)

// The three usual causes of replication lag, one scenario each: the cause
// is put on one follower for a fixed hold and removed, and the run records
// the follower's lag curve (in the history, so report.html draws it) and a
// table with its peak and how long the follower took to catch up.
const (
	// LagWarmup is how long the workload runs before the cause; its last
	// LagWALWindow measures the leader's WAL rate.
	LagWarmup    = 6 * time.Second
	LagWALWindow = 3 * time.Second
	// LagHold is how long the cause is held.
	LagHold = 20 * time.Second
	// LagStandbyDelay is max_standby_streaming_delay in lag-replay-conflict:
	// shorter than LagHold, so PostgreSQL cancels the query within the hold
	// and the curve shows the cap the setting puts on lag.
	LagStandbyDelay = 10 * time.Second
	// LagCPUs is lag-cpu's quota on the follower, in cores: below what
	// receiving and replaying the Bulk profile's WAL takes on top of the
	// follower's other processes (Patroni, the workload's readers).
	LagCPUs = 0.02
)

// LagLinkRate is lag-bandwidth's rate on the leader–follower link: under
// the Bulk profile's WAL rate (about 7 Mbit/s), far over Steady's (about
// 0.25 Mbit/s), so it is the bulk load that saturates it.
const LagLinkRate units.BitRate = 2_000_000

// Figures the lag scenarios take.
const (
	MeasureLagFollower  = "follower"
	MeasureLagSyncState = "follower sync state"
	MeasureWALRate      = "leader WAL rate"
	MeasureCancelled    = "queries cancelled on the follower"
)

// lagRun is what a lag scenario's steps share within one run.
type lagRun struct {
	follower, syncState string
	walRate             float64 // bytes per second, 0 when unmeasured
	conflicts           conflicts
	// restore is the follower's settings before lag-replay-conflict changed
	// them, put back at its end.
	restore standbySettings
}

// LagBandwidthScenario saturates the link between the leader and a
// follower: its rate is capped at LagLinkRate while the Bulk profile
// writes more WAL than that, so the follower's backlog grows for the whole
// hold and drains at the link's full speed after the heal.
func LagBandwidthScenario() Scenario {
	st := &lagRun{}
	return lagScenario(st, lagSpec{
		name:    "lag-bandwidth",
		summary: fmt.Sprintf("cap the leader–follower link at %s under the bulk load for %s: the lag curve and the catch-up", LagLinkRate, LagHold),
		cause:   "network bandwidth saturation",
		fault:   "slow",
		netem:   true,
		profile: workload.Bulk,
		mk: func(*Run) chaos.Fault {
			return chaos.SlowLinks(chaos.Leader, chaos.Node(st.follower), netem.Impairment{Rate: LagLinkRate})
		},
		what: func() string {
			return fmt.Sprintf("WAL at %s over a %s link (each way) for %s", walRateText(st.walRate), LagLinkRate, LagHold)
		},
		settings: map[string]string{"link.rate": LagLinkRate.String()},
	})
}

// LagCPUScenario caps a follower's CPU at LagCPUs cores while the Bulk
// profile writes: the follower receives the WAL but cannot replay it as
// fast as it arrives.
func LagCPUScenario() Scenario {
	st := &lagRun{}
	return lagScenario(st, lagSpec{
		name:    "lag-cpu",
		summary: fmt.Sprintf("cap a follower at %g CPU under the bulk load for %s: the lag curve and the catch-up", LagCPUs, LagHold),
		cause:   "overloaded follower",
		fault:   "cpu",
		profile: workload.Bulk,
		mk:      func(*Run) chaos.Fault { return chaos.ThrottleCPU(chaos.Node(st.follower), LagCPUs) },
		what: func() string {
			return fmt.Sprintf("%g CPU for the follower's container while the leader writes WAL at %s, for %s", LagCPUs, walRateText(st.walRate), LagHold)
		},
		settings: map[string]string{"follower.cpus": strconv.FormatFloat(LagCPUs, 'g', -1, 64)},
	})
}

// LagReplayConflictScenario runs a query on a follower that conflicts
// with replay (chaos.LongQuery: it holds a lock the leader's next WAL
// record must take) with hot_standby_feedback off and
// max_standby_streaming_delay at LagStandbyDelay: replay waits, lag grows
// to about the delay, then PostgreSQL cancels the query ("canceling
// statement due to conflict with recovery") and replay catches up, before
// the heal. The table counts the cancellations from
// pg_stat_database_conflicts on the follower. A lock conflict is
// cancelled whatever hot_standby_feedback says; with the feedback off the
// query's snapshot also conflicts with the leader's pruning of rows the
// workload updates (such as the heartbeat's), so the cancellation counts
// as a lock or a snapshot conflict, whichever record replay reaches first.
// The lab keeps the feedback on so that other scenarios see no snapshot
// conflicts; here it is off so that neither kind is held back. The
// settings go through Patroni's dynamic configuration; the plan's last
// step puts the values it found back, so a run that fails before it
// leaves them on a lab it was given (Request.Lab).
func LagReplayConflictScenario() Scenario {
	st := &lagRun{}
	want := standbySettings{HotStandbyFeedback: "off", MaxStandbyStreamingDelay: standbyDelayText(LagStandbyDelay.Milliseconds())}
	return lagScenario(st, lagSpec{
		name: "lag-replay-conflict",
		summary: fmt.Sprintf("a query on a follower conflicting with replay, hot_standby_feedback off, max_standby_streaming_delay %s, held %s: "+
			"the lag curve and the cancelled query", LagStandbyDelay, LagHold),
		cause: "long query conflicting with replay",
		fault: "query",
		// Replay stops altogether: the steady load shows it as well as any.
		profile: workload.Steady,
		mk:      func(*Run) chaos.Fault { return chaos.LongQuery(chaos.Node(st.follower), 0) },
		what: func() string {
			return fmt.Sprintf("a query holding a lock replay needs, hot_standby_feedback=%s, max_standby_streaming_delay=%s, held %s",
				want.HotStandbyFeedback, want.MaxStandbyStreamingDelay, LagHold)
		},
		before: []Step{
			Do("read the follower's standby settings", func(ctx context.Context, r *Run) error {
				s, err := readStandbySettings(ctx, r.Lab, st.follower)
				st.restore = s
				return err
			}),
			setStandbySettings(want),
			Await(standbySettingsAre(st, want), 30*time.Second, ""),
		},
		after: []Step{
			Do("restore the follower's standby settings", func(ctx context.Context, r *Run) error {
				return r.Lab.SetDynamicConfig(ctx, st.restore.patch())
			}),
		},
	})
}

// lagSpec is what one lag cause adds to the plan they share.
type lagSpec struct {
	name, summary string
	// cause names the row; fault is the name the plan injects it as.
	cause, fault string
	// netem says the cause slows links (Scenario.Netem).
	netem   bool
	profile workload.Profile
	mk      func(*Run) chaos.Fault
	// what says, for the table, what made the figure.
	what func() string
	// settings are the cause's own, added to the table's.
	settings map[string]string
	// before runs between the warm-up and the fault, after at the end.
	before, after []Step
}

// lagScenario is the plan every lag cause shares: pick a follower, wait
// for the writes to flow, warm up and measure the WAL rate, run the steps
// before, count the follower's replay conflicts, inject the cause, hold
// it, heal it, wait until the follower has caught up, record the table,
// run the steps after.
func lagScenario(st *lagRun, spec lagSpec) Scenario {
	steps := []Step{
		Do("pick a follower the leader does not wait for", func(ctx context.Context, r *Run) error {
			*st = lagRun{}
			ms, err := r.Lab.Members(ctx)
			if err != nil {
				return fmt.Errorf("pick a follower: %w", err)
			}
			m, ok := lagFollower(ms)
			if !ok {
				return fmt.Errorf("pick a follower: %w", chaos.ErrNoTarget)
			}
			st.follower, st.syncState = m.Name, m.SyncState
			r.figure(MeasureLagFollower, m.Name)
			r.figure(MeasureLagSyncState, m.SyncState)
			return nil
		}),
		Await(writesFlowing(spec.profile.WriteRate/2), WaitTimeout, ""),
		Sleep("warm up", LagWarmup-LagWALWindow),
		Do("measure the leader's WAL rate", func(ctx context.Context, r *Run) error {
			rate, err := walRate(ctx, r.Lab, LagWALWindow)
			if err != nil {
				return err
			}
			st.walRate = rate
			r.figure(MeasureWALRate, walRateText(rate))
			return nil
		}),
	}
	steps = append(steps, spec.before...)
	steps = append(steps,
		Do("count the follower's replay conflicts", func(ctx context.Context, r *Run) error {
			c, err := readConflicts(ctx, r.Lab, st.follower)
			st.conflicts = c
			return err
		}),
		Inject(spec.fault, spec.mk),
		Sleep("hold "+spec.fault, LagHold),
		Heal(spec.fault),
		Await(caughtUp(spec.fault, st), WaitTimeout, "the follower had not caught up "+WaitTimeout.String()+" after the heal"),
		Do("record the lag table", func(ctx context.Context, r *Run) error {
			t, err := lagTableOf(ctx, r, st, spec)
			if err != nil {
				return fmt.Errorf("record the lag table: %w", err)
			}
			return r.Rec.RecordTable(t)
		}),
	)
	steps = append(steps, spec.after...)
	return Scenario{
		Name:    spec.name,
		Summary: spec.summary,
		// Two database nodes, one to lead and one to fall behind; Needs
		// counts nodes by failover candidacy.
		Needs:   Needs{Candidates: 2},
		Netem:   spec.netem,
		Profile: spec.profile,
		Steps:   steps,
	}
}

// lagTableOf reads the follower's curve, cancelled queries and settings
// and makes the scenario's table. It runs before the steps after, so the
// settings are those in effect during the fault.
func lagTableOf(ctx context.Context, r *Run, st *lagRun, spec lagSpec) (results.Table, error) {
	after, err := retried(ctx, "the follower's conflicts", func(ctx context.Context) (conflicts, error) {
		return readConflicts(ctx, r.Lab, st.follower)
	})
	if err != nil {
		return results.Table{}, err
	}
	cancelled := after.sub(st.conflicts)
	r.figure(MeasureCancelled, strconv.FormatInt(cancelled.Total, 10))
	cur, err := retried(ctx, "the follower's standby settings", func(ctx context.Context) (standbySettings, error) {
		return readStandbySettings(ctx, r.Lab, st.follower)
	})
	if err != nil {
		return results.Table{}, err
	}
	a, err := r.Fault(spec.fault)
	if err != nil {
		return results.Table{}, err
	}
	h := r.Rec.History()
	w, ok := faultWindow(h, a)
	if !ok {
		return results.Table{}, fmt.Errorf("no window for fault %s in the history", spec.fault)
	}
	threshold := lagThreshold(Targets(r.Topology))
	set := map[string]string{
		"fault.hold":                  LagHold.String(),
		"workload.profile":            spec.profile.Name,
		"workload.write_rate":         strconv.FormatFloat(spec.profile.WriteRate, 'g', -1, 64) + "/s",
		"workload.payload_bytes":      strconv.Itoa(spec.profile.PayloadBytes),
		"replication.mode":            string(r.Topology.Replication.Mode),
		"hot_standby_feedback":        cur.HotStandbyFeedback,
		"max_standby_streaming_delay": cur.MaxStandbyStreamingDelay,
	}
	for k, v := range spec.settings {
		set[k] = v
	}
	return LagTable(spec.cause, st.follower, st.syncState, LagCurveOf(h, st.follower, w, threshold, st.walRate), cancelled, spec.what(), set), nil
}

// FollowerReadTimeout bounds the retries of a read on the follower after
// its fault: one freed of a CPU quota refuses connections for seconds
// while it works off the backlog of those that piled up.
const FollowerReadTimeout = time.Minute

// retried runs read until it succeeds or FollowerReadTimeout passes.
func retried[T any](ctx context.Context, what string, read func(context.Context) (T, error)) (T, error) {
	var v T
	err := poll(ctx, FollowerReadTimeout, what, func() (bool, error) {
		var err error
		v, err = read(ctx)
		return err == nil, err
	})
	return v, err
}

// lagFollower picks the follower a lag cause is put on: a streaming
// replica the leader does not wait for (async or potential), so that the
// cause shows as lag rather than as slower commits; failing that any
// streaming replica. Ties go to the first by name, so that runs on one
// topology pick alike.
func lagFollower(ms []harness.Member) (harness.Member, bool) {
	var streaming []harness.Member
	for _, m := range ms {
		if m.Role == harness.RoleReplica && m.State == "streaming" {
			streaming = append(streaming, m)
		}
	}
	if len(streaming) == 0 {
		return harness.Member{}, false
	}
	leaderRegion := ""
	for _, m := range ms {
		if m.Role == harness.RoleLeader {
			leaderRegion = m.Region
		}
	}
	waitedFor := func(m harness.Member) bool { return m.SyncState == "sync" || m.SyncState == "quorum" }
	// Not waited for first (the leader must not stall), then in the
	// leader's region: a slowed link inside a region is slow-links', one
	// across regions is the WAN's (degrade).
	slices.SortFunc(streaming, func(a, b harness.Member) int {
		if wa, wb := waitedFor(a), waitedFor(b); wa != wb {
			if wa {
				return 1
			}
			return -1
		}
		if la, lb := a.Region == leaderRegion, b.Region == leaderRegion; la != lb {
			if la {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return streaming[0], true
}

// writesFlowing is the workload's writes acknowledged at atLeast a second
// over the last second: a lab just up may refuse or stall its first
// writes, and a WAL rate measured then says nothing of the load.
func writesFlowing(atLeast float64) Condition {
	return Condition{Detail: fmt.Sprintf("%g acknowledged writes a second", atLeast), Until: func(_ context.Context, r *Run) (bool, error) {
		now := r.Rec.Now()
		return now > time.Second && float64(r.Rec.AckedWrites(now-time.Second)) >= atLeast, nil
	}}
}

// faultWindow is the history's window of the injected fault a.
func faultWindow(h results.History, a *chaos.Active) (results.FaultWindow, bool) {
	for _, w := range results.Faults(h) {
		if w.Injected == a.Injected {
			return w, true
		}
	}
	return results.FaultWindow{}, false
}

// lagThreshold is the replay_lag at or under which a follower has caught
// up (LagCurve): the SLA's lag target, as for a rejoin (results.Rejoins).
func lagThreshold(t results.Targets) time.Duration {
	if t.ReplicationLagP99 != nil {
		return *t.ReplicationLagP99
	}
	return results.DefaultRejoinLag
}

// caughtUp is the run's follower caught up (see LagCurve) at or after
// fault's heal began.
func caughtUp(fault string, st *lagRun) Condition {
	return Condition{Detail: "the follower of " + fault + " caught up", Until: func(_ context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		h := r.Rec.History()
		w, ok := faultWindow(h, a)
		if !ok || w.EndReason != results.EndHealed {
			return false, nil
		}
		return LagCurveOf(h, st.follower, w, lagThreshold(Targets(r.Topology)), st.walRate).CaughtUp, nil
	}}
}

// LagCurve is one follower's lag through one fault, read from the
// history's samples. Whether and when it caught up is judged on what the
// leader's pg_stat_replication reports, whatever state the follower is
// in: replay_lag at or under the threshold, and the byte lag at or under
// what the leader writes in that time (replay_lag alone holds its last,
// small value while replay is stalled). The heartbeat lag, what a reader
// of the follower sees, is read on the follower itself, which a follower
// short of CPU may not answer at all: it is reported beside, with its
// longest gap.
type LagCurve struct {
	Node string
	// Threshold is the replay_lag at or under which it has caught up;
	// ThresholdBytes the byte lag (0: not judged).
	Threshold      time.Duration
	ThresholdBytes float64
	// Before is the largest replay_lag before the fault; -1 without a
	// sample.
	Before float64
	// The peaks, from the fault's begin to the catch-up (the run's end
	// without one): replay_lag and heartbeat lag in seconds, byte lag in
	// bytes. PeakAt is replay_lag's peak, counted from when the fault was
	// wholly in effect (its inject's end stamp).
	PeakReplaySeconds, PeakHeartbeatSeconds, PeakBytes float64
	PeakAt                                             time.Duration
	// HeartbeatGap is the longest span over the same interval without a
	// heartbeat sample of the follower.
	HeartbeatGap time.Duration
	// CaughtUp: the follower had caught up at a sample at or after the
	// heal began, Recovery after the heal's begin (0 when it had caught up
	// before the heal: the first samples after it are already under).
	CaughtUp bool
	Recovery time.Duration
	// FromPeak is from replay_lag's peak to the first catch-up after it;
	// PeakRecovered says there was one, BeforeHeal that it came before the
	// heal began (the cause ended itself: a cancelled query).
	FromPeak                  time.Duration
	PeakRecovered, BeforeHeal bool
}

// Rose says the fault pushed the follower's lag over the threshold, in
// replay_lag or in heartbeat lag.
func (c LagCurve) Rose() bool {
	return max(c.PeakReplaySeconds, c.PeakHeartbeatSeconds) > c.Threshold.Seconds()
}

// LagCurveOf reads node's lag through fault window w (see LagCurve);
// walRate (bytes per second, 0 when unknown) sets the byte threshold.
func LagCurveOf(h results.History, node string, w results.FaultWindow, threshold time.Duration, walRate float64) LagCurve {
	c := LagCurve{Node: node, Threshold: threshold, ThresholdBytes: max(walRate, 0) * threshold.Seconds(), Before: -1}
	var samples []results.SampleRecord
	for _, s := range h.Samples {
		if s.Node == node {
			samples = append(samples, s)
		}
	}
	slices.SortStableFunc(samples, func(a, b results.SampleRecord) int { return cmp.Compare(a.At, b.At) })
	// caughtUpFrom is the first sample at or after from at which the
	// latest replay_lag and byte lag (read at or after from) are both
	// under their thresholds.
	caughtUpFrom := func(from time.Duration) (time.Duration, bool) {
		replayOK, bytesOK := false, c.ThresholdBytes <= 0
		for _, s := range samples {
			if s.At < from {
				continue
			}
			switch s.Metric {
			case results.MetricLagReplaySeconds:
				replayOK = s.Value <= threshold.Seconds()
			case results.MetricLagBytes:
				if c.ThresholdBytes > 0 {
					bytesOK = s.Value <= c.ThresholdBytes
				}
			default:
				continue
			}
			if replayOK && bytesOK {
				return s.At, true
			}
		}
		return 0, false
	}
	end := results.RunEnd(h)
	if w.EndReason == results.EndHealed {
		if at, ok := caughtUpFrom(w.End); ok {
			c.CaughtUp, c.Recovery, end = true, at-w.End, at
		}
	}
	peakAt := time.Duration(-1)
	last := w.Injected // the last heartbeat sample
	for _, s := range samples {
		if s.At < w.Injected {
			if s.Metric == results.MetricLagReplaySeconds {
				c.Before = max(c.Before, s.Value)
			}
			continue
		}
		if s.At > end {
			break
		}
		switch s.Metric {
		case results.MetricLagReplaySeconds:
			if peakAt < 0 || s.Value > c.PeakReplaySeconds {
				c.PeakReplaySeconds, peakAt = s.Value, s.At
			}
		case results.MetricLagBytes:
			c.PeakBytes = max(c.PeakBytes, s.Value)
		case results.MetricLagHeartbeatSeconds:
			c.PeakHeartbeatSeconds = max(c.PeakHeartbeatSeconds, s.Value)
			c.HeartbeatGap = max(c.HeartbeatGap, s.At-last)
			last = s.At
		}
	}
	c.HeartbeatGap = max(c.HeartbeatGap, end-last)
	if peakAt >= 0 {
		c.PeakAt = peakAt - w.InjectedEnd
		if at, ok := caughtUpFrom(peakAt + 1); ok {
			c.FromPeak, c.PeakRecovered = at-peakAt, true
			c.BeforeHeal = w.EndReason == results.EndHealed && at < w.End
		}
	}
	return c
}

// LagTable is the table a lag scenario records: one row, its cause.
func LagTable(cause, follower, syncState string, c LagCurve, cancelled conflicts, what string, settings map[string]string) results.Table {
	secs := func(v float64) string { return results.FormatDuration(time.Duration(v * float64(time.Second))) }
	before := "no sample"
	if c.Before >= 0 {
		before = secs(c.Before)
	}
	recovery := "not within the run"
	switch {
	case c.BeforeHeal:
		recovery = "caught up before the heal"
	case c.CaughtUp:
		recovery = results.FormatDuration(c.Recovery)
	}
	fromPeak := "not within the run"
	if c.PeakRecovered {
		fromPeak = results.FormatDuration(c.FromPeak)
	}
	if syncState != "" {
		follower += " (" + syncState + ")"
	}
	return results.Table{
		Title: "Replication lag: " + cause,
		Columns: []string{"cause", "follower", "replay_lag before", "peak replay_lag", "peak byte lag", "peak heartbeat lag (longest gap)",
			"replay_lag peaked (after the fault was in effect)", "caught up after the heal", "caught up after the peak", "queries cancelled (lock, snapshot)", "what made it"},
		Rows: [][]string{{cause, follower, before, secs(c.PeakReplaySeconds), results.FormatMetric(results.MetricLagBytes, c.PeakBytes),
			secs(c.PeakHeartbeatSeconds) + " (" + results.FormatDuration(c.HeartbeatGap) + ")",
			results.FormatDuration(c.PeakAt), recovery, fromPeak,
			fmt.Sprintf("%d (%d, %d)", cancelled.Total, cancelled.Lock, cancelled.Snapshot), what}},
		Note: "replay_lag and byte lag (the leader's LSN − the follower's replay LSN) come from the leader's pg_stat_replication every 100ms; " +
			"replay_lag holds its last value while replay is stalled and jumps once replay resumes. " +
			"Heartbeat lag is what a reader of the follower sees (the age of the oldest acknowledged heartbeat it does not show), read on the follower every 100ms; " +
			"its longest gap is the longest span from the fault's begin to the catch-up in which the follower answered no read. " +
			"The follower has caught up at the first sample after the heal began with replay_lag at or under " + results.FormatDuration(c.Threshold) +
			" and byte lag at or under what the leader writes in that time (" + results.FormatMetric(results.MetricLagBytes, c.ThresholdBytes) + " at the WAL rate measured before the fault). " +
			"Cancelled queries are the change in the follower's pg_stat_database_conflicts over the fault.",
		Settings: settings,
	}
}

// walRate is the leader's WAL rate in bytes per second over d.
func walRate(ctx context.Context, lab *harness.Lab, d time.Duration) (float64, error) {
	conn, err := lab.Connect(ctx, harness.EndpointRW)
	if err != nil {
		return 0, fmt.Errorf("measure wal rate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	const q = `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8`
	var a, b float64
	if err := conn.QueryRow(ctx, q).Scan(&a); err != nil {
		return 0, fmt.Errorf("measure wal rate: %w", err)
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	if err := conn.QueryRow(ctx, q).Scan(&b); err != nil {
		return 0, fmt.Errorf("measure wal rate: %w", err)
	}
	return (b - a) / time.Since(t0).Seconds(), nil
}

// walRateText prints a WAL rate in bytes per second first (what
// Result.LagCurve reads back), then for a reader.
func walRateText(bps float64) string {
	if bps <= 0 {
		return "an unmeasured rate"
	}
	return fmt.Sprintf("%.0f B/s (%s/s, %.1f Mbit/s)", bps, results.FormatMetric(results.MetricLagBytes, bps), bps*8/1e6)
}

// LagCurve reads a lag scenario's result: its follower's curve through
// its one fault, judged as the run judged it.
func (res Result) LagCurve() (LagCurve, error) {
	if len(res.Faults) != 1 {
		return LagCurve{}, fmt.Errorf("read lag curve: %d faults in the run, want the lag scenario's one", len(res.Faults))
	}
	var a *chaos.Active
	for _, f := range res.Faults {
		a = f
	}
	w, ok := faultWindow(res.History, a)
	if !ok {
		return LagCurve{}, fmt.Errorf("read lag curve: fault %s is not in the history", a.Fault)
	}
	node := res.Measured(MeasureLagFollower)
	if node == "" {
		return LagCurve{}, fmt.Errorf("read lag curve: no %q figure", MeasureLagFollower)
	}
	var rate float64
	_, _ = fmt.Sscanf(res.Measured(MeasureWALRate), "%g", &rate) // unmeasured: 0, bytes not judged
	return LagCurveOf(res.History, node, w, lagThreshold(res.Verdict.Targets), rate), nil
}

// conflicts are a follower's replay conflicts that cancelled a query, from
// pg_stat_database_conflicts summed over its databases.
type conflicts struct{ Total, Lock, Snapshot int64 }

func (c conflicts) sub(o conflicts) conflicts {
	return conflicts{Total: c.Total - o.Total, Lock: c.Lock - o.Lock, Snapshot: c.Snapshot - o.Snapshot}
}

func readConflicts(ctx context.Context, lab *harness.Lab, node string) (conflicts, error) {
	var c conflicts
	conn, err := lab.Connect(ctx, node)
	if err != nil {
		return c, fmt.Errorf("read conflicts on %s: %w", node, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(confl_tablespace + confl_lock + confl_snapshot + confl_bufferpin + confl_deadlock), 0)::bigint,
		coalesce(sum(confl_lock), 0)::bigint, coalesce(sum(confl_snapshot), 0)::bigint FROM pg_stat_database_conflicts`).Scan(&c.Total, &c.Lock, &c.Snapshot)
	if err != nil {
		return c, fmt.Errorf("read conflicts on %s: %w", node, err)
	}
	return c, nil
}

// standbySettings are the follower settings that decide whether a query
// conflicting with replay holds it back, and for how long.
type standbySettings struct {
	HotStandbyFeedback, MaxStandbyStreamingDelay string
}

func (s standbySettings) patch() map[string]any {
	return map[string]any{"postgresql": map[string]any{"parameters": map[string]any{
		"hot_standby_feedback":        s.HotStandbyFeedback,
		"max_standby_streaming_delay": s.MaxStandbyStreamingDelay,
	}}}
}

func readStandbySettings(ctx context.Context, lab *harness.Lab, node string) (standbySettings, error) {
	var s standbySettings
	conn, err := lab.Connect(ctx, node)
	if err != nil {
		return s, fmt.Errorf("read standby settings on %s: %w", node, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var delayMS int64
	err = conn.QueryRow(ctx, `SELECT current_setting('hot_standby_feedback'),
		(SELECT setting::bigint FROM pg_settings WHERE name = 'max_standby_streaming_delay')`).Scan(&s.HotStandbyFeedback, &delayMS)
	if err != nil {
		return s, fmt.Errorf("read standby settings on %s: %w", node, err)
	}
	s.MaxStandbyStreamingDelay = standbyDelayText(delayMS)
	return s, nil
}

// standbyDelayText prints max_standby_streaming_delay (pg_settings gives
// milliseconds) as PostgreSQL accepts it back: "10s", "1500ms", or "-1"
// for wait forever.
func standbyDelayText(ms int64) string {
	switch {
	case ms < 0:
		return "-1"
	case ms%1000 == 0:
		return strconv.FormatInt(ms/1000, 10) + "s"
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// setStandbySettings sets the follower settings through Patroni's dynamic
// configuration, which every member applies within a loop_wait.
func setStandbySettings(s standbySettings) Step {
	return Do(fmt.Sprintf("set hot_standby_feedback=%s, max_standby_streaming_delay=%s", s.HotStandbyFeedback, s.MaxStandbyStreamingDelay),
		func(ctx context.Context, r *Run) error { return r.Lab.SetDynamicConfig(ctx, s.patch()) })
}

// standbySettingsAre is the run's follower running with want.
func standbySettingsAre(st *lagRun, want standbySettings) Condition {
	return Condition{Detail: "the follower running with the new standby settings", Until: func(ctx context.Context, r *Run) (bool, error) {
		s, err := readStandbySettings(ctx, r.Lab, st.follower)
		if err != nil {
			return false, err
		}
		return s.HotStandbyFeedback == want.HotStandbyFeedback && s.MaxStandbyStreamingDelay == want.MaxStandbyStreamingDelay, nil
	}}
}
