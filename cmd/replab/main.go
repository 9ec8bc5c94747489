// Command replab turns a topology file into a running PostgreSQL + Patroni +
// etcd lab in Docker, breaks it, and measures what operators care about.
// Each command is thin wiring over one library call.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/replab/replab/topologies"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitBadInput = 2
)

// badInput marks an error as the user's input being wrong (exit 2).
type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// badArgs marks wrong argument counts as bad input (exit 2).
func badArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return badInput{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
		}
		return nil
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "replab:", err)
	var bi badInput
	if errors.As(err, &bi) {
		os.Exit(exitBadInput)
	}
	os.Exit(exitFailure)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "replab",
		Short:         "Chaos labs for replicated databases: provision, break, measure",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolP("verbose", "v", false, "show debug output")
	root.AddCommand(
		newUpCmd(), newStatusCmd(), newDownCmd(), newGCCmd(), newValidateCmd(),
		newImagesCmd(), newLabCmd(), newCheckCmd(), newReportCmd(), newNetemCmd(), newChaosCmd(), newRPOCmd(),
		newScenariosCmd(), newRunCmd(), newVerifyCmd(), newDRCmd(), newPromoteCmd(), newCompareCmd(),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	return root
}

// loadTopology reads a topology file or a built-in name, or the embedded
// default when ref is empty. Problems in the file are bad input (exit 2).
func loadTopology(ref string) (*topologies.Topology, error) {
	if ref == "" {
		ref = topologies.DefaultName
	}
	t, err := topologies.Load(ref)
	if err != nil {
		return nil, badInput{err}
	}
	for _, w := range t.Warnings {
		fmt.Fprintln(os.Stderr, "replab:", w)
	}
	return t, nil
}
