package suites

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

// The article's three modes, measured: the leader's WAL cannot reach its
// followers for two seconds, then the leader dies.
var _ = Describe("what each replication mode loses when the leader dies", Label(TierSmoke, FaultKill, FaultPartition, TopologySingle), func() {
	trial := func(ctx SpecContext, mode topologies.ReplicationMode) experiment.RPOResult {
		GinkgoHelper()
		res, err := experiment.RPO(ctx, experiment.RPORequest{Mode: mode, Log: asserts.Logger(), OutDir: asserts.ResultsRoot()})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("results", res.Dir)
		AddReportEntry("rpo "+string(mode), res)
		GinkgoWriter.Printf("%s: acked %d (%d during the cut), lost %d, unknown %d found / %d absent, new leader %q\n",
			mode, res.Acked, res.AckedDuringCut, res.Lost, res.UnknownFound, res.UnknownAbsent, res.NewLeader)
		return res
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
})
