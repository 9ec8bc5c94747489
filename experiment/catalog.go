package experiment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// Timings of the catalog's plans.
const (
	// LeaderKillWarmup is how long the workload runs before the kill.
	LeaderKillWarmup = 5 * time.Second
	// LeaderKillSettle is how long writes run on the new leader before the
	// old one is started again.
	LeaderKillSettle = 3 * time.Second
	// WaitTimeout bounds a wait for a new leader, for writes to resume
	// and for a node to stream again.
	WaitTimeout = 90 * time.Second
	// RPOWarmup and RPOCut: the workload runs RPOWarmup, then the leader
	// is separated from its followers for RPOCut before it dies.
	RPOWarmup = 3 * time.Second
	RPOCut    = 2 * time.Second
	// RPOPromotionSlack is added to the TTL to bound the wait for a
	// promotion in an RPO trial: in semi-sync and sync Patroni may promote
	// nobody, which is a finding, not a failure.
	RPOPromotionSlack = 25 * time.Second
)

// DefaultSlow is the slowdown rpo-slow puts on the leader's links: a delay
// and a rate below the WAL rate of the steady workload (about 30 KB/s), so
// that async has a backlog that never leaves the leader.
var DefaultSlow = netem.Impairment{Delay: 100 * time.Millisecond, Rate: 64_000} // 64kbit

// Catalog lists every scenario, by name.
func Catalog() []Scenario {
	return []Scenario{
		LeaderKillScenario(LeaderKillSpec{}), CutDCSScenario(), RPOScenario(RPOSpec{}), RPOScenario(RPOSpec{Slow: DefaultSlow}),
		SwitchoverScenario(), GracefulStopScenario(), PostgresCrashScenario(), PausePastTTLScenario(),
		SyncStandbysLostScenario(false), SyncStandbysLostScenario(true),
		CrashScheduleScenario(CrashScheduleSpec{}), CrashScheduleScenario(CrashScheduleSpec{Incidents: 2, HostDown: HostLossDown}),
		LagBandwidthScenario(), LagCPUScenario(), LagReplayConflictScenario(),
		WriteLatencyScenario(LatencySpec{}),
		RYWScenario(RYWSpec{}),
		FollowerWorkScenario(FollowerWorkSpec{}),
		RegionOutageScenario(), RegionOutageAt(FarRTT), RegionPartitionScenario(), RegionalLatencyScenario(), RegionalReadsScenario(), CascadeScenario(),
		MariaDBRPOScenario(""), WriteLatencyScenario(LatencySpec{Engine: topologies.EngineMariaDB}), RYWScenario(RYWSpec{Engine: topologies.EngineMariaDB}),
	}
}

// Lookup finds a scenario by name; an unknown name is an error listing the
// catalog.
func Lookup(name string) (Scenario, error) {
	var names []string
	for _, s := range Catalog() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (scenarios: %s)", name, strings.Join(names, ", "))
}

// quietBeforeFault separates a measurement that queries every member
// (Patroni's REST API, pg_stat_replication) from the kill: on a small
// machine the queries slow the commits in flight, and the writes just
// before a fault are what dates it.
const quietBeforeFault = time.Second

// LeaderKillSpec tunes the leader-kill plan; zero fields take the
// defaults (LeaderKillWarmup, LeaderKillSettle, WaitTimeout).
type LeaderKillSpec struct {
	Warmup, Settle, Timeout time.Duration
}

// LeaderKillScenario is the main job: SIGKILL of the leader under the
// steady workload; wait for a new leader and for writes to resume, let
// them run, start the old leader again and wait for it to stream. It
// measures the synchronous standbys before the kill and the most advanced
// followers just after it (their received positions are final then): the
// followers Patroni may promote in (semi-)sync and in async mode.
func LeaderKillScenario(spec LeaderKillSpec) Scenario {
	spec.Warmup = max(cmp.Or(spec.Warmup, LeaderKillWarmup), quietBeforeFault)
	spec.Settle = cmp.Or(spec.Settle, LeaderKillSettle)
	spec.Timeout = cmp.Or(spec.Timeout, WaitTimeout)
	return Scenario{
		Name:    "leader-kill",
		Summary: "SIGKILL the leader under load: failover time and its phases, lost writes, the old leader's rejoin",
		Needs:   Needs{Candidates: 2, Managers: topologies.ManagerKinds()},
		Steps: []Step{
			Sleep("warm up", spec.Warmup-quietBeforeFault),
			Measure(MeasureSyncStandbys, func(ctx context.Context, r *Run) string { return membersFigure(ctx, r, harness.SyncStandbys) }),
			Sleep("let the cluster settle before the kill", quietBeforeFault),
			Inject("kill", func(*Run) chaos.Fault { return chaos.Kill(chaos.Leader) }),
			Measure(MeasureMostAdvanced, func(ctx context.Context, r *Run) string { return membersFigure(ctx, r, harness.MostAdvanced) }),
			Await(NewLeaderAfter("kill"), spec.Timeout, ""),
			Await(WritesAfter("kill"), spec.Timeout, ""),
			FailoverTable("kill", "leader SIGKILL"),
			Sleep("let writes run on the new leader", spec.Settle),
			Heal("kill"),
			Await(Streams("kill"), spec.Timeout, "the old leader did not stream again in time"),
		},
	}
}

// CutDCSScenario cuts the leader off from etcd only: it keeps its clients
// and followers but cannot renew its lock, so Patroni must demote it
// within ttl + loop_wait + retry_timeout (the figure "cut demoted after")
// and another member take over; after the heal it streams again.
func CutDCSScenario() Scenario {
	return Scenario{
		Name:    "cut-dcs",
		Summary: "cut the leader off from etcd only: demotion time, the new leader, no write acknowledged by the old one after the election",
		Needs:   Needs{Candidates: 2},
		Steps: []Step{
			Sleep("warm up", RPOWarmup),
			Inject("cut", func(*Run) chaos.Fault { return chaos.CutFromDCS(chaos.Leader) }),
			{Text: "await the demotion, within ttl + loop_wait + retry_timeout", do: func(ctx context.Context, r *Run) error {
				p := r.Topology.Patroni
				return Await(Demoted("cut"), p.TTL+p.LoopWait+p.RetryTimeout, "").do(ctx, r)
			}},
			Await(NewLeaderAfter("cut"), WaitTimeout, ""),
			Await(WritesOnNewLeader("cut"), WaitTimeout, ""),
			FailoverTable("cut", "leader cut off from etcd"),
			Heal("cut"),
			Await(Streams("cut"), WaitTimeout, "the old leader did not stream again in time"),
		},
	}
}

// RPOSpec configures an RPO trial.
type RPOSpec struct {
	// Mode, when set, is the replication mode the topology is shaped to
	// (one synchronous standby unless async).
	Mode topologies.ReplicationMode
	// Slow, when not zero, slows the leader's links to its followers
	// (chaos.SlowLinks, each way) instead of cutting them. Delay alone
	// loses nothing with the userspace backend (the WAL sent is held where
	// it arrives and still reaches the followers); give it a Rate below
	// the workload's WAL rate.
	Slow netem.Impairment
}

// RPOScenario is one trial of what a leader crash loses when its WAL has
// not reached the followers: the leader's traffic to and from every
// follower is cut (or slowed) for RPOCut while it keeps its lock and its
// clients, then it is SIGKILLed; the cut is healed, and whoever Patroni
// promotes (or, if it promotes nobody, the old leader started again) is
// read back. Async acknowledges what no follower has and loses it;
// semi-sync and sync make the client wait instead.
func RPOScenario(spec RPOSpec) Scenario {
	name, fault := "rpo-cut", "cut"
	mk := func(*Run) chaos.Fault { return chaos.Partition(chaos.Leader, chaos.Followers) }
	summary := "cut the leader from its followers for 2s, then SIGKILL it: acknowledged writes lost, per mode"
	if !spec.Slow.IsZero() {
		name, fault = "rpo-slow", "slow"
		mk = func(*Run) chaos.Fault { return chaos.SlowLinks(chaos.Leader, chaos.Followers, spec.Slow) }
		summary = fmt.Sprintf("slow the leader's links (%s each way) for 2s, then SIGKILL it: acknowledged writes lost, per mode", spec.Slow)
	}
	sc := Scenario{
		Name:    name,
		Summary: summary,
		Needs:   Needs{Candidates: 2},
		Netem:   !spec.Slow.IsZero(),
		Steps: append(separateAndKill(fault, mk, "leader"),
			Step{Text: "await a promotion (none is a finding in semi-sync and sync)", do: awaitPromotion},
			Heal("kill"),
			Await(WritesAfter("kill"), WaitTimeout, ""),
		),
	}
	if spec.Mode != "" {
		sc.Name += "-" + string(spec.Mode)
		sc.Shape = func(t *topologies.Topology) {
			t.Replication.Mode = spec.Mode
			t.Replication.SyncStandbys = 1
			if spec.Mode == topologies.Async {
				t.Replication.SyncStandbys = 0
			}
		}
	}
	return sc
}

// separateAndKill is the RPO trials' fault: the workload runs RPOWarmup,
// fault (made by mk) keeps the leader's changes from its followers for
// RPOCut, the leader is SIGKILLed ("kill") and the writes acknowledged in
// between are counted (MeasureAckedDuringFault); once the engine has
// released the dead leader's network, fault is healed. leader names the
// leader in the steps' texts ("leader", "primary"). What comes after, the
// promotion, is the engine's.
func separateAndKill(fault string, mk func(*Run) chaos.Fault, leader string) []Step {
	return []Step{
		Sleep("warm up", RPOWarmup),
		Inject(fault, mk),
		Sleep("hold the "+leader+" apart", RPOCut),
		Inject("kill", func(r *Run) chaos.Fault { return chaos.Kill(TargetOf(r, fault)) }),
		Measure(MeasureAckedDuringFault, func(_ context.Context, r *Run) string {
			cut, _ := r.Fault(fault)
			kill, _ := r.Fault("kill")
			// From when the cut was wholly in effect (its end stamp)
			// to the kill's begin: writes no follower can have
			// received. Writes acknowledged while it went in are not
			// counted.
			return strconv.Itoa(r.Rec.AckedWrites(cut.InjectEnd) - r.Rec.AckedWrites(kill.Injected))
		}),
		// The killed leader's kernel still holds the changes it had sent
		// into its sockets, and goes on sending them until the engine
		// tears its network namespace down: a heal before that lets the
		// backlog out at full speed, as no power loss would.
		Await(HostStopped("kill"), WaitTimeout, ""),
		Sleep("let the engine release the dead "+leader+"'s network", NetnsRelease),
		Heal(fault),
	}
}

// NetnsRelease is how long after the engine reports a killed container
// stopped the RPO trials wait before healing its links: the engine
// releases the container's network namespace (and with it the sockets
// still sending) as part of handling its exit.
const NetnsRelease = time.Second

// HostStopped is the target of fault seen stopped by the engine.
func HostStopped(fault string) Condition {
	return Condition{Detail: "the target of " + fault + " stopped", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		st, err := r.Lab.ContainerStatus(ctx, a.Target)
		return err == nil && !st.Running, nil
	}}
}

// MeasureAckedDuringFault names the RPO trials' count of writes
// acknowledged while the followers could not have them.
const MeasureAckedDuringFault = "acknowledged during the fault"

// awaitPromotion waits up to ttl + RPOPromotionSlack for a new leader;
// none is a finding (Patroni found no eligible synchronous standby),
// recorded as a note.
func awaitPromotion(ctx context.Context, r *Run) error {
	promotion := r.Topology.Patroni.TTL + RPOPromotionSlack
	return Await(NewLeaderAfter("kill"), promotion,
		fmt.Sprintf("no promotion within %s: Patroni found no eligible synchronous standby", promotion)).do(ctx, r)
}

// Measured returns a figure a Measure step took, "" when absent.
func (res Result) Measured(name string) string {
	i := slices.IndexFunc(res.Measures, func(f Figure) bool { return f.Name == name })
	if i < 0 {
		return ""
	}
	return res.Measures[i].Value
}

// Lost is the number of acknowledged writes missing after the run.
func (res Result) Lost() int { return len(results.LostWrites(res.History).Lost) }
