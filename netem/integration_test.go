package netem_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replab/replab/netem"
)

// TestUserspaceRTT applies the userspace backend on both ends of a veth
// pair and measures the round trip before, at 10, 50, 100 and 200 ms, and
// after Reset.
func TestUserspaceRTT(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	srv := startServer(t, p.B.ns, p.AddrB)
	base := measureRTT(t, p, srv, 20)
	t.Logf("baseline rtt %v", base)
	if base > time.Millisecond {
		t.Fatalf("baseline rtt %v over a bare veth, want well under 1ms", base)
	}

	sa, sb := p.A.shaper(t, netem.Userspace, p.DevA), p.B.shaper(t, netem.Userspace, p.DevB)
	t.Cleanup(func() { sa.Reset(ctx); sb.Reset(ctx) })
	firstPID := 0
	for _, rtt := range []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		pa, pb := symmetric(p, netem.Impairment{Delay: rtt / 2})
		if err := sa.Apply(ctx, pa); err != nil {
			t.Fatal(err)
		}
		if err := sb.Apply(ctx, pb); err != nil {
			t.Fatal(err)
		}
		got := measureRTT(t, p, srv, 15)
		t.Logf("configured rtt %v: measured %v (%+.2f%%)", rtt, got, 100*float64(got-rtt)/float64(rtt))
		if !within(got, rtt) {
			t.Errorf("configured rtt %v: measured %v, outside ±5%%/±1ms", rtt, got)
		}
		for _, flags := range [][]string{nil, {"-U"}} {
			if got, ok := ping(t, p, flags...); ok {
				t.Logf("configured rtt %v: ping %v %v", rtt, flags, got)
				if !within(got, rtt) {
					t.Errorf("configured rtt %v: ping %v measured %v, outside ±5%%/±1ms", rtt, flags, got)
				}
			}
		}
		if err := sa.Alive(ctx); err != nil {
			t.Errorf("Alive after apply: %v", err)
		}
		// A new plan reloads the running agent; it does not restart it.
		if pid := p.A.agentPID(); firstPID == 0 {
			firstPID = pid
		} else if pid != firstPID {
			t.Errorf("agent pid changed from %d to %d on a plan change: want a reload", firstPID, pid)
		}
	}

	// The same plan again runs nothing.
	pa, _ := symmetric(p, netem.Impairment{Delay: 100 * time.Millisecond})
	if err := sa.Apply(ctx, pa); err != nil {
		t.Fatal(err)
	}
	n := p.A.commands()
	if err := sa.Apply(ctx, pa); err != nil {
		t.Fatal(err)
	}
	if extra := p.A.commands() - n; extra != 0 {
		t.Errorf("applying the same plan twice ran %d more commands, want none", extra)
	}

	for _, s := range []*netem.Shaper{sa, sb} {
		if err := s.Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := measureRTT(t, p, srv, 20); got > base+time.Millisecond {
		t.Errorf("after Reset rtt %v, want the baseline %v", got, base)
	}
	for _, h := range []*nsHost{p.A, p.B} {
		if chainPresent(t, h.ns) {
			t.Errorf("%s: %s still in the firewall after Reset", h.ns, netem.Chain)
		}
		if pid := h.agentPID(); pid != 0 {
			t.Errorf("%s: agent pid %d still running after Reset", h.ns, pid)
		}
		if _, err := os.Stat(h.agentDir); !os.IsNotExist(err) {
			t.Errorf("%s: agent dir %s left after Reset (%v)", h.ns, h.agentDir, err)
		}
	}
	// Reset of a clean node is a no-op success.
	if err := sa.Reset(ctx); err != nil {
		t.Errorf("second Reset: %v", err)
	}
}

// TestUserspaceAgentDeathFailsOpen kills the agent with SIGKILL: traffic
// must keep flowing (unimpaired, thanks to --queue-bypass) and Alive must
// report the impairment as lost.
func TestUserspaceAgentDeathFailsOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	srv := startServer(t, p.B.ns, p.AddrB)
	sb := p.B.shaper(t, netem.Userspace, p.DevB)
	t.Cleanup(func() { sb.Reset(ctx) })
	_, pb := symmetric(p, netem.Impairment{Delay: 30 * time.Millisecond})
	if err := sb.Apply(ctx, pb); err != nil {
		t.Fatal(err)
	}
	if got := measureRTT(t, p, srv, 15); !within(got, 30*time.Millisecond) {
		t.Fatalf("one-sided 30ms: measured %v", got)
	}
	pid := p.B.agentPID()
	if pid == 0 {
		t.Fatal("no agent running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.B.agentPID() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := measureRTT(t, p, srv, 15); got > 5*time.Millisecond {
		t.Errorf("after the agent died: rtt %v, want unimpaired traffic (queue-bypass)", got)
	}
	err := sb.Alive(ctx)
	if !errors.Is(err, netem.ErrImpairmentLost) {
		t.Errorf("Alive after the agent died = %v, want ErrImpairmentLost", err)
	}
	t.Logf("Alive: %v", err)
	// Applying again restores the impairment.
	_, pb2 := symmetric(p, netem.Impairment{Delay: 20 * time.Millisecond})
	if err := sb.Apply(ctx, pb2); err != nil {
		t.Fatal(err)
	}
	if got := measureRTT(t, p, srv, 15); !within(got, 20*time.Millisecond) {
		t.Errorf("after re-apply: rtt %v, want 20ms", got)
	}
}

// TestUserspaceBlackholeThenDelay cuts the link, then replaces the cut by
// a delay: the plan change must take effect and traffic resume.
func TestUserspaceBlackholeThenDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	srv := startServer(t, p.B.ns, p.AddrB)
	c, err := dial(p.A.ns, srv.Addr, 'e', 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sb := p.B.shaper(t, netem.Userspace, p.DevB)
	t.Cleanup(func() { sb.Reset(ctx) })
	_, cut := symmetric(p, netem.Impairment{Blackhole: true})
	if err := sb.Apply(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if pid := p.B.agentPID(); pid != 0 {
		t.Errorf("a blackhole-only plan started an agent (pid %d): a cut is a DROP rule", pid)
	}
	if _, err := rttSamples(c, 1, 300*time.Millisecond); err == nil {
		t.Error("a round trip crossed a blackhole")
	}
	_, slow := symmetric(p, netem.Impairment{Delay: 15 * time.Millisecond})
	if err := sb.Apply(ctx, slow); err != nil {
		t.Fatal(err)
	}
	c2, err := dial(p.A.ns, srv.Addr, 'e', 5*time.Second)
	if err != nil {
		t.Fatalf("dial after the cut was lifted: %v", err)
	}
	defer c2.Close()
	s, err := rttSamples(c2, 6, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := median(s[1:]); !within(got, 15*time.Millisecond) {
		t.Errorf("after replacing the cut by 15ms: rtt %v", got)
	}
}

// TestUserspaceRate caps A→B at 80 Mbit/s (held at B) and checks a bulk
// transfer gets about 10 MB/s.
func TestUserspaceRate(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	srv := startServer(t, p.B.ns, p.AddrB)
	sb := p.B.shaper(t, netem.Userspace, p.DevB)
	t.Cleanup(func() { sb.Reset(ctx) })
	_, pb := symmetric(p, netem.Impairment{Delay: 5 * time.Millisecond, Rate: 80_000_000})
	if err := sb.Apply(ctx, pb); err != nil {
		t.Fatal(err)
	}
	c, err := dial(p.A.ns, srv.Addr, 's', 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, 4<<20) // past slow start
	start := time.Now()
	const n = 20 << 20
	send(t, c, n)
	mbps := float64(n) / time.Since(start).Seconds() / 1e6
	t.Logf("80mbit link: %.2f MB/s", mbps)
	if mbps < 8.5 || mbps > 10.5 {
		t.Errorf("80mbit link carried %.2f MB/s, want about 10", mbps)
	}
}

// send writes n bytes to a sink connection and waits for its answer.
func send(tb testing.TB, c interface {
	io.Writer
	io.Reader
}, n int64) {
	tb.Helper()
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(n))
	if _, err := c.Write(hdr[:]); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			tb.Fatal(err)
		}
		left -= k
	}
	if _, err := io.ReadFull(c, hdr[:1]); err != nil {
		tb.Fatal(err)
	}
}

// kernelNetemWorks asks the kernel directly, as an oracle independent of
// Probe, whether a netem qdisc can be created.
func kernelNetemWorks(t *testing.T) bool {
	ns := newPair(t).A.ns
	out, err := exec.Command("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Specified qdisc kind is unknown") {
		t.Fatalf("tc netem probe failed unexpectedly: %v: %s", err, out)
	}
	return err == nil
}

// TestKernelBackend: on a kernel without sch_netem Probe must choose
// userspace and a forced kernel backend must fail with
// ErrKernelNetemUnavailable and a fix, leaving nothing behind; where netem
// exists the kernel backend must impose the RTT.
func TestKernelBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	haveNetem := kernelNetemWorks(t)
	p := newPair(t)
	ctx := context.Background()
	choice, err := netem.Probe(ctx, p.A)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probe: %+v", choice)
	if out := mustRun(t, "ip", "netns", "exec", p.A.ns, "tc", "qdisc", "show", "dev", "lo"); strings.Contains(out, "netem") {
		t.Errorf("probe left a netem qdisc on lo: %s", out)
	}
	sa, sb := p.A.shaper(t, netem.Kernel, p.DevA), p.B.shaper(t, netem.Kernel, p.DevB)
	t.Cleanup(func() { sa.Reset(ctx); sb.Reset(ctx) })
	pa, pb := symmetric(p, netem.Impairment{Delay: 25 * time.Millisecond})
	if !haveNetem {
		if choice.Backend != netem.Userspace || !strings.Contains(choice.Reason, "sch_netem") {
			t.Errorf("Probe on a kernel without netem = %+v, want userspace and a reason naming sch_netem", choice)
		}
		err := sa.Apply(ctx, pa)
		if !errors.Is(err, netem.ErrKernelNetemUnavailable) || !strings.Contains(err.Error(), "use backend: userspace or auto") {
			t.Fatalf("kernel Apply without netem = %v, want ErrKernelNetemUnavailable with the fix", err)
		}
		t.Logf("kernel Apply: %v", err)
		if out := mustRun(t, "ip", "netns", "exec", p.A.ns, "tc", "qdisc", "show", "dev", p.DevA); strings.Contains(out, "htb") {
			t.Errorf("failed kernel Apply left its tree behind: %s", out)
		}
		return
	}
	if choice.Backend != netem.Kernel {
		t.Errorf("Probe where netem works = %+v, want kernel", choice)
	}
	srv := startServer(t, p.B.ns, p.AddrB)
	if err := sa.Apply(ctx, pa); err != nil {
		t.Fatal(err)
	}
	if err := sb.Apply(ctx, pb); err != nil {
		t.Fatal(err)
	}
	if got := measureRTT(t, p, srv, 10); !within(got, 50*time.Millisecond) {
		t.Errorf("kernel backend, rtt 50ms: measured %v", got)
	}
	sa.Reset(ctx)
	sb.Reset(ctx)
	if got := measureRTT(t, p, srv, 10); got > 2*time.Millisecond {
		t.Errorf("after Reset: rtt %v", got)
	}
}

// pfifoRunner runs tc commands with every netem qdisc replaced by pfifo,
// so that the kernel backend's HTB classes, u32 filters and drop actions
// are checked by a real kernel even where sch_netem is missing.
type pfifoRunner struct{ *nsHost }

func (r pfifoRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	for i, w := range argv {
		if w == "netem" && len(argv) > 0 && argv[0] == "tc" && argv[1] == "qdisc" {
			argv = append(append([]string{}, argv[:i]...), "pfifo", "limit", "100000")
			break
		}
	}
	return r.nsHost.Run(ctx, argv)
}

func TestKernelTreeOnRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	s := netem.NewShaper(netem.Kernel, pfifoRunner{p.A}, netem.WithDevice(p.DevA))
	t.Cleanup(func() { s.Reset(ctx) })
	plan := netem.Plan{Rules: []netem.Rule{
		{Link: "b", Peers: []netip.Prefix{host("10.251.0.2")}, Impairment: netem.Impairment{Delay: 40 * time.Millisecond}},
		{Link: "cut", Peers: []netip.Prefix{host("10.251.0.3")}, Impairment: netem.Impairment{Blackhole: true}},
		{Link: "v6", Peers: []netip.Prefix{netip.MustParsePrefix("fd00:1::/64")}, Impairment: netem.Impairment{Delay: 10 * time.Millisecond, Rate: 1_000_000}},
	}}
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	qd := mustRun(t, "ip", "netns", "exec", p.A.ns, "tc", "qdisc", "show", "dev", p.DevA)
	fl := mustRun(t, "ip", "netns", "exec", p.A.ns, "tc", "filter", "show", "dev", p.DevA)
	if !strings.Contains(qd, "qdisc htb 1: root") || strings.Count(qd, "qdisc pfifo") != 3 {
		t.Errorf("qdiscs:\n%s\nwant htb 1: at the root and three children", qd)
	}
	if !strings.Contains(fl, "flowid 1:1") || !strings.Contains(fl, "flowid 1:3") || !strings.Contains(fl, "flowid 1:2") {
		t.Errorf("filters:\n%s\nwant a flowid per group and one for the blackhole", fl)
	}
	if err := s.Alive(ctx); err != nil {
		t.Errorf("Alive: %v", err)
	}
	// A change of impairment only is done in place.
	n := p.A.commands()
	plan.Rules[0].Impairment.Delay = 80 * time.Millisecond
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if ran := p.A.log[n:]; len(ran) != 1 || !strings.HasPrefix(ran[0], "tc qdisc change") {
		t.Errorf("impairment change ran %q, want one tc qdisc change", ran)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if qd := mustRun(t, "ip", "netns", "exec", p.A.ns, "tc", "qdisc", "show", "dev", p.DevA); strings.Contains(qd, "htb") {
		t.Errorf("after Reset:\n%s", qd)
	}
	if err := s.Alive(ctx); err != nil {
		t.Errorf("Alive after Reset: %v", err)
	}
}

// TestAutoShaper: an Auto shaper resolves to what Probe says.
func TestAutoShaper(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	want, err := netem.Probe(ctx, p.B)
	if err != nil {
		t.Fatal(err)
	}
	s := p.B.shaper(t, netem.Auto, p.DevB)
	t.Cleanup(func() { s.Reset(ctx) })
	if s.Backend() != netem.Auto {
		t.Errorf("before Apply: backend %s, want auto", s.Backend())
	}
	_, pb := symmetric(p, netem.Impairment{Delay: 5 * time.Millisecond})
	if err := s.Apply(ctx, pb); err != nil {
		t.Fatal(err)
	}
	if s.Backend() != want.Backend || s.Reason() != want.Reason {
		t.Errorf("auto chose %s (%s), Probe says %s (%s)", s.Backend(), s.Reason(), want.Backend, want.Reason)
	}
}

// TestResetOnFreshNode: a shaper that never applied anything cleans the
// leftovers of a previous process (here: another shaper's agent and chain).
func TestResetOnFreshNode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	_, pb := symmetric(p, netem.Impairment{Delay: 5 * time.Millisecond})
	if err := p.B.shaper(t, netem.Userspace, p.DevB).Apply(ctx, pb); err != nil {
		t.Fatal(err)
	}
	fresh := netem.NewShaper(netem.Auto, p.B, netem.WithAgentDir(p.B.agentDir), netem.WithDevice(p.DevB))
	if err := fresh.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if chainPresent(t, p.B.ns) || p.B.agentPID() != 0 {
		t.Error("Reset of a fresh shaper left the previous process's chain or agent")
	}
}

// TestUserspacePlanChangesNeverUnimpair regroups peers back and forth (two
// peers sharing one queue, then each its own, then sharing again) while a
// probe runs: no round trip may ever escape the delay, which is what
// make-before-break (new queues bound first, old ones retired last) is for.
func TestUserspacePlanChangesNeverUnimpair(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	const y = "10.251.0.3"
	mustRun(t, "ip", "-n", p.B.ns, "addr", "add", y+"/24", "dev", p.DevB)
	srv := startServer(t, p.B.ns, y)
	sa := p.A.shaper(t, netem.Userspace, p.DevA)
	t.Cleanup(func() { sa.Reset(ctx) })
	shared := netem.Plan{Rules: []netem.Rule{
		{Link: "x", Peers: []netip.Prefix{host(p.AddrB)}, Impairment: netem.Impairment{Delay: 20 * time.Millisecond}},
		{Link: "y", Peers: []netip.Prefix{host(y)}, Impairment: netem.Impairment{Delay: 20 * time.Millisecond}},
	}}
	split := netem.Plan{Rules: []netem.Rule{
		{Link: "x", Peers: []netip.Prefix{host(p.AddrB)}, Impairment: netem.Impairment{Delay: 20 * time.Millisecond}},
		{Link: "y", Peers: []netip.Prefix{host(y)}, Impairment: netem.Impairment{Delay: 30 * time.Millisecond}},
	}}
	if err := sa.Apply(ctx, shared); err != nil {
		t.Fatal(err)
	}
	c, err := dial(p.A.ns, srv.Addr, 'e', 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	result := make(chan []time.Duration)
	go func() {
		var all []time.Duration
		for {
			select {
			case <-stop:
				result <- all
				return
			default:
			}
			s, err := rttSamples(c, 1, 5*time.Second)
			if err != nil {
				result <- append(all, -1)
				return
			}
			all = append(all, s...)
		}
	}()
	for range 3 {
		for _, plan := range []netem.Plan{split, shared} {
			if err := sa.Apply(ctx, plan); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	close(stop)
	samples := <-result
	if len(samples) < 10 {
		t.Fatalf("only %d samples", len(samples))
	}
	for i, s := range samples {
		if s < 19*time.Millisecond {
			t.Errorf("sample %d of %d: %v, below the 20ms delay: traffic escaped the impairment during a plan change", i, len(samples), s)
		}
	}
	t.Logf("%d samples across 6 regroupings, min %v", len(samples), slices.Min(samples))
}

// ping measures the average RTT from A to B with iputils ping, if it is
// installed. Without -U, ping reports the kernel's receive timestamp of
// each reply: the userspace backend must hold ICMP before that stamp is
// taken (on the sender's way out), or ping would show half the RTT.
func ping(t *testing.T, p *pair, flags ...string) (time.Duration, bool) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		return 0, false
	}
	argv := append([]string{"ip", "netns", "exec", p.A.ns, "ping"}, flags...)
	out := mustRun(t, append(argv, "-n", "-c", "11", "-i", "0.05", p.AddrB)...)
	med, err := netem.PingMedian(out)
	if err != nil {
		t.Fatal(err)
	}
	return med, true
}

// TestUserspaceVerify reads a node back against plans: the one applied
// passes; a plan with another delay, a rule added by hand, a dead agent and
// a stale chain after the plan went empty are each caught (positive
// controls); the empty plan passes once Reset cleared the node.
func TestUserspaceVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	sb := p.B.shaper(t, netem.Userspace, p.DevB)
	t.Cleanup(func() { sb.Reset(ctx) })
	_, base := symmetric(p, netem.Impairment{Delay: 20 * time.Millisecond})
	_, worse := symmetric(p, netem.Impairment{Delay: 60 * time.Millisecond})
	if err := sb.Apply(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := sb.Verify(ctx, base); err != nil {
		t.Fatalf("Verify of the plan just applied: %v", err)
	}
	if err := sb.Verify(ctx, worse); !errors.Is(err, netem.ErrPlanDiffers) {
		t.Errorf("Verify against another delay: %v, want ErrPlanDiffers", err)
	}
	// A plan that only changes the delay keeps the rules: a fresh shaper
	// (another process: replab chaos degrade) reloads the agent and runs
	// no iptables insert or delete.
	n := p.B.commands()
	fresh := p.B.shaper(t, netem.Userspace, p.DevB)
	if err := fresh.Apply(ctx, worse); err != nil {
		t.Fatal(err)
	}
	for _, c := range p.B.logSince(n) {
		if strings.Contains(c, " -I ") || strings.Contains(c, " -D ") {
			t.Errorf("a delay-only change rewrote the firewall: %s", c)
		}
	}
	if err := fresh.Verify(ctx, worse); err != nil {
		t.Fatalf("Verify after the delay-only change: %v", err)
	}
	if err := fresh.Apply(ctx, base); err != nil {
		t.Fatal(err)
	}

	extra := []string{"iptables", "-w", "-t", "mangle", "-A", netem.Chain, "-p", "udp", "-j", "ACCEPT"}
	if _, err := p.B.Run(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if err := sb.Verify(ctx, base); !errors.Is(err, netem.ErrPlanDiffers) {
		t.Errorf("Verify with a rule added by hand: %v, want ErrPlanDiffers", err)
	}
	extra[4] = "-D"
	if _, err := p.B.Run(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if err := sb.Verify(ctx, base); err != nil {
		t.Fatalf("Verify once the hand-made rule is gone: %v", err)
	}

	if err := syscall.Kill(p.B.agentPID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := sb.Verify(ctx, base); !errors.Is(err, netem.ErrImpairmentLost) {
		t.Errorf("Verify with the agent killed: %v, want ErrImpairmentLost", err)
	}

	if err := sb.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Verify(ctx, netem.Plan{}); err != nil {
		t.Errorf("Verify of the empty plan after Reset: %v", err)
	}
	if err := sb.Verify(ctx, base); !errors.Is(err, netem.ErrPlanDiffers) && !errors.Is(err, netem.ErrImpairmentLost) {
		t.Errorf("Verify of a plan after Reset: %v, want an error", err)
	}
}

// TestUserspaceFreshNode applies a plan to two fresh nodes in one call
// each (WithFreshNode) and checks the RTT, the agent's liveness and that
// a later plan change reloads that agent.
func TestUserspaceFreshNode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	p := newPair(t)
	ctx := context.Background()
	srv := startServer(t, p.B.ns, p.AddrB)
	sa := p.A.shaper(t, netem.Userspace, p.DevA, netem.WithFreshNode())
	sb := p.B.shaper(t, netem.Userspace, p.DevB, netem.WithFreshNode())
	t.Cleanup(func() { sa.Reset(ctx); sb.Reset(ctx) })
	for i, rtt := range []time.Duration{40 * time.Millisecond, 100 * time.Millisecond} {
		pa, pb := symmetric(p, netem.Impairment{Delay: rtt / 2})
		n := p.A.commands()
		if err := sa.Apply(ctx, pa); err != nil {
			t.Fatal(err)
		}
		if err := sb.Apply(ctx, pb); err != nil {
			t.Fatal(err)
		}
		if ran := p.A.commands() - n; i == 0 && ran != 1 {
			t.Errorf("the first Apply on a fresh node ran %d commands, want 1", ran)
		}
		if err := sa.Verify(ctx, pa); err != nil {
			t.Errorf("Verify after apply: %v", err)
		}
		got := measureRTT(t, p, srv, 15)
		if !within(got, rtt) {
			t.Errorf("configured rtt %v: measured %v, outside ±5%%/±1ms", rtt, got)
		}
		if err := sa.Alive(ctx); err != nil {
			t.Errorf("Alive after apply: %v", err)
		}
	}
}
