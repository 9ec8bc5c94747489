package suites

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/suites/asserts"
)

// Work on followers set aside for it: a backup follower dumps a table and
// an analytics follower aggregates it while the steady load writes, then
// the same work runs on the leader. Every window is measured, and the
// backup's lag during its dumps is recorded.
var _ = Describe("work on followers", Label(TierCatalog, TopologySingle), func() {
	It("measures the leader's commit latency with the work on the followers and on the leader", Label(ScenarioLabel("follower-work")), func(ctx SpecContext) {
		res := asserts.Execute(ctx, asserts.CatalogTopology(), experiment.FollowerWorkScenario(experiment.FollowerWorkSpec{}))
		Expect(res.History.Tables).To(HaveLen(1), "the scenario records its table")
		tab := res.History.Tables[0]
		Expect(tab.Rows).To(HaveLen(3), "no work, on the followers, on the leader")
		col := map[string]int{}
		for i, c := range tab.Columns {
			col[c] = i
		}
		for i, where := range []string{experiment.WorkNone, experiment.WorkFollowers, experiment.WorkLeader} {
			row := tab.Rows[i]
			AddReportEntry(where, strings.Join(row, " | "))
			Expect(row[col["work on"]]).To(Equal(where))
			Expect(row[col["p99"]]).NotTo(Equal("no samples"), "the leader acknowledged commits with the work on %s", where)
			if where != experiment.WorkNone {
				Expect(row[col["pg_dumps done (mean)"]]).To(MatchRegexp(`^[1-9]`), "at least one dump completed on %s", where)
				Expect(row[col["aggregates done (mean)"]]).To(MatchRegexp(`^[1-9]`), "at least one aggregate completed on %s", where)
			}
		}
		Expect(tab.Rows[1][col["backup lag max (heartbeat)"]]).NotTo(Equal("no sample"), "the backup's lag was sampled during its dumps")
		Expect(res.Lost()).To(BeZero())
		Expect(tab.Settings).To(HaveKey("postgresql.parameters"))
	}, SpecTimeout(asserts.ScenarioTimeout))
})
