package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/replab/replab/results"
)

// fakeCluster is an in-memory lab: three nodes (a, b in r1; c in r2), one
// etcd member, one proxy. It keeps container state and a per-host model of
// iptables chains and hooks, and logs every call.
type fakeCluster struct {
	mu      sync.Mutex
	leader  string
	members []Member
	hosts   []Host
	state   map[string]*HostState
	chains  map[string]map[string][]string // host -> chain -> rules
	hooks   map[string][]string            // host -> "INPUT chain" entries
	calls   []string
	failOn  map[string]error // "kill b", "run c iptables -w -N" (prefix match on the call)
	ctxErrs []string         // calls made with a cancelled context
}

func newFake() *fakeCluster {
	f := &fakeCluster{
		leader: "a",
		members: []Member{
			{Name: "a", Region: "r1", Role: "leader"},
			{Name: "b", Region: "r1", Role: "replica", SyncState: "sync"},
			{Name: "c", Region: "r2", Role: "replica", SyncState: "async"},
		},
		hosts: []Host{
			{Name: "etcd-1", Role: RoleEtcd, Region: "r1", IP: "10.0.0.10"},
			{Name: "a", Role: RoleNode, Region: "r1", IP: "10.0.0.20"},
			{Name: "b", Role: RoleNode, Region: "r1", IP: "10.0.0.21"},
			{Name: "c", Role: RoleNode, Region: "r2", IP: "10.0.0.22"},
			{Name: "haproxy", Role: RoleProxy, Region: "r1", IP: "10.0.0.30"},
		},
		state:  map[string]*HostState{},
		chains: map[string]map[string][]string{},
		hooks:  map[string][]string{},
		failOn: map[string]error{},
	}
	for _, h := range f.hosts {
		f.state[h.Name] = &HostState{Running: true}
		f.chains[h.Name] = map[string][]string{}
	}
	return f
}

func (f *fakeCluster) call(ctx context.Context, s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	if ctx.Err() != nil {
		f.ctxErrs = append(f.ctxErrs, s)
		return ctx.Err()
	}
	for k, err := range f.failOn {
		if strings.HasPrefix(s, k) {
			return err
		}
	}
	return nil
}

func (f *fakeCluster) LeaderName(ctx context.Context) (string, error) {
	if err := f.call(ctx, "leader"); err != nil {
		return "", err
	}
	return f.leader, nil
}

func (f *fakeCluster) Kill(ctx context.Context, name, signal string) error {
	if err := f.call(ctx, "kill "+name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name].Running = false
	// The network namespace dies with the container, rules and all.
	f.chains[name] = map[string][]string{}
	f.hooks[name] = nil
	return nil
}

func (f *fakeCluster) Start(ctx context.Context, name string) error {
	if err := f.call(ctx, "start "+name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state[name].Running {
		// harness.Lab.Start waits for a container to stop first: on one
		// that runs, it waits until its context ends.
		return fmt.Errorf("start %s: wait for it to stop first: it runs", name)
	}
	f.state[name].Running = true
	return nil
}

func (f *fakeCluster) Stop(ctx context.Context, name string, _ time.Duration) error {
	if err := f.call(ctx, "stop "+name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name].Running = false
	return nil
}

func (f *fakeCluster) Pause(ctx context.Context, name string) error {
	if err := f.call(ctx, "pause "+name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name].Paused = true
	return nil
}

func (f *fakeCluster) Unpause(ctx context.Context, name string) error {
	if err := f.call(ctx, "unpause "+name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name].Paused = false
	return nil
}

func (f *fakeCluster) SetCPUs(ctx context.Context, name string, cpus float64) error {
	if err := f.call(ctx, fmt.Sprintf("cpus %s %g", name, cpus)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[name].CPUs = cpus
	return nil
}

func (f *fakeCluster) ExecSQL(ctx context.Context, node, sql string) error {
	return f.call(ctx, "sql "+node+" "+sql)
}

func (f *fakeCluster) Hosts(context.Context) ([]Host, error) { return slices.Clone(f.hosts), nil }
func (f *fakeCluster) Members(context.Context) ([]Member, error) {
	return slices.Clone(f.members), nil
}
func (f *fakeCluster) HostState(_ context.Context, name string) (HostState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.state[name], nil
}

func exitErr(msg string) error { return &ExitError{Code: 1, Stderr: msg} }

// Run models the iptables subset chaos uses, with iptables' own messages.
func (f *fakeCluster) Run(ctx context.Context, c Command) (string, error) {
	if err := f.call(ctx, "run "+c.Host+" "+strings.Join(c.Argv, " ")); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.state[c.Host].Running {
		return "", fmt.Errorf("exec in %s: %w", c.Host, ErrHostDown)
	}
	a := c.Argv
	if len(a) < 3 || a[0] != "iptables" {
		return "", nil
	}
	if c.User != "root" {
		return "", exitErr("iptables: Permission denied (you must be root)")
	}
	chains, hooks := f.chains[c.Host], f.hooks[c.Host]
	switch a[2] {
	case "-S":
		var b strings.Builder
		b.WriteString("-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n")
		for _, ch := range sortedKeys(chains) {
			fmt.Fprintf(&b, "-N %s\n", ch)
		}
		for _, h := range hooks {
			hk, ch, _ := strings.Cut(h, " ")
			fmt.Fprintf(&b, "-A %s -j %s\n", hk, ch)
		}
		for _, ch := range sortedKeys(chains) {
			for _, r := range chains[ch] {
				fmt.Fprintf(&b, "-A %s %s\n", ch, r)
			}
		}
		return b.String(), nil
	case "-N":
		if _, ok := chains[a[3]]; ok {
			return "", exitErr("iptables: Chain already exists.")
		}
		chains[a[3]] = nil
	case "-A":
		if _, ok := chains[a[3]]; !ok {
			return "", exitErr("iptables: No chain/target/match by that name.")
		}
		chains[a[3]] = append(chains[a[3]], strings.Join(a[4:], " "))
	case "-I":
		f.hooks[c.Host] = append(hooks, a[3]+" "+a[len(a)-1])
	case "-D":
		i := slices.Index(hooks, a[3]+" "+a[len(a)-1])
		if i < 0 {
			return "", exitErr("iptables: Bad rule (does a matching rule exist in that chain?).")
		}
		f.hooks[c.Host] = slices.Delete(hooks, i, i+1)
	case "-F":
		if _, ok := chains[a[3]]; !ok {
			return "", exitErr("iptables: No chain/target/match by that name.")
		}
		chains[a[3]] = nil
	case "-X":
		if _, ok := chains[a[3]]; !ok {
			return "", exitErr("iptables: No chain/target/match by that name.")
		}
		delete(chains, a[3])
	}
	return "", nil
}

// leftovers lists hosts with chaos chains, hooks, or off-baseline state.
func (f *fakeCluster) leftovers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, h := range f.hosts {
		if len(f.chains[h.Name]) > 0 || len(f.hooks[h.Name]) > 0 {
			out = append(out, h.Name+": iptables")
		}
		if st := f.state[h.Name]; !st.Running || st.Paused || st.CPUs != 0 {
			out = append(out, fmt.Sprintf("%s: %+v", h.Name, *st))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fakeRecorder collects events on a real clock started at its first use.
type fakeRecorder struct {
	mu     sync.Mutex
	start  time.Time
	events []results.Event
	spans  [][2]time.Duration
}

func (r *fakeRecorder) Now() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		r.start = time.Now()
	}
	return time.Since(r.start)
}

func (r *fakeRecorder) EventSpan(e results.Event, begin, end time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.spans = append(r.spans, [2]time.Duration{begin, end})
	return begin
}

func (r *fakeRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Kind+" "+e.Detail+" "+e.Node)
	}
	return out
}

// baseOnly implements only the base Cluster, like a bare *harness.Lab.
type baseOnly struct{ f *fakeCluster }

func (b baseOnly) LeaderName(ctx context.Context) (string, error)   { return b.f.LeaderName(ctx) }
func (b baseOnly) Kill(ctx context.Context, name, sig string) error { return b.f.Kill(ctx, name, sig) }
func (b baseOnly) Start(ctx context.Context, name string) error     { return b.f.Start(ctx, name) }

var errBoom = errors.New("boom")
