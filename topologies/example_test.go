package topologies_test

import (
	"errors"
	"fmt"

	"github.com/replab/replab/topologies"
)

func ExampleParse() {
	src := `name: demo
replication: {mode: semi-sync, sync_standbys: 2}
regions:
  local:
    nodes:
      - {name: n-1}
      - {name: n-2, failvoer: false}
`
	_, err := topologies.Parse("demo.yaml", []byte(src))
	var errs topologies.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// demo.yaml:2:47: replication.sync_standbys: 2 synchronous standbys need at least 3 failover candidates in local, found 2: add candidates or lower sync_standbys
	// demo.yaml:7:21: regions.local.nodes[1].failvoer: unknown key "failvoer" (did you mean "failover"? valid keys: name, failover, upstream, role, noloadbalance)
}

func ExampleDefault() {
	t := topologies.Default()
	fmt.Println(t.Name, t.Source, t.PrimaryRegion, t.Replication.Mode, t.Replication.SyncStandbys)
	for _, n := range t.Nodes() {
		fmt.Println(n.Name, "failover:", n.Failover)
	}
	// Output:
	// single-region embedded:single-region.yaml local semi-sync 1
	// lab-1 failover: true
	// lab-2 failover: true
	// lab-3 failover: true
}
