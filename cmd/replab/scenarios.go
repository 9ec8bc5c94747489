package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
)

func newScenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the scenario catalog: what each does and what it needs of a topology",
		Args:  badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCENARIO\tNEEDS\tWHAT")
			for _, s := range experiment.Catalog() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Needs, s.Summary)
			}
			return tw.Flush()
		},
	}
}

func newRunCmd() *cobra.Command {
	var (
		file, engine string
		req          experiment.Request
		allow        bool
	)
	c := &cobra.Command{
		Use:   "run SCENARIO [-f FILE] [--seed N]",
		Short: "Run one scenario of the catalog (see replab scenarios) on a fresh lab, with a summary",
		Args:  badArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := experiment.Lookup(args[0])
			if err != nil {
				return badInput{err}
			}
			t, err := loadTopology(file)
			if err != nil {
				return err
			}
			if allow {
				t.SLA.AllowInconclusive = true
			}
			// Needs are of the topology as the scenario shapes it (a
			// scenario may designate the nodes its work runs on).
			shaped := *t
			if sc.Shape != nil {
				sc.Shape(&shaped)
			}
			if err := sc.Needs.Check(&shaped); err != nil {
				return badInput{fmt.Errorf("run %s: %w", sc.Name, err)}
			}
			if req.LabOptions, err = engineOption(engine); err != nil {
				return err
			}
			req.Scenario, req.Topology, req.Log = sc, t, logger(cmd)
			res, err := experiment.Execute(cmd.Context(), req)
			out := cmd.OutOrStdout()
			if res.Dir != "" {
				fmt.Fprintf(out, "\n%s on lab %s\n\n", sc.Name, res.LabID)
				for _, f := range res.Measures {
					fmt.Fprintf(out, "%s: %s\n", f.Name, dash(f.Value))
				}
				fmt.Fprint(out, results.RenderSummary(results.Summarize(res.History, res.Verdict)))
				fmt.Fprintf(out, "\nresults: %s (report.html has the plots)\n", res.Dir)
			}
			if err != nil {
				return err
			}
			if !res.Verdict.Pass {
				return errors.New("SLA not met (see the table above)")
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "topology file or built-in name (default: the embedded default)")
	c.Flags().Int64Var(&req.Seed, "seed", 0, "seed recorded with the run (choices drawn by the plan use it)")
	c.Flags().BoolVar(&req.Keep, "keep", false, "leave the lab running at the end")
	c.Flags().StringVar(&req.OutDir, "out", "results", "directory for results/<run-id>/")
	c.Flags().BoolVar(&allow, "allow-inconclusive", false, allowInconclusiveHelp)
	c.Flags().StringVar(&engine, "engine", "", engineHelp)
	return c
}
