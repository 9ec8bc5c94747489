package harness

import "github.com/replab/replab/topologies"

// SynchronousCommit is the synchronous_commit a replication mode maps to,
// the value the lab bootstraps Patroni with (see synchronousCommit): a
// scenario that switches the mode at runtime through Patroni's dynamic
// configuration must set the same one, or it measures another mode.
func SynchronousCommit(m topologies.ReplicationMode) string { return synchronousCommit(m) }
