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

func (l *Lab) hasWAN() bool { return len(l.topo.Network.Links) > 0 }

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
// agent would need CAP_SYS_NICE in every container that runs one, and it
// releases packets no more punctually than the default (README.md, "How
// faithful is the userspace backend", has the figures and the command).
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
