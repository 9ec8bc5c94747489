package workload

import (
	"testing"
	"time"

	"github.com/replab/replab/topologies"
)

// TestClientTimeoutCoversAConnectAcrossTheWAN: a client in a far region
// gets ten round trips to the primary region, never less than a second.
func TestClientTimeoutCoversAConnectAcrossTheWAN(t *testing.T) {
	topo, err := topologies.Builtin("stretched")
	if err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]time.Duration{"": time.Second, "us-east": time.Second, "eu-west": time.Second, "ap-southeast": 2200 * time.Millisecond} {
		if got := ClientTimeout(topo, region); got != want {
			t.Errorf("ClientTimeout(%q) = %s, want %s", region, got, want)
		}
	}
}
