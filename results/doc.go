// Package results owns the run's history on one monotonic clock (operations,
// samples, events), the checkers that read it (lost writes, split-brain,
// failover phases, lag, stale reads, availability), SLA verdicts and report
// rendering.
//
// It is pure: it must not import Docker, Ginkgo, Gomega, harness, chaos or
// suites, and does no network I/O. Besides the standard library it uses only
// gonum.org/v1/plot, for the SVG plots of report.html. It writes files only
// in WriteRun and RenderDir.
//
//	workload, samplers, chaos ──Begin/End, Sample, Event──▶ Recorder ──History()──▶ History (plain data)
//	                                                                                 │
//	        LostWrites, SplitBrain, FailoverPhases, Lag, StaleReads, Availability ◀──┤
//	                                                      Evaluate(h, Targets) ◀─────┘──▶ Verdict
//	                                                                                        │
//	WriteRun(dir, h, v) ──▶ results.json, history.jsonl, summary.md, report.html ◀──────────┘
//	LoadHistory(dir) + Evaluate  ==  CheckDir(dir, targets)   (`replab check DIR`: same verdict)
//
// # Clock
//
// NewRecorder captures time.Now once; every timestamp is time.Since that
// instant (Go's monotonic reading, nanoseconds), stored as a time.Duration.
// History.Clock records the smallest step observed when the recorder
// started. Event sources that poll (Patroni's REST API, etcd) put their
// polling interval in Event.Resolution; the failover phases carry it.
//
// # Operations
//
// A write is acknowledged (OK), certainly not applied (Failed), or Unknown
// (the connection died during commit). Writers go through the read-write
// endpoint (Target "rw"); probes (OpProbe, Process "probe:<node>", Target the
// node) write to every member directly, which is how two members accepting
// writes at once is seen. Keys must be unique per operation; probe keys go in
// the same table as the writers' keys, from a disjoint range, because the
// final state (FinalState.Keys, read from the leader after convergence) is
// what lost and discarded writes are judged against.
//
// # Checkers
//
// Each checker is a pure function of a History returning a report with
// counts and the offending operations:
//
//   - LostWrites: acknowledged writes missing at the end (RPO); unknown
//     outcomes found or absent, reported apart; failed writes that committed;
//     duplicated ids.
//   - SplitBrain: stints of acknowledged probe writes per member, overlapping
//     stints of two members (window start, end, duration); writes a former
//     leader acknowledged after a new leader was elected, and those of them
//     missing at the end (thrown away by pg_rewind).
//   - FailoverPhases: fault injected → last ok write → leader key gone → new
//     leader elected → promoted → first ok write through the endpoint; RTO
//     is first ok write − fault, as a client saw it. Absent phases are
//     reported absent, never zero.
//   - Lag: p50/p95/p99/max per follower, before any fault, during faults,
//     after.
//   - StaleReads: a session's read that missed its own acknowledged write.
//   - Availability: share of ok writes, and time without an ok write for
//     DefaultOutageGap or more over the run, with the nines it implies.
//
// # Verdicts
//
// Evaluate judges Targets (nil fields are skipped; split-brain is always
// judged): each Check is pass, fail or inconclusive (too little observed: no
// fault, no final state, fewer than MinLagSamples lag samples).
// Inconclusive does not fail a Verdict. Evaluate is deterministic, and the
// Verdict keeps a copy of its Targets, so a saved run re-checks to the same
// verdict.
package results
