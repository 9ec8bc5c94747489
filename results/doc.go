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
// polling interval in Event.Resolution. A fault is an operation with two
// stamps (Recorder.EventSpan): At before its first side effect, End after
// its last; the fault's instant is At and its uncertainty End − At. Every
// failover phase carries its uncertainty and where it comes from.
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
//     is first ok write − the fault's begin, as a client saw it, with the
//     fault's and the writers' uncertainty. Only an outage that began in the
//     fault's own window (its begin to its heal's end or the next fault's
//     begin) is charged to it; without one there is no RTO. Absent phases
//     are reported absent, never zero.
//   - Lag: p50/p95/p99/max per follower, before any fault, during faults,
//     during a faulted node's rejoin, after; missing samples are gaps.
//   - StaleReads: a session's read that missed its own acknowledged write,
//     how many bytes behind and how long until the row was visible.
//   - Availability: share of ok writes, and time without an ok write for
//     DefaultOutageGap or more over the run, with the nines it implies;
//     each fault's downtime against yearly error budgets; a yearly
//     extrapolation only for runs of MinExtrapolationSpan or more.
//
// # Verdicts
//
// Evaluate judges Targets (nil fields are skipped; split-brain is always
// judged, read-your-writes whenever sessions read their own writes or the
// mode is sync): each Check is pass, fail or inconclusive (too little
// observed: no fault, no final state, no write acknowledged just before a
// fault, no follower with MinLagSamples lag samples, no read pinned to the
// synchronous standby in sync mode). Inconclusive fails a Verdict unless
// Targets.AllowInconclusive is set; Verdict.Inconclusive lists them with
// why. Evaluate is deterministic, and the Verdict keeps a copy of its
// Targets, so a saved run re-checks to the same verdict.
package results
