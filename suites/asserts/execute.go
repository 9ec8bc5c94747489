package asserts

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/topologies"
)

// ScenarioTimeout bounds one scenario run from provisioning to teardown.
const ScenarioTimeout = 6 * ProvisionTimeout

// Execute runs sc on a fresh lab of the built-in topology name through the
// one runner (experiment.Execute), which provisions, runs the plan, heals
// and verifies every host, reads back, evaluates and tears down. It fails
// the spec if any step failed and reports where the run was written and
// its verdict.
func Execute(ctx context.Context, name string, sc experiment.Scenario) experiment.Result {
	GinkgoHelper()
	t, err := topologies.Builtin(name)
	Expect(err).NotTo(HaveOccurred(), "load built-in topology %s", name)
	res, err := experiment.Execute(ctx, experiment.Request{Scenario: sc, Topology: t, Log: Logger(), OutDir: ResultsRoot(),
		Labels: map[string]string{"suite": CurrentSpecReport().FullText()}})
	if res.Dir != "" {
		AddReportEntry("results", res.Dir)
		AddReportEntry("verdict", res.Verdict.Table())
	}
	Expect(err).NotTo(HaveOccurred(), "scenario %s on %s", sc.Name, name)
	return res
}
