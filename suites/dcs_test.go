package suites

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

var _ = Describe("a leader cut off from etcd", Ordered, Label(TierSmoke, FaultDCS, TopologySingle), func() {
	var (
		res       experiment.Result
		oldLeader string
		demoted   time.Duration // since the cut began
	)

	BeforeAll(func(ctx SpecContext) {
		res = asserts.Execute(ctx, "single-region", experiment.CutDCSScenario())
		oldLeader = res.Faults["cut"].Target
	}, NodeTimeout(asserts.ScenarioTimeout))

	It("demotes itself within ttl + loop_wait + retry_timeout", func() {
		// The runner's await fails the run past the limit; the figure says
		// how long it took.
		var err error
		demoted, err = time.ParseDuration(res.Measured("cut demoted after"))
		Expect(err).NotTo(HaveOccurred(), "no demotion figure")
		cut := res.Faults["cut"]
		AddReportEntry("demoted after", fmt.Sprintf("%s from the cut's begin; the cut took %s to install on every host (in effect within it); ±%s polling",
			demoted, (cut.InjectEnd-cut.Injected).Round(time.Millisecond), experiment.PollPeriod))
	})

	It("lets another member take the lock, and writes resume", func() {
		Expect(res.Leader).NotTo(BeEmpty())
		Expect(res.Leader).NotTo(Equal(oldLeader))
		Expect(results.FailoverPhases(res.History, 0).Recovered).To(BeTrue(), "no write was acknowledged after the cut")
	})

	It("rejoins as a follower once etcd is reachable again", func() {
		Expect(res.History.Events).To(ContainElement(And(
			HaveField("Kind", results.EventStreaming), HaveField("Node", oldLeader))), "%s was not seen streaming again", oldLeader)
	})

	It("acknowledged no write on the old leader after the election, and lost none", func() {
		h := res.History
		cut := res.Faults["cut"]
		sb := results.SplitBrain(h)
		after, lastAt := 0, time.Duration(0)
		for _, o := range h.Ops {
			if o.Kind == results.OpProbe && o.Target == oldLeader && o.Outcome == results.OK && o.Invoke >= cut.Injected && o.Complete < cut.Injected+demoted {
				after++
				lastAt = o.Complete - cut.Injected
			}
		}
		AddReportEntry("old leader acknowledged after the cut", fmt.Sprintf("%d probe writes, the last at +%s", after, lastAt.Round(time.Millisecond)))
		AddReportEntry("split brain", sb)
		Expect(sb.ProbeWrites).To(BeNumerically(">", 0), "without probe writes no window could be seen")
		Expect(sb.Windows).To(BeEmpty(), "%s and %s accepted writes at the same time", oldLeader, res.Leader)
		Expect(sb.AfterElection).To(BeEmpty(), "%s acknowledged writes after %s was elected", oldLeader, res.Leader)
		Expect(results.LostWrites(h).Lost).To(BeEmpty())
	})

	It("measured what the followers' readers saw after the election", func() {
		h := res.History
		var elected time.Duration
		for _, e := range h.Events {
			if e.Kind == results.EventLeaderChanged && e.Node == res.Leader && e.At > res.Faults["cut"].Injected {
				elected = e.At
				break
			}
		}
		Expect(elected).To(BeNumerically(">", 0), "no leader.changed event for %s", res.Leader)
		worst := map[string]float64{}
		for _, s := range h.Samples {
			if s.Metric == results.MetricLagHeartbeatSeconds && s.At > elected {
				worst[s.Node] = max(worst[s.Node], s.Value)
			}
		}
		t, err := topologies.Builtin("single-region")
		Expect(err).NotTo(HaveOccurred())
		for _, node := range t.Nodes() {
			if n := node.Name; n != res.Leader {
				Expect(worst).To(HaveKey(n), "no heartbeat sample from follower %s after the election", n)
				AddReportEntry("visibility lag after the election "+n, fmt.Sprintf("max %.2fs (resolution %s)", worst[n], workload.HeartbeatPeriod))
			}
		}
	})
})
