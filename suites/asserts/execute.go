package asserts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

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
	return execute(ctx, name, sc, false)
}

// ExecuteKeep is Execute leaving the lab up (Result.Lab) for checks once
// the workload has stopped; DeferCleanup removes it after the container.
func ExecuteKeep(ctx context.Context, name string, sc experiment.Scenario) experiment.Result {
	GinkgoHelper()
	return execute(ctx, name, sc, true)
}

// CatalogTopology is the topology the catalog's specs run on:
// $REPLAB_TOPOLOGY (a file, relative to the module root, or a built-in
// name), else single-region. `REPLAB_TOPOLOGY=my.yaml make catalog` runs
// the catalog over a user's file; a scenario that file cannot run is
// skipped with the reason.
func CatalogTopology() string {
	ref := os.Getenv("REPLAB_TOPOLOGY")
	if ref == "" {
		return "single-region"
	}
	if !filepath.IsAbs(ref) {
		if _, err := os.Stat(filepath.Join("..", ref)); err == nil {
			return filepath.Join("..", ref)
		}
	}
	return ref
}

// ExecuteOn is Execute on a topology the spec built (a built-in one under
// another manager: topologies.Topology.WithManager).
func ExecuteOn(ctx context.Context, t *topologies.Topology, sc experiment.Scenario) experiment.Result {
	GinkgoHelper()
	return executeOn(ctx, t, sc, false)
}

func execute(ctx context.Context, name string, sc experiment.Scenario, keep bool) experiment.Result {
	GinkgoHelper()
	t, err := topologies.Load(name)
	Expect(err).NotTo(HaveOccurred(), "load topology %s", name)
	return executeOn(ctx, t, sc, keep)
}

func executeOn(ctx context.Context, t *topologies.Topology, sc experiment.Scenario, keep bool) experiment.Result {
	GinkgoHelper()
	name := t.Name
	shaped := *t
	if sc.Shape != nil {
		sc.Shape(&shaped)
	}
	if err := sc.Needs.Check(&shaped); err != nil {
		Skip(fmt.Sprintf("scenario %s: %v", sc.Name, err))
	}
	res, err := experiment.Execute(ctx, experiment.Request{Scenario: sc, Topology: t, Log: Logger(), OutDir: ResultsRoot(), Keep: keep,
		Labels: map[string]string{"suite": CurrentSpecReport().FullText()}, LabOptions: LabOptions()})
	if keep && res.Lab != nil {
		lab := res.Lab
		DeferCleanup(func(ctx SpecContext) { Expect(lab.Down(ctx)).To(Succeed()) }, NodeTimeout(time.Minute))
	}
	if res.Dir != "" {
		AddReportEntry("results", res.Dir)
		AddReportEntry("verdict", res.Verdict.Table())
	}
	Expect(err).NotTo(HaveOccurred(), "scenario %s on %s", sc.Name, name)
	return res
}
