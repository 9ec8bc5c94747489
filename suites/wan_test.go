package suites

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/experiment"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
)

// rttOf returns the measured RTT between two regions.
func rttOf(rtts []harness.RTT, a, b string) harness.RTT {
	GinkgoHelper()
	for _, r := range rtts {
		if (r.From == a && r.To == b) || (r.From == b && r.To == a) {
			return r
		}
	}
	Fail("no RTT measured between " + a + " and " + b)
	return harness.RTT{}
}

var _ = Describe("a WAN between three regions", Ordered, Label(TierSmoke, FaultDegrade, TopologyThree), func() {
	var run *asserts.Run

	BeforeAll(func(ctx SpecContext) {
		// Up itself refuses a lab whose measured RTTs miss the declared ones.
		run = asserts.Provision(ctx, "three-region")
		run.WritesAcknowledged(ctx, 200)
	}, NodeTimeout(asserts.ProvisionTimeout))

	It("emulates the declared RTT matrix within tolerance", func(ctx SpecContext) {
		rtts, err := run.Lab.ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
		backend, reason := run.Lab.NetemBackend()
		AddReportEntry("netem backend", backend+": "+reason)
		Expect(backend).To(BeElementOf("kernel", "userspace"))
		for _, r := range rtts {
			AddReportEntry("rtt "+r.From+"<->"+r.To, r)
			Expect(r.OK).To(BeTrue(), "%s<->%s measured %s, configured %s ± %s", r.From, r.To, r.Measured, r.Configured, r.Tolerance)
		}
	})

	It("keeps the replicas abroad streaming, cascading where the file says", func(ctx SpecContext) {
		for _, n := range run.Topology.Nodes() {
			if n.Region != run.Topology.PrimaryRegion {
				run.Streaming(ctx, n.Name, asserts.FailoverTimeout)
			}
		}
	}, SpecTimeout(asserts.FailoverTimeout))

	It("degrades one link at run time and restores its baseline", func(ctx SpecContext) {
		a, err := run.Inj.Inject(ctx, chaos.Degrade("us-east", "eu-west", netem.Impairment{Delay: 150 * time.Millisecond}))
		Expect(err).NotTo(HaveOccurred())
		rtts, err := run.Lab.ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(rttOf(rtts, "us-east", "eu-west").Measured).To(BeNumerically("~", 300*time.Millisecond, 15*time.Millisecond))
		Expect(rttOf(rtts, "us-east", "ap-southeast").OK).To(BeTrue(), "the other links keep their baseline")

		Expect(a.Heal(ctx)).To(Succeed())
		rtts, err = run.Lab.ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(rttOf(rtts, "us-east", "eu-west").OK).To(BeTrue(), "baseline restored: %+v", rttOf(rtts, "us-east", "eu-west"))
	}, SpecTimeout(time.Minute))

	It("leaves every host at baseline with its impairment still in force", func(ctx SpecContext) {
		Expect(chaos.VerifyBaseline(ctx, experiment.ClusterOf(run.Lab))).To(Succeed())
		Expect(run.Lab.WANAlive(ctx)).To(Succeed())
	})

	It("loses no acknowledged write", func(ctx SpecContext) {
		h := run.Finish(ctx)
		Expect(results.LostWrites(h).Lost).To(BeEmpty())
		Expect(results.LostWrites(h).Acknowledged).To(BeNumerically(">", 200))
	}, SpecTimeout(asserts.FailoverTimeout))
})
