package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replab/replab/internal/golden"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/results"
)

func resolve(t *testing.T, c Cluster, s Selector, except ...string) []string {
	t.Helper()
	got, err := s.Resolve(context.Background(), c, except)
	if err != nil {
		t.Fatalf("resolve %s: %v", s, err)
	}
	return got
}

func TestSelectors(t *testing.T) {
	f := newFake()
	cases := []struct {
		sel    Selector
		except []string
		want   []string
	}{
		{Leader, nil, []string{"a"}},
		{SyncStandby, nil, []string{"b"}},
		{Node("c"), nil, []string{"c"}},
		{Region("r1"), nil, []string{"a", "b"}},
		{LeaderRegion, nil, []string{"a", "b"}},
		{Site("r1"), nil, []string{"etcd-1", "a", "b", "haproxy"}},
		{Site("r2"), nil, []string{"c"}},
		{EtcdMembers, nil, []string{"etcd-1"}},
		{Rest, []string{"a"}, []string{"etcd-1", "b", "c", "haproxy"}},
	}
	for _, tc := range cases {
		if got := resolve(t, f, tc.sel, tc.except...); !slices.Equal(got, tc.want) {
			t.Errorf("%s resolved to %v, want %v", tc.sel, got, tc.want)
		}
	}
	f.leader = "c"
	f.members[0].Role, f.members[2].Role = "replica", "leader"
	if got := resolve(t, f, LeaderRegion); !slices.Equal(got, []string{"c"}) {
		t.Errorf("the leader's region after a failover to c resolved to %v, want [c]", got)
	}
}

func TestSelectorErrors(t *testing.T) {
	f := newFake()
	f.members[1].SyncState = "async"
	ctx := context.Background()
	for _, s := range []Selector{SyncStandby, Node("zz"), Region("nowhere"), Site("nowhere")} {
		if _, err := s.Resolve(ctx, f, nil); !errors.Is(err, ErrNoTarget) {
			t.Errorf("%s: got %v, want ErrNoTarget", s, err)
		}
	}
	_, err := Region("nowhere").Resolve(ctx, f, nil)
	if !strings.Contains(err.Error(), "regions: r1, r2") {
		t.Errorf("unknown region error does not list the regions: %v", err)
	}
}

func TestAnyFollowerIsSeeded(t *testing.T) {
	f := newFake()
	seen := map[string]bool{}
	for seed := range uint64(32) {
		first := resolve(t, f, AnyFollower(seed))
		if again := resolve(t, f, AnyFollower(seed)); !slices.Equal(first, again) {
			t.Fatalf("seed %d picked %v then %v", seed, first, again)
		}
		if first[0] == "a" {
			t.Fatalf("seed %d picked the leader", seed)
		}
		seen[first[0]] = true
	}
	if !seen["b"] || !seen["c"] {
		t.Errorf("32 seeds picked only %v: the choice is not spread over the followers", seen)
	}
}

func TestInjectRecordsAndHeals(t *testing.T) {
	f := newFake()
	rec := &fakeRecorder{}
	inj := NewInjector(f, rec)
	ctx := context.Background()
	a, err := inj.Inject(ctx, Kill(Leader))
	if err != nil {
		t.Fatal(err)
	}
	if a.Target != "a" || a.Injected == 0 {
		t.Errorf("active = %+v, want target a with an injection time", a)
	}
	if err := a.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Heal(ctx); err != nil {
		t.Fatalf("second heal: %v", err)
	}
	want := []string{results.EventFaultInjected + " kill a", results.EventFaultHealed + " kill a"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if l := f.leftovers(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestFailedInjectLeavesNothing(t *testing.T) {
	cases := []struct {
		name   string
		fault  Fault
		failOn string
	}{
		{"kill of a region", Kill(Region("r1")), "kill b"},
		{"pause of a region", Pause(Region("r1")), "pause b"},
		{"cpu of a region", ThrottleCPU(Region("r1"), 0.1), "cpus b 0.1"},
		{"partition, second host fails", Partition(Region("r1"), Node("c")), "run b iptables -w -A"},
		{"partition, hook fails on the last host", Partition(Region("r1"), Node("c")), "run c iptables -w -I OUTPUT"},
		{"isolate", Isolate(Leader), "run etcd-1 iptables -w -N"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.failOn[tc.failOn] = errBoom
			rec := &fakeRecorder{}
			inj := NewInjector(f, rec)
			if _, err := inj.Inject(context.Background(), tc.fault); !errors.Is(err, errBoom) {
				t.Fatalf("inject: got %v, want the planted error", err)
			}
			if l := f.leftovers(); len(l) > 0 {
				t.Errorf("a failed inject left behind: %v (calls %v)", l, f.calls)
			}
			if len(inj.ActiveFaults()) != 0 || len(rec.list()) != 0 {
				t.Errorf("a failed inject is tracked (%v) or recorded (%v)", inj.ActiveFaults(), rec.list())
			}
		})
	}
}

func TestEveryFaultHealsIdempotently(t *testing.T) {
	faults := []Fault{
		Kill(Leader), Stop(SyncStandby), Restart(Node("c")), Pause(AnyFollower(1)),
		CrashPostgres(Leader), ThrottleCPU(AnyFollower(2), 0.1), RegionOutage("r1"), CutRegion("r2"),
		Partition(Region("r1"), Rest), PartitionOneWay(Leader, Node("b")), Isolate(Node("b")),
		CutFromDCS(Leader), LongQuery(AnyFollower(3), time.Minute),
	}
	for _, fl := range faults {
		t.Run(fl.Name(), func(t *testing.T) {
			f := newFake()
			inj := NewInjector(f, nil)
			ctx := context.Background()
			a, err := inj.Inject(ctx, fl)
			if err != nil {
				t.Fatalf("inject %s: %v", describe(fl), err)
			}
			// Heal the raw function twice: the second run must find
			// nothing to do and still succeed.
			if err := a.heal(ctx); err != nil {
				t.Fatalf("heal: %v", err)
			}
			if err := a.heal(ctx); err != nil {
				t.Fatalf("second heal: %v", err)
			}
			if l := f.leftovers(); len(l) > 0 {
				t.Errorf("left behind after heal: %v", l)
			}
			if err := VerifyBaseline(ctx, f); err != nil {
				t.Errorf("baseline after heal: %v", err)
			}
		})
	}
}

func TestHealAllRunsAfterCancel(t *testing.T) {
	f := newFake()
	rec := &fakeRecorder{}
	inj := NewInjector(f, rec)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := inj.Inject(ctx, Pause(Node("b"))); err != nil {
		t.Fatal(err)
	}
	if _, err := inj.Inject(ctx, Partition(Leader, Rest)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := inj.HealAll(ctx); err != nil {
		t.Fatalf("heal all after cancel: %v", err)
	}
	if len(f.ctxErrs) > 0 {
		t.Errorf("heal ran with a cancelled context: %v", f.ctxErrs)
	}
	if l := f.leftovers(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if n := len(inj.ActiveFaults()); n != 0 {
		t.Errorf("%d faults still active", n)
	}
	ev := rec.list()
	if len(ev) != 4 || !strings.HasPrefix(ev[2], results.EventFaultHealed+" partition") {
		t.Errorf("events %v: want two injects then two heals, newest first", ev)
	}
}

func TestHealErrorsAreJoined(t *testing.T) {
	f := newFake()
	inj := NewInjector(f, nil)
	ctx := context.Background()
	if _, err := inj.Inject(ctx, Pause(Region("r1"))); err != nil {
		t.Fatal(err)
	}
	f.failOn["unpause a"] = errBoom
	err := inj.HealAll(ctx)
	if !errors.Is(err, errBoom) {
		t.Fatalf("heal all: got %v, want the planted error", err)
	}
	if f.state["b"].Paused {
		t.Error("one failed unpause stopped the others")
	}
}

func TestUnsupportedCapability(t *testing.T) {
	f := newFake()
	inj := NewInjector(baseOnly{f}, nil)
	for _, fl := range []Fault{Pause(Node("a")), Partition(Leader, Rest), ThrottleCPU(Node("b"), 0.5), CrashPostgres(Leader)} {
		if _, err := inj.Inject(context.Background(), fl); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s on a bare cluster: got %v, want ErrUnsupported", describe(fl), err)
		}
	}
	if _, err := inj.Inject(context.Background(), Kill(Node("a"))); err != nil {
		t.Errorf("kill must work on a bare cluster: %v", err)
	}
	if _, err := inj.Inject(context.Background(), Degrade("r1", "r2", netem.Impairment{Delay: time.Second})); !errors.Is(err, ErrUnsupported) {
		t.Errorf("degrade on a cluster without Links: got %v, want ErrUnsupported", err)
	}
}

// linkFake records SetLink calls and the links overlaid; failOn makes the
// overlay fail.
type linkFake struct {
	*fakeCluster
	mu       sync.Mutex
	calls    []string
	degraded map[string]bool
	failOn   bool
}

func (l *linkFake) SetLink(_ context.Context, a, b string, imp *netem.Impairment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.degraded == nil {
		l.degraded = map[string]bool{}
	}
	if imp == nil {
		l.calls = append(l.calls, "restore "+a+"<->"+b)
		delete(l.degraded, a+"<->"+b)
		return nil
	}
	l.calls = append(l.calls, fmt.Sprintf("overlay %s<->%s delay %s", a, b, imp.Delay))
	if l.failOn {
		return errors.New("agent refused")
	}
	l.degraded[a+"<->"+b] = true
	return nil
}

func (l *linkFake) WANAtBaseline(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.degraded {
		return fmt.Errorf("link %s is still degraded", k)
	}
	return nil
}

func TestDegradeOverlaysAndRestores(t *testing.T) {
	lf := &linkFake{fakeCluster: newFake()}
	inj := NewInjector(lf, nil)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := inj.Inject(ctx, Degrade("r1", "r2", netem.Impairment{Delay: 200 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Target != "r1<->r2" {
		t.Errorf("target %q, want r1<->r2", a.Target)
	}
	if err := VerifyBaseline(context.Background(), lf); err == nil || !strings.Contains(err.Error(), "r1<->r2 is still degraded") {
		t.Errorf("baseline check with the link degraded: %v, want it named", err)
	}
	cancel() // heal must still run after the spec's context is gone
	if err := inj.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := VerifyBaseline(context.Background(), lf); err != nil {
		t.Errorf("baseline check after heal: %v", err)
	}
	if err := a.Heal(context.Background()); err != nil { // idempotent
		t.Fatal(err)
	}
	want := []string{"overlay r1<->r2 delay 200ms", "restore r1<->r2"}
	if !slices.Equal(lf.calls, want) {
		t.Errorf("calls %q, want %q", lf.calls, want)
	}

	// A failed overlay leaves the baseline behind, not half a degradation.
	lf = &linkFake{fakeCluster: newFake(), failOn: true}
	if _, err := NewInjector(lf, nil).Inject(context.Background(), Degrade("r1", "r2", netem.Impairment{Loss: 5})); err == nil {
		t.Fatal("want the overlay's error")
	}
	if want := []string{"overlay r1<->r2 delay 0s", "restore r1<->r2"}; !slices.Equal(lf.calls, want) {
		t.Errorf("calls %q, want %q", lf.calls, want)
	}
}

func TestSamePartitionTwiceIsRefused(t *testing.T) {
	f := newFake()
	inj := NewInjector(f, nil)
	ctx := context.Background()
	if _, err := inj.Inject(ctx, CutFromDCS(Leader)); err != nil {
		t.Fatal(err)
	}
	if _, err := inj.Inject(ctx, CutFromDCS(Leader)); !errors.Is(err, ErrAlreadyActive) {
		t.Fatalf("second cut: got %v, want ErrAlreadyActive", err)
	}
	// The refusal must not have removed the first cut.
	if len(f.chains["a"]) != 1 || len(f.chains["etcd-1"]) != 1 {
		t.Errorf("the refused inject touched the active one: %v", f.chains)
	}
	if err := inj.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
}

func renderPlan(p []HostRules) string {
	var b strings.Builder
	for _, hr := range p {
		b.WriteString("# " + hr.Host + " install\n")
		for _, a := range hr.Install {
			b.WriteString(strings.Join(a, " ") + "\n")
		}
		b.WriteString("# " + hr.Host + " remove\n")
		for _, a := range hr.Remove {
			b.WriteString(strings.Join(a, " ") + "\n")
		}
	}
	return b.String()
}

func TestPartitionPlanGolden(t *testing.T) {
	a := Host{Name: "a", Role: RoleNode, IP: "10.0.0.20"}
	b := Host{Name: "b", Role: RoleNode, IP: "10.0.0.21"}
	c := Host{Name: "c", Role: RoleNode, IP: "10.0.0.22"}
	proxy := Host{Name: "haproxy", Role: RoleProxy, IP: "10.0.0.30"}
	golden.Check(t, filepath.Join("testdata", "partition_symmetric.golden"), []byte(renderPlan(PartitionPlan(PartitionRequest{Chain: "REPLAB-CHAOS-test", A: []Host{a, b}, B: []Host{c}}))))
	golden.Check(t, filepath.Join("testdata", "partition_one_way.golden"), []byte(renderPlan(PartitionPlan(PartitionRequest{Chain: "REPLAB-CHAOS-test", A: []Host{a, b}, B: []Host{c}, OneWay: true}))))
	if p := PartitionPlan(PartitionRequest{Chain: "X", A: []Host{a}, B: []Host{proxy}}); len(p) != 1 || p[0].Host != "a" {
		t.Errorf("a proxy must get no rules (no NET_ADMIN): %+v", p)
	}
}

func TestResetPlanAndReset(t *testing.T) {
	lines := []string{"-N REPLAB-CHAOS-1", "-A INPUT -j REPLAB-CHAOS-1", "-A OUTPUT -j REPLAB-CHAOS-1", "-A REPLAB-CHAOS-1 -s 10.0.0.1/32 -j DROP"}
	got := ResetPlan(lines)
	want := [][]string{
		{"iptables", "-w", "-D", "INPUT", "-j", "REPLAB-CHAOS-1"},
		{"iptables", "-w", "-D", "OUTPUT", "-j", "REPLAB-CHAOS-1"},
		{"iptables", "-w", "-F", "REPLAB-CHAOS-1"},
		{"iptables", "-w", "-X", "REPLAB-CHAOS-1"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("reset plan %q, want %q", got, want)
	}

	f := newFake()
	ctx := context.Background()
	inj := NewInjector(f, nil)
	for _, fl := range []Fault{Isolate(Node("c")), Pause(Node("b")), ThrottleCPU(Node("a"), 0.2), Stop(EtcdMembers)} {
		if _, err := inj.Inject(ctx, fl); err != nil {
			t.Fatal(err)
		}
	}
	err := VerifyBaseline(ctx, f)
	for _, w := range []string{"b is paused", "a has a CPU quota", "etcd-1 is not running", "c has chaos iptables rules"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("baseline check missed %q: %v", w, err)
		}
	}
	did, err := Reset(ctx, f)
	if err != nil {
		t.Fatalf("reset: %v (did %v)", err, did)
	}
	if l := f.leftovers(); len(l) > 0 {
		t.Errorf("reset left %v", l)
	}
	if err := VerifyBaseline(ctx, f); err != nil {
		t.Errorf("baseline after reset: %v", err)
	}
}

// The RPO experiment's shape: the leader's WAL is cut off from every
// follower, then the leader dies. Healing the partition must succeed even
// though the dead leader cannot run iptables: its rules died with it.
func TestPartitionHealsAroundADeadHost(t *testing.T) {
	f := newFake()
	inj := NewInjector(f, nil)
	ctx := context.Background()
	p, err := inj.Inject(ctx, Partition(Leader, Followers))
	if err != nil {
		t.Fatal(err)
	}
	if p.Target != "a" {
		t.Errorf("target %q, want the leader a", p.Target)
	}
	if len(f.chains["b"]) == 0 || len(f.chains["c"]) == 0 {
		t.Fatalf("every follower must drop the leader's traffic: %v", f.chains)
	}
	k, err := inj.Inject(ctx, Kill(Leader))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Heal(ctx); err != nil {
		t.Fatalf("heal around a dead host: %v", err)
	}
	if err := k.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if left := f.leftovers(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}

	// Negative control: a live host that fails to clean up is still an error.
	f = newFake()
	inj = NewInjector(f, nil)
	p, err = inj.Inject(ctx, Partition(Leader, Followers))
	if err != nil {
		t.Fatal(err)
	}
	f.failOn["run b iptables -w -F"] = exitErr("iptables: Resource temporarily unavailable.")
	if err := p.Heal(ctx); err == nil {
		t.Error("a failed cleanup on a running host must be reported")
	}
}

// nodeLinkFake records SetNodeLinks calls and the pairs slowed. Like the
// lab, a failing pair may leave the pairs before it applied.
type nodeLinkFake struct {
	*fakeCluster
	mu     sync.Mutex
	slowed map[string]bool
	calls  int
	failOn string // pair whose overlay fails
}

func (n *nodeLinkFake) SetNodeLinks(_ context.Context, pairs [][2]string, imp *netem.Impairment) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	for _, p := range pairs {
		k := p[0] + "<->" + p[1]
		if imp == nil {
			delete(n.slowed, k)
			continue
		}
		if k == n.failOn {
			return errors.New("agent refused")
		}
		n.slowed[k] = true
	}
	return nil
}

func TestSlowLinksFromTheLeaderToItsFollowers(t *testing.T) {
	nf := &nodeLinkFake{fakeCluster: newFake(), slowed: map[string]bool{}}
	inj := NewInjector(nf, nil)
	a, err := inj.Inject(context.Background(), SlowLinks(Leader, Followers, netem.Impairment{Delay: 250 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	// c is in another region: the WAN link to it is degrade's.
	if want := map[string]bool{"a<->b": true}; !maps.Equal(nf.slowed, want) {
		t.Errorf("slowed %v, want %v (leader a to its follower in r1; c across the WAN, etcd and proxy untouched)", nf.slowed, want)
	}
	if a.Target != "a<->b" {
		t.Errorf("target %q", a.Target)
	}
	if nf.calls != 1 {
		t.Errorf("%d overlay calls, want 1: the links must slow down together, not one pair after another", nf.calls)
	}
	if err := inj.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(nf.slowed) != 0 {
		t.Errorf("after heal still slowed: %v", nf.slowed)
	}

	// A failed overlay undoes what was applied before it.
	nf = &nodeLinkFake{fakeCluster: newFake(), slowed: map[string]bool{}, failOn: "a<->b"}
	if _, err := NewInjector(nf, nil).Inject(context.Background(), SlowLinks(Leader, Followers, netem.Impairment{Delay: time.Second})); err == nil {
		t.Fatal("want the overlay's error")
	}
	if len(nf.slowed) != 0 {
		t.Errorf("a failed inject left %v slowed", nf.slowed)
	}
	// A cluster that cannot slow links says so.
	if _, err := NewInjector(newFake(), nil).Inject(context.Background(), SlowLinks(Leader, Followers, netem.Impairment{Delay: time.Second})); !errors.Is(err, ErrUnsupported) {
		t.Errorf("slow-links without NodeLinks: %v, want ErrUnsupported", err)
	}
}

func TestCoordinatorAndPeersFollowTheManager(t *testing.T) {
	ctx := context.Background()
	for role, want := range map[string]string{RoleEtcd: "etcd-1", RoleMonitor: "monitor", RoleWitness: "witness"} {
		f := newFake()
		f.hosts[0] = Host{Name: want, Role: role, Region: "r1", IP: "10.0.0.10"}
		got, err := Coordinator.Resolve(ctx, f, nil)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("coordinator with a %s: %v, %v; want [%s]", role, got, err, want)
		}
		peers, err := Peers.Resolve(ctx, f, []string{"a"})
		if err != nil || !slices.Equal(peers, []string{want, "b", "c"}) {
			t.Errorf("peers of a with a %s: %v, %v; want the coordinator and b, c, not the proxy", role, peers, err)
		}
	}
	f := newFake()
	f.hosts = f.hosts[1:] // repmgr without a witness
	if _, err := Coordinator.Resolve(ctx, f, nil); !errors.Is(err, ErrNoTarget) {
		t.Errorf("no coordinator: %v, want ErrNoTarget", err)
	}
}
