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

// loadSlack is how far a measured RTT may stray from the expected one while
// the workload runs: 10%, or 2ms within a region.
const loadSlack = 0.10

// expectRTT asserts a measured pair against the RTT it should have.
func expectRTT(r harness.RTT, want time.Duration) {
	GinkgoHelper()
	slack := time.Duration(float64(want) * loadSlack)
	if want == 0 {
		slack = 2 * time.Millisecond
	}
	Expect(r.Measured).To(BeNumerically("~", want, slack), "%s<->%s via %s: measured %s, want %s ± %s", r.From, r.To, r.Via, r.Measured, want, slack)
}

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

	It("keeps the declared RTT matrix under load", func(ctx SpecContext) {
		backend, reason := run.Lab.NetemBackend()
		AddReportEntry("netem backend", backend+": "+reason)
		Expect(backend).To(BeElementOf("kernel", "userspace"))
		// Provisioning already held every pair to the topology's tolerance
		// (5% or 1ms) before any workload ran. Now the writer, probes,
		// session and samplers share two cores with nine containers and
		// the agents; one run here measured 85.9ms for 80ms. Under load
		// each pair must stay within loadSlack, and the figures are kept.
		rtts, err := run.Lab.ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, r := range rtts {
			AddReportEntry("rtt under load "+r.From+"<->"+r.To, r)
			expectRTT(r, r.Configured)
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
		expectRTT(rttOf(rtts, "us-east", "eu-west"), 300*time.Millisecond)
		expectRTT(rttOf(rtts, "us-east", "ap-southeast"), 200*time.Millisecond) // the other links keep their baseline

		Expect(a.Heal(ctx)).To(Succeed())
		rtts, err = run.Lab.ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
		expectRTT(rttOf(rtts, "us-east", "eu-west"), 80*time.Millisecond) // baseline restored
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
