package suites

import (
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
)

// The three usual causes of replication lag: each must push the chosen
// follower's lag over the catch-up threshold while it is held, and the
// follower must catch up once it is gone.
var _ = Describe("replication lag causes", Label(TierCatalog, TopologySingle), func() {
	curve := func(res experiment.Result) experiment.LagCurve {
		GinkgoHelper()
		c, err := res.LagCurve()
		Expect(err).NotTo(HaveOccurred())
		Expect(res.History.Tables).To(HaveLen(1), "the scenario records its lag table")
		t := res.History.Tables[0]
		var cells []string
		for i, col := range t.Columns {
			cells = append(cells, col+": "+t.Rows[0][i])
		}
		AddReportEntry("lag", strings.Join(cells, "; "))
		Expect(c.Rose()).To(BeTrue(), "the lag rose over %s during the fault: %+v", results.FormatDuration(c.Threshold), c)
		Expect(c.CaughtUp).To(BeTrue(), "the follower caught up after the heal: %+v", c)
		return c
	}

	It("a saturated follower link lets a backlog grow that drains after the heal", Label(ScenarioLabel("lag-bandwidth"), FaultSlow), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "single-region", experiment.LagBandwidthScenario())
		c := curve(res)
		Expect(c.PeakBytes).To(BeNumerically(">", float64(1<<20)), "the bulk load outruns the link by megabytes over the hold")
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a follower short of CPU falls behind and catches up once the quota is gone", Label(ScenarioLabel("lag-cpu")), func(ctx SpecContext) {
		curve(asserts.Execute(ctx, "single-region", experiment.LagCPUScenario()))
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a query conflicting with replay is cancelled after max_standby_streaming_delay", Label(ScenarioLabel("lag-replay-conflict")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "single-region", experiment.LagReplayConflictScenario())
		c := curve(res)
		n, err := strconv.Atoi(res.Measured(experiment.MeasureCancelled))
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 1), "PostgreSQL cancelled the conflicting query")
		Expect(c.BeforeHeal).To(BeTrue(), "replay resumed when the query was cancelled, and the follower caught up before the heal: %+v", c)
	}, SpecTimeout(asserts.ScenarioTimeout))
})
