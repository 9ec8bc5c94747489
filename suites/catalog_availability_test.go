package suites

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
)

// The availability claim, measured: the same incidents on one node and on
// a cluster. A lost host is where the cluster earns its nine: it fails
// over within a TTL, where the single node waits for the repair.
var _ = Describe("availability: one node against a cluster", Label(TierCatalog), func() {
	mean := func(res experiment.Result) time.Duration {
		GinkgoHelper()
		Expect(res.History.Tables).NotTo(BeEmpty(), "the scenario records its incident table")
		for _, r := range res.History.Tables[0].Rows {
			if r[0] == "mean" {
				d, err := time.ParseDuration(r[2])
				Expect(err).NotTo(HaveOccurred(), "every incident must have a measured downtime: %v", res.History.Tables[0].Rows)
				return d
			}
		}
		Fail("no mean row")
		return 0
	}

	It("a lost host costs the single node its repair time and the cluster a failover", Label(ScenarioLabel("host-loss")), func(ctx SpecContext) {
		sc := experiment.CrashScheduleScenario(experiment.CrashScheduleSpec{Incidents: 1, HostDown: experiment.HostLossDown})
		single := asserts.Execute(ctx, "single", sc)
		cluster := asserts.Execute(ctx, "single-region", sc)
		s, c := mean(single), mean(cluster)
		AddReportEntry("host-loss downtime", "single "+s.String()+", cluster "+c.String())
		Expect(s).To(BeNumerically(">=", experiment.HostLossDown), "the single node is down for the whole repair")
		Expect(c).To(BeNumerically("<", experiment.HostLossDown), "the cluster fails over before the host is back")
		for _, r := range cluster.History.Tables[0].Rows {
			if r[0] == "1" {
				Expect(r[4]).To(HaveSuffix("(failed over)"))
			}
		}
		Expect(single.Lost()).To(BeZero())
	}, SpecTimeout(2*asserts.ScenarioTimeout))

	It("a crashed process on a live host comes back on one node too", Label(ScenarioLabel("crash-schedule")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "single", experiment.CrashScheduleScenario(experiment.CrashScheduleSpec{}))
		Expect(mean(res)).To(BeNumerically(">", 0))
		rows := res.History.Tables[0].Rows
		Expect(strings.Join(rows[0], " ")).To(ContainSubstring("restarted in place"))
		sb, ok := res.Verdict.Check(results.CheckLostWrites)
		Expect(ok).To(BeTrue())
		Expect(sb.Status).To(Equal(results.StatusPass), sb.Detail)
	}, SpecTimeout(asserts.ScenarioTimeout))
})
