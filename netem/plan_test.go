package netem

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/internal/golden"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

const ms = time.Millisecond

// goldenPlans are one node's plans as the harness would build them.
var goldenPlans = map[string]Plan{
	// A us-east node of three-region.yaml: 80ms to eu-west, 200ms to
	// ap-southeast, so 40ms and 100ms held on this side.
	"three-region": {Seed: 42, Rules: []Rule{
		{Link: "eu-west->us-east", Peers: pfx("172.30.2.11/32", "172.30.2.12/32"), Impairment: Impairment{Delay: 40 * ms}},
		{Link: "ap-southeast->us-east", Peers: pfx("172.30.3.11/32"), Impairment: Impairment{Delay: 100 * ms, Jitter: 5 * ms}},
	}},
	// Everything at once: a blackholed host inside a delayed subnet (the
	// /32 must win), two links with the same impairment (one group), two
	// rate-limited links with the same impairment (two groups: a rate is
	// a capacity), IPv6, a rule that impairs nothing (skipped), and
	// sub-millisecond times.
	"mixed": {Rules: []Rule{
		{Link: "b", Peers: pfx("10.2.0.0/16"), Impairment: Impairment{Delay: 25 * ms, Loss: 0.5}},
		{Link: "cut host", Peers: pfx("10.2.0.7/32"), Impairment: Impairment{Blackhole: true, Delay: time.Second}},
		{Link: "c", Peers: pfx("10.3.0.0/16", "fd00:3::/64"), Impairment: Impairment{Delay: 25 * ms, Loss: 0.5}},
		{Link: "d", Peers: pfx("10.4.0.0/16"), Impairment: Impairment{Delay: 10 * ms, Rate: 100_000_000}},
		{Link: "e", Peers: pfx("10.5.0.0/16"), Impairment: Impairment{Delay: 10 * ms, Rate: 100_000_000}},
		{Link: "f", Peers: pfx("10.6.0.0/16"), Impairment: Impairment{Delay: 1500 * time.Microsecond, Jitter: 250 * time.Microsecond}},
		{Link: "same region", Peers: pfx("10.1.0.0/16")},
	}},
	"empty": {},
}

func TestPlanKernelGolden(t *testing.T) {
	for name, p := range goldenPlans {
		t.Run(name, func(t *testing.T) {
			cmds, err := PlanKernel(p, "eth0")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "kernel-"+name+".golden"), render(cmds))
		})
	}
}

func TestPlanUserspaceGolden(t *testing.T) {
	for name, p := range goldenPlans {
		t.Run(name, func(t *testing.T) {
			up, err := PlanUserspace(p)
			if err != nil {
				t.Fatal(err)
			}
			out := append(render(up.Commands()), "# agent config\n"...)
			out = append(out, up.Agent.Encode()...)
			golden.Check(t, filepath.Join("testdata", "userspace-"+name+".golden"), out)
		})
	}
}

func render(cmds []Command) []byte {
	var b bytes.Buffer
	for _, c := range cmds {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestPlanMostSpecificFirst: where prefixes overlap the most specific
// rule must come first, since filters and chains stop at the first match.
func TestPlanMostSpecificFirst(t *testing.T) {
	up, err := PlanUserspace(goldenPlans["mixed"])
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Join(up.Rules[0].Args, " ")
	if !strings.Contains(first, "10.2.0.7/32") || !strings.Contains(first, "DROP") {
		t.Errorf("first rule %q, want the blackholed /32 before its /16", first)
	}
	for _, r := range up.Rules {
		if strings.Contains(strings.Join(r.Args, " "), "fd00:3::/64") != (r.Tool == "ip6tables") {
			t.Errorf("rule %v: IPv6 prefixes belong to ip6tables only", r)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"negative delay", Plan{Rules: []Rule{{Link: "x", Peers: pfx("10.0.0.0/8"), Impairment: Impairment{Delay: -ms}}}}, "delay -1ms is negative"},
		{"negative jitter", Plan{Rules: []Rule{{Peers: pfx("10.0.0.0/8"), Impairment: Impairment{Jitter: -ms}}}}, "jitter -1ms is negative"},
		{"loss over 100", Plan{Rules: []Rule{{Peers: pfx("10.0.0.0/8"), Impairment: Impairment{Loss: 101}}}}, "loss 101% is outside"},
		{"no peers", Plan{Rules: []Rule{{Link: "lonely"}}}, "rule 0 (lonely) has no peers"},
		{"host bits", Plan{Rules: []Rule{{Peers: pfx("10.1.2.3/16")}}}, "want 10.1.0.0/16"},
		{"zero prefix", Plan{Rules: []Rule{{Peers: []netip.Prefix{{}}}}}, "invalid peer prefix"},
		{"4in6", Plan{Rules: []Rule{{Peers: pfx("::ffff:10.0.0.0/104")}}}, "write it as 10.0.0.0/8"},
		{"duplicate", Plan{Rules: []Rule{{Link: "a", Peers: pfx("10.0.0.0/8")}, {Link: "b", Peers: pfx("10.0.0.0/8")}}}, "appears in rules 0 (a) and 1 (b)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plan.Validate()
			if err == nil || !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want ErrInvalidPlan saying %q", err, tc.want)
			}
			if _, err := PlanKernel(tc.plan, "eth0"); err == nil {
				t.Error("PlanKernel accepted an invalid plan")
			}
			if _, err := PlanUserspace(tc.plan); err == nil {
				t.Error("PlanUserspace accepted an invalid plan")
			}
		})
	}
}

func TestImpairmentJSON(t *testing.T) {
	in := Impairment{Delay: 40 * ms, Jitter: 1500 * time.Microsecond, Loss: 0.1, Rate: 10_000_000}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"delay":"40ms","jitter":"1.5ms","loss":0.1,"rate":"10mbit"}`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
	var out Impairment
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"rate":"10 megabits"}`), &out); err == nil {
		t.Error("a misspelt rate unit was accepted")
	}
	if got := (Impairment{Blackhole: true, Delay: ms}).String(); got != "blackhole" {
		t.Errorf("String() = %q", got)
	}
}

func TestCommandString(t *testing.T) {
	c := Command{"iptables", "-m", "comment", "--comment", "it's here", "!", ""}
	if got, want := c.String(), `iptables -m comment --comment 'it'\''s here' '!' ''`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestNetemLimitBoundsTheRateBacklog(t *testing.T) {
	for _, c := range []struct {
		im   Impairment
		want int
	}{
		{Impairment{Delay: 40 * time.Millisecond}, KernelNetemLimit},                                          // no rate: no cap on throughput
		{Impairment{Delay: 10 * time.Millisecond, Rate: 100_000_000}, 917},                                    // 12.5 MB/s over 110ms
		{Impairment{Delay: 100 * time.Millisecond, Rate: 64_000}, minRateLimit},                               // 1.6 KB: the floor
		{Impairment{Delay: 75 * time.Millisecond, Jitter: 25 * time.Millisecond, Rate: 1_000_000_000}, 16667}, // 1 Gbit/s over 200ms
	} {
		if got := netemLimit(c.im); got != c.want {
			t.Errorf("netemLimit(%s) = %d, want %d", c.im, got, c.want)
		}
	}
}
