package topologies

import (
	"strings"
	"testing"
)

// TestAllowInconclusive checks sla.allow_inconclusive on its own: it needs
// no target beside it, defaults to false, and leaves the targets nil.
func TestAllowInconclusive(t *testing.T) {
	base := "name: lab\nregions: {local: {nodes: [{name: lab-1}, {name: lab-2}]}}\n"
	for _, tt := range []struct {
		sla  string
		want bool
	}{
		{"", false},
		{"sla: {allow_inconclusive: true}\n", true},
		{"sla: {allow_inconclusive: false, lost_writes: {max: 0}}\n", false},
		{"sla:\n  allow_inconclusive:\n", false},
	} {
		topo, err := Parse("sla.yaml", []byte(base+tt.sla))
		if err != nil {
			t.Fatalf("%q: %v", tt.sla, err)
		}
		if got := topo.SLA.AllowInconclusive; got != tt.want {
			t.Errorf("%q: AllowInconclusive = %v, want %v", tt.sla, got, tt.want)
		}
		if topo.SLA.FailoverTimeMax != nil || topo.SLA.AvailabilityMin != nil || topo.SLA.ReplicationLagP99 != nil {
			t.Errorf("%q: targets set that were not declared: %s", tt.sla, dump(topo))
		}
	}
}

// TestValidImageRef checks the image reference grammar against what Docker
// accepts and refuses.
func TestValidImageRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"my/postgres-patroni:15":                          true,
		"postgres":                                        true,
		"registry.local:5000/team/pg_node:15.4":           true,
		"localhost/pg@sha256:" + strings.Repeat("ab", 32): true,
		"[::1]:5000/pg:latest":                            true,
		"My/Postgres:15":                                  false,
		"pg:":                                             false,
		"pg:-15":                                          false,
		"/pg":                                             false,
		"pg//node":                                        false,
		"pg@sha256:abc":                                   false,
		strings.Repeat("a", 256):                          false,
	} {
		if got := validImageRef(ref); got != want {
			t.Errorf("validImageRef(%q) = %v, want %v", ref, got, want)
		}
	}
}
