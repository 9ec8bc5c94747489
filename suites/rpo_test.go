package suites

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

// The three replication modes, measured: the leader's WAL cannot reach
// its followers for two seconds, then the leader dies. Async acknowledges
// what no follower has and loses it; semi-sync and sync make the client
// wait instead.
var _ = Describe("what each replication mode loses when the leader dies", Label(TierSmoke, EnginePostgres, FaultKill, FaultPartition, TopologySingle), func() {
	trialWith := func(ctx SpecContext, mode topologies.ReplicationMode, slow netem.Impairment) experiment.RPOResult {
		GinkgoHelper()
		res, err := experiment.RPO(ctx, experiment.RPORequest{Mode: mode, Slow: slow, Log: asserts.Logger(), OutDir: asserts.ResultsRoot(), LabOptions: asserts.LabOptions()})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", res.Dir)
		AddReportEntry("rpo "+string(mode)+" "+res.Fault, fmt.Sprintf("acked %d (%d during the fault), lost %d, unknown %d found / %d absent, new leader %q",
			res.Acked, res.AckedDuringCut, res.Lost, res.UnknownFound, res.UnknownAbsent, res.NewLeader))
		return res
	}
	trial := func(ctx SpecContext, mode topologies.ReplicationMode) experiment.RPOResult {
		GinkgoHelper()
		return trialWith(ctx, mode, netem.Impairment{})
	}

	It("async acknowledges writes no follower has, and loses them", func(ctx SpecContext) {
		res := trial(ctx, topologies.Async)
		Expect(res.AckedDuringCut).To(BeNumerically(">", 0), "async must keep acknowledging while the followers are cut off")
		Expect(res.Lost).To(BeNumerically(">=", res.AckedDuringCut), "every write acknowledged during the cut is lost")
		Expect(res.NewLeader).NotTo(BeEmpty(), "async promotes the most advanced follower")
	}, SpecTimeout(4*time.Minute))

	It("semi-sync acknowledges nothing the synchronous standby lacks, and loses nothing", func(ctx SpecContext) {
		res := trial(ctx, topologies.SemiSync)
		Expect(res.AckedDuringCut).To(BeZero())
		Expect(res.Lost).To(BeZero())
	}, SpecTimeout(4*time.Minute))

	It("sync loses nothing either", func(ctx SpecContext) {
		res := trial(ctx, topologies.Sync)
		Expect(res.AckedDuringCut).To(BeZero())
		Expect(res.Lost).To(BeZero())
	}, SpecTimeout(4*time.Minute))

	// The same claim with a slow network instead of a broken one. Delay
	// alone loses nothing: the userspace backend holds packets where they arrive, so WAL
	// the leader had sent still reached the followers after it died, as
	// bytes on a real wire would. What async loses on a slow link is the
	// backlog that never left the leader: the link carries less than the
	// workload writes (about 30 KB/s of WAL at 100 writes/s).
	Context("with the follower links slowed instead of cut", Label(FaultSlow), func() {
		slow := netem.Impairment{Delay: 100 * time.Millisecond, Rate: 64 * 1000}

		It("async loses the backlog the leader had not sent", func(ctx SpecContext) {
			res := trialWith(ctx, topologies.Async, slow)
			Expect(res.Fault).To(Equal("slow-links"))
			Expect(res.AckedDuringCut).To(BeNumerically(">", 0))
			Expect(res.NewLeader).NotTo(BeEmpty(), "async promotes the most advanced follower; with none promoted the old leader came back with everything (see %s)", res.Dir)
			Expect(res.Lost).To(BeNumerically(">", 0), "writes acknowledged faster than %s carries their WAL", slow)
		}, SpecTimeout(4*time.Minute))

		It("sync over the same links loses none", func(ctx SpecContext) {
			res := trialWith(ctx, topologies.Sync, slow)
			Expect(res.Lost).To(BeZero())
		}, SpecTimeout(4*time.Minute))
	})
})

// The same trial on MariaDB, where replab's runbook detects the dead
// primary and promotes the replica that received the most. Async loses
// what no replica received; AFTER_SYNC makes the writer wait before the
// commit is visible and loses nothing; AFTER_COMMIT makes it wait after,
// so another session reads rows that the failover then loses.
var _ = Describe("what each MariaDB replication mode loses when the primary dies", Label(TierSmoke, EngineMariaDB, FaultKill, FaultPartition, TopologyMariaDB), func() {
	trial := func(ctx SpecContext, mode topologies.ReplicationMode) experiment.RPOResult {
		GinkgoHelper()
		topo, err := topologies.Builtin("mariadb")
		Expect(err).NotTo(HaveOccurred())
		res, err := experiment.RPO(ctx, experiment.RPORequest{Mode: mode, Topology: topo, Log: asserts.Logger(), OutDir: asserts.ResultsRoot(), LabOptions: asserts.LabOptions()})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", res.Dir)
		AddReportEntry("rpo mariadb "+string(mode), fmt.Sprintf("acked %d (%d during the cut), lost %d, unknown %d found / %d absent, phantom reads %d (%d unacknowledged), new primary %q",
			res.Acked, res.AckedDuringCut, res.Lost, res.UnknownFound, res.UnknownAbsent, res.Phantom, res.PhantomUnacked, res.NewLeader))
		Expect(res.NewLeader).NotTo(BeEmpty(), "replab's runbook promotes a replica")
		return res
	}

	It("async acknowledges writes no replica has, and loses them", func(ctx SpecContext) {
		res := trial(ctx, topologies.Async)
		Expect(res.AckedDuringCut).To(BeNumerically(">", 0), "async must keep acknowledging while the replicas are cut off")
		Expect(res.Lost).To(BeNumerically(">=", res.AckedDuringCut), "every write acknowledged during the cut is lost")
	}, SpecTimeout(4*time.Minute))

	It("semi-sync AFTER_SYNC loses nothing, and shows no session a row it then loses", func(ctx SpecContext) {
		res := trial(ctx, topologies.SemiSync)
		Expect(res.AckedDuringCut).To(BeZero())
		Expect(res.Lost).To(BeZero())
		Expect(res.Phantom).To(BeZero())
	}, SpecTimeout(4*time.Minute))

	It("semi-sync AFTER_COMMIT loses no acknowledged write, but another session read rows the failover lost", func(ctx SpecContext) {
		res := trial(ctx, topologies.SemiSyncAfterCommit)
		Expect(res.AckedDuringCut).To(BeZero())
		Expect(res.Lost).To(BeZero())
		Expect(res.Phantom).To(BeNumerically(">", 0), "AFTER_COMMIT makes a commit visible before a replica has it")
		Expect(res.PhantomUnacked).To(Equal(res.Phantom), "those rows were never acknowledged to their writer")
	}, SpecTimeout(4*time.Minute))
})
