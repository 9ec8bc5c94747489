// Package experiment wires harness, chaos and results into named,
// end-to-end experiments (provision, run a workload, inject, observe,
// recover, check, report). `replab lab` and the suites call it; it holds no
// Docker code of its own.
//
// It may import harness, chaos, results and topologies; it must not import
// Ginkgo or Gomega.
package experiment
