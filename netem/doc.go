// Package netem owns network impairments: the Impairment and Plan types,
// pure planning of a plan into per-node rules, the kernel backend (tc netem)
// and the userspace backend (an NFQUEUE agent that delays packets where they
// arrive), and the agent itself.
//
// It knows nothing about topologies, labs or Docker: it must not import
// topologies, harness, chaos, suites or any Docker package. Effects on a node
// go through the small Exec interface that harness satisfies.
package netem
