package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/topologies"
)

// newPromoteCmd is replab's own promotion of a MariaDB replica: MariaDB
// has no failover manager in the lab, so an operator (or a scenario) runs
// the runbook harness.PromoteMariaDB times step by step.
func newPromoteCmd() *cobra.Command {
	var labID, from string
	c := &cobra.Command{
		Use:   "promote [--from NODE]",
		Short: "MariaDB labs: give up on the primary and promote the replica that received the most of its binlog",
		Long: `promote is the runbook replab follows on a MariaDB lab, where no failover
manager runs: choose the failover candidate whose Gtid_IO_Pos is furthest,
wait until it has applied what it received, stop its replication, turn
semi-sync's primary side on and make it writable, and repoint the other
replicas at it by GTID. Each step is printed with its begin and duration.
The old primary is left alone: it comes back read-only. Patroni labs fail
over by themselves (replab chaos kill leader).`,
		Args: badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error {
				if lab.Topology().Engine.Kind != topologies.EngineMariaDB {
					return badInput{errors.New("promote: lab runs PostgreSQL with Patroni, which promotes by itself; replab promote is for MariaDB labs")}
				}
				old := from
				if old == "" {
					name, err := deadOrLeading(cmd, lab)
					if err != nil {
						return err
					}
					old = name
				}
				p, err := lab.PromoteMariaDB(cmd.Context(), old)
				out := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "STEP\tBEGIN\tTOOK\tDETAIL")
				for _, s := range p.Steps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Begin.Round(time.Microsecond), s.Took.Round(time.Microsecond), dash(s.Detail))
				}
				_ = tw.Flush()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s is the primary (was %s)\n", p.New, p.Old)
				return nil
			})
		},
	}
	c.Flags().StringVar(&labID, "lab", "", "lab id (default: the only running lab)")
	c.Flags().StringVar(&from, "from", "", "the primary to give up on (default: the node that is not read-only now)")
	return c
}

// deadOrLeading is the primary to give up on by default: the node that
// leads, else the one node that does not answer (a killed primary).
func deadOrLeading(cmd *cobra.Command, lab *harness.Lab) (string, error) {
	ms, err := lab.Members(cmd.Context())
	if err != nil {
		return "", err
	}
	var leaders, gone []string
	for _, m := range ms {
		switch {
		case m.Role == harness.RoleLeader:
			leaders = append(leaders, m.Name)
		case m.State == "unreachable":
			gone = append(gone, m.Name)
		}
	}
	switch {
	case len(leaders) == 1:
		return leaders[0], nil
	case len(leaders) == 0 && len(gone) == 1:
		return gone[0], nil
	}
	return "", badInput{fmt.Errorf("promote: cannot tell which primary to give up on (leading: %v, not answering: %v): name it with --from", leaders, gone)}
}
