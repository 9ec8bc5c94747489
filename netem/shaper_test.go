package netem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// fakeHost answers commands from a table of prefixes; it records every
// command. It needs no root, so the shapers' sequencing is tested
// everywhere; the real kernel is exercised by the netns tests.
type fakeHost struct {
	ran     []string
	answers map[string]func() ([]byte, error) // by command prefix
}

func (f *fakeHost) Run(_ context.Context, argv []string) ([]byte, error) {
	cmd := strings.Join(argv, " ")
	f.ran = append(f.ran, cmd)
	best := ""
	for p := range f.answers {
		if strings.HasPrefix(cmd, p) && len(p) > len(best) {
			best = p
		}
	}
	if best != "" {
		return f.answers[best]()
	}
	return nil, nil
}

func (f *fakeHost) CopyFile(_ context.Context, path string, _ []byte, _ fs.FileMode) error {
	f.ran = append(f.ran, "copy "+path)
	return nil
}

func (f *fakeHost) Start(_ context.Context, argv []string) error {
	f.ran = append(f.ran, "start "+strings.Join(argv, " "))
	return nil
}

func fails(msg string) func() ([]byte, error) {
	return func() ([]byte, error) { return nil, fmt.Errorf("exit status 2: %s", msg) }
}

func says(out string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(out), nil }
}

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func() ([]byte, error)
		backend Backend
		errWant string
	}{
		{"netem works", says(""), Kernel, ""},
		{"no sch_netem", fails("Error: Specified qdisc kind is unknown."), Userspace, ""},
		{"no tc", fails(`exec: "tc": executable file not found in $PATH`), Userspace, ""},
		{"no NET_ADMIN", fails("RTNETLINK answers: Operation not permitted"), "", "--cap-add NET_ADMIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHost{answers: map[string]func() ([]byte, error){"tc qdisc add": tc.answer}}
			c, err := Probe(context.Background(), h)
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) || !errors.Is(err, ErrPermission) {
					t.Fatalf("Probe = %+v, %v; want ErrPermission mentioning %q", c, err, tc.errWant)
				}
				return
			}
			if err != nil || c.Backend != tc.backend || c.Reason == "" {
				t.Fatalf("Probe = %+v, %v; want %s with a reason", c, err, tc.backend)
			}
			deleted := strings.Contains(strings.Join(h.ran, "\n"), "tc qdisc del dev lo root")
			if deleted != (tc.backend == Kernel) {
				t.Errorf("probe qdisc deleted: %v, want %v (ran %q)", deleted, tc.backend == Kernel, h.ran)
			}
		})
	}
}

func TestKernelShaperSequencing(t *testing.T) {
	ctx := context.Background()
	root := "qdisc htb 1: root refcnt 2 r2q 10 default 0 direct_packets_stat 0\n"
	h := &fakeHost{answers: map[string]func() ([]byte, error){"tc qdisc show": says("qdisc noqueue 0: root refcnt 2\n")}}
	s := NewShaper(Kernel, h)
	plan := Plan{Rules: []Rule{{Peers: pfx("10.2.0.0/24"), Impairment: Impairment{Delay: 40 * ms}}}}
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	want, _ := PlanKernel(plan, "eth0")
	if got := h.ran[1:]; len(got) != len(want) || got[0] != want[0].String() {
		t.Fatalf("first apply ran %q, want show then %d plan commands", h.ran, len(want))
	}
	// Same plan: nothing runs.
	h.ran = nil
	if err := s.Apply(ctx, plan); err != nil || len(h.ran) != 0 {
		t.Errorf("same plan again ran %q (err %v), want nothing", h.ran, err)
	}
	// Impairment change only: one tc qdisc change, no teardown.
	plan.Rules[0].Impairment.Delay = 90 * ms
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if len(h.ran) != 1 || !strings.HasPrefix(h.ran[0], "tc qdisc change dev eth0 parent 1:1 handle 10: netem limit 100000 delay 90ms") {
		t.Errorf("impairment change ran %q, want one tc qdisc change", h.ran)
	}
	// New peers: the tree is rebuilt, removing ours first.
	h.ran = nil
	h.answers["tc qdisc show"] = says(root)
	plan.Rules = append(plan.Rules, Rule{Peers: pfx("10.3.0.0/24"), Impairment: Impairment{Delay: ms}})
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if len(h.ran) < 3 || h.ran[1] != "tc qdisc del dev eth0 root handle 1:" {
		t.Errorf("structural change ran %q, want show, del root, then the new tree", h.ran)
	}
	// A failure mid-way removes the half-built tree and says why.
	h.ran = nil
	h.answers["tc qdisc add dev eth0 parent"] = fails("Error: Specified qdisc kind is unknown.")
	plan.Rules[1].Peers = pfx("10.4.0.0/24")
	err := s.Apply(ctx, plan)
	if !errors.Is(err, ErrKernelNetemUnavailable) || !strings.Contains(err.Error(), "use backend: userspace or auto") {
		t.Fatalf("apply without netem = %v, want ErrKernelNetemUnavailable with the fix", err)
	}
	if last := h.ran[len(h.ran)-1]; last != "tc qdisc del dev eth0 root handle 1:" {
		t.Errorf("after the failure the last command was %q, want the tree removed", last)
	}
	// Reset deletes only an htb 1: root: someone else's root stays.
	h.ran = nil
	h.answers["tc qdisc show"] = says("qdisc fq_codel 8001: root refcnt 2\n")
	if err := s.Reset(ctx); err != nil || len(h.ran) != 1 {
		t.Errorf("Reset with a foreign root ran %q (err %v), want only show", h.ran, err)
	}
}

func TestUserspaceShaperMakeBeforeBreak(t *testing.T) {
	ctx := context.Background()
	existing := "-P INPUT ACCEPT\n-N REPLAB-NETEM\n-A INPUT ! -i lo -m comment --comment replab-netem -j REPLAB-NETEM\n" +
		"-A REPLAB-NETEM -s 10.9.0.0/16 -j NFQUEUE --queue-num 1000 --queue-bypass\n" +
		"-A REPLAB-NETEM -s 10.8.0.0/16 -j NFQUEUE --queue-num 1001 --queue-bypass\n"
	h := &fakeHost{answers: map[string]func() ([]byte, error){
		"iptables -w -t mangle -S":              says(existing),
		"ip6tables -w -t mangle -S":             fails("ip6tables: Table does not exist (do you need to insmod?)"),
		"/run/replab-netem/replab-agent status": fails(`exec: "/run/replab-netem/replab-agent": stat /run/replab-netem/replab-agent: no such file or directory`),
	}}
	s := NewShaper(Userspace, h, WithAgent("shaper_test.go")) // any readable file stands in for the binary
	plan := Plan{Rules: []Rule{{Link: "b", Peers: pfx("10.2.0.0/24"), Impairment: Impairment{Delay: 40 * ms}}}}
	// The wait for the new agent's heartbeat succeeds.
	h.answers["/run/replab-netem/replab-agent status -status /run/replab-netem/status.json -log"] = says("{}")
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	ran := strings.Join(h.ran, "\n")
	order := []string{
		"copy /run/replab-netem/replab-agent",
		"copy /run/replab-netem/agent.json",
		"start /run/replab-netem/replab-agent run",
		"-wait-config",
		"iptables -w -t mangle -I REPLAB-NETEM 1 -s 10.2.0.0/24",
		"iptables -w -t mangle -D REPLAB-NETEM 2",
	}
	at := 0
	for _, step := range order {
		i := strings.Index(ran[at:], step)
		if i < 0 {
			t.Fatalf("step %q missing or out of order in:\n%s", step, ran)
		}
		at += i
	}
	if n := strings.Count(ran, "-D REPLAB-NETEM 2"); n != 2 {
		t.Errorf("deleted %d old rules, want 2:\n%s", n, ran)
	}
	if strings.Contains(ran, "-I INPUT") || strings.Contains(ran, "iptables -w -t mangle -N REPLAB-NETEM ") {
		t.Errorf("recreated the chain or jump that exists:\n%s", ran)
	}
	if n := strings.Count(ran, "\nsh -c "); n != 1 {
		t.Errorf("installed the rules in %d calls, want one:\n%s", n, ran)
	}

	// The same rules read back (iptables quotes a comment with ">"): a
	// fresh shaper (another process: replab chaos degrade) that only
	// changes the delay reloads the agent and writes no rule.
	h.answers["iptables -w -t mangle -S"] = says("-N REPLAB-NETEM\n-N REPLAB-NETEM-OUT\n" +
		"-A INPUT ! -i lo -m comment --comment replab-netem -j REPLAB-NETEM\n" +
		"-A OUTPUT ! -o lo -m comment --comment replab-netem -j REPLAB-NETEM-OUT\n" +
		"-A REPLAB-NETEM -s 10.2.0.0/24 ! -p icmp -m comment --comment \"a->b\" -j NFQUEUE --queue-num 1000 --queue-bypass\n" +
		"-A REPLAB-NETEM-OUT -d 10.2.0.0/24 -p icmp -m comment --comment \"a->b\" -j NFQUEUE --queue-num 1000 --queue-bypass\n")
	h.ran = nil
	plan.Rules[0].Link = "a->b"
	plan.Rules[0].Impairment.Delay = 90 * ms
	if err := NewShaper(Userspace, h, WithAgent("shaper_test.go")).Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.ran {
		if strings.Contains(c, "iptables -w -t mangle -I") || strings.Contains(c, "iptables -w -t mangle -D") || strings.Contains(c, "iptables -w -t mangle -N") {
			t.Errorf("a delay-only change rewrote the rules: %s", c)
		}
	}
}

func TestUserspaceNeedsAgent(t *testing.T) {
	s := NewShaper(Userspace, &fakeHost{})
	err := s.Apply(context.Background(), Plan{Rules: []Rule{{Peers: pfx("10.2.0.0/24"), Impairment: Impairment{Delay: ms}}}})
	if !errors.Is(err, ErrNoAgent) || !strings.Contains(err.Error(), "WithAgent") {
		t.Errorf("Apply without agent = %v, want ErrNoAgent naming WithAgent", err)
	}
}

func TestCommandErrors(t *testing.T) {
	c := Command{"iptables", "-w", "-S"}
	for _, tc := range []struct {
		msg  string
		want error
		fix  string
	}{
		{`exec: "iptables": executable file not found in $PATH`, ErrToolMissing, "node image"},
		{"iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)", ErrPermission, "NET_ADMIN"},
	} {
		err := commandError(c, errors.New(tc.msg))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("%q: %v, want %v with a fix mentioning %q", tc.msg, err, tc.want, tc.fix)
		}
	}
	if err := commandError(c, errors.New("exit status 4: bad rule")); errors.Is(err, ErrToolMissing) || !strings.Contains(err.Error(), "iptables -w -S") {
		t.Errorf("plain failure: %v, want the command named and no sentinel", err)
	}
}

// Prepare copies the agent ahead of the first Apply, which then starts it
// without copying the binary again; a Reset purges the directory, so the
// next Apply copies it anew.
func TestUserspacePrepareCopiesTheAgentOnce(t *testing.T) {
	ctx := context.Background()
	h := &fakeHost{answers: map[string]func() ([]byte, error){
		"ip6tables -w -t mangle -S":             fails("ip6tables: Table does not exist (do you need to insmod?)"),
		"/run/replab-netem/replab-agent status": fails("no such file or directory"),
		"/run/replab-netem/replab-agent status -status /run/replab-netem/status.json -log": says("{}"),
	}}
	s := NewShaper(Userspace, h, WithAgent("shaper_test.go"))
	if err := s.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.ran, []string{"copy /run/replab-netem/replab-agent"}) {
		t.Fatalf("Prepare ran %q, want only the agent's copy (no rule, no start)", h.ran)
	}
	h.ran = nil
	plan := Plan{Rules: []Rule{{Link: "b", Peers: pfx("10.2.0.0/24"), Impairment: Impairment{Delay: 40 * ms}}}}
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	ran := strings.Join(h.ran, "\n")
	if strings.Contains(ran, "copy /run/replab-netem/replab-agent") || !strings.Contains(ran, "start /run/replab-netem/replab-agent run") {
		t.Errorf("Apply after Prepare must start the agent without copying it again:\n%s", ran)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	h.ran = nil
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.ran, "copy /run/replab-netem/replab-agent") {
		t.Errorf("Apply after a Reset (which purges the directory) must copy the agent again:\n%s", strings.Join(h.ran, "\n"))
	}
}

// TestUserspaceFreshNodeOneCall checks that a fresh node's first Apply
// copies the agent in and does the rest in one call: config, agent start,
// the wait for its heartbeat, the rules; and that it reads nothing first.
func TestUserspaceFreshNodeOneCall(t *testing.T) {
	ctx := context.Background()
	h := &fakeHost{}
	s := NewShaper(Userspace, h, WithAgent("shaper_test.go"), WithFreshNode())
	plan := Plan{Rules: []Rule{{Link: "a->b", Peers: pfx("10.2.0.0/24"), Impairment: Impairment{Delay: 40 * ms}}}}
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if len(h.ran) != 2 || h.ran[0] != "copy /run/replab-netem/replab-agent" || !strings.HasPrefix(h.ran[1], "sh -c set -e\n") {
		t.Fatalf("calls %q, want the copy and one shell", h.ran)
	}
	script := h.ran[1]
	order := []string{
		"printf %s '{", "> /run/replab-netem/agent.json",
		"/run/replab-netem/replab-agent run -config /run/replab-netem/agent.json", "&\n",
		"-wait-config",
		"iptables -w -t mangle -N REPLAB-NETEM\n",
		"iptables -w -t mangle -A REPLAB-NETEM -s 10.2.0.0/24",
		"iptables -w -t mangle -I INPUT 1",
	}
	at := 0
	for _, step := range order {
		i := strings.Index(script[at:], step)
		if i < 0 {
			t.Fatalf("step %q missing or out of order in:\n%s", step, script)
		}
		at += i
	}
	// The second Apply of a changed plan reads the node, as any does.
	h.ran = nil
	plan.Rules[0].Impairment.Delay = 90 * ms
	if err := s.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.ran, "/run/replab-netem/replab-agent status -status /run/replab-netem/status.json -max-age 3s") {
		t.Errorf("a later Apply did not read the agent's status: %q", h.ran)
	}
}
