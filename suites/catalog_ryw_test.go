package suites

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

// Read-your-writes strategies side by side while the replicas trail by
// more than the leader window: tracking the commit's LSN and pinning the
// session to the leader never read stale; any replica may.
var _ = Describe("read-your-writes strategies", Label(TierCatalog, TopologySingle, FaultSlow), func() {
	It("LSN tracking and a sticky session never read stale, and the leader serves what each strategy says", Label(ScenarioLabel("read-your-writes")), func(ctx SpecContext) {
		spec := experiment.RYWSpec{}
		res := asserts.Execute(ctx, "single-region", experiment.RYWScenario(spec))
		Expect(res.History.Tables).To(ContainElement(HaveField("Title", "Read-your-writes strategies")))
		got := results.ReadStrategies(res.History, spec.Processes())
		Expect(got).To(HaveLen(4))
		none, window, lsn, sticky := got[0], got[1], got[2], got[3]
		for _, s := range got {
			AddReportEntry(s.Process, fmt.Sprintf("%d reads, %d stale (worst %s, %d bytes), %s on the leader, p99 %s",
				s.Reads, s.Stale, results.FormatDuration(s.MaxBehind), s.MaxBytesBehind, results.FormatPercent(s.LeaderShare()), results.FormatDuration(s.LatencyP99)))
			Expect(s.Reads).To(BeNumerically(">", 100), "%s read its own rows", s.Process)
		}

		Expect(lsn.Stale).To(BeZero(), "LSN tracking reads a replica only once it replayed the commit")
		Expect(sticky.Stale).To(BeZero(), "a session on the leader sees its writes")

		Expect(sticky.LeaderShare()).To(BeNumerically("==", 100), "sticky reads only on the leader")
		Expect(none.LeaderShare()).To(BeNumerically("==", 0), "the read-only endpoint serves replicas only")
		Expect(window.LeaderShare()).To(And(BeNumerically(">", 0), BeNumerically("<", 100)), "the leader inside the window, replicas after it")
		Expect(lsn.LeaderShare()).To(And(BeNumerically(">", 0), BeNumerically("<", 100)), "the leader while the replicas trail, replicas once replayed")
	}, SpecTimeout(asserts.ScenarioTimeout))
})

// The same strategies on MariaDB: the tracking strategy asks the replica
// MASTER_GTID_WAIT(gtid, 0) for the write's GTID.
var _ = Describe("read-your-writes strategies on MariaDB", Label(TierCatalog, EngineMariaDB, TopologyMariaDB, FaultSlow), func() {
	It("GTID tracking and a sticky session never read stale", Label(ScenarioLabel("read-your-writes-mariadb")), func(ctx SpecContext) {
		spec := experiment.RYWSpec{Engine: topologies.EngineMariaDB}
		res := asserts.Execute(ctx, "mariadb", experiment.RYWScenario(spec))
		got := results.ReadStrategies(res.History, spec.Processes())
		Expect(got).To(HaveLen(4))
		none, gtid, sticky := got[0], got[2], got[3]
		for _, s := range got {
			AddReportEntry(s.Process, fmt.Sprintf("%d reads, %d stale (worst %s), %s on the primary, p99 %s",
				s.Reads, s.Stale, results.FormatDuration(s.MaxBehind), results.FormatPercent(s.LeaderShare()), results.FormatDuration(s.LatencyP99)))
			Expect(s.Reads).To(BeNumerically(">", 100), "%s read its own rows", s.Process)
		}
		Expect(gtid.Stale).To(BeZero(), "GTID tracking reads a replica only once it applied the write")
		Expect(sticky.Stale).To(BeZero())
		Expect(none.LeaderShare()).To(BeNumerically("==", 0), "the read-only endpoint serves replicas only")
		Expect(gtid.LeaderShare()).To(And(BeNumerically(">", 0), BeNumerically("<", 100)), "the primary while the replicas trail, replicas once applied")
	}, SpecTimeout(asserts.ScenarioTimeout))
})
