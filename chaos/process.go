package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/replab/replab/netem"
)

// hostFault applies one action to every selected host and undoes it on
// each at heal. A failed inject undoes what it already did.
type hostFault struct {
	name  string
	verb  string // for String: "kill", "pause"...
	sel   Selector
	check func(c Cluster) error // capability check before anything happens
	apply func(ctx context.Context, c Cluster, host string) error
	// prepare, instead of apply, readies the action on every host before
	// any is touched (returning the action and a release), so that the
	// fault's stamps bound only the actions themselves.
	prepare func(ctx context.Context, c Cluster, host string) (act func(context.Context) error, release func(), err error)
	undo    func(ctx context.Context, c Cluster, host string) error // idempotent
}

func (f hostFault) Name() string   { return f.name }
func (f hostFault) String() string { return f.verb + " " + f.sel.String() }

func (f hostFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	if f.check != nil {
		if err := f.check(c); err != nil {
			return "", nil, fmt.Errorf("inject %s: %w", f.name, err)
		}
	}
	targets, err := f.sel.Resolve(ctx, c, nil)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", f.name, err)
	}
	target := strings.Join(targets, ",")
	// undone remembers the hosts healed already: a second heal must not
	// start again what the first started (Start waits for a stop that a
	// running container never makes).
	var mu sync.Mutex
	undone := map[string]bool{}
	heal := func(ctx context.Context) error {
		if f.undo == nil {
			return nil
		}
		var errs []error
		for _, h := range targets {
			mu.Lock()
			skip := undone[h]
			mu.Unlock()
			if skip {
				continue
			}
			if err := f.undo(ctx, c, h); err != nil {
				errs = append(errs, fmt.Errorf("undo %s on %s: %w", f.name, h, err))
				continue
			}
			mu.Lock()
			undone[h] = true
			mu.Unlock()
		}
		return errors.Join(errs...)
	}
	apply := f.apply
	if f.prepare != nil {
		acts := map[string]func(context.Context) error{}
		for _, h := range targets {
			act, release, err := f.prepare(ctx, c, h)
			if err != nil {
				return target, nil, fmt.Errorf("inject %s on %s: %w", f.name, h, err)
			}
			defer release()
			acts[h] = act
		}
		apply = func(ctx context.Context, _ Cluster, h string) error { return acts[h](ctx) }
	}
	markBegin(ctx)
	defer markEnd(ctx)
	for i, h := range targets {
		if err := apply(ctx, c, h); err != nil {
			err = fmt.Errorf("inject %s on %s: %w", f.name, h, err)
			if f.undo != nil {
				// Undo every host tried, the failed one included: undo is
				// idempotent and the failure may have been partial.
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				for _, u := range targets[:i+1] {
					if uerr := f.undo(uctx, c, u); uerr != nil {
						err = errors.Join(err, fmt.Errorf("undo %s on %s: %w", f.name, u, uerr))
					}
				}
			}
			return target, nil, err
		}
	}
	return target, heal, nil
}

func start(ctx context.Context, c Cluster, h string) error { return c.Start(ctx, h) }

// running makes sure h runs: the heal of Restart, whose inject started it
// again already (Start waits for a container to stop, which a running
// one never does). A host that died since is started.
func running(ctx context.Context, c Cluster, h string) error {
	if t, ok := c.(Topology); ok {
		if st, err := t.HostState(ctx, h); err == nil && st.Running {
			return nil
		}
	}
	return c.Start(ctx, h)
}

// Kill sends SIGKILL to the whole container of each selected host: the
// node dies at once, as on power loss. Heal starts it again, so it rejoins
// (as a replica if someone else took over). Kill(Region("eu")) is a
// whole-region outage.
func Kill(s Selector) Fault { return kill("kill", s) }

// RegionOutage kills every container of a region at once (SIGKILL): its
// database nodes, etcd members and endpoint (Site); heal starts them
// again. For a region that is cut off rather than down, use CutRegion.
func RegionOutage(region string) Fault { return kill("region-outage", Site(region)) }

func kill(name string, s Selector) Fault {
	return hostFault{name: name, verb: "kill", sel: s,
		prepare: func(ctx context.Context, c Cluster, h string) (func(context.Context) error, func(), error) {
			return prepareSignal(ctx, c, h, "SIGKILL")
		},
		undo: start,
	}
}

// Signals is what a cluster implements when it can do everything a signal
// to a container's init takes but the delivery ahead of time, so that the
// fault's stamps bound one system call per host, not a container's
// teardown. harness.Lab's PrepareSignal satisfies it: send delivers the
// signal, release frees what was prepared (after send, or instead), how
// says how the signal is delivered.
type Signals interface {
	PrepareSignal(ctx context.Context, name, signal string) (send func() error, release func(), how string, err error)
}

// prepareSignal readies sig for host h through Signals when the cluster
// has it, else through Cluster.Kill at apply time, and notes how.
func prepareSignal(ctx context.Context, c Cluster, h, sig string) (func(context.Context) error, func(), error) {
	if s, ok := c.(Signals); ok {
		send, release, how, err := s.PrepareSignal(ctx, h, sig)
		if err != nil {
			return nil, nil, err
		}
		noteHow(ctx, how)
		return func(context.Context) error { return send() }, release, nil
	}
	noteHow(ctx, "Cluster.Kill, stamped around the call")
	return func(ctx context.Context) error { return c.Kill(ctx, h, sig) }, func() {}, nil
}

// StopGrace is how long Stop waits after SIGTERM before SIGKILL: enough for
// Patroni to demote, checkpoint and release the leader lock.
const StopGrace = 30 * time.Second

// Stop stops each selected host gracefully (SIGTERM, then SIGKILL after
// StopGrace): Patroni releases the leader lock on the way down, so a
// planned switchover follows. Heal starts it again.
func Stop(s Selector) Fault {
	return hostFault{name: "stop", verb: "stop", sel: s,
		check: func(c Cluster) error { _, err := need[Processes](c, "Processes"); return err },
		apply: func(ctx context.Context, c Cluster, h string) error {
			return c.(Processes).Stop(ctx, h, StopGrace)
		},
		undo: start,
	}
}

// Restart stops each selected host gracefully and starts it again at
// inject; heal only makes sure it runs.
func Restart(s Selector) Fault {
	return hostFault{name: "restart", verb: "restart", sel: s,
		check: func(c Cluster) error { _, err := need[Processes](c, "Processes"); return err },
		apply: func(ctx context.Context, c Cluster, h string) error {
			if err := c.(Processes).Stop(ctx, h, StopGrace); err != nil {
				return err
			}
			return c.Start(ctx, h)
		},
		undo: running,
	}
}

// Pause freezes every process of each selected host (cgroup freezer): the
// node neither crashes nor answers, the classic "long GC pause". Hold it
// longer than Patroni's TTL to make a paused leader lose its lock; heal
// thaws it, and a thawed old leader must notice it was demoted.
func Pause(s Selector) Fault {
	return hostFault{name: "pause", verb: "pause", sel: s,
		check: func(c Cluster) error { _, err := need[Processes](c, "Processes"); return err },
		apply: func(ctx context.Context, c Cluster, h string) error { return c.(Processes).Pause(ctx, h) },
		undo:  func(ctx context.Context, c Cluster, h string) error { return c.(Processes).Unpause(ctx, h) },
	}
}

// pgDataDir is where the node image keeps PostgreSQL's data directory.
const pgDataDir = "/var/lib/postgresql/data"

// crashArgv SIGKILLs the postmaster named in postmaster.pid, as user
// postgres. Its children exit with it; Patroni lives on and restarts
// PostgreSQL (crash recovery) within a loop or two.
var crashArgv = []string{"sh", "-c", "kill -9 \"$(head -n 1 " + pgDataDir + "/postmaster.pid)\""}

// CrashPostgres kills the postmaster of each selected node with SIGKILL
// while Patroni keeps running: PostgreSQL crashes, Patroni notices and
// restarts it (a leader usually keeps its lock). Heal has nothing to undo.
func CrashPostgres(s Selector) Fault {
	return hostFault{name: "crash-postgres", verb: "crash PostgreSQL on", sel: s,
		check: func(c Cluster) error { _, err := need[Commands](c, "Commands"); return err },
		apply: func(ctx context.Context, c Cluster, h string) error {
			_, err := c.(Commands).Run(ctx, Command{Host: h, User: "postgres", Argv: crashArgv})
			return err
		},
	}
}

// ThrottleCPU limits each selected host to cpus cores (0.1 is a tenth of
// one core) through its container's CPU quota: a slow follower that falls
// behind. Heal removes the quota.
func ThrottleCPU(s Selector, cpus float64) Fault {
	return hostFault{name: "cpu", verb: fmt.Sprintf("throttle to %g CPU", cpus), sel: s,
		check: func(c Cluster) error {
			if cpus <= 0 {
				return fmt.Errorf("throttle cpu: want a quota above 0 cores, got %g", cpus)
			}
			_, err := need[Resources](c, "Resources")
			return err
		},
		apply: func(ctx context.Context, c Cluster, h string) error { return c.(Resources).SetCPUs(ctx, h, cpus) },
		undo:  func(ctx context.Context, c Cluster, h string) error { return c.(Resources).SetCPUs(ctx, h, 0) },
	}
}

type degradeFault struct {
	a, b string
	imp  netem.Impairment
}

func (d degradeFault) Name() string { return "degrade" }
func (d degradeFault) String() string {
	return fmt.Sprintf("degrade the link %s<->%s to %s", d.a, d.b, d.imp)
}

func (d degradeFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	l, err := need[Links](c, "Links")
	if err != nil {
		return "", nil, err
	}
	target := d.a + "<->" + d.b
	imp := d.imp
	markBegin(ctx)
	defer markEnd(ctx)
	if err := l.SetLink(ctx, d.a, d.b, &imp); err != nil {
		// Put the baseline back on whichever hosts took the overlay.
		return "", nil, errors.Join(fmt.Errorf("inject degrade on %s: %w", target, err), l.SetLink(context.WithoutCancel(ctx), d.a, d.b, nil))
	}
	var once sync.Once
	var herr error
	return target, func(ctx context.Context) error {
		once.Do(func() { herr = l.SetLink(ctx, d.a, d.b, nil) })
		return herr
	}, nil
}

// SlowLinks overlays imp on the links between every node selected by a and
// every node selected by b (Rest: all other nodes) in the same region,
// both directions, so a one-way Delay d adds 2d to their round trip;
// pairs in two regions are left to Degrade. It is the within-a-region
// counterpart of Degrade: "extra delay on the follower links" is
// SlowLinks(Leader, Followers, netem.Impairment{Delay: d}). Heal removes
// every overlay it added; an inject that fails removes what it added.
func SlowLinks(a, b Selector, imp netem.Impairment) Fault {
	return slowFault{a: a, b: b, imp: imp}
}

type slowFault struct {
	a, b Selector
	imp  netem.Impairment
}

func (f slowFault) Name() string { return "slow-links" }
func (f slowFault) String() string {
	return fmt.Sprintf("slow the links %s<->%s to %s", f.a, f.b, f.imp)
}

func (f slowFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	nl, err := need[NodeLinks](c, "NodeLinks")
	if err != nil {
		return "", nil, fmt.Errorf("inject slow-links: %w", err)
	}
	an, err := f.a.Resolve(ctx, c, nil)
	if err != nil {
		return "", nil, fmt.Errorf("inject slow-links: %w", err)
	}
	bn, err := f.b.Resolve(ctx, c, an)
	if err != nil {
		return "", nil, fmt.Errorf("inject slow-links: %w", err)
	}
	hs, err := hosts(ctx, c)
	if err != nil {
		return "", nil, fmt.Errorf("inject slow-links: %w", err)
	}
	node := map[string]bool{}
	region := map[string]string{}
	for _, h := range hs {
		node[h.Name] = h.Role == RoleNode
		region[h.Name] = h.Region
	}
	var pairs [][2]string
	var as, bs []string // the nodes of each side that got a slowed link
	for _, x := range an {
		for _, y := range bn {
			// A pair in two regions crosses the WAN, whose links are
			// Degrade's: slow-links leaves it as it is.
			if x != y && node[x] && node[y] && region[x] == region[y] {
				pairs = append(pairs, [2]string{x, y})
				if !slices.Contains(as, x) {
					as = append(as, x)
				}
				if !slices.Contains(bs, y) {
					bs = append(bs, y)
				}
			}
		}
	}
	if len(pairs) == 0 {
		return "", nil, fmt.Errorf("inject slow-links: %w: no pair of database nodes in one region between %v and %v (links between regions are degrade's)", ErrNoTarget, an, bn)
	}
	undo := func(ctx context.Context) error {
		if err := nl.SetNodeLinks(ctx, pairs, nil); err != nil && !errors.Is(err, ErrHostDown) {
			return err
		}
		return nil
	}
	markBegin(ctx)
	defer markEnd(ctx)
	noteHow(ctx, "netem overlays on every pair at once (the first may start the agents): in effect within [begin, end]")
	imp := f.imp
	if err := nl.SetNodeLinks(ctx, pairs, &imp); err != nil {
		return "", nil, errors.Join(fmt.Errorf("inject slow-links: %w", err), undo(context.WithoutCancel(ctx)))
	}
	var once sync.Once
	var herr error
	return strings.Join(as, ",") + "<->" + strings.Join(bs, ","), func(ctx context.Context) error {
		once.Do(func() { herr = undo(ctx) })
		return herr
	}, nil
}

// DegradeLeaderLink degrades, like Degrade, the link between the region
// the leader is in at inject time and another region with database nodes:
// the pick-th of them in name order (modulo their count), so a nemesis
// that draws pick from its seed targets links by role, not by name. A lab
// with one region has no link to degrade: inject fails and leaves nothing.
func DegradeLeaderLink(pick uint64, imp netem.Impairment) Fault {
	return leaderLinkFault{pick: pick, imp: imp}
}

type leaderLinkFault struct {
	pick uint64
	imp  netem.Impairment
}

func (d leaderLinkFault) Name() string { return "degrade" }
func (d leaderLinkFault) String() string {
	return fmt.Sprintf("degrade a link of the leader's region (pick %d) to %s", d.pick, d.imp)
}

func (d leaderLinkFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	leader, err := c.LeaderName(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("inject degrade: resolve the leader: %w", err)
	}
	hs, err := hosts(ctx, c)
	if err != nil {
		return "", nil, fmt.Errorf("inject degrade: %w", err)
	}
	var home string
	var others []string
	for _, h := range hs {
		if h.Name == leader {
			home = h.Region
		}
	}
	for _, h := range hs {
		if h.Role == RoleNode && h.Region != home && !slices.Contains(others, h.Region) {
			others = append(others, h.Region)
		}
	}
	if home == "" || len(others) == 0 {
		return "", nil, fmt.Errorf("inject degrade: leader %s's region %q has no other region to link to: a one-region lab has no WAN", leader, home)
	}
	slices.Sort(others)
	return degradeFault{a: home, b: others[d.pick%uint64(len(others))], imp: d.imp}.Inject(ctx, c)
}

// Degrade replaces the impairment of the WAN link between two regions with
// imp (each direction: the delay is one-way, so 2*imp.Delay is the new
// RTT; Blackhole cuts the link) on every host of both regions, through
// netem's runtime overlay. Heal restores the topology's baseline link.
func Degrade(regionA, regionB string, imp netem.Impairment) Fault {
	return degradeFault{a: regionA, b: regionB, imp: imp}
}
