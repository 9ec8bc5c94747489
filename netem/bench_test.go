package netem_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/netem"
)

// Run with: go test -run '^$' -bench . ./netem/ (as root). Each benchmark
// builds two namespaces joined by a veth pair and impairs both ends.

var benchRTTs = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// kernelSkip returns why kernel-backend figures cannot be measured on this
// kernel ("" if they can), and prints it once: go test prints neither the
// messages nor the names of skipped benchmarks without -v.
func kernelSkip(b *testing.B) string {
	b.Helper()
	requireNetns(b)
	p := newPair(b)
	c, err := netem.Probe(context.Background(), p.A)
	if err != nil {
		b.Fatal(err)
	}
	if c.Backend == netem.Kernel {
		return ""
	}
	fmt.Printf("%s/kernel: SKIP: kernel backend figures unavailable: %s\n", b.Name(), c.Reason)
	return c.Reason
}

// BenchmarkRTT measures a one-byte TCP echo across a link whose two ends
// each hold RTT/2. ns/op is the round trip; rtt_err_% is the median's
// signed error against the configured RTT, p90_err_% the 90th percentile's.
func BenchmarkRTT(b *testing.B) {
	noKernel := kernelSkip(b)
	for _, backend := range []netem.Backend{netem.Kernel, netem.Userspace} {
		for _, rtt := range benchRTTs {
			b.Run(fmt.Sprintf("%s/rtt=%v", backend, rtt), func(b *testing.B) {
				if backend == netem.Kernel && noKernel != "" {
					b.Skip(noKernel)
				}
				p := newPair(b)
				ctx := context.Background()
				srv := startServer(b, p.B.ns, p.AddrB)
				sa, sb := p.A.shaper(b, backend, p.DevA), p.B.shaper(b, backend, p.DevB)
				b.Cleanup(func() { sa.Reset(ctx); sb.Reset(ctx) })
				pa, pb := symmetric(p, netem.Impairment{Delay: rtt / 2})
				if err := sa.Apply(ctx, pa); err != nil {
					b.Fatal(err)
				}
				if err := sb.Apply(ctx, pb); err != nil {
					b.Fatal(err)
				}
				c, err := dial(p.A.ns, srv.Addr, 'e', 5*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if _, err := rttSamples(c, 3, 5*time.Second); err != nil { // warm up
					b.Fatal(err)
				}
				var samples []time.Duration
				for b.Loop() {
					s, err := rttSamples(c, 1, 5*time.Second)
					if err != nil {
						b.Fatal(err)
					}
					samples = append(samples, s...)
				}
				sorted := append([]time.Duration(nil), samples...)
				slices.Sort(sorted)
				med, p90 := sorted[len(sorted)/2], sorted[len(sorted)*9/10]
				b.ReportMetric(float64(med)/1e6, "rtt_ms")
				b.ReportMetric(100*float64(med-rtt)/float64(rtt), "rtt_err_%")
				b.ReportMetric(100*float64(p90-rtt)/float64(rtt), "p90_err_%")
			})
		}
	}
}

// BenchmarkThroughput streams TCP from A to B over one link delayed 25 ms
// each way (50 ms RTT): MB/s is the goodput, agent_cpu_% the receiving
// agent's CPU (utime+stime from /proc over the transfer) as a share of
// one core, ack_agent_cpu_% the sender's agent (which holds the ACKs).
//
// With the kernel's default buffers (tcp_wmem max 4 MiB) the sender's
// window, not the agent, caps a 50 ms link at about 4 MiB per RTT; the
// wmem=32MiB case lifts that cap to show the agent's own capacity.
func BenchmarkThroughput(b *testing.B) {
	noKernel := kernelSkip(b)
	for _, backend := range []netem.Backend{netem.Kernel, netem.Userspace} {
		for _, tc := range []struct{ name, wmem string }{
			{"rtt=50ms", ""},
			{"rtt=50ms,wmem=32MiB", "4096 16384 33554432"},
		} {
			b.Run(fmt.Sprintf("%s/%s", backend, tc.name), func(b *testing.B) {
				if backend == netem.Kernel && noKernel != "" {
					b.Skip(noKernel)
				}
				p := newPair(b)
				if tc.wmem != "" {
					mustRun(b, "ip", "netns", "exec", p.A.ns, "sysctl", "-q", "-w", "net.ipv4.tcp_wmem="+tc.wmem)
				}
				ctx := context.Background()
				srv := startServer(b, p.B.ns, p.AddrB)
				sa, sb := p.A.shaper(b, backend, p.DevA), p.B.shaper(b, backend, p.DevB)
				b.Cleanup(func() { sa.Reset(ctx); sb.Reset(ctx) })
				pa, pb := symmetric(p, netem.Impairment{Delay: 25 * time.Millisecond})
				if err := sa.Apply(ctx, pa); err != nil {
					b.Fatal(err)
				}
				if err := sb.Apply(ctx, pb); err != nil {
					b.Fatal(err)
				}
				c, err := dial(p.A.ns, srv.Addr, 's', 5*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				send(b, c, 64<<20) // through slow start
				const chunk = 128 << 20
				b.SetBytes(chunk)
				rx, ack := p.B.agentPID(), p.A.agentPID()
				rx0, ack0 := cpuTicks(rx), cpuTicks(ack)
				start := time.Now()
				for b.Loop() {
					send(b, c, chunk)
				}
				secs := time.Since(start).Seconds()
				if backend == netem.Userspace {
					b.ReportMetric(100*float64(cpuTicks(rx)-rx0)/userHZ/secs, "agent_cpu_%")
					b.ReportMetric(100*float64(cpuTicks(ack)-ack0)/userHZ/secs, "ack_agent_cpu_%")
				}
			})
		}
	}
}

// userHZ is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const userHZ = 100

// cpuTicks returns utime+stime of pid, 0 if it is gone.
func cpuTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
