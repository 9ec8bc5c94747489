package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/units"
)

func newRPOCmd() *cobra.Command {
	var modes []string
	var trials int
	var out string
	var delay time.Duration
	var rate string
	c := &cobra.Command{
		Use:   "rpo [--modes async,semi-sync,sync] [--trials N] [--delay D --rate R]",
		Short: "Measure what each replication mode loses when a leader cut off from its followers dies",
		Long: "For each mode and trial: a fresh default lab, a writer at 100/s, the leader's traffic to every\n" +
			"follower dropped for 2s (or, with --delay and --rate, slowed each way), the leader SIGKILLed, then\n" +
			"every row read back from whoever leads.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if delay < 0 {
				return badInput{fmt.Errorf("rpo: --delay %s: want a positive delay (e.g. 250ms), or none for a cut", delay)}
			}
			slow := netem.Impairment{Delay: delay}
			if rate != "" {
				r, err := units.ParseBitRate(rate)
				if err != nil {
					return badInput{fmt.Errorf("rpo: --rate: %w", err)}
				}
				slow.Rate = r
			}
			if trials < 1 {
				return badInput{fmt.Errorf("rpo: --trials %d: want at least 1", trials)}
			}
			for _, m := range modes {
				if !isMode(m) {
					return badInput{fmt.Errorf("rpo: unknown mode %q (modes: %v)", m, topologies.EngineModes(topologies.EnginePostgres))}
				}
			}
			log := logger(cmd)
			var rows []experiment.RPOResult
			for _, m := range modes {
				for i := 0; i < trials; i++ {
					log.Info("rpo trial", "mode", m, "trial", i+1, "of", trials)
					res, err := experiment.RPO(cmd.Context(), experiment.RPORequest{Mode: topologies.ReplicationMode(m), Log: log, OutDir: out, Slow: slow})
					if err != nil {
						return fmt.Errorf("rpo %s trial %d: %w", m, i+1, err)
					}
					rows = append(rows, res)
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODE\tFAULT\tACKED\tACKED DURING FAULT\tLOST\tUNKNOWN FOUND/ABSENT\tNEW LEADER\tRESULTS")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d/%d\t%s\t%s\n", r.Mode, r.Fault, r.Acked, r.AckedDuringCut, r.Lost, r.UnknownFound, r.UnknownAbsent, dash(r.NewLeader), r.Dir)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringSliceVar(&modes, "modes", []string{"async", "semi-sync", "sync"}, "replication modes to try")
	c.Flags().IntVar(&trials, "trials", 1, "trials per mode")
	c.Flags().StringVar(&out, "out", "results", "directory for results/<run-id>/")
	c.Flags().DurationVar(&delay, "delay", 0, "slow the leader's links to its followers: D more each way, instead of cutting them (e.g. 250ms)")
	c.Flags().StringVar(&rate, "rate", "", "slow the leader's links to its followers to this rate each way (tc units, e.g. 256kbit)")
	return c
}

func isMode(m string) bool {
	for _, v := range topologies.EngineModes(topologies.EnginePostgres) {
		if string(v) == m {
			return true
		}
	}
	return false
}
