package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

func newCompareCmd() *cobra.Command {
	var file, out, engine string
	var managers, scenarios, settings []string
	var trials int
	c := &cobra.Command{
		Use:   "compare [-f FILE] [--managers patroni,pg_auto_failover,repmgr] [--scenarios ...] [--settings defaults,tuned] [--trials N]",
		Short: "Run the same faults against each PostgreSQL failover manager and write one table",
		Long: "For each settings group (each manager's own defaults, and the topology file's blocks: tuned), manager,\n" +
			"scenario and trial: a fresh lab of the topology under that manager, the steady workload, the fault, and\n" +
			"what the manager did. The table gives RTO p50/max over the trials, lost writes, split-brain windows,\n" +
			"writes acknowledged by a former leader and the old leader's rejoin, then each manager's settings.\n" +
			"Scenarios: leader-kill, cut-coordinator, leader-partition, switchover (docs/managers.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if trials < 1 {
				return badInput{fmt.Errorf("compare: --trials %d: want at least 1", trials)}
			}
			var kinds []topologies.ManagerKind
			for _, m := range managers {
				k := topologies.ManagerKind(m)
				if !slices.Contains(topologies.ManagerKinds(), k) {
					return badInput{fmt.Errorf("compare: unknown manager %q (managers: %v)", m, topologies.ManagerKinds())}
				}
				kinds = append(kinds, k)
			}
			for _, s := range scenarios {
				if _, err := experiment.CompareScenario(s); err != nil {
					return badInput{fmt.Errorf("compare: %w", err)}
				}
			}
			for _, s := range settings {
				if s != experiment.SettingsDefaults && s != experiment.SettingsTuned {
					return badInput{fmt.Errorf("compare: unknown settings %q (use %s, %s or both)", s, experiment.SettingsDefaults, experiment.SettingsTuned)}
				}
			}
			topo, err := loadTopology(file)
			if err != nil {
				return err
			}
			for _, k := range kinds {
				if _, err := topo.WithManager(k, false); err != nil {
					return badInput{fmt.Errorf("compare: %w", err)}
				}
			}
			opts, err := engineOption(engine)
			if err != nil {
				return err
			}
			log := logger(cmd)
			res, err := experiment.Compare(cmd.Context(), experiment.CompareRequest{
				Topology: topo, Managers: kinds, Scenarios: scenarios, Settings: settings, Trials: trials,
				OutDir: out, Log: log, LabOptions: opts,
				Progress: func(done, total int, t results.ManagerTrial) {
					state := "measured"
					if t.Err != "" {
						state = "failed: " + t.Err
					}
					log.Info("comparison trial done", "done", fmt.Sprintf("%d/%d", done, total), "manager", t.Manager, "settings", t.Settings, "scenario", t.Scenario, "run", t.RunID, "state", state)
				},
			})
			if res.Table != "" {
				fmt.Fprint(cmd.OutOrStdout(), "\n"+res.Table)
				fmt.Fprintf(cmd.OutOrStdout(), "\ntable: %s\n", res.Path)
			}
			if err != nil {
				return err
			}
			for _, t := range res.Trials {
				if t.Err != "" {
					return fmt.Errorf("compare: %d of %d trials failed to measure (see the table)", countFailed(res.Trials), len(res.Trials))
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "managers", "topology file or built-in name")
	c.Flags().StringSliceVar(&managers, "managers", []string{"patroni", "pg_auto_failover", "repmgr"}, "failover managers to compare")
	c.Flags().StringSliceVar(&scenarios, "scenarios", nil, "comparison scenarios (default: leader-kill, cut-coordinator, leader-partition, switchover)")
	c.Flags().StringSliceVar(&settings, "settings", []string{experiment.SettingsDefaults, experiment.SettingsTuned}, "settings groups: defaults (each manager's own), tuned (the file's)")
	c.Flags().IntVar(&trials, "trials", 3, "trials per cell")
	c.Flags().StringVar(&out, "out", "results", "directory for compare-<id>/ (the table and every trial's run)")
	c.Flags().StringVar(&engine, "engine", "", engineHelp)
	return c
}

func countFailed(ts []results.ManagerTrial) int {
	n := 0
	for _, t := range ts {
		if t.Err != "" {
			n++
		}
	}
	return n
}
