package suites

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

// Commit latency per replication mode: the ordering the modes' definitions
// impose, and that an added round trip shows in the synchronous modes only.
var _ = Describe("write latency per mode", Label(TierCatalog, TopologySingle), func() {
	It("sync ≥ semi-sync ≥ async at 10ms RTT, sync's overhead grows with the RTT, a remote sync standby costs its round trip",
		Label(ScenarioLabel("write-latency")), func(ctx SpecContext) {
			res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.WriteLatencyScenario(experiment.LatencySpec{}))
			Expect(res.Lost()).To(BeZero())
			var tbl results.Table
			for _, t := range res.History.Tables {
				if t.Title == "Commit latency per replication mode" {
					tbl = t
				}
			}
			Expect(tbl.Rows).NotTo(BeEmpty(), "the scenario records its latency table")
			var b strings.Builder
			for _, r := range tbl.Rows {
				b.WriteString(strings.Join(r, " | ") + "\n")
			}
			AddReportEntry("commit latency", b.String())

			p50 := func(rtt string, m topologies.ReplicationMode) time.Duration {
				GinkgoHelper()
				d, ok := experiment.LatencyP50(tbl, rtt, m)
				Expect(ok).To(BeTrue(), "a p50 for %s at %s", m, rtt)
				return d
			}
			const rtt = 10 * time.Millisecond
			// A semi-sync commit waits a round trip more than an async one,
			// a sync commit that and the standby's replay too. On a small
			// shared machine the p50s move by a few ms from window to
			// window: a quarter of the round trip is allowed for that.
			tol := rtt / 4
			async, semi, sync := p50("10ms", topologies.Async), p50("10ms", topologies.SemiSync), p50("10ms", topologies.Sync)
			Expect(semi).To(BeNumerically(">=", async-tol), "semi-sync waits for the standby to receive the WAL")
			Expect(sync).To(BeNumerically(">=", semi-tol), "sync waits for it to apply the WAL as well")

			// The round trip is what the synchronous modes pay for: 10ms of
			// it must add at least half of itself to sync's overhead.
			over0 := p50("0ms", topologies.Sync) - p50("0ms", topologies.Async)
			over10 := sync - async
			Expect(over10).To(BeNumerically(">", over0+rtt/2), "sync's overhead at 0ms is %s, at 10ms %s", over0, over10)

			remote := experiment.RTTLabel(experiment.RemoteSyncRTT) + experiment.RemoteSuffix
			overRemote := p50(remote, topologies.SemiSync) - p50(remote, topologies.Async)
			Expect(overRemote).To(BeNumerically(">=", experiment.RemoteSyncRTT*3/4), "a remote synchronous standby costs about its round trip per commit")
		}, SpecTimeout(asserts.ScenarioTimeout))
})
