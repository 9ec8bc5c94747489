package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/topologies"
)

func newRPOCmd() *cobra.Command {
	var modes []string
	var trials int
	var out string
	c := &cobra.Command{
		Use:   "rpo [--modes async,semi-sync,sync] [--trials N]",
		Short: "Measure what each replication mode loses when a leader cut off from its followers dies",
		Long: "For each mode and trial: a fresh default lab, a writer at 100/s, the leader's traffic to every\n" +
			"follower dropped for 2s, the leader SIGKILLed, then every row read back from whoever leads.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if trials < 1 {
				return badInput{fmt.Errorf("rpo: --trials %d: want at least 1", trials)}
			}
			for _, m := range modes {
				if !isMode(m) {
					return badInput{fmt.Errorf("rpo: unknown mode %q (modes: %v)", m, topologies.ReplicationModes())}
				}
			}
			log := logger(cmd)
			var rows []experiment.RPOResult
			for _, m := range modes {
				for i := 0; i < trials; i++ {
					log.Info("rpo trial", "mode", m, "trial", i+1, "of", trials)
					res, err := experiment.RPO(cmd.Context(), experiment.RPORequest{Mode: topologies.ReplicationMode(m), Log: log, OutDir: out})
					if err != nil {
						return fmt.Errorf("rpo %s trial %d: %w", m, i+1, err)
					}
					rows = append(rows, res)
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODE\tACKED\tACKED DURING CUT\tLOST\tUNKNOWN FOUND/ABSENT\tNEW LEADER\tRESULTS")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d/%d\t%s\t%s\n", r.Mode, r.Acked, r.AckedDuringCut, r.Lost, r.UnknownFound, r.UnknownAbsent, dash(r.NewLeader), r.Dir)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringSliceVar(&modes, "modes", []string{"async", "semi-sync", "sync"}, "replication modes to try")
	c.Flags().IntVar(&trials, "trials", 1, "trials per mode")
	c.Flags().StringVar(&out, "out", "results", "directory for results/<run-id>/")
	return c
}

func isMode(m string) bool {
	for _, v := range topologies.ReplicationModes() {
		if string(v) == m {
			return true
		}
	}
	return false
}
