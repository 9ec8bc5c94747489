package harness

import (
	"net/netip"

	"github.com/replab/replab/netem"
	"github.com/replab/replab/topologies"
)

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

// linkImpairment is what each end of the link between regions a and b
// holds: the overlay when there is one, else the topology's baseline; false
// when the topology declares no such link.
func linkImpairment(t *topologies.Topology, overlay map[[2]string]netem.Impairment, a, b string) (netem.Impairment, bool) {
	if imp, ok := overlay[linkKey(a, b)]; ok {
		return imp, true
	}
	l, ok := t.Link(a, b)
	if !ok {
		return netem.Impairment{}, false
	}
	return LinkImpairment(l), true
}

// LinkImpairment is the impairment each end of a topology link holds for
// the other: RTT/2 of delay, so a round trip takes the declared RTT, plus
// the link's jitter, loss and rate per direction. The WAN plan and
// `replab chaos degrade` (a degradation starts from the baseline) both use
// it, so the two cannot disagree.
func LinkImpairment(l topologies.Link) netem.Impairment {
	return netem.Impairment{Delay: l.RTT / 2, Jitter: l.Jitter, Loss: l.Loss, Rate: l.Rate}
}
