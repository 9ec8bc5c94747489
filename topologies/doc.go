// Package topologies owns replab's declarative lab files: the YAML format,
// strict decoding, validation with file:line:col positions, the resolved
// model (Topology) with every default applied once, the built-in topologies
// (embedded with go:embed) and schema.json for editors.
//
// It must not import Docker, Ginkgo, harness, chaos or suites. It may import
// netem for the unit types (Percent, BitRate) that links carry.
package topologies
