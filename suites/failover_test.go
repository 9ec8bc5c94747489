package suites

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

var _ = Describe("leader loss", Ordered, Label(TierSmoke, FaultKill, TopologySingle, CheckClock), func() {
	var (
		run       *asserts.Run
		oldLeader string
		newLeader string
		eligible  []string
		fault     *chaos.Active
		history   results.History
		clock     *asserts.ClockWriter
	)

	BeforeAll(func(ctx SpecContext) {
		run = asserts.Provision(ctx, "single-region")
		clock = run.StartClockWriter(ctx)
		run.WritesAcknowledged(ctx, 300) // ~3s of steady writes
	}, NodeTimeout(asserts.ProvisionTimeout))

	It("kills the leader with SIGKILL", func(ctx SpecContext) {
		syncs := run.SyncStandbys(ctx)
		var err error
		fault, err = run.Inj.Inject(ctx, chaos.Kill(chaos.Leader))
		Expect(err).NotTo(HaveOccurred())
		oldLeader = fault.Target
		// With the leader dead, the followers' received positions are
		// final. In semi-sync and sync modes Patroni may only promote a
		// synchronous standby (an async one can be a few bytes ahead with
		// WAL no client was told about); in async mode, the most advanced.
		eligible = run.MostAdvancedFollowers(ctx)
		if run.Topology.Replication.Mode != topologies.Async {
			eligible = syncs
		}
		Expect(eligible).NotTo(BeEmpty())
	})

	It("promotes the follower Patroni must choose: a synchronous standby, or the most advanced one", func(ctx SpecContext) {
		newLeader = run.NewLeaderElected(ctx, oldLeader)
		Expect(eligible).To(ContainElement(newLeader), "promoted %s, but the eligible followers at the fault were %v", newLeader, eligible)
	}, SpecTimeout(asserts.FailoverTimeout))

	It("resumes writes through the read-write endpoint", func(ctx SpecContext) {
		run.WritesResume(ctx, fault.Injected)
	}, SpecTimeout(asserts.FailoverTimeout))

	It("dates the failover as an independent writer on its own clock saw it", func(ctx SpecContext) {
		run.AgreesWithClockWriter(ctx, clock, fault)
	}, SpecTimeout(asserts.FailoverTimeout))

	It("has the other follower replicate from the new leader", func(ctx SpecContext) {
		for _, n := range run.Topology.Nodes() {
			if n.Name != oldLeader && n.Name != newLeader {
				run.Streaming(ctx, n.Name, asserts.FailoverTimeout)
			}
		}
	}, SpecTimeout(asserts.FailoverTimeout))

	It("brings the former leader back as a follower", func(ctx SpecContext) {
		Expect(fault.Heal(ctx)).To(Succeed())
		run.Streaming(ctx, oldLeader, asserts.RejoinTimeout)
	}, SpecTimeout(asserts.RejoinTimeout))

	It("loses no acknowledged write and meets the topology's SLA", func(ctx SpecContext) {
		history = run.Finish(ctx)
		lw := results.LostWrites(history)
		AddReportEntry("lost writes", lw)
		Expect(lw.Lost).To(BeEmpty(), "acknowledged writes missing after failover")
		Expect(history).To(asserts.MeetSLA(experiment.Targets(run.Topology)))
	}, SpecTimeout(asserts.FailoverTimeout))
})
