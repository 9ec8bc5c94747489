package netem_test

// Helpers for tests and benchmarks on the real kernel: two network
// namespaces joined by a veth pair, a Host that runs commands in a
// namespace with "ip netns exec", and TCP probes whose sockets are created
// inside a namespace.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/replab/replab/netem"
)

// requireNetns skips unless the test can create namespaces and use the
// firewall: root, ip and iptables.
func requireNetns(tb testing.TB) {
	tb.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create network namespaces (run as root, or in CI's root container)"
	}
	for _, bin := range []string{"ip", "iptables", "tc"} {
		if _, err := exec.LookPath(bin); why == "" && err != nil {
			why = fmt.Sprintf("needs %s on PATH (Debian: apt-get install iproute2 iptables)", bin)
		}
	}
	if why == "" {
		return
	}
	if _, ok := tb.(*testing.B); ok {
		// go test does not print why a benchmark was skipped without -v.
		fmt.Printf("%s: SKIP: %s\n", tb.Name(), why)
	}
	tb.Skip(why)
}

var agentBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// agentBinary builds cmd/replab-agent once per test binary, through
// BuildAgent (so BuildAgent is exercised), into a temporary directory.
func agentBinary(tb testing.TB) string {
	tb.Helper()
	agentBuild.once.Do(func() {
		agentBuild.dir, agentBuild.err = os.MkdirTemp("", "rlt-agent-")
		if agentBuild.err == nil {
			agentBuild.path, agentBuild.err = netem.BuildAgent(context.Background(), agentBuild.dir)
		}
	})
	if agentBuild.err != nil {
		tb.Fatalf("build agent: %v", agentBuild.err)
	}
	return agentBuild.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if agentBuild.dir != "" {
		os.RemoveAll(agentBuild.dir)
	}
	os.Exit(code)
}

// nsHost is a netem.Host for a network namespace. Files are on the shared
// filesystem, so each host gets its own agent directory.
type nsHost struct {
	ns       string
	agentDir string

	mu    sync.Mutex
	procs []*exec.Cmd
	log   []string // every argv run, for tests that count commands
}

func (h *nsHost) Run(ctx context.Context, argv []string) ([]byte, error) {
	h.mu.Lock()
	h.log = append(h.log, strings.Join(argv, " "))
	h.mu.Unlock()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns}, argv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (h *nsHost) CopyFile(_ context.Context, path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (h *nsHost) Start(_ context.Context, argv []string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns}, argv...)...)
	if err := cmd.Start(); err != nil {
		return err
	}
	h.mu.Lock()
	h.procs = append(h.procs, cmd)
	h.mu.Unlock()
	go cmd.Wait() // reap
	return nil
}

// commands returns how many commands ran so far.
// logSince returns the commands run since the n-th.
func (h *nsHost) logSince(n int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log[n:])
}

func (h *nsHost) commands() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.log)
}

// agentPID returns the pid of the agent this host started last, 0 if none
// is alive.
func (h *nsHost) agentPID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range slices.Backward(h.procs) {
		if c.Process != nil && unix.Kill(c.Process.Pid, 0) == nil && !zombie(c.Process.Pid) {
			return c.Process.Pid
		}
	}
	return 0
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// killAll kills the agents this host started, by pid.
func (h *nsHost) killAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.procs {
		if c.Process != nil {
			c.Process.Kill()
		}
	}
}

// pair is two namespaces joined by a veth pair: A 10.251.0.1, B 10.251.0.2.
type pair struct {
	A, B         *nsHost
	AddrA, AddrB string
	DevA, DevB   string
}

func newPair(tb testing.TB) *pair {
	tb.Helper()
	requireNetns(tb)
	id := make([]byte, 3)
	rand.Read(id)
	tag := hex.EncodeToString(id)
	dir := tb.TempDir()
	p := &pair{
		A:     &nsHost{ns: "rlt-" + tag + "-a", agentDir: filepath.Join(dir, "a")},
		B:     &nsHost{ns: "rlt-" + tag + "-b", agentDir: filepath.Join(dir, "b")},
		AddrA: "10.251.0.1", AddrB: "10.251.0.2",
		DevA: "rlt" + tag + "a", DevB: "rlt" + tag + "b",
	}
	for _, h := range []*nsHost{p.A, p.B} {
		mustRun(tb, "ip", "netns", "add", h.ns)
		tb.Cleanup(func() {
			h.killAll()
			// Deleting the namespace deletes its veth end, firewall and qdiscs.
			exec.Command("ip", "netns", "del", h.ns).Run()
		})
	}
	mustRun(tb, "ip", "link", "add", p.DevA, "netns", p.A.ns, "type", "veth", "peer", "name", p.DevB, "netns", p.B.ns)
	for _, side := range []struct {
		h        *nsHost
		dev, adr string
	}{{p.A, p.DevA, p.AddrA}, {p.B, p.DevB, p.AddrB}} {
		mustRun(tb, "ip", "-n", side.h.ns, "addr", "add", side.adr+"/24", "dev", side.dev)
		mustRun(tb, "ip", "-n", side.h.ns, "link", "set", side.dev, "up")
		mustRun(tb, "ip", "-n", side.h.ns, "link", "set", "lo", "up")
	}
	return p
}

func mustRun(tb testing.TB, argv ...string) string {
	tb.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// shaper returns a shaper for h with the test agent.
func (h *nsHost) shaper(tb testing.TB, b netem.Backend, dev string, extra ...netem.Option) *netem.Shaper {
	opts := append([]netem.Option{netem.WithAgentDir(h.agentDir), netem.WithDevice(dev)}, extra...)
	if b != netem.Kernel {
		opts = append(opts, netem.WithAgent(agentBinary(tb)))
	}
	return netem.NewShaper(b, h, opts...)
}

// inNetns runs fn on a thread switched into namespace ns. Sockets created
// by fn stay in ns for their whole life, whichever thread uses them later.
// If the thread cannot be switched back it is retired with its goroutine.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// server is a TCP server in a namespace. A connection's first byte picks
// its mode: 'e' echoes, 's' sinks (reads an 8-byte length and that many
// bytes, answers one byte, repeats).
type server struct {
	ln   net.Listener
	Addr string
}

func startServer(tb testing.TB, ns, ip string) *server {
	tb.Helper()
	s := &server{}
	if err := inNetns(ns, func() (err error) {
		s.ln, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
		return err
	}); err != nil {
		tb.Fatalf("listen in %s: %v", ns, err)
	}
	s.Addr = s.ln.Addr().String()
	tb.Cleanup(func() { s.ln.Close() })
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return s
}

func serve(c net.Conn) {
	defer c.Close()
	mode := make([]byte, 1)
	if _, err := io.ReadFull(c, mode); err != nil {
		return
	}
	switch mode[0] {
	case 'e':
		io.Copy(c, c)
	case 's':
		var n [8]byte
		for {
			if _, err := io.ReadFull(c, n[:]); err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint64(n[:]))); err != nil {
				return
			}
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
		}
	}
}

// dial connects from namespace ns to addr in the given mode.
func dial(ns, addr string, mode byte, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := inNetns(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{mode}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// rttSamples measures n round trips of one byte over an echo connection.
func rttSamples(c net.Conn, n int, timeout time.Duration) ([]time.Duration, error) {
	b := []byte{0}
	var out []time.Duration
	for range n {
		c.SetDeadline(time.Now().Add(timeout))
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			return out, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return out, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureRTT opens an echo connection from A to B's server and returns the
// median of n round trips (the first, which may include the handshake's
// after-effects, is dropped).
func measureRTT(tb testing.TB, p *pair, srv *server, n int) time.Duration {
	tb.Helper()
	c, err := dial(p.A.ns, srv.Addr, 'e', 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", srv.Addr, err)
	}
	defer c.Close()
	s, err := rttSamples(c, n+1, 5*time.Second)
	if err != nil {
		tb.Fatalf("measure rtt: %v", err)
	}
	return median(s[1:])
}

// symmetric returns the plans of A and B for a link with round-trip rtt:
// each side holds rtt/2 for the other.
func symmetric(p *pair, im netem.Impairment) (netem.Plan, netem.Plan) {
	a := netem.Plan{Seed: 7, Rules: []netem.Rule{{Link: "b->a", Peers: []netip.Prefix{host(p.AddrB)}, Impairment: im}}}
	b := netem.Plan{Seed: 7, Rules: []netem.Rule{{Link: "a->b", Peers: []netip.Prefix{host(p.AddrA)}, Impairment: im}}}
	return a, b
}

// within reports whether got is within ±5% or ±1ms (the larger) of want:
// replab's default RTT tolerance.
func within(got, want time.Duration) bool {
	tol := max(want/20, time.Millisecond)
	return got >= want-tol && got <= want+tol
}

// chainPresent reports whether ns has any trace of replab's firewall.
func chainPresent(tb testing.TB, ns string) bool {
	out := mustRun(tb, "ip", "netns", "exec", ns, "iptables", "-w", "-t", "mangle", "-S")
	return strings.Contains(out, netem.Chain)
}

func host(addr string) netip.Prefix {
	a := netip.MustParseAddr(addr)
	return netip.PrefixFrom(a, a.BitLen())
}
