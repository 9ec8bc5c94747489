package main

import (
	"github.com/spf13/cobra"

	"github.com/replab/replab/harness"
)

// withLab attaches to the running lab id (the only one when id is empty),
// runs f on it and closes the lab's Docker client however f returns. Every
// command that works on a running lab goes through it.
func withLab(cmd *cobra.Command, id string, f func(lab *harness.Lab) error) error {
	lab, err := harness.Attach(cmd.Context(), id)
	if err != nil {
		return err
	}
	defer lab.Close()
	return f(lab)
}
