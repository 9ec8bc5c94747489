// Package asserts holds the suites' assertion helpers and Gomega matchers:
// one helper per spec line, each starting with GinkgoHelper() so failures
// point at the spec, not here. Only suites (and this package) import
// Ginkgo and Gomega.
package asserts
