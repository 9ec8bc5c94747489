package suites

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/workload"
)

// The article's fencing claim, measured: a leader that can no longer renew
// its lock in etcd, but still reaches its replicas and clients, must demote
// itself before the lock expires for everyone else, so that no write is
// acknowledged by it once another member has been elected.
var _ = Describe("a leader cut off from etcd", Ordered, Label(TierSmoke, FaultDCS, TopologySingle), func() {
	var (
		run       *asserts.Run
		fault     *chaos.Active
		oldLeader string
		newLeader string
		demotedAt time.Duration // on the run's clock
	)

	BeforeAll(func(ctx SpecContext) {
		run = asserts.Provision(ctx, "single-region")
		run.WritesAcknowledged(ctx, 200)
	}, NodeTimeout(asserts.ProvisionTimeout))

	It("demotes itself within ttl + loop_wait + retry_timeout", func(ctx SpecContext) {
		var err error
		fault, err = run.Inj.Inject(ctx, chaos.CutFromDCS(chaos.Leader))
		Expect(err).NotTo(HaveOccurred())
		oldLeader = fault.Target
		p := run.Topology.Patroni
		limit := p.TTL + p.LoopWait + p.RetryTimeout
		Eventually(ctx, func() (string, error) {
			ms, err := run.Lab.Members(ctx)
			for _, m := range ms {
				if m.Name == oldLeader {
					return string(m.Role), err
				}
			}
			return "", err
		}).WithTimeout(limit).WithPolling(100*time.Millisecond).ShouldNot(Equal("leader"),
			"%s still leads %s after losing etcd (limit ttl %s + loop_wait %s + retry_timeout %s)", oldLeader, limit, p.TTL, p.LoopWait, p.RetryTimeout)
		demotedAt = run.Rec.Now()
		AddReportEntry("demoted after", (demotedAt-fault.Injected).Round(100*time.Millisecond).String()+" (±100ms)")
	}, SpecTimeout(asserts.FailoverTimeout))

	It("lets another member take the lock", func(ctx SpecContext) {
		newLeader = run.NewLeaderElected(ctx, oldLeader)
		run.WritesResume(ctx, demotedAt)
	}, SpecTimeout(asserts.FailoverTimeout))

	It("rejoins as a follower once etcd is reachable again", func(ctx SpecContext) {
		Expect(fault.Heal(ctx)).To(Succeed())
		run.Streaming(ctx, oldLeader, asserts.RejoinTimeout)
	}, SpecTimeout(asserts.RejoinTimeout))

	It("acknowledged no write on the old leader after the election, and lost none", func(ctx SpecContext) {
		h := run.Finish(ctx)
		sb := results.SplitBrain(h)
		var after, lastAt = 0, time.Duration(0)
		for _, o := range h.Ops {
			if o.Kind == results.OpProbe && o.Target == oldLeader && o.Outcome == results.OK && o.Invoke >= fault.Injected && o.Complete < demotedAt {
				after++
				lastAt = o.Complete - fault.Injected
			}
		}
		AddReportEntry("old leader acknowledged after the cut", fmt.Sprintf("%d probe writes, the last at +%s", after, lastAt.Round(time.Millisecond)))
		AddReportEntry("split brain", sb)
		Expect(sb.ProbeWrites).To(BeNumerically(">", 0), "without probe writes no window could be seen")
		Expect(sb.Windows).To(BeEmpty(), "%s and %s accepted writes at the same time", oldLeader, newLeader)
		Expect(sb.AfterElection).To(BeEmpty(), "%s acknowledged writes after %s was elected", oldLeader, newLeader)
		Expect(results.LostWrites(h).Lost).To(BeEmpty())
	}, SpecTimeout(asserts.FailoverTimeout))

	// What pg_stat_replication cannot show: a follower that has not yet
	// reconnected to the new leader is absent from its view, while its
	// readers see data from before the election. The heartbeat sees it.
	It("measured what the followers' readers saw after the election", func() {
		h := run.Rec.History()
		var elected time.Duration
		for _, e := range h.Events {
			if e.Kind == results.EventLeaderChanged && e.Node == newLeader && e.At > fault.Injected {
				elected = e.At
				break
			}
		}
		Expect(elected).To(BeNumerically(">", 0), "no leader.changed event for %s", newLeader)
		worst := map[string]float64{}
		for _, s := range h.Samples {
			if s.Metric == results.MetricLagHeartbeatSeconds && s.At > elected {
				worst[s.Node] = max(worst[s.Node], s.Value)
			}
		}
		for _, n := range run.Topology.Nodes() {
			if n.Name != newLeader {
				Expect(worst).To(HaveKey(n.Name), "no heartbeat sample from follower %s after the election", n.Name)
				AddReportEntry("visibility lag after the election "+n.Name, fmt.Sprintf("max %.2fs (resolution %s)", worst[n.Name], workload.HeartbeatPeriod))
			}
		}
	})
})
