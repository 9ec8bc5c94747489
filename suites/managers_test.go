package suites

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

// The faults of replab compare against each failover manager, on the
// built-in managers topology at its tuned settings. What each manager
// does is asserted as each documents it (docs/managers.md): every one
// replaces a killed leader and loses no acknowledged write in semi-sync;
// what they do with a leader cut off differs, and that difference is the
// point of running them side by side.
var _ = Describe("failover managers side by side", Label(TopologyManagers), func() {
	base, err := topologies.Builtin("managers")
	if err != nil {
		panic(err)
	}
	trial := func(ctx SpecContext, m topologies.ManagerKind, scenario string) results.ManagerTrial {
		GinkgoHelper()
		t, err := base.WithManager(m, false)
		Expect(err).NotTo(HaveOccurred())
		sc, err := experiment.CompareScenario(scenario)
		Expect(err).NotTo(HaveOccurred())
		res := asserts.ExecuteOn(ctx, t, sc)
		tr := results.ManagerTrialOf(res.History)
		AddReportEntry("trial", fmt.Sprintf("%s %s: outage %v, RTO %s, lost %d, split-brain %s, writes by a former leader %d, rejoin %s (%v); notes: %s",
			m, scenario, tr.Outage, tr.RTO, tr.Lost, tr.SplitBrain, tr.AfterElection, tr.Rejoin, tr.Rejoined, strings.Join(tr.Notes, "; ")))
		Expect(tr.LostKnown).To(BeTrue(), "the run read its writes back")
		return tr
	}

	for _, m := range topologies.ManagerKinds() {
		tier := TierManagers
		if m != topologies.ManagerPatroni {
			// Patroni's leader kill is the smoke tier's already
			// (failover_test.go); the others' join it.
			tier = TierSmoke
		}
		Context(string(m), Label(ManagerLabel(m), EnginePostgres), func() {
			It("replaces a killed leader, loses no acknowledged write, and the old leader rejoins", Label(tier, FaultKill, ScenarioLabel("compare-leader-kill")), func(ctx SpecContext) {
				tr := trial(ctx, m, "leader-kill")
				Expect(tr.Recovered).To(BeTrue(), "writes resumed on a new leader")
				Expect(tr.Lost).To(BeZero())
				Expect(tr.AfterElection).To(BeZero())
				Expect(tr.Rejoined).To(BeTrue(), "the old leader streams from the new one")
			}, SpecTimeout(asserts.ScenarioTimeout))

			It("hands over in a planned switchover without losing a write", Label(TierManagers, ScenarioLabel("compare-switchover")), func(ctx SpecContext) {
				tr := trial(ctx, m, "switchover")
				Expect(tr.Lost).To(BeZero())
				Expect(tr.SplitBrain).To(BeZero())
				Expect(tr.Rejoined).To(BeTrue(), "the old leader streams from the new one")
			}, SpecTimeout(asserts.ScenarioTimeout))

			It("a leader cut from its peers is replaced, and nothing it acknowledged is lost in semi-sync", Label(TierManagers, FaultPartition, ScenarioLabel("compare-leader-partition")), func(ctx SpecContext) {
				tr := trial(ctx, m, "leader-partition")
				if m == topologies.ManagerRepmgr {
					// repmgr has no consensus and no fencing: the cut-off
					// primary stays a primary beside the promoted standby,
					// and after the heal too, until it is restarted. In
					// semi-sync it acknowledges nothing meanwhile: no
					// standby answers its synchronous_standby_names.
					Expect(tr.Notes).To(ContainElement("two primaries at the bound"))
					Expect(tr.Notes).To(ContainElement(ContainSubstring("not converged after the heal")))
				} else if m == topologies.ManagerPGAutoFailover {
					// The monitor promotes after primary_demote_timeout; the
					// cut-off primary's keeper demotes it only once its WAL
					// senders time out (wal_sender_timeout, 30s) and then
					// network_partition_timeout: at the tuned settings,
					// later (docs/managers.md).
					Expect(tr.Notes).To(ContainElement(BeElementOf("failed over by the bound", "two primaries at the bound")))
				} else {
					Expect(tr.Notes).To(ContainElement("failed over by the bound"))
				}
				Expect(tr.AfterElection).To(BeZero(), "no write acknowledged by the old leader after the election")
				Expect(tr.Lost).To(BeZero())
			}, SpecTimeout(asserts.ScenarioTimeout))

			It("a leader cut from its coordinator: Patroni and pg_auto_failover fail it over, repmgr keeps it", Label(TierManagers, FaultDCS, ScenarioLabel("compare-cut-coordinator")), func(ctx SpecContext) {
				tr := trial(ctx, m, "cut-coordinator")
				if m == topologies.ManagerRepmgr {
					// The witness only advises the standbys: a primary
					// they still see stays the primary.
					Expect(tr.Notes).To(ContainElement("the old leader kept leading"))
					Expect(tr.Outage).To(BeFalse())
				} else {
					// The leader key expires, or the monitor fails a
					// primary it cannot reach over, healthy or not.
					Expect(tr.Notes).To(ContainElement("failed over by the bound"))
				}
				Expect(tr.Lost).To(BeZero())
				Expect(tr.AfterElection).To(BeZero(), "no write acknowledged by the old leader after the election")
			}, SpecTimeout(asserts.ScenarioTimeout))
		})
	}
})
