package chaos

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"
)

// ChainPrefix starts the name of every iptables chain chaos creates. A
// partition owns one chain per host, named ChainPrefix plus a hash of the
// partition, hooked first in INPUT and OUTPUT:
//
//	INPUT  ─┐                         ┌─ -s <peer IP> -j DROP   (packets from the other side)
//	        ├─▶ -j REPLAB-CHAOS-1a2b ─┤
//	OUTPUT ─┘                         └─ -d <peer IP> -j DROP   (packets to the other side)
//
// Heal deletes exactly the two hooks and that chain. VerifyBaseline and
// Reset look for the prefix.
const ChainPrefix = "REPLAB-CHAOS"

// ErrAlreadyActive is returned when the same partition is already in
// effect on a host (its chain exists). Nothing is changed.
var ErrAlreadyActive = errors.New("fault already active")

// PartitionRequest describes a partition between two sets of hosts.
type PartitionRequest struct {
	// Chain names the chain in every affected host (ChainPrefix-...).
	Chain string
	A, B  []Host
	// OneWay drops only what A sends to B (both A's output and B's input
	// drop it); B's packets still reach A. Otherwise both directions drop.
	OneWay bool
}

// HostRules is the iptables work for one host: Install in order, Remove in
// order (each Remove step tolerates not-found).
type HostRules struct {
	Host    string
	Install [][]string
	Remove  [][]string
}

// PartitionPlan returns the iptables argv lists that put a partition in
// place and take it away, host by host, A's hosts first. It is pure.
// Proxies get no rules (their container lacks NET_ADMIN): the rules on the
// other side cut them off just as well.
func PartitionPlan(r PartitionRequest) []HostRules {
	var out []HostRules
	side := func(self, peers []Host, out_, in bool) {
		for _, h := range self {
			if h.Role == RoleProxy {
				continue
			}
			ipt := func(args ...string) []string { return append([]string{"iptables", "-w"}, args...) }
			install := [][]string{ipt("-N", r.Chain)}
			for _, p := range peers {
				if in {
					install = append(install, ipt("-A", r.Chain, "-s", p.IP, "-j", "DROP"))
				}
				if out_ {
					install = append(install, ipt("-A", r.Chain, "-d", p.IP, "-j", "DROP"))
				}
			}
			install = append(install, ipt("-I", "INPUT", "1", "-j", r.Chain), ipt("-I", "OUTPUT", "1", "-j", r.Chain))
			out = append(out, HostRules{Host: h.Name, Install: install, Remove: removeChain(r.Chain)})
		}
	}
	if r.OneWay {
		side(r.A, r.B, true, false)
		side(r.B, r.A, false, true)
	} else {
		side(r.A, r.B, true, true)
		side(r.B, r.A, true, true)
	}
	return out
}

// removeChain unhooks and deletes one chain.
func removeChain(chain string) [][]string {
	return [][]string{
		{"iptables", "-w", "-D", "INPUT", "-j", chain},
		{"iptables", "-w", "-D", "OUTPUT", "-j", chain},
		{"iptables", "-w", "-F", chain},
		{"iptables", "-w", "-X", chain},
	}
}

// isNotFound says whether an iptables failure means the rule or chain is
// not there (success for cleanup).
func isNotFound(err error) bool {
	var ee *ExitError
	if !errors.As(err, &ee) {
		return false
	}
	s := strings.ToLower(ee.Stderr)
	return strings.Contains(s, "no chain/target/match") || strings.Contains(s, "does a matching rule exist") ||
		strings.Contains(s, "bad rule") || strings.Contains(s, "doesn't exist") || strings.Contains(s, "does not exist")
}

func isExists(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && strings.Contains(strings.ToLower(ee.Stderr), "already exists")
}

// removeRules runs remove steps on one host; not-found is success, and so
// is a host that is down (its rules went with its network namespace).
func removeRules(ctx context.Context, cmd Commands, host string, steps [][]string) error {
	var errs []error
	for _, argv := range steps {
		_, err := cmd.Run(ctx, Command{Host: host, User: "root", Argv: argv})
		if errors.Is(err, ErrHostDown) {
			return nil
		}
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("run %q on %s: %w", strings.Join(argv, " "), host, err))
		}
	}
	return errors.Join(errs...)
}

type partitionFault struct {
	name   string
	a, b   Selector
	oneWay bool
}

func (p partitionFault) Name() string { return p.name }
func (p partitionFault) String() string {
	sep := " | "
	if p.oneWay {
		sep = " -/-> "
	}
	return p.name + " " + p.a.String() + sep + p.b.String()
}

// Partition cuts every host selected by a off from every host selected by
// b, in both directions, with iptables DROP rules in each affected host's
// network namespace. Rest as b means "everyone else".
func Partition(a, b Selector) Fault { return partitionFault{name: "partition", a: a, b: b} }

// PartitionOneWay drops what from's hosts send to to's hosts; the reverse
// direction still flows (TCP connections still break: their ACKs are lost).
func PartitionOneWay(from, to Selector) Fault {
	return partitionFault{name: "partition-one-way", a: from, b: to, oneWay: true}
}

// CutRegion cuts every container of a region (Site) off from every other
// container: the region goes on inside, and its own clients still reach
// its endpoint, but nothing crosses the WAN to or from it.
func CutRegion(region string) Fault {
	return partitionFault{name: "region-cut", a: Site(region), b: Rest}
}

// Isolate cuts each selected host off from everyone: nodes, etcd, proxy.
func Isolate(s Selector) Fault { return partitionFault{name: "isolate", a: s, b: Rest} }

// CutFromDCS cuts the selected hosts off from the etcd members only: they
// still reach their replicas and the proxy. A leader cut off this way can
// no longer renew its lock, and Patroni must demote it within the TTL.
func CutFromDCS(s Selector) Fault { return partitionFault{name: "cut-dcs", a: s, b: Coordinator} }

// IsolateFromDCS is CutFromDCS, under the name the architecture sketch uses.
func IsolateFromDCS(s Selector) Fault { return CutFromDCS(s) }

// chainName derives the chain from the partition itself, so the same
// partition twice on a host is caught (ErrAlreadyActive) and a plan is
// reproducible.
func chainName(kind string, a, b []string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s", kind, strings.Join(a, ","), strings.Join(b, ","))
	return fmt.Sprintf("%s-%08x", ChainPrefix, h.Sum32())
}

func (p partitionFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	cmd, err := need[Commands](c, "Commands")
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	hs, err := hosts(ctx, c)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	an, err := p.a.Resolve(ctx, c, nil)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	bn, err := p.b.Resolve(ctx, c, an)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	slices.Sort(an)
	slices.Sort(bn)
	for _, n := range an {
		if slices.Contains(bn, n) {
			return "", nil, fmt.Errorf("inject %s: %s is on both sides (%s | %s)", p.name, n, p.a, p.b)
		}
	}
	byName := map[string]Host{}
	for _, h := range hs {
		byName[h.Name] = h
	}
	pick := func(names []string) ([]Host, error) {
		var out []Host
		for _, n := range names {
			h, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("no host %q: %w", n, ErrNoTarget)
			}
			out = append(out, h)
		}
		return out, nil
	}
	a, err := pick(an)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	b, err := pick(bn)
	if err != nil {
		return "", nil, fmt.Errorf("inject %s: %w", p.name, err)
	}
	plan := PartitionPlan(PartitionRequest{Chain: chainName(p.name, an, bn), A: a, B: b, OneWay: p.oneWay})
	target := strings.Join(an, ",")
	// Heal removes every host's rules at once too: the fault ends within
	// the slowest host's execs.
	heal := func(ctx context.Context) error {
		errs := make([]error, len(plan))
		var wg sync.WaitGroup
		for i, hr := range plan {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = removeRules(ctx, cmd, hr.Host, hr.Remove)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// Every host's rules go in at once, one goroutine a host, so the
	// fault's stamps span the slowest host's execs, not their sum.
	var (
		mu      sync.Mutex
		created []HostRules
		errs    []error
		wg      sync.WaitGroup
	)
	markBegin(ctx)
	defer markEnd(ctx)
	noteHow(ctx, "iptables through docker exec, every host at once: in effect within [begin, end]")
	for _, hr := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, argv := range hr.Install {
				_, err := cmd.Run(ctx, Command{Host: hr.Host, User: "root", Argv: argv})
				mu.Lock()
				if i == 0 && err == nil {
					created = append(created, hr)
				}
				mu.Unlock()
				if err == nil {
					continue
				}
				if i == 0 && isExists(err) {
					err = fmt.Errorf("%w: chain %s exists on %s", ErrAlreadyActive, plan[0].Install[0][3], hr.Host)
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("inject %s on %s: run %q: %w", p.name, hr.Host, strings.Join(argv, " "), err))
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		err := errors.Join(errs...)
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, u := range created {
			err = errors.Join(err, removeRules(uctx, cmd, u.Host, u.Remove))
		}
		return target, nil, err
	}
	return target, heal, nil
}
