package topologies

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replab/replab/internal/golden"
)

// TestInvalidFiles checks that each file in testdata/invalid, which holds
// exactly one problem, is refused with exactly that problem, positioned and
// worded as its .golden file says.
func TestInvalidFiles(t *testing.T) {
	paths, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 12 {
		t.Fatalf("found %d invalid files, want at least 12", len(paths))
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			topo, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", topo)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if len(errs) != 1 {
				t.Errorf("got %d problems, want exactly 1 (one problem per file):\n%v", len(errs), err)
			}
			got := err.Error() + "\n"
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".golden", []byte(got))
		})
	}
}
