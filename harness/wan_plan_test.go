package harness

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/internal/golden"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/topologies"
)

// planHosts are three-region's containers as a lab would address them:
// etcd in us-east, one node per region outside it, the proxy with no
// region (it is never impaired and impairs no one).
var planHosts = []Host{
	{Name: "etcd-1", Role: RoleEtcd, Region: "us-east", IP: "172.30.0.2"},
	{Name: "use-1", Role: RoleNode, Region: "us-east", IP: "172.30.0.11"},
	{Name: "use-2", Role: RoleNode, Region: "us-east", IP: "172.30.0.12"},
	{Name: "euw-1", Role: RoleNode, Region: "eu-west", IP: "172.30.0.21"},
	{Name: "aps-1", Role: RoleNode, Region: "ap-southeast", IP: "172.30.0.31"},
	{Name: "haproxy", Role: RoleProxy, IP: "172.30.0.40"},
}

// renderPlans prints every host's plan in host order, one rule a line.
func renderPlans(hosts []Host, plans map[string]netem.Plan) []byte {
	var b strings.Builder
	for _, h := range hosts {
		p := plans[h.Name]
		fmt.Fprintf(&b, "%s (%s) seed %d\n", h.Name, h.Region, p.Seed)
		for _, r := range p.Rules {
			var peers []string
			for _, x := range r.Peers {
				peers = append(peers, x.String())
			}
			i := r.Impairment
			fmt.Fprintf(&b, "  %s peers %s: delay %s jitter %s loss %v rate %v blackhole %v\n",
				r.Link, strings.Join(peers, ","), i.Delay, i.Jitter, i.Loss, i.Rate, i.Blackhole)
		}
	}
	return []byte(b.String())
}

// TestWANPlansGolden pins the WAN rule: each host holds traffic from every
// other region for RTT/2 plus the link's jitter, loss and rate; nothing
// within a region; an overlay replaces one link's impairment on both ends,
// whichever order its regions are named in.
func TestWANPlansGolden(t *testing.T) {
	three, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	single, err := topologies.Builtin("single-region")
	if err != nil {
		t.Fatal(err)
	}
	cut := map[[2]string]netem.Impairment{
		linkKey("eu-west", "us-east"): {Delay: 150 * time.Millisecond, Loss: 1, Blackhole: true},
	}
	singleHosts := []Host{
		{Name: "lab-1", Role: RoleNode, Region: single.Regions[0].Name, IP: "172.30.0.11"},
		{Name: "lab-2", Role: RoleNode, Region: single.Regions[0].Name, IP: "172.30.0.12"},
	}
	for _, tc := range []struct {
		name    string
		topo    *topologies.Topology
		hosts   []Host
		overlay map[[2]string]netem.Impairment
	}{
		{"three-region", three, planHosts, nil},
		{"three-region-overlay", three, planHosts, cut},
		{"single-region", single, singleHosts, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans := wanPlans(tc.topo, tc.hosts, tc.overlay, 1)
			for name, p := range plans {
				if err := p.Validate(); err != nil {
					t.Errorf("%s's plan: %v", name, err)
				}
			}
			golden.Check(t, filepath.Join("testdata", "wan-plan-"+tc.name+".golden"), renderPlans(tc.hosts, plans))
		})
	}
}

// TestLinkImpairmentOverlay checks that an overlay wins over the topology
// in either order of the regions, and that an undeclared link is absent.
func TestLinkImpairmentOverlay(t *testing.T) {
	three, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	ov := map[[2]string]netem.Impairment{linkKey("us-east", "eu-west"): {Delay: time.Second}}
	for _, ab := range [][2]string{{"us-east", "eu-west"}, {"eu-west", "us-east"}} {
		if imp, ok := linkImpairment(three, ov, ab[0], ab[1]); !ok || imp.Delay != time.Second {
			t.Errorf("%s->%s with an overlay: %+v %v, want the overlay's 1s", ab[0], ab[1], imp, ok)
		}
	}
	if imp, ok := linkImpairment(three, nil, "us-east", "ap-southeast"); !ok || imp.Delay != 100*time.Millisecond || imp.Jitter != 10*time.Millisecond {
		t.Errorf("us-east->ap-southeast baseline: %+v %v, want 100ms ± 10ms", imp, ok)
	}
	if _, ok := linkImpairment(three, nil, "us-east", "nowhere"); ok {
		t.Error("a link the topology does not declare has an impairment")
	}
	if k := linkKey("b", "a"); k != [2]string{"a", "b"} {
		t.Errorf("linkKey(b, a) = %v, want [a b]", k)
	}
}

func TestLinkImpairment(t *testing.T) {
	l := topologies.Link{Between: [2]string{"a", "b"}, RTT: 150 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.1, Rate: 100_000_000}
	want := netem.Impairment{Delay: 75 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.1, Rate: 100_000_000}
	if got := LinkImpairment(l); got != want {
		t.Errorf("LinkImpairment(%+v) = %+v, want %+v", l, got, want)
	}
}
