package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
)

func newVerifyCmd() *cobra.Command {
	var (
		file      string
		scenarios []string
		req       experiment.VerifyRequest
		allow     bool
	)
	c := &cobra.Command{
		Use:   "verify -f FILE [--scenarios a,b] [--seed N]",
		Short: "Run every catalog scenario the topology can run, each on a fresh lab, against the file's SLA; exit 1 if any misses it",
		Long: `verify is the pre-production check of a topology (and its image): it runs the
catalog's scenarios one after another, each on a fresh lab, judges each against
the file's sla block, and writes results/verify-<id>/ with one run directory per
scenario, index.html, index.json and junit.xml (one testcase per scenario and
check). It says which scenarios it skipped and why. Progress goes to stderr.

Exit status: 0 every scenario met the SLA, 1 a scenario missed it or did not
complete, 2 bad input (nothing was started).`,
		Args: badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := loadTopology(file)
			if err != nil {
				return err
			}
			if allow {
				t.SLA.AllowInconclusive = true
			}
			req.Topology, req.Scenarios, req.Log = t, scenarios, logger(cmd)
			run, skipped, err := req.Plan()
			if err != nil {
				return badInput{err}
			}
			if len(run) == 0 && len(scenarios) == 0 && !experiment.RunsOn(t.Engine.Kind) {
				return badInput{fmt.Errorf("verify: no catalog scenario runs on engine %s yet (each needs Patroni and etcd): replab up -f %s provisions it and replab status shows it", t.Engine.Kind, file)}
			}
			if len(run) == 0 {
				return badInput{fmt.Errorf("verify: topology %s can run none of the scenarios asked for: %s", t.Name, strings.Join(reasons(skipped), "; "))}
			}
			res, err := experiment.Verify(cmd.Context(), req)
			out := cmd.OutOrStdout()
			if res.Dir != "" {
				fmt.Fprintf(out, "\nreplab verify %s: %d of %d scenarios ran\n\n", t.Name, res.Index.Ran(), len(res.Index.Entries))
				fmt.Fprint(out, res.Index.Grid())
				fmt.Fprintf(out, "\nresults: %s (index.html links each report; junit.xml for CI)\n", filepath.Clean(res.Dir))
			}
			if err != nil {
				return err
			}
			if misses := res.Index.Misses(); len(misses) > 0 {
				return fmt.Errorf("SLA not met:\n  %s", strings.Join(misses, "\n  "))
			}
			if !res.Index.Pass() {
				return fmt.Errorf("verify %s: a scenario did not pass (see %s)", t.Name, filepath.Join(res.Dir, results.FileIndexHTML))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "topology file or built-in name (default: the embedded default)")
	c.Flags().StringSliceVar(&scenarios, "scenarios", nil, "scenarios to run, in order (default: the whole catalog; see replab scenarios)")
	c.Flags().Int64Var(&req.Seed, "seed", 0, "seed recorded with each run (choices drawn by the plans use it)")
	c.Flags().StringVar(&req.OutDir, "out", "results", "directory for results/verify-<id>/")
	c.Flags().BoolVar(&allow, "allow-inconclusive", false, allowInconclusiveHelp)
	return c
}

// reasons lists "scenario: why" sorted by scenario.
func reasons(skipped map[string]string) []string {
	var out []string
	for name, why := range skipped {
		out = append(out, name+": "+why)
	}
	slices.Sort(out)
	return out
}
