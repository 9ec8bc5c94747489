// Package chaos owns reversible faults, target selectors resolved at inject
// time, the injector that tracks active faults, and seeded schedules.
//
// It must not import Docker, harness, Ginkgo or Gomega: it declares the small
// interfaces it needs (container controls, a network shaper) and harness
// satisfies them.
package chaos
