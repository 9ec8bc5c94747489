package suites

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

var _ = Describe("leader loss", Ordered, Label(TierSmoke, EnginePostgres, FaultKill, TopologySingle, CheckClock), func() {
	var (
		res   experiment.Result
		clock *asserts.ClockWriter
	)

	BeforeAll(func(ctx SpecContext) {
		sc := experiment.LeaderKillScenario(experiment.LeaderKillSpec{})
		// An independent writer runs beside the workload from the start
		// of the plan to its end, on its own connection and clock.
		sc.Steps = append([]experiment.Step{experiment.Do("start an independent writer", func(ctx context.Context, r *experiment.Run) error {
			var err error
			clock, err = asserts.StartClockWriter(ctx, r.Lab)
			return err
		})}, sc.Steps...)
		sc.Steps = append(sc.Steps, experiment.Do("stop the independent writer", func(context.Context, *experiment.Run) error {
			clock.Stop()
			return nil
		}))
		DeferCleanup(func() {
			if clock != nil {
				clock.Stop()
			}
		})
		res = asserts.Execute(ctx, "single-region", sc)
	}, NodeTimeout(asserts.ScenarioTimeout))

	It("promotes the follower Patroni must choose: a synchronous standby, or the most advanced one", func() {
		// In semi-sync and sync modes Patroni may only promote a
		// synchronous standby (an async one can be a few bytes ahead with
		// WAL no client was told about); in async mode, the most advanced.
		eligible := res.Measured(experiment.MeasureMostAdvanced)
		if res.History.Meta.Mode != string(topologies.Async) {
			eligible = res.Measured(experiment.MeasureSyncStandbys)
		}
		Expect(eligible).NotTo(BeEmpty())
		Expect(strings.Split(eligible, ",")).To(ContainElement(res.Leader), "promoted %s, but the eligible followers at the fault were %s", res.Leader, eligible)
	})

	It("resumes writes through the read-write endpoint", func() {
		Expect(results.FailoverPhases(res.History, 0).Recovered).To(BeTrue(), "no write was acknowledged after the kill")
	})

	It("dates the failover as an independent writer on its own clock saw it", func() {
		asserts.AgreesWithClockWriter(res.History, clock, res.Faults["kill"])
	})

	It("brings the former leader back as a streaming follower", func() {
		Expect(res.History.Events).To(ContainElement(And(
			HaveField("Kind", results.EventStreaming), HaveField("Node", res.Faults["kill"].Target))),
			"the old leader was not seen streaming again")
	})

	It("loses no acknowledged write and meets the topology's SLA", func() {
		lw := results.LostWrites(res.History)
		AddReportEntry("lost writes", lw)
		Expect(lw.Lost).To(BeEmpty(), "acknowledged writes missing after failover")
		Expect(res.Verdict).To(asserts.MeetSLA(res.Verdict.Targets))
	})
})
