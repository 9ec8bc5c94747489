package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/units"
)

func newRPOCmd() *cobra.Command {
	var modes []string
	var trials int
	var out string
	var delay time.Duration
	var rate, file string
	c := &cobra.Command{
		Use:   "rpo [-f FILE] [--modes async,semi-sync,sync] [--trials N] [--delay D --rate R]",
		Short: "Measure what each replication mode loses when a leader cut off from its followers dies",
		Long: "For each mode and trial: a fresh lab of the topology (default: the default one), a writer at 100/s,\n" +
			"the leader's traffic to every follower dropped for 2s (or, with --delay and --rate, slowed each way),\n" +
			"the leader SIGKILLed, then every row read back from whoever leads. On a MariaDB topology replab's\n" +
			"runbook detects the dead primary and promotes (docs/mariadb.md); its modes are async, semi-sync\n" +
			"(AFTER_SYNC) and semi-sync-after-commit.",
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
			topo, err := loadTopology(file)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("modes") {
				modes = nil
				for _, m := range topologies.EngineModes(topo.Engine.Kind) {
					modes = append(modes, string(m))
				}
			}
			for _, m := range modes {
				if !isMode(topo.Engine.Kind, m) {
					return badInput{fmt.Errorf("rpo: unknown mode %q for engine %s (modes: %v)", m, topo.Engine.Kind, topologies.EngineModes(topo.Engine.Kind))}
				}
			}
			if topo.Engine.Kind == topologies.EngineMariaDB && (delay != 0 || rate != "") {
				return badInput{fmt.Errorf("rpo: --delay and --rate are not built for MariaDB labs yet; leave them out to cut the links")}
			}
			log := logger(cmd)
			var rows []experiment.RPOResult
			for _, m := range modes {
				for i := 0; i < trials; i++ {
					log.Info("rpo trial", "mode", m, "trial", i+1, "of", trials)
					res, err := experiment.RPO(cmd.Context(), experiment.RPORequest{Mode: topologies.ReplicationMode(m), Log: log, OutDir: out, Slow: slow, Topology: topo})
					if err != nil {
						return fmt.Errorf("rpo %s trial %d: %w", m, i+1, err)
					}
					rows = append(rows, res)
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ENGINE\tMODE\tFAULT\tWRITE P50/P99 BEFORE\tACKED\tACKED DURING FAULT\tLOST\tUNKNOWN FOUND/ABSENT\tPHANTOM READS (UNACKED)\tERRANT ON OLD PRIMARY\tNEW LEADER\tRESULTS")
			for _, r := range rows {
				lat := "-"
				if r.Steady.Known() {
					lat = results.FormatDuration(r.Steady.P50) + "/" + results.FormatDuration(r.Steady.P99)
				}
				errant := "-"
				if r.Errant >= 0 {
					errant = strconv.Itoa(r.Errant)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d/%d\t%d (%d)\t%s\t%s\t%s\n", topo.Engine.Kind, r.Mode, r.Fault, lat, r.Acked, r.AckedDuringCut, r.Lost, r.UnknownFound, r.UnknownAbsent, r.Phantom, r.PhantomUnacked, errant, dash(r.NewLeader), r.Dir)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringSliceVar(&modes, "modes", nil, "replication modes to try (default: every mode of the topology's engine)")
	c.Flags().IntVar(&trials, "trials", 1, "trials per mode")
	c.Flags().StringVarP(&file, "file", "f", "", "topology file or built-in name (default: the default topology; on a MariaDB one, replab's runbook promotes)")
	c.Flags().StringVar(&out, "out", "results", "directory for results/<run-id>/")
	c.Flags().DurationVar(&delay, "delay", 0, "slow the leader's links to its followers: D more each way, instead of cutting them (e.g. 250ms)")
	c.Flags().StringVar(&rate, "rate", "", "slow the leader's links to its followers to this rate each way (tc units, e.g. 256kbit)")
	return c
}

func isMode(kind topologies.EngineKind, m string) bool {
	for _, v := range topologies.EngineModes(kind) {
		if string(v) == m {
			return true
		}
	}
	return false
}
