package suites

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
)

// The failover kinds beside a SIGKILL: what each costs the clients, and
// that none of them loses an acknowledged write in semi-sync.
var _ = Describe("failover kinds", Label(TierCatalog, TopologySingle), func() {
	table := func(res experiment.Result) results.Table {
		GinkgoHelper()
		Expect(res.History.Tables).NotTo(BeEmpty(), "the scenario records its failover table")
		return res.History.Tables[0]
	}

	It("a planned switchover loses nothing and needs no TTL to expire", Label(ScenarioLabel("switchover")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.SwitchoverScenario())
		Expect(res.Lost()).To(BeZero())
		f := results.FailoverPhases(res.History, 0)
		Expect(f.Recovered).To(BeTrue())
		Expect(f.RTO).To(BeNumerically("<", res.Lab.Topology().Patroni.TTL), "a switchover releases the key: no wait for its TTL")
		Expect(table(res).Rows[0][0]).To(Equal("planned switchover"))
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a graceful stop hands over without waiting for the TTL", Label(ScenarioLabel("graceful-stop")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.GracefulStopScenario())
		Expect(res.Lost()).To(BeZero())
		f := results.FailoverPhases(res.History, 0)
		Expect(f.Recovered).To(BeTrue())
		Expect(f.RTO).To(BeNumerically("<", res.Lab.Topology().Patroni.TTL))
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a postmaster crash is recovered, and the run says how", Label(ScenarioLabel("postgres-crash")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.PostgresCrashScenario())
		Expect(res.Lost()).To(BeZero())
		Expect(res.Measured(experiment.MeasureCrashOutcome)).To(MatchRegexp(`^(restarted in place|failed over)`))
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a leader frozen past its TTL is replaced and accepts nothing once thawed", Label(ScenarioLabel("pause-past-ttl")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.PausePastTTLScenario())
		sb, ok := res.Verdict.Check("split_brain")
		Expect(ok).To(BeTrue())
		Expect(sb.Status).To(Equal(results.StatusPass), sb.Detail)
		Expect(res.Lost()).To(BeZero())
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("with every standby gone, strict mode blocks commits and non-strict falls back to async", Label(ScenarioLabel("sync-standbys-lost"), ScenarioLabel("sync-standbys-lost-strict")), func(ctx SpecContext) {
		loose := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.SyncStandbysLostScenario(false))
		strict := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.SyncStandbysLostScenario(true))
		AddReportEntry("acknowledged with no standby", loose.Measured(experiment.MeasureAckedWhileLost)+" non-strict, "+strict.Measured(experiment.MeasureAckedWhileLost)+" strict")
		Expect(strict.Measured(experiment.MeasureAckedWhileLost)).To(Equal("0"), "strict: no commit returns without a standby")
		Expect(loose.Measured(experiment.MeasureAckedWhileLost)).NotTo(Equal("0"), "non-strict: Patroni drops to async and commits return")
	}, SpecTimeout(2*asserts.ScenarioTimeout))
})
