package harness

import (
	_ "embed"

	"github.com/replab/replab/topologies"
)

// The entrypoints of nodes under the managers other than Patroni, kept as
// shell scripts (scripts/) so that they read as the runbooks they are.
var (
	//go:embed scripts/repmgr-node.sh
	repmgrNodeScript []byte
	//go:embed scripts/pgaf-node.sh
	pgafNodeScript []byte
)

// managerScript is the node entrypoint of manager m.
func managerScript(m topologies.ManagerKind) []byte {
	if m == topologies.ManagerRepmgr {
		return repmgrNodeScript
	}
	return pgafNodeScript
}
