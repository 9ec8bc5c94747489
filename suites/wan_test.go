package suites

import (
	"context"
	"strings"
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

// expectRTT asserts a measured pair against the RTT it should have, within
// a tolerance.
func expectRTT(r harness.RTT, want, tolerance time.Duration) {
	GinkgoHelper()
	Expect(r.Measured).To(BeNumerically("~", want, tolerance), "%s<->%s via %s: measured %s, want %s ± %s", r.From, r.To, r.Via, r.Measured, want, tolerance)
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

// degradedOneWay is the delay the spec overlays on us-east<->eu-west each
// way: a 300ms round trip instead of 80ms.
const degradedOneWay = 150 * time.Millisecond

var _ = Describe("a WAN between three regions", Ordered, Label(TierSmoke, FaultDegrade, TopologyThree, NetemLabel), func() {
	var (
		res                     experiment.Result
		loaded, degraded, quiet []harness.RTT
		whileDegraded           error // the baseline check while the degradation is in force
	)

	BeforeAll(func(ctx SpecContext) {
		// Up itself refuses a lab whose measured RTTs miss the declared
		// ones. The plan runs under the steady workload; the strict matrix
		// check comes once it has stopped, on the kept lab.
		res = asserts.ExecuteKeep(ctx, "three-region", experiment.Scenario{
			Name:    "wan-degrade",
			Summary: "degrade us-east<->eu-west under load and restore it",
			Needs:   experiment.Needs{Regions: 3},
			Steps: []experiment.Step{
				experiment.Sleep("warm up", 2*time.Second),
				experiment.Do("measure the RTT matrix under load", func(ctx context.Context, r *experiment.Run) (err error) {
					loaded, err = r.Lab.WAN().ProbeRTT(ctx)
					return err
				}),
				experiment.Await(remoteReplicasStreaming(), asserts.FailoverTimeout, ""),
				experiment.Inject("degrade", func(*experiment.Run) chaos.Fault {
					return chaos.Degrade("us-east", "eu-west", netem.Impairment{Delay: degradedOneWay})
				}),
				experiment.Do("measure the degraded matrix", func(ctx context.Context, r *experiment.Run) (err error) {
					degraded, err = r.Lab.WAN().ProbeRTT(ctx)
					return err
				}),
				experiment.Await(experiment.WritesAfter("degrade"), asserts.FailoverTimeout, ""),
				experiment.Await(lagAtLeast("euw-1", "degrade", degradedOneWay), 10*time.Second, ""),
				experiment.Do("read the hosts back while the degradation is in force", func(ctx context.Context, r *experiment.Run) error {
					whileDegraded = chaos.VerifyBaseline(ctx, experiment.ClusterOf(r.Lab))
					return nil
				}),
				experiment.Heal("degrade"),
			},
		})
		var err error
		quiet, err = res.Lab.WAN().ProbeRTT(ctx)
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(asserts.ScenarioTimeout))

	It("records the RTT matrix under load", func() {
		backend, reason := res.Lab.WAN().Backend()
		AddReportEntry("netem backend", backend+": "+reason)
		Expect("netem:"+backend).To(Equal(NetemLabel), "the lab chose another backend than the probe that labelled this spec")
		// Under load the userspace agents release a little late (the
		// run's WAN fidelity table says how late): the loaded figures are
		// reported; the strict check comes with the workload stopped.
		for _, r := range loaded {
			AddReportEntry("rtt under load "+r.From+"<->"+r.To, r)
		}
		Expect(loaded).NotTo(BeEmpty())
	})

	It("degrades one link under load: writes go on, the replica behind it falls back", func() {
		expectRTT(rttOf(degraded, "us-east", "eu-west"), 2*degradedOneWay, 15*time.Millisecond)
		// Under load: 10%, not the topology's 5%.
		expectRTT(rttOf(degraded, "us-east", "ap-southeast"), 200*time.Millisecond, 20*time.Millisecond)
		// The leader's region is untouched: writes went on (the plan
		// awaited a write after the degradation, and euw-1's lag past the
		// new one-way delay).
		// Judged from the degradation's begin to its heal's: reshaping
		// every host of both regions back at the heal is another
		// operation, whose stall on a loaded machine is reported, not
		// taken for the degradation's.
		gap := longestWriteGap(res.History, "degrade")
		AddReportEntry("longest write gap while degraded", gap.String())
		AddReportEntry("degrade's failover report (heal included)", results.FailoverPhases(res.History, 0))
		Expect(gap).To(BeNumerically("<", results.DefaultOutageGap), "the degradation of a remote link interrupted writes")
	})

	It("sees the degradation in force as off baseline", func() {
		// Positive control of the check every run ends with.
		Expect(whileDegraded).To(MatchError(And(
			ContainSubstring("eu-west<->us-east is still degraded"), ContainSubstring("euw-1: verify netem plan"))))
	})

	It("holds the matrix to the topology's tolerance once the workload stops", func() {
		for _, r := range quiet {
			AddReportEntry("rtt "+r.From+"<->"+r.To, r)
			Expect(r.OK).To(BeTrue(), "%s<->%s measured %s, configured %s ± %s", r.From, r.To, r.Measured, r.Configured, r.Tolerance)
		}
	})

	It("leaves every host at baseline with its impairment still in force", func(ctx SpecContext) {
		Expect(chaos.VerifyBaseline(ctx, experiment.ClusterOf(res.Lab))).To(Succeed())
		Expect(res.Lab.WAN().Alive(ctx)).To(Succeed())
	})

	It("lost no acknowledged write and meets the topology's SLA", func() {
		lw := results.LostWrites(res.History)
		Expect(lw.Lost).To(BeEmpty())
		Expect(lw.Acknowledged).To(BeNumerically(">", 200))
		Expect(res.Verdict).To(asserts.MeetSLA(res.Verdict.Targets))
	})
})

// remoteReplicasStreaming: every node outside the primary region streams
// from its upstream (cascading where the file says).
func remoteReplicasStreaming() experiment.Condition {
	return experiment.Condition{Detail: "the replicas abroad streaming", Until: func(ctx context.Context, r *experiment.Run) (bool, error) {
		ms, err := r.Lab.Members(ctx)
		if err != nil {
			return false, nil
		}
		for _, m := range ms {
			if m.Region != r.Topology.PrimaryRegion && m.State != "streaming" {
				return false, nil
			}
		}
		return true, nil
	}}
}

// lagAtLeast: node's heartbeat visibility lag, after fault began, reached
// at least d (a reader behind a link with one-way delay d sees at least d).
func lagAtLeast(node, fault string, d time.Duration) experiment.Condition {
	return experiment.Condition{Detail: node + "'s visibility lag past " + d.String(), Until: func(_ context.Context, r *experiment.Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		for _, s := range r.Rec.History().Samples {
			if s.Metric == results.MetricLagHeartbeatSeconds && s.Node == node && s.At > a.Injected && s.Value >= d.Seconds() {
				return true, nil
			}
		}
		return false, nil
	}}
}

// longestWriteGap is the longest span without an ok write through the
// read-write endpoint between the begin of the fault detailed as
// fault... and the begin of its heal (the run's end without one).
func longestWriteGap(h results.History, fault string) time.Duration {
	var from, to time.Duration = -1, -1
	for _, e := range h.Events {
		if !strings.HasPrefix(e.Detail, fault) {
			continue
		}
		switch {
		case e.Kind == results.EventFaultInjected && from < 0:
			from = e.At
		case e.Kind == results.EventFaultHealed && from >= 0 && to < 0:
			to = e.At
		}
	}
	if from < 0 {
		return 0
	}
	if to < 0 {
		to = 1<<63 - 1
	}
	last, longest := from, time.Duration(0)
	for _, o := range h.Ops {
		if o.Kind != results.OpWrite || o.Target != results.TargetRW || o.Outcome != results.OK || o.Complete < from || o.Invoke > to {
			continue
		}
		if d := o.Complete - last; d > longest {
			longest = d
		}
		last = max(last, o.Complete)
	}
	return longest
}
