// Package suites holds the Ginkgo specs that provision labs, inject faults and
// assert on verdicts. It is the only package that imports Ginkgo and Gomega.
package suites
