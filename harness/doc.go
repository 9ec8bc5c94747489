// Package harness owns everything that talks to Docker: the node image, the
// lab network, containers (etcd, PostgreSQL+Patroni nodes, HAProxy), engine
// configuration, workload clients, cleanup and garbage collection.
//
// It is the only package that imports Docker or testcontainers-go. It must
// not import Ginkgo, Gomega, chaos or suites.
package harness
