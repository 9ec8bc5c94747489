// Package harness owns everything that talks to Docker: the node image, the
// lab network, containers (etcd, PostgreSQL+Patroni nodes, HAProxy), engine
// configuration, the lab's own views of itself (members, Patroni state, the
// DCS leader key), cleanup and garbage collection. The clients that make a
// run's history live in package workload, which reaches the lab through
// harness's exported methods.
//
// It is the only package that imports Docker or testcontainers-go. It must
// not import Ginkgo, Gomega, chaos, workload or suites; it imports results
// only for the WAN fidelity rows (wan_fidelity.go), still to move out.
package harness
