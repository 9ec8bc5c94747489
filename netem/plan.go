package netem

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/replab/replab/units"
)

// Impairment is what happens to packets on one direction of a link: a
// one-way delay with uniform jitter, random loss, a rate limit, or a cut.
// The zero value impairs nothing.
type Impairment struct {
	// Delay is the one-way delay. A region pair with round-trip time RTT
	// gets RTT/2 on each side.
	Delay time.Duration
	// Jitter spreads each packet's delay uniformly over Delay±Jitter
	// (clamped at zero). The userspace agent keeps each flow in order
	// unless told to reorder; kernel netem reorders under jitter.
	Jitter time.Duration
	// Loss drops this share of packets at random, independently.
	Loss units.Percent
	// Rate caps the link's throughput; 0 means unlimited. A rate is a
	// capacity shared by every peer of the Rule that declares it.
	Rate units.BitRate
	// Blackhole drops every packet: a network cut. The other fields are
	// then ignored.
	Blackhole bool
}

// MaxRateBacklog bounds the queue in front of a rate-limited link, as a
// router's buffer (or tc tbf's latency) does: a packet that would wait
// longer than this to be sent is dropped. Without the bound the queue only
// ends at the backend's packet limit, minutes of backlog at a low rate, and
// a TCP sender never sees a loss: it empties its whole buffer onto the
// emulated wire at once, where a real bottleneck would have made it keep
// (and lose, if it crashes) its backlog. The userspace agent drops on this
// bound exactly; the kernel backend sizes netem's limit from it.
const MaxRateBacklog = 100 * time.Millisecond

// IsZero reports whether the impairment changes nothing.
func (im Impairment) IsZero() bool { return im == Impairment{} }

// Validate reports the first field that is out of range.
func (im Impairment) Validate() error {
	switch {
	case im.Delay < 0:
		return fmt.Errorf("%w: delay %v is negative", ErrInvalidPlan, im.Delay)
	case im.Jitter < 0:
		return fmt.Errorf("%w: jitter %v is negative", ErrInvalidPlan, im.Jitter)
	case im.Loss < 0 || im.Loss > 100:
		return fmt.Errorf("%w: loss %v is outside 0%%..100%%", ErrInvalidPlan, im.Loss)
	}
	return nil
}

// String renders the impairment in tc's words, e.g. "delay 40ms jitter 2ms
// loss 0.1% rate 10mbit", "blackhole" or "none".
func (im Impairment) String() string {
	if im.Blackhole {
		return "blackhole"
	}
	var parts []string
	if im.Delay != 0 {
		parts = append(parts, "delay "+im.Delay.String())
	}
	if im.Jitter != 0 {
		parts = append(parts, "jitter "+im.Jitter.String())
	}
	if im.Loss != 0 {
		parts = append(parts, "loss "+im.Loss.String())
	}
	if im.Rate != 0 {
		parts = append(parts, "rate "+im.Rate.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

type impairmentJSON struct {
	Delay     string        `json:"delay,omitempty"`
	Jitter    string        `json:"jitter,omitempty"`
	Loss      units.Percent `json:"loss,omitempty"`
	Rate      string        `json:"rate,omitempty"`
	Blackhole bool          `json:"blackhole,omitempty"`
}

// MarshalJSON writes durations and rates as strings a person can read:
// {"delay":"40ms","loss":0.1,"rate":"10mbit"}.
func (im Impairment) MarshalJSON() ([]byte, error) {
	j := impairmentJSON{Loss: im.Loss, Blackhole: im.Blackhole}
	if im.Delay != 0 {
		j.Delay = im.Delay.String()
	}
	if im.Jitter != 0 {
		j.Jitter = im.Jitter.String()
	}
	if im.Rate != 0 {
		j.Rate = im.Rate.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (im *Impairment) UnmarshalJSON(b []byte) error {
	var j impairmentJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode impairment: %w", err)
	}
	out := Impairment{Loss: j.Loss, Blackhole: j.Blackhole}
	var err error
	if j.Delay != "" {
		if out.Delay, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("decode impairment: delay: %w", err)
		}
	}
	if j.Jitter != "" {
		if out.Jitter, err = time.ParseDuration(j.Jitter); err != nil {
			return fmt.Errorf("decode impairment: jitter: %w", err)
		}
	}
	if j.Rate != "" {
		if out.Rate, err = units.ParseBitRate(j.Rate); err != nil {
			return fmt.Errorf("decode impairment: %w", err)
		}
	}
	*im = out
	return nil
}

// Rule impairs the traffic between the node and a set of peers: one
// direction of one link, seen from the node that holds the rule (see Plan
// for which direction each backend holds).
type Rule struct {
	// Link names the link in logs, status and errors, e.g.
	// "eu-west->us-east". Optional.
	Link string `json:"link,omitempty"`
	// Peers are the addresses at the far end: single hosts (/32, /128) or
	// subnets. A prefix may appear in one rule only; where prefixes overlap
	// the most specific one decides.
	Peers      []netip.Prefix `json:"peers"`
	Impairment Impairment     `json:"impairment"`
}

// Plan is the whole set of impairments of ONE node, by peer. Applying a
// plan replaces the previous one; the empty plan impairs nothing.
//
// Each backend holds packets on one side of the wire, so a Rule on node N
// for peers P means:
//
//	userspace (ingress): packets P ──▶ N are held when they arrive at N
//	kernel    (egress):  packets N ──▶ P are held when they leave N
//
//	        node A                                   node B
//	  plan: peers B, delay d            plan: peers A, delay d
//	 ┌──────────────────┐                   ┌──────────────────┐
//	 │ kernel: egress   │── A→B held d ───▶ │ userspace:       │
//	 │ qdisc holds A→B  │                   │ INPUT holds A→B  │
//	 │                  │ ◀── B→A held d ── │                  │
//	 └──────────────────┘                   └──────────────────┘
//
// Either way, when each node holds RTT/2 for its peers a round trip takes
// RTT. For a symmetric link (the only kind topologies declare) the two
// readings are the same plan; for an asymmetric one, build each node's plan
// with Backend.HoldsIngress in mind.
type Plan struct {
	Rules []Rule `json:"rules"`
	// Seed seeds the userspace agent's jitter and loss so runs repeat; 0
	// is taken as 1. Kernel netem has no seed and ignores it.
	Seed int64 `json:"seed,omitempty"`
}

// Validate checks every rule: at least one peer, prefixes without host
// bits, each prefix in one rule only, and impairments in range. Errors wrap
// ErrInvalidPlan and name the rule.
func (p Plan) Validate() error {
	seen := map[netip.Prefix]string{}
	for i, r := range p.Rules {
		name := r.label(i)
		if len(r.Peers) == 0 {
			return fmt.Errorf("%w: rule %s has no peers", ErrInvalidPlan, name)
		}
		if err := r.Impairment.Validate(); err != nil {
			return fmt.Errorf("rule %s: %w", name, err)
		}
		for _, pf := range r.Peers {
			switch {
			case !pf.IsValid():
				return fmt.Errorf("%w: rule %s has an invalid peer prefix", ErrInvalidPlan, name)
			case pf.Addr().Is4In6():
				return fmt.Errorf("%w: rule %s: peer %v is IPv4-mapped IPv6; write it as %v", ErrInvalidPlan, name, pf, netip.PrefixFrom(pf.Addr().Unmap(), max(pf.Bits()-96, 0)).Masked())
			case pf.Masked() != pf:
				return fmt.Errorf("%w: rule %s: peer %v has host bits set; want %v", ErrInvalidPlan, name, pf, pf.Masked())
			}
			if other, dup := seen[pf]; dup {
				return fmt.Errorf("%w: peer %v appears in rules %s and %s; a prefix may be in one rule only", ErrInvalidPlan, pf, other, name)
			}
			seen[pf] = name
		}
	}
	return nil
}

func (r Rule) label(i int) string {
	if r.Link != "" {
		return fmt.Sprintf("%d (%s)", i, r.Link)
	}
	return fmt.Sprint(i)
}

// group is one set of peers that share an impairment: one tc class with its
// netem qdisc, or one NFQUEUE. Rules with the same impairment and no rate
// share a group (delay, jitter and loss act per packet, so sharing changes
// nothing); a rule with a rate keeps its own group so that its capacity is
// not shared with other links.
type group struct {
	Index      int // 0-based, in plan order
	Links      []string
	Prefixes   []netip.Prefix
	Impairment Impairment
}

// match is one filter or firewall rule: a prefix and where it goes.
type match struct {
	Prefix netip.Prefix
	Link   string
	// Group is the index into groups, or -1 for a blackhole.
	Group int
}

// compiled is a validated plan reduced to groups and ordered matches.
type compiled struct {
	Groups []group
	// Matches are ordered most specific prefix first (then by address), so
	// that first-match-wins filters and firewall chains give every packet
	// the rule of its most specific prefix.
	Matches []match
	Seed    int64
}

func compile(p Plan) (compiled, error) {
	if err := p.Validate(); err != nil {
		return compiled{}, err
	}
	c := compiled{Seed: p.Seed}
	if c.Seed == 0 {
		c.Seed = 1
	}
	shared := map[Impairment]int{}
	for i, r := range p.Rules {
		im := r.Impairment
		if im.IsZero() {
			continue
		}
		link := r.Link
		if link == "" {
			link = fmt.Sprintf("rule-%d", i)
		}
		if im.Blackhole {
			for _, pf := range r.Peers {
				c.Matches = append(c.Matches, match{Prefix: pf, Link: link, Group: -1})
			}
			continue
		}
		gi, ok := shared[im]
		if !ok || im.Rate != 0 {
			gi = len(c.Groups)
			c.Groups = append(c.Groups, group{Index: gi, Impairment: im})
			if im.Rate == 0 {
				shared[im] = gi
			}
		}
		g := &c.Groups[gi]
		if !slices.Contains(g.Links, link) {
			g.Links = append(g.Links, link)
		}
		for _, pf := range r.Peers {
			g.Prefixes = append(g.Prefixes, pf)
			c.Matches = append(c.Matches, match{Prefix: pf, Link: link, Group: gi})
		}
	}
	slices.SortStableFunc(c.Matches, func(a, b match) int {
		if a.Prefix.Addr().Is4() != b.Prefix.Addr().Is4() {
			if a.Prefix.Addr().Is4() {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()); c != 0 {
			return c
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
	return c, nil
}

// ErrInvalidPlan is wrapped by every validation error.
var ErrInvalidPlan = errors.New("invalid netem plan")
