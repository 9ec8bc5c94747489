package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/harness"
)

// newDRCmd is the disaster-recovery commands on a running lab with a
// standby cluster (standby_cluster in its topology).
func newDRCmd() *cobra.Command {
	var labID string
	c := &cobra.Command{
		Use:   "dr",
		Short: "Promote the standby cluster, or rebuild the other cluster as its standby",
	}
	c.PersistentFlags().StringVar(&labID, "lab", "", "lab id (default: the only running lab)")
	c.AddCommand(&cobra.Command{
		Use:   "promote",
		Short: "Promote the standby cluster (remove standby_cluster from its configuration) and wait until it leads",
		Args:  badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error {
				p, err := lab.PromoteStandby(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s leads: promoted %s after the request (answered in %s)\n",
					p.Leader, p.Up.Sub(p.Sent).Round(time.Millisecond), p.Answered.Sub(p.Sent).Round(time.Millisecond))
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the cluster that does not lead as the standby of the one that does (its data is copied afresh)",
		Args:  badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error {
				if err := lab.RebuildAsStandby(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "rebuilt: every node streams; replab status shows the roles")
				return nil
			})
		},
	})
	return c
}
