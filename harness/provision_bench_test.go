package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/topologies"
)

// BenchmarkProvision brings the default lab up and down b.N times with a
// warm image and reports each provisioning phase (seconds since Up started,
// averaged) and the teardown. Run it with `make bench-provision`.
func BenchmarkProvision(b *testing.B) {
	ctx := context.Background()
	if _, err := harness.Connect(ctx); err != nil {
		b.Skip(err)
	}
	topo := topologies.Default()
	if _, err := harness.EnsureImage(ctx, harness.ImageRequest{}); err != nil {
		b.Fatal(err)
	}
	var sum harness.Timings
	var down time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lab, err := harness.Up(ctx, topo)
		if err != nil {
			b.Fatal(err)
		}
		t := lab.Timings()
		sum.Network += t.Network
		sum.Containers += t.Containers
		sum.Etcd += t.Etcd
		sum.Leader += t.Leader
		sum.Streaming += t.Streaming
		sum.Endpoints += t.Endpoints
		start := time.Now()
		if err := lab.Down(ctx); err != nil {
			b.Fatal(err)
		}
		down += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(sum.Network.Seconds()/n, "network_s")
	b.ReportMetric(sum.Containers.Seconds()/n, "containers_s")
	b.ReportMetric(sum.Etcd.Seconds()/n, "etcd_s")
	b.ReportMetric(sum.Leader.Seconds()/n, "leader_s")
	b.ReportMetric(sum.Streaming.Seconds()/n, "streaming_s")
	b.ReportMetric(sum.Endpoints.Seconds()/n, "endpoints_s")
	b.ReportMetric(down.Seconds()/n, "down_s")
}
