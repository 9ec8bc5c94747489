// Package experiment holds the scenario catalog and the one runner every
// scenario goes through, for the CLI and the Ginkgo suites alike.
//
// A Scenario is data: a name, what it needs of a topology (Needs), how it
// shapes one (Shape), a workload profile and a plan of Steps (Sleep,
// Inject, Heal, Await, Measure). Execute owns the lifecycle:
//
//	check needs ─ provision (or attach) ─ recorder + workload.Start ─ steps ─ stop workload
//	      ─ heal every fault + chaos.VerifyBaseline ─ read back ─ results.Evaluate ─ write <run-id>/
//	      (an error or a cancellation anywhere still heals, verifies, writes and tears down)
//
// It may import harness, chaos, workload, results and topologies; it must
// not import Ginkgo or Gomega. ClusterOf adapts a lab to every capability
// chaos asks for: chaos cannot import harness, so this is where they meet.
// HealEverything heals a lab whose faults are unknown (`replab chaos
// heal`): chaos.Reset, the WAN baseline, then chaos.VerifyBaseline.
package experiment
