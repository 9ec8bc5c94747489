// Package results owns the run's history on one monotonic clock (operations,
// samples, events), the checkers that read it (lost writes, split-brain,
// failover phases, lag, stale reads, availability), SLA verdicts and report
// rendering.
//
// It is pure: it must not import Docker, Ginkgo, Gomega, harness, chaos or
// suites, and does no network I/O.
package results
