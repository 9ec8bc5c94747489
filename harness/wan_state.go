package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/replab/replab/netem"
)

// netemState is what the WAN facet reads and changes: the backend in use,
// each host's shaper and the overlays. It lives in Lab (field wan), so a
// Lab however built has one, and WAN is only a view over it.
type netemState struct {
	mu      sync.Mutex
	backend netem.Backend
	reason  string
	agent   string
	shapers map[string]*netem.Shaper
	overlay map[[2]string]netem.Impairment
	// nodes overlays links between two nodes of one region (SetNodeLinks).
	nodes map[[2]string]netem.Impairment
}

// WAN is the lab's emulated network: the netem backend in use, each
// host's shaper, the overlays faults put on links between regions and
// between nodes, RTT probing and the agents' fidelity. Lab.WAN returns it:
// what shapes or reads the network belongs here rather than on Lab, which
// keeps to containers, members and addresses. It is a view of the lab's
// state, safe for concurrent use.
type WAN struct {
	lab *Lab
	*netemState
}

// WAN returns the lab's emulated network. A lab with one region has one
// too: its links between nodes can still be slowed (SetNodeLinks).
func (l *Lab) WAN() *WAN { return &WAN{lab: l, netemState: &l.wan} }

// hasLinks reports whether the topology declares links between regions:
// only then are the nodes gated and shaped from the start.
func (w *WAN) hasLinks() bool { return len(w.lab.topo.Network.Links) > 0 }

// Backend says how the WAN is emulated: "kernel", "userspace", or
// "none" for a lab without links; and why that backend was chosen.
func (w *WAN) Backend() (backend, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.backend == "" {
		return "none", "one region: nothing to impair"
	}
	return string(w.backend), w.reason
}

// apply chooses the backend, applies every host's plan, and opens the
// gates. Without links it only opens the gates (there are none).
func (w *WAN) apply(ctx context.Context) error {
	if !w.hasLinks() {
		return nil
	}
	if err := w.chooseBackend(ctx); err != nil {
		return err
	}
	backend, reason := w.Backend()
	w.lab.log.Info("applying the WAN", "netem_backend", backend, "reason", reason, "links", len(w.lab.topo.Network.Links))
	// Every host is a container Up has just created: nothing of replab's
	// is on it to read first.
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range w.lab.Hosts() {
		g.Go(func() error { return w.shapeHost(gctx, h.Name, netem.WithFreshNode()) })
	}
	return g.Wait()
}

// chooseBackend resolves the topology's network.backend (auto probes a
// node) and builds the agent the userspace backend needs, once per lab.
func (w *WAN) chooseBackend(ctx context.Context) error {
	w.mu.Lock()
	chosen := w.backend != ""
	w.mu.Unlock()
	if chosen {
		return nil
	}
	want := netem.Backend(w.lab.topo.Network.Backend)
	backend, reason := want, "chosen in the topology"
	if want == netem.Auto || want == "" {
		c, err := netem.Probe(ctx, containerHost{w.lab, w.lab.plan.Nodes[0].Name})
		if err != nil {
			return fmt.Errorf("choose netem backend: %w", err)
		}
		backend, reason = c.Backend, c.Reason
	}
	var agent string
	if backend == netem.Userspace {
		w.lab.log.Info("building the netem agent (once)")
		p, err := netem.BuildAgent(ctx, "")
		if err != nil {
			return fmt.Errorf("userspace netem needs replab-agent: %w", err)
		}
		agent = p
	}
	w.mu.Lock()
	w.backend, w.reason, w.agent = backend, reason, agent
	if w.shapers == nil {
		w.shapers = map[string]*netem.Shaper{}
	}
	w.mu.Unlock()
	return saveState(w.lab.state())
}

// hostPlanLocked is name's plan: the WAN's rules with the region overlays,
// plus the node overlays that involve it. Callers hold w.mu.
func (w *WAN) hostPlanLocked(name string, overlays bool) netem.Plan {
	ov := w.overlay
	if !overlays {
		ov = nil
	}
	p := wanPlans(w.lab.topo, w.lab.Hosts(), ov, 1)[name]
	if !overlays {
		return p
	}
	ips := map[string]string{}
	for _, h := range w.lab.Hosts() {
		ips[h.Name] = h.IP
	}
	for _, k := range slices.SortedFunc(maps.Keys(w.nodes), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		other := k[0]
		if other == name {
			other = k[1]
		} else if k[1] != name {
			continue
		}
		a := netip.MustParseAddr(ips[other])
		p.Rules = append(p.Rules, netem.Rule{Link: other + "->" + name, Peers: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, Impairment: w.nodes[k]})
	}
	return p
}

// agentSlice is the EEVDF time slice (Linux 6.12 and later) the userspace
// agent asks for: a task with a short slice gets an early deadline and
// preempts the running one when its timer wakes it, across containers too
// (the shortest slice of a group is its group's), with no capability; on
// older kernels the agent runs with the default slice. The database nodes
// run below the agent as well (patroniNice). A negative niceness for the
// agent would need CAP_SYS_NICE in every container that runs one, and it
// releases packets no more punctually than the default (README.md, "How
// faithful is the userspace backend", has the figures and the command).
const agentSlice = 500 * time.Microsecond

// newShaper makes a host's shaper; its first Apply replaces whatever
// replab left on the host. Callers hold w.mu.
func (w *WAN) newShaper(name string, extra ...netem.Option) *netem.Shaper {
	opts := append([]netem.Option{netem.WithLogger(w.lab.log.With("node", name)), netem.WithAgentPriority(0, agentSlice)}, extra...)
	if w.agent != "" {
		opts = append(opts, netem.WithAgent(w.agent))
	}
	sh := netem.NewShaper(w.backend, containerHost{w.lab, name}, opts...)
	w.shapers[name] = sh
	return sh
}

// shapeHost applies the current plan to one host with a fresh shaper (a
// restarted container has lost its rules and agent); opts go to the
// shaper.
func (w *WAN) shapeHost(ctx context.Context, name string, opts ...netem.Option) error {
	w.mu.Lock()
	sh := w.newShaper(name, opts...)
	plan := w.hostPlanLocked(name, true)
	w.mu.Unlock()
	if err := sh.Apply(ctx, plan); err != nil {
		return fmt.Errorf("shape %s: %w", name, err)
	}
	return nil
}

// restarted shapes a container Lab.Start has just started again: a
// restarted container has a new network namespace, with no rules and no
// agent. With links between regions every host is shaped again and a
// node's Patroni, gated, starts only after; without them only a host a
// node link was slowed on (SetNodeLinks) is, and nothing gates its Patroni,
// so it may run unshaped for a moment.
func (w *WAN) restarted(ctx context.Context, name string) error {
	w.mu.Lock()
	_, shaped := w.shapers[name]
	w.mu.Unlock()
	if !w.hasLinks() {
		if !shaped {
			return nil
		}
		return w.shapeHost(ctx, name)
	}
	if err := w.shapeHost(ctx, name); err != nil {
		return err
	}
	for _, n := range w.lab.plan.Nodes {
		if n.Name == name {
			return w.openGate(ctx, name)
		}
	}
	return nil
}

// SetLink overlays an impairment on the link between two regions (more
// delay, loss, a lower rate, or Blackhole for a cut) on every host of both;
// nil restores the topology's baseline. chaos's degrade fault calls it.
func (w *WAN) SetLink(ctx context.Context, a, b string, imp *netem.Impairment) error {
	if !w.hasLinks() {
		return errors.New("set link: this lab has one region and no WAN (add regions and network.links)")
	}
	w.mu.Lock()
	if w.overlay == nil {
		w.overlay = map[[2]string]netem.Impairment{}
	}
	if imp == nil {
		delete(w.overlay, linkKey(a, b))
	} else {
		w.overlay[linkKey(a, b)] = *imp
	}
	var names []string
	for _, h := range w.lab.Hosts() {
		if h.Region == a || h.Region == b {
			names = append(names, h.Name)
		}
	}
	w.mu.Unlock()
	return w.reshape(ctx, names)
}

// reshape applies each named host's current plan with its shaper (a new
// one if it has none), in parallel.
func (w *WAN) reshape(ctx context.Context, names []string) error {
	w.mu.Lock()
	shapers := map[string]*netem.Shaper{}
	plans := map[string]netem.Plan{}
	for _, n := range names {
		if shapers[n] = w.shapers[n]; shapers[n] == nil {
			shapers[n] = w.newShaper(n)
		}
		plans[n] = w.hostPlanLocked(n, true)
	}
	w.mu.Unlock()
	// A host that is not running takes its plan when it starts again
	// (Start shapes it). One killed a moment ago through its pidfd fails
	// its commands (exit 126) before Docker has seen it die: an error
	// from a host that is stopped soon after is that.
	return eachShaper(shapers, func(n string, sh *netem.Shaper) error {
		err := sh.Apply(ctx, plans[n])
		if err == nil || errors.Is(err, ErrNotRunning) || w.lab.stoppedWithin(ctx, n, ExecDyingWait) {
			return nil
		}
		return fmt.Errorf("shape %s: %w", n, err)
	})
}

// Prepare readies every database node for impairments before any is
// needed: the backend is chosen and, with the userspace backend, the
// agent is copied into each node. The first slowed link then takes
// effect in milliseconds instead of the seconds the copies take, so a
// fault's begin and end stamps stay close. It changes no rule.
func (w *WAN) Prepare(ctx context.Context) error {
	if err := w.chooseBackend(ctx); err != nil {
		return fmt.Errorf("prepare the netem backend: %w", err)
	}
	w.mu.Lock()
	shapers := map[string]*netem.Shaper{}
	for _, n := range w.lab.plan.Nodes {
		if shapers[n.Name] = w.shapers[n.Name]; shapers[n.Name] == nil {
			shapers[n.Name] = w.newShaper(n.Name)
		}
	}
	w.mu.Unlock()
	return eachShaper(shapers, func(n string, sh *netem.Shaper) error {
		if err := sh.Prepare(ctx); err != nil {
			return fmt.Errorf("prepare %s: %w", n, err)
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

// SetNodeLinks overlays imp on the links between pairs of database nodes
// of one region, both directions (each end holds the other's traffic, as
// for regions, so a one-way delay d adds 2d to their round trip whichever
// backend runs); nil removes the overlays. Links between regions are
// SetLink's. In a lab without a WAN the first call chooses the netem
// backend and starts shaping the nodes; chaos's slow-links fault calls it.
//
// Every overlay is recorded first, then every host involved is reshaped
// in parallel, so the links slow down together rather than one pair after
// another (the first use of the userspace backend starts an agent on each
// host, which takes seconds on a busy machine).
func (w *WAN) SetNodeLinks(ctx context.Context, pairs [][2]string, imp *netem.Impairment) error {
	region := map[string]string{}
	for _, n := range w.lab.plan.Nodes {
		region[n.Name] = n.Region
	}
	var names []string
	for _, p := range pairs {
		a, b := p[0], p[1]
		for _, n := range []string{a, b} {
			if _, ok := region[n]; !ok {
				return fmt.Errorf("set node link %s<->%s: %w: %q is not a database node", a, b, ErrUnknownTarget, n)
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if a == b {
			return fmt.Errorf("set node link %s<->%s: a node has no link to itself", a, b)
		}
		if region[a] != region[b] {
			return fmt.Errorf("set node link %s<->%s: they are in different regions (%s, %s): degrade the link between the regions instead", a, b, region[a], region[b])
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	if err := w.chooseBackend(ctx); err != nil {
		return fmt.Errorf("set node links: %w", err)
	}
	w.mu.Lock()
	if w.nodes == nil {
		w.nodes = map[[2]string]netem.Impairment{}
	}
	for _, p := range pairs {
		if imp == nil {
			delete(w.nodes, linkKey(p[0], p[1]))
		} else {
			w.nodes[linkKey(p[0], p[1])] = *imp
		}
	}
	w.mu.Unlock()
	return w.reshape(ctx, names)
}

// Reset drops every overlay and re-applies the topology's baseline plan
// to every host with a fresh shaper, whatever another process left there
// (`replab chaos heal`). In a lab without links the baseline is no rule at
// all: it removes whatever replab left on the nodes.
func (w *WAN) Reset(ctx context.Context) error {
	w.mu.Lock()
	w.overlay, w.nodes = nil, nil
	w.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range w.lab.Hosts() {
		if w.hasLinks() {
			g.Go(func() error { return w.shapeHost(gctx, h.Name) })
			continue
		}
		if h.Role != RoleNode {
			continue
		}
		g.Go(func() error {
			// Never applied by this process: a fresh shaper's Reset
			// removes both backends' leftovers.
			if err := netem.NewShaper(netem.Auto, containerHost{w.lab, h.Name}).Reset(gctx); err != nil && !errors.Is(err, ErrNotRunning) {
				return fmt.Errorf("reset netem on %s: %w", h.Name, err)
			}
			return nil
		})
	}
	err := g.Wait()
	if !w.hasLinks() {
		w.mu.Lock()
		w.shapers = map[string]*netem.Shaper{}
		w.mu.Unlock()
	}
	return err
}

// Alive checks that every host's plan is still in force (the userspace
// agent's heartbeat is fresh, or the qdisc tree is there). An error wraps
// netem.ErrImpairmentLost and names the hosts: every figure measured since
// is suspect. A lab without links is always alive.
func (w *WAN) Alive(ctx context.Context) error {
	w.mu.Lock()
	shapers := maps.Clone(w.shapers)
	w.mu.Unlock()
	return eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if err := sh.Alive(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// AtBaseline checks, by reading every host back, that it holds the
// topology's baseline plan: no link is still degraded or slowed, and each
// host replab shaped has exactly the baseline's qdiscs, or firewall rules
// and agent config (see netem.Shaper.Verify); without links the baseline
// is none. Suites run it after every lab's specs, through
// chaos.VerifyBaseline.
func (w *WAN) AtBaseline(ctx context.Context) error {
	w.mu.Lock()
	var errs []error
	for k, imp := range w.overlay {
		errs = append(errs, fmt.Errorf("link %s<->%s is still degraded (%+v)", k[0], k[1], imp))
	}
	for k, imp := range w.nodes {
		errs = append(errs, fmt.Errorf("node link %s<->%s is still slowed (%+v)", k[0], k[1], imp))
	}
	shapers := maps.Clone(w.shapers)
	plans := map[string]netem.Plan{}
	for name := range shapers {
		plans[name] = w.hostPlanLocked(name, false)
	}
	w.mu.Unlock()
	errs = append(errs, eachShaper(shapers, func(name string, sh *netem.Shaper) error {
		if err := sh.Verify(ctx, plans[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}))
	return errors.Join(errs...)
}
