// Package units owns the quantities that both a topology file and an
// impairment carry: Percent (a share of packets, or of time) and BitRate
// (a link's capacity), with their parsing and tc-style formatting.
//
// It sits below topologies and netem so that neither imports the other:
// it must not import any replab package, Docker, Ginkgo or Gomega, only the
// standard library. It is a public package because topologies, a public
// API, types exported fields with it (Link.Loss, Link.Rate,
// SLA.AvailabilityMin), and code outside this module must be able to name
// those types.
package units
