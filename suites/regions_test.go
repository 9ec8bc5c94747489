package suites

import (
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
)

// Multi-region for real: losing the primary region, cutting it off, what a
// client in each region pays, a chain across regions.
var _ = Describe("multi-region", Label(TopologyStretched), func() {
	table := func(res experiment.Result, title string) results.Table {
		GinkgoHelper()
		for _, t := range res.History.Tables {
			if strings.HasPrefix(t.Title, title) {
				return t
			}
		}
		Fail("no table titled " + title)
		return results.Table{}
	}

	It("a region outage fails over to the other region's candidate, with a stretched DCS", Label(TierSmoke, FaultKill, ScenarioLabel("region-outage")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "stretched", experiment.RegionOutageScenario())
		f := results.FailoverPhases(res.History, 0)
		Expect(f.Outage).To(BeTrue(), "killing the leader's region stops the writes")
		Expect(f.Recovered).To(BeTrue(), "writes resume through eu-west's endpoint")
		Expect(res.Leader).To(Equal("euw-1"), "the only candidate outside us-east")
		// The key expires after ttl; etcd re-grants every lease a full ttl
		// when its leader was in the lost region.
		ttl := res.Lab.Topology().Patroni.TTL
		Expect(f.RTO).To(BeNumerically(">", ttl/2))
		Expect(f.RTO).To(BeNumerically("<", 2*ttl+10*time.Second))
		t := table(res, "What losing us-east cost")
		Expect(t.Title).To(ContainSubstring("us-east → eu-west at 80ms"))
		Expect(t.Rows).NotTo(BeEmpty())
		every := t.Rows[len(t.Rows)-1]
		Expect(every[0]).To(Equal("every client"))
		Expect(every[1]).To(Equal(strconv.Itoa(res.Lost())), "the table's total is the lost_writes check's")
		Expect(res.Measured(experiment.MeasureDCSWrite)).To(HavePrefix("p50 "))
		sb, ok := res.Verdict.Check("split_brain")
		Expect(ok).To(BeTrue())
		Expect(sb.Status).To(Equal(results.StatusPass))
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a cut-off primary region demotes its leader, the majority side elects one, and never two accept writes", Label(TierCatalog, FaultPartition, ScenarioLabel("region-partition")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "stretched", experiment.RegionPartitionScenario())
		sb, ok := res.Verdict.Check("split_brain")
		Expect(ok).To(BeTrue())
		Expect(sb.Status).To(Equal(results.StatusPass), "no two leaders acknowledging writes: %s", sb.Detail)
		demoted, err := time.ParseDuration(res.Measured("cut demoted after"))
		Expect(err).NotTo(HaveOccurred(), "the old leader's demotion is measured")
		Expect(demoted).To(BeNumerically("<", res.Lab.Topology().Patroni.TTL), "a leader that cannot reach the DCS demotes within a loop and a retry_timeout, before its key expires")
		Expect(res.Leader).To(Equal("euw-1"))
		f := results.FailoverPhases(res.History, 0)
		Expect(f.Recovered).To(BeTrue())
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("a regional client reads at LAN latency and writes at the declared round trip to the leader", Label(TierCatalog, ScenarioLabel("regional-latency")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "stretched", experiment.RegionalLatencyScenario())
		Expect(res.Measured(experiment.MeasureRegionalWithin)).To(Equal("yes"), "every region's WAN share within 5%% of its RTT:\n%v", table(res, "Regional latency").Rows)
	}, SpecTimeout(asserts.ScenarioTimeout))

	It("reads from the farthest region fall back to the leader across the WAN as each strategy says", Label(TierCatalog, ScenarioLabel("regional-reads")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "stretched", experiment.RegionalReadsScenario())
		Expect(res.History.Meta.Labels["client_region"]).To(Equal("ap-southeast"))
		Expect(table(res, "Read-your-writes strategies").Rows).To(HaveLen(4))
		// The strategy that always reads a replica reads ap-southeast's.
		none := experiment.RYWSpec{}.Processes()[0]
		served := map[string]int{}
		for _, o := range res.History.Ops {
			if o.Kind == results.OpRead && o.Process == none && o.Outcome == results.OK {
				served[o.Member]++
			}
		}
		Expect(served).To(HaveKey("aps-1"))
		Expect(served).To(HaveLen(1), "every replica read through ap-southeast's endpoint: %v", served)
	}, SpecTimeout(asserts.ScenarioTimeout))
})

var _ = Describe("cascading replication across regions", Label(TierCatalog, TopologyThree), func() {
	It("each hop adds its lag, and the far node streams again once its upstream is gone", Label(FaultKill, ScenarioLabel("cascading")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "three-region", experiment.CascadeScenario())
		Expect(res.Measured("aps-1 streams from")).NotTo(BeEmpty())
		Expect(res.Measured("aps-1 streams from")).NotTo(Equal("euw-1"))
		Expect(res.History.Tables).NotTo(BeEmpty())
	}, SpecTimeout(asserts.ScenarioTimeout))
})

var _ = Describe("a standby cluster for disaster recovery", Label(TierCatalog, TopologyDR), func() {
	It("promoted by hand after the primary region is lost, takes the writes in its region; the old primary comes back as its standby", Label(FaultKill, ScenarioLabel("region-outage")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, "dr", experiment.RegionOutageScenario())
		Expect(res.Leader).To(HavePrefix("euw-"), "a node of the standby cluster leads")
		f := results.FailoverPhases(res.History, 0)
		Expect(f.Outage).To(BeTrue())
		Expect(f.Recovered).To(BeTrue(), "writes resume through eu-west's endpoint once promoted")
		Expect(res.Measured(experiment.MeasurePromoteTook)).NotTo(BeEmpty())
		Expect(res.History.Final).NotTo(BeNil())
		Expect(res.History.Final.Member).To(Equal(res.Leader), "the read-back reads the promoted cluster's leader")
		sb, ok := res.Verdict.Check("split_brain")
		Expect(ok).To(BeTrue())
		Expect(sb.Status).To(Equal(results.StatusPass), "the rebuilt cluster never leads beside the promoted one: %s", sb.Detail)
	}, SpecTimeout(asserts.ScenarioTimeout))
})
