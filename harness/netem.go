package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/errgroup"

	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// The WAN between regions is applied inside each container's network
// namespace before Patroni starts, so even the replicas' base backups cross
// it. A node's command waits for a gate file on a tmpfs; a restart empties
// the tmpfs, so a restarted node waits again until Start has re-applied its
// plan.
const (
	gateDir  = "/run/replab"
	gateFile = gateDir + "/go"
)

// gated wraps a command so it starts only once the gate file exists.
func gated(cmd []string) []string {
	return append([]string{"sh", "-c", `until [ -e ` + gateFile + ` ]; do sleep 0.02; done; exec "$@"`, "gate"}, cmd...)
}

func (l *Lab) hasWAN() bool { return len(l.topo.Network.Links) > 0 }

// wanPlans computes each host's plan from the topology's RTT matrix: every
// host holds traffic between itself and each other region for RTT/2 (plus
// that link's jitter, loss and rate), so a round trip takes the declared RTT
// whichever backend holds the packets. Traffic within a region is not
// impaired. Pure; overlay replaces one link's impairment (for degradation).
func wanPlans(t *topologies.Topology, hosts []Host, overlay map[[2]string]netem.Impairment, seed int64) map[string]netem.Plan {
	byRegion := map[string][]netip.Prefix{}
	for _, h := range hosts {
		a := netip.MustParseAddr(h.IP)
		byRegion[h.Region] = append(byRegion[h.Region], netip.PrefixFrom(a, a.BitLen()))
	}
	out := map[string]netem.Plan{}
	for _, h := range hosts {
		p := netem.Plan{Seed: seed}
		for _, r := range t.Regions {
			if r.Name == h.Region || len(byRegion[r.Name]) == 0 {
				continue
			}
			imp, ok := linkImpairment(t, overlay, h.Region, r.Name)
			if !ok {
				continue
			}
			p.Rules = append(p.Rules, netem.Rule{Link: r.Name + "->" + h.Region, Peers: byRegion[r.Name], Impairment: imp})
		}
		out[h.Name] = p
	}
	return out
}

func linkKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func linkImpairment(t *topologies.Topology, overlay map[[2]string]netem.Impairment, a, b string) (netem.Impairment, bool) {
	if imp, ok := overlay[linkKey(a, b)]; ok {
		return imp, true
	}
	l, ok := t.Link(a, b)
	if !ok {
		return netem.Impairment{}, false
	}
	return netem.Impairment{Delay: l.RTT / 2, Jitter: l.Jitter, Loss: l.Loss, Rate: l.Rate}, true
}

// containerHost lets netem run commands in a container as root.
type containerHost struct {
	l    *Lab
	name string
}

func (h containerHost) Run(ctx context.Context, argv []string) ([]byte, error) {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return nil, err
	}
	return execRunner{cli: h.l.cli, id: id, name: h.name}.Run(ctx, argv)
}

func (h containerHost) CopyFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := strings.Split(strings.Trim(path.Dir(p), "/"), "/")
	for i := range dirs {
		if dirs[i] == "" {
			continue
		}
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.Join(dirs[:i+1], "/") + "/", Mode: 0o755})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: int64(mode.Perm()), Size: int64(len(data))}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := h.l.cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy %s into %s: %w", p, h.name, err)
	}
	return nil
}

func (h containerHost) Start(ctx context.Context, argv []string) error {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return err
	}
	ex, err := h.l.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: argv, User: "root", Detach: true})
	if isNotRunning(err) {
		return fmt.Errorf("start %q in %s: %w: %v", strings.Join(argv, " "), h.name, ErrNotRunning, err)
	}
	if err != nil {
		return fmt.Errorf("start %q in %s: %w", strings.Join(argv, " "), h.name, err)
	}
	if err := h.l.cli.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{Detach: true}); err != nil {
		return fmt.Errorf("start %q in %s: %w", strings.Join(argv, " "), h.name, err)
	}
	return nil
}

// netemState is the lab's WAN: the backend in use and each host's shaper.
type netemState struct {
	mu      sync.Mutex
	backend netem.Backend
	reason  string
	agent   string
	shapers map[string]*netem.Shaper
	overlay map[[2]string]netem.Impairment
	// nodes overlays links between two nodes of one region (SetNodeLink).
	nodes map[[2]string]netem.Impairment
}

// NetemBackend says how the WAN is emulated: "kernel", "userspace", or
// "none" for a lab without links; and why that backend was chosen.
func (l *Lab) NetemBackend() (backend, reason string) {
	l.wan.mu.Lock()
	defer l.wan.mu.Unlock()
	if l.wan.backend == "" {
		return "none", "one region: nothing to impair"
	}
	return string(l.wan.backend), l.wan.reason
}

// applyWAN chooses the backend, applies every host's plan, and opens the
// gates. Without links it only opens the gates (there are none).
func (l *Lab) applyWAN(ctx context.Context) error {
	if !l.hasWAN() {
		return nil
	}
	if err := l.chooseBackend(ctx); err != nil {
		return err
	}
	backend, reason := l.NetemBackend()
	l.log.Info("applying the WAN", "netem_backend", backend, "reason", reason, "links", len(l.topo.Network.Links))
	return l.ResetWAN(ctx)
}

// chooseBackend resolves the topology's network.backend (auto probes a
// node) and builds the agent the userspace backend needs, once per lab.
func (l *Lab) chooseBackend(ctx context.Context) error {
	l.wan.mu.Lock()
	chosen := l.wan.backend != ""
	l.wan.mu.Unlock()
	if chosen {
		return nil
	}
	want := netem.Backend(l.topo.Network.Backend)
	backend, reason := want, "chosen in the topology"
	if want == netem.Auto || want == "" {
		c, err := netem.Probe(ctx, containerHost{l, l.plan.Nodes[0].Name})
		if err != nil {
			return fmt.Errorf("choose netem backend: %w", err)
		}
		backend, reason = c.Backend, c.Reason
	}
	var agent string
	if backend == netem.Userspace {
		l.log.Info("building the netem agent (once)")
		p, err := netem.BuildAgent(ctx, "")
		if err != nil {
			return fmt.Errorf("userspace netem needs replab-agent: %w", err)
		}
		agent = p
	}
	l.wan.mu.Lock()
	l.wan.backend, l.wan.reason, l.wan.agent = backend, reason, agent
	if l.wan.shapers == nil {
		l.wan.shapers = map[string]*netem.Shaper{}
	}
	l.wan.mu.Unlock()
	return saveState(l.state())
}

// hostPlanLocked is name's plan: the WAN's rules with the region overlays,
// plus the node overlays that involve it. Callers hold l.wan.mu.
func (l *Lab) hostPlanLocked(name string, overlays bool) netem.Plan {
	ov := l.wan.overlay
	if !overlays {
		ov = nil
	}
	p := wanPlans(l.topo, l.Hosts(), ov, 1)[name]
	if !overlays {
		return p
	}
	ips := map[string]string{}
	for _, h := range l.Hosts() {
		ips[h.Name] = h.IP
	}
	for _, k := range slices.SortedFunc(maps.Keys(l.wan.nodes), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		other := k[0]
		if other == name {
			other = k[1]
		} else if k[1] != name {
			continue
		}
		a := netip.MustParseAddr(ips[other])
		p.Rules = append(p.Rules, netem.Rule{Link: other + "->" + name, Peers: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, Impairment: l.wan.nodes[k]})
	}
	return p
}

// agentSlice is the EEVDF time slice (Linux 6.12 and later) the userspace
// agent asks for: a task with a short slice gets an early deadline and
// preempts the running one when its timer wakes it, across containers too
// (the shortest slice of a group is its group's), with no capability; on
// older kernels the agent runs with the default slice. The database nodes
// run below the agent as well (patroniNice). A negative niceness for the
// agent would need CAP_SYS_NICE in every container that runs one, and did
// not measurably help here (see the README's userspace fidelity figures).
const agentSlice = 500 * time.Microsecond

// newShaper makes a host's shaper; its first Apply replaces whatever
// replab left on the host. Callers hold l.wan.mu.
func (l *Lab) newShaper(name string) *netem.Shaper {
	opts := []netem.Option{netem.WithLogger(l.log.With("node", name)), netem.WithAgentPriority(0, agentSlice)}
	if l.wan.agent != "" {
		opts = append(opts, netem.WithAgent(l.wan.agent))
	}
	sh := netem.NewShaper(l.wan.backend, containerHost{l, name}, opts...)
	l.wan.shapers[name] = sh
	return sh
}

// shapeHost applies the current plan to one host with a fresh shaper (a
// restarted container has lost its rules and agent).
func (l *Lab) shapeHost(ctx context.Context, name string) error {
	l.wan.mu.Lock()
	sh := l.newShaper(name)
	plan := l.hostPlanLocked(name, true)
	l.wan.mu.Unlock()
	if err := sh.Apply(ctx, plan); err != nil {
		return fmt.Errorf("shape %s: %w", name, err)
	}
	return nil
}

// openGates lets the gated commands (Patroni) start.
func (l *Lab) openGate(ctx context.Context, name string) error {
	_, err := containerHost{l, name}.Run(ctx, []string{"touch", gateFile})
	return err
}

// SetLink overlays an impairment on the link between two regions (more
// delay, loss, a lower rate, or Blackhole for a cut) on every host of both;
// nil restores the topology's baseline. chaos's degrade fault calls it.
func (l *Lab) SetLink(ctx context.Context, a, b string, imp *netem.Impairment) error {
	if !l.hasWAN() {
		return errors.New("set link: this lab has one region and no WAN (add regions and network.links)")
	}
	l.wan.mu.Lock()
	if l.wan.overlay == nil {
		l.wan.overlay = map[[2]string]netem.Impairment{}
	}
	if imp == nil {
		delete(l.wan.overlay, linkKey(a, b))
	} else {
		l.wan.overlay[linkKey(a, b)] = *imp
	}
	var names []string
	for _, h := range l.Hosts() {
		if h.Region == a || h.Region == b {
			names = append(names, h.Name)
		}
	}
	l.wan.mu.Unlock()
	return l.reshape(ctx, names)
}

// reshape applies each named host's current plan with its shaper (a new
// one if it has none), in parallel.
func (l *Lab) reshape(ctx context.Context, names []string) error {
	l.wan.mu.Lock()
	shapers := map[string]*netem.Shaper{}
	plans := map[string]netem.Plan{}
	for _, n := range names {
		if shapers[n] = l.wan.shapers[n]; shapers[n] == nil {
			shapers[n] = l.newShaper(n)
		}
		plans[n] = l.hostPlanLocked(n, true)
	}
	l.wan.mu.Unlock()
	// A host that is not running takes its plan when it starts again
	// (Start shapes it).
	return eachShaper(shapers, func(n string, sh *netem.Shaper) error {
		if err := sh.Apply(ctx, plans[n]); err != nil && !errors.Is(err, ErrNotRunning) {
			return fmt.Errorf("shape %s: %w", n, err)
		}
		return nil
	})
}

// eachShaper runs f on every shaper in parallel and joins the errors: one
// host failing neither stops nor cancels the others.
func eachShaper(shapers map[string]*netem.Shaper, f func(name string, sh *netem.Shaper) error) error {
	var mu sync.Mutex
	var errs []error
	var g errgroup.Group
	for name, sh := range shapers {
		g.Go(func() error {
			if err := f(name, sh); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// SetNodeLink overlays imp on the link between two database nodes of the
// same region, both directions (each end holds the other's traffic, as for
// regions, so a one-way delay d adds 2d to their round trip whichever
// backend runs); nil removes the overlay. Links between regions are
// SetLink's. In a lab without a WAN the first call chooses the netem
// backend and starts shaping the two nodes; chaos's slow-link fault calls
// it.
func (l *Lab) SetNodeLink(ctx context.Context, a, b string, imp *netem.Impairment) error {
	region := map[string]string{}
	for _, n := range l.plan.Nodes {
		region[n.Name] = n.Region
	}
	for _, n := range []string{a, b} {
		if _, ok := region[n]; !ok {
			return fmt.Errorf("set node link %s<->%s: %w: %q is not a database node", a, b, ErrUnknownTarget, n)
		}
	}
	if a == b {
		return fmt.Errorf("set node link %s<->%s: a node has no link to itself", a, b)
	}
	if region[a] != region[b] {
		return fmt.Errorf("set node link %s<->%s: they are in different regions (%s, %s): degrade the link between the regions instead", a, b, region[a], region[b])
	}
	if err := l.chooseBackend(ctx); err != nil {
		return fmt.Errorf("set node link %s<->%s: %w", a, b, err)
	}
	l.wan.mu.Lock()
	if l.wan.nodes == nil {
		l.wan.nodes = map[[2]string]netem.Impairment{}
	}
	if imp == nil {
		delete(l.wan.nodes, linkKey(a, b))
	} else {
		l.wan.nodes[linkKey(a, b)] = *imp
	}
	l.wan.mu.Unlock()
	return l.reshape(ctx, []string{a, b})
}

// ResetWAN drops every overlay and re-applies the topology's baseline plan
// to every host with a fresh shaper, whatever another process left there
// (`replab chaos heal`). In a lab without links the baseline is no rule at
// all: it removes whatever replab left on the nodes.
func (l *Lab) ResetWAN(ctx context.Context) error {
	l.wan.mu.Lock()
	l.wan.overlay, l.wan.nodes = nil, nil
	l.wan.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range l.Hosts() {
		if l.hasWAN() {
			g.Go(func() error { return l.shapeHost(gctx, h.Name) })
			continue
		}
		if h.Role != RoleNode {
			continue
		}
		g.Go(func() error {
			// Never applied by this process: a fresh shaper's Reset
			// removes both backends' leftovers.
			if err := netem.NewShaper(netem.Auto, containerHost{l, h.Name}).Reset(gctx); err != nil && !errors.Is(err, ErrNotRunning) {
				return fmt.Errorf("reset netem on %s: %w", h.Name, err)
			}
			return nil
		})
	}
	err := g.Wait()
	if !l.hasWAN() {
		l.wan.mu.Lock()
		l.wan.shapers = map[string]*netem.Shaper{}
		l.wan.mu.Unlock()
	}
	return err
}

// WANAlive checks that every host's plan is still in force (the userspace
// agent's heartbeat is fresh, or the qdisc tree is there). An error wraps
// netem.ErrImpairmentLost and names the hosts: every figure measured since
// is suspect. A lab without links is always alive.
func (l *Lab) WANAlive(ctx context.Context) error {
	l.wan.mu.Lock()
	shapers := maps.Clone(l.wan.shapers)
	l.wan.mu.Unlock()
	return eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if err := sh.Alive(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// WANAtBaseline checks, by reading every host back, that it holds the
// topology's baseline plan: no link is still degraded or slowed, and each
// host replab shaped has exactly the baseline's qdiscs, or firewall rules
// and agent config (see netem.Shaper.Verify); without links the baseline
// is none. Suites run it after every lab's specs, through
// chaos.VerifyBaseline.
func (l *Lab) WANAtBaseline(ctx context.Context) error {
	l.wan.mu.Lock()
	var errs []error
	for k, imp := range l.wan.overlay {
		errs = append(errs, fmt.Errorf("link %s<->%s is still degraded (%+v)", k[0], k[1], imp))
	}
	for k, imp := range l.wan.nodes {
		errs = append(errs, fmt.Errorf("node link %s<->%s is still slowed (%+v)", k[0], k[1], imp))
	}
	shapers := maps.Clone(l.wan.shapers)
	plans := map[string]netem.Plan{}
	for name := range shapers {
		plans[name] = l.hostPlanLocked(name, false)
	}
	l.wan.mu.Unlock()
	errs = append(errs, eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if err := sh.Verify(ctx, plans[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}))
	return errors.Join(errs...)
}

// RTT is one measured round trip between two regions.
type RTT struct {
	From, To   string        // regions
	Via        string        // "lab-1 -> euw-1"
	Configured time.Duration // 0 within a region
	Measured   time.Duration // median of pingCount pings
	Tolerance  time.Duration
	OK         bool
}

// pingCount pings per pair. With three-region's 10ms-per-direction jitter
// the average of 5 pings strayed past the ±10ms tolerance in one of eight
// probes here; the median of 11 stayed within 2ms in every probe. ping
// prints 3 significant digits: the resolution is 1ms from 100ms up,
// 0.1ms from 10ms.
const pingCount = 11

// ProbeRTT measures, with ping from inside the namespaces, the round trip
// between one node of every pair of regions (and within each region), and
// compares it with the declared RTT: OK when within the larger of the
// topology's tolerance percentage and absolute slack. Intra-region pairs
// must stay under 2ms.
func (l *Lab) ProbeRTT(ctx context.Context) ([]RTT, error) {
	pairs, probes := l.rttPairs()
	err := l.measureRTT(ctx, pairs, probes)
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].Configured > pairs[j].Configured })
	return pairs, err
}

// rttProbe is the two hosts a pair's round trip is measured between.
type rttProbe struct {
	from, to Host
}

// rttPairs lists, in region order, the pairs ProbeRTT measures and the
// hosts it pings between.
func (l *Lab) rttPairs() ([]RTT, []rttProbe) {
	first := map[string][]Host{}
	var regions []string
	for _, h := range l.Hosts() {
		if h.Role != RoleNode {
			continue
		}
		if len(first[h.Region]) == 0 {
			regions = append(regions, h.Region)
		}
		first[h.Region] = append(first[h.Region], h)
	}
	var pairs []RTT
	var probes []rttProbe
	for i, a := range regions {
		for _, b := range regions[i:] {
			from, to := first[a][0], first[b][0]
			if a == b {
				if len(first[a]) < 2 {
					continue
				}
				to = first[a][1]
			}
			r := RTT{From: a, To: b, Via: from.Name + " -> " + to.Name}
			if lk, ok := l.topo.Link(a, b); ok && a != b {
				r.Configured = lk.RTT
				r.Tolerance = l.rttTolerance(lk.RTT)
			} else {
				r.Tolerance = 2 * time.Millisecond
			}
			pairs = append(pairs, r)
			probes = append(probes, rttProbe{from, to})
		}
	}
	return pairs, probes
}

// measureRTT pings every pair in parallel and fills in Measured and OK.
func (l *Lab) measureRTT(ctx context.Context, pairs []RTT, probes []rttProbe) error {
	g, gctx := errgroup.WithContext(ctx)
	for i := range pairs {
		g.Go(func() error {
			p, pr := &pairs[i], probes[i]
			out, err := containerHost{l, pr.from.Name}.Run(gctx, []string{"ping", "-n", "-c", strconv.Itoa(pingCount), "-i", "0.2", "-W", "3", pr.to.IP})
			if err != nil {
				return fmt.Errorf("probe rtt %s: %w", p.Via, err)
			}
			if p.Measured, err = netem.PingMedian(string(out)); err != nil {
				return fmt.Errorf("probe rtt %s: %w", p.Via, err)
			}
			if p.Configured == 0 {
				p.OK = p.Measured < p.Tolerance
			} else {
				p.OK = math.Abs(float64(p.Measured-p.Configured)) <= float64(p.Tolerance)
			}
			return nil
		})
	}
	return g.Wait()
}

// verifyAttempts and verifySettle bound verifyWAN's retries. The check
// runs as the last replica finishes its base backup, when every node's
// PostgreSQL and Patroni are busy on the same cores as the agents: one
// median of 11 pings can land past the tolerance on a momentary backlog
// (and with three-region's ±10ms jitter per direction the median itself
// strays about 3ms). A pair is refused only when every attempt misses,
// which a wrong delay, a missing agent or a lasting overload still do.
const (
	verifyAttempts = 3
	verifySettle   = 2 * time.Second
)

// verifyWAN refuses a lab whose measured RTTs are off the declared ones:
// every figure a suite reports would be wrong. A pair that misses is
// measured again, up to verifyAttempts times in all, after verifySettle;
// the lab is refused when a pair missed on every attempt, and the error
// lists each attempt's measurement. Each queue's release error since its
// agent started is logged afterwards, pass or fail.
func (l *Lab) verifyWAN(ctx context.Context) error {
	if !l.hasWAN() {
		return nil
	}
	defer l.logFidelity(ctx)
	pairs, probes := l.rttPairs()
	misses := map[int][]string{} // by index in pairs
	pending := make([]int, len(pairs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		ps, prs := make([]RTT, len(pending)), make([]rttProbe, len(pending))
		for j, i := range pending {
			ps[j], prs[j] = pairs[i], probes[i]
		}
		if err := l.measureRTT(ctx, ps, prs); err != nil {
			return fmt.Errorf("verify WAN: %w", err)
		}
		var still []int
		for j, i := range pending {
			r := ps[j]
			pairs[i] = r
			l.log.Info("rtt", "attempt", attempt, "pair", r.From+"<->"+r.To, "via", r.Via, "configured", r.Configured, "measured", r.Measured.Round(10*time.Microsecond), "tolerance", r.Tolerance, "ok", r.OK)
			if !r.OK {
				misses[i] = append(misses[i], fmt.Sprintf("attempt %d %s", attempt, r.Measured.Round(10*time.Microsecond)))
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if attempt == verifyAttempts {
			var bad []string
			for _, i := range pending {
				r := pairs[i]
				bad = append(bad, fmt.Sprintf("%s<->%s (%s) measured %s, configured %s ± %s", r.From, r.To, r.Via, strings.Join(misses[i], ", "), r.Configured, r.Tolerance))
			}
			b, _ := l.NetemBackend()
			return fmt.Errorf("verify WAN (%s backend): missed on all %d attempts %s apart: %s; the machine may be overloaded (see the release errors logged below), or widen network.tolerance",
				b, verifyAttempts, verifySettle, strings.Join(bad, "; "))
		}
		l.log.Warn("rtt off its tolerance; measuring again", "pairs", len(pending), "attempt", attempt, "of", verifyAttempts, "settle", verifySettle)
		select {
		case <-ctx.Done():
			return fmt.Errorf("verify WAN: %w", ctx.Err())
		case <-time.After(verifySettle):
		}
	}
	return nil
}

// logFidelity logs, per host and queue, how faithfully each userspace
// agent has held its link since it started: over provisioning that is
// the bootstrap of every node, the busiest minute of a lab. Idle queues
// and the kernel backend (no agent) log nothing.
func (l *Lab) logFidelity(ctx context.Context) {
	fs := l.NetemFidelity(nil, l.NetemCounters(ctx))
	for _, f := range fs {
		if f.Idle() {
			continue
		}
		lvl := slog.LevelInfo
		if f.Breaks() {
			lvl = slog.LevelWarn
		}
		l.log.Log(ctx, lvl, "netem fidelity", "host", f.Host, "link", f.Link, "delay", f.Delay, "packets", f.Packets, "dropped", f.Dropped,
			"release_error", f.ReleaseError.Round(time.Microsecond), "arrival_lag", f.ArrivalLag.Round(time.Microsecond), "budget", f.Budget, "ok", f.OK())
	}
}

// NetemCounters reads every userspace agent's counters, by host; hosts
// without an agent (the kernel backend, no link) are absent. Two readings
// make NetemFidelity's window.
func (l *Lab) NetemCounters(ctx context.Context) map[string]netem.AgentStatus {
	l.wan.mu.Lock()
	shapers := maps.Clone(l.wan.shapers)
	l.wan.mu.Unlock()
	var mu sync.Mutex
	out := map[string]netem.AgentStatus{}
	_ = eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if st, ok, err := sh.AgentStatus(ctx); err == nil && ok {
			mu.Lock()
			out[name] = st
			mu.Unlock()
		}
		return nil
	})
	return out
}

// NetemFidelity turns two readings of the agents' counters into how
// faithfully each queue held its link between them: packets, drops, mean
// release error and arrival lag over the window (the whole life of an
// agent that restarted in between), and the budget: half the topology's
// RTT tolerance for the link (for a link between two nodes, the same rule
// applied to twice its delay). Pure apart from reading the topology.
func (l *Lab) NetemFidelity(before, after map[string]netem.AgentStatus) []results.LinkFidelity {
	var out []results.LinkFidelity
	for _, host := range slices.Sorted(maps.Keys(after)) {
		st := after[host]
		for _, q := range st.Queues {
			var q0 netem.AgentQueueStatus
			if b, ok := before[host]; ok && b.PID == st.PID {
				for _, bq := range b.Queues {
					if bq.Num == q.Num && bq.Released <= q.Released && bq.Stamped <= q.Stamped {
						q0 = bq
					}
				}
			}
			f := results.LinkFidelity{
				Host: host, Link: strings.Join(q.Links, ","), Delay: q.Impairment.Delay,
				Packets: q.Released - q0.Released,
				Dropped: (q.Lost + q.Overflow) - min(q0.Lost+q0.Overflow, q.Lost+q.Overflow),
				Budget:  l.fidelityBudget(q),
			}
			if f.Packets > 0 {
				f.ReleaseError = time.Duration((q.ReleaseErrorSumUS - q0.ReleaseErrorSumUS) / float64(f.Packets) * float64(time.Microsecond))
			}
			if n := q.Stamped - q0.Stamped; n > 0 {
				f.ArrivalLag = time.Duration((q.ArrivalLagSumUS - q0.ArrivalLagSumUS) / float64(n) * float64(time.Microsecond))
			}
			out = append(out, f)
		}
	}
	return out
}

// fidelityBudget is half the RTT tolerance of the queue's link: the
// larger of the topology's percentage of the round trip and its absolute
// slack, split between the two directions.
func (l *Lab) fidelityBudget(q netem.AgentQueueStatus) time.Duration {
	rtt := 2 * q.Impairment.Delay
	for _, name := range q.Links {
		if a, b, ok := strings.Cut(name, "->"); ok {
			if lk, ok := l.topo.Link(a, b); ok {
				rtt = lk.RTT
				break
			}
		}
	}
	return l.rttTolerance(rtt) / 2
}

// rttTolerance is how far a measured round trip may stray from rtt: the
// larger of the topology's percentage of it and its absolute slack.
func (l *Lab) rttTolerance(rtt time.Duration) time.Duration {
	pct := time.Duration(float64(rtt) * float64(l.topo.Network.TolerancePct) / 100)
	return max(pct, l.topo.Network.ToleranceAbs)
}
