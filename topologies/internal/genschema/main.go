// Command genschema writes topologies/schema.json from the Go types in
// topologies/internal/format. Run it through go generate in topologies/:
//
//	go generate ./topologies
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/replab/replab/topologies/internal/schemagen"
)

func main() {
	out := flag.String("o", "schema.json", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	b, err := schemagen.Generate()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
