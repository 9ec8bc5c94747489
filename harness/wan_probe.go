package harness

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/replab/replab/netem"
)

// RTT is one measured round trip between two regions.
type RTT struct {
	From, To   string        // regions
	Via        string        // "lab-1 -> euw-1"
	Configured time.Duration // 0 within a region
	Measured   time.Duration // median of pingCount pings
	Tolerance  time.Duration
	OK         bool
}

// pingCount pings per pair, of which the probe takes the median: under
// jitter a mean of a few pings strays past a tolerance (three-region's
// 10ms per direction against its ±10ms) often enough that Up would refuse
// sound labs, and a median of 11 does not (README.md, "Regions and the
// WAN", has the figures). ping prints 3 significant digits: the resolution
// is 1ms from 100ms up, 0.1ms from 10ms.
const pingCount = 11

// ProbeRTT measures, with ping from inside the namespaces, the round trip
// between one node of every pair of regions (and within each region), and
// compares it with the declared RTT: OK when within the larger of the
// topology's tolerance percentage and absolute slack. Intra-region pairs
// must stay under 2ms.
func (w *WAN) ProbeRTT(ctx context.Context) ([]RTT, error) {
	pairs, probes := w.rttPairs()
	err := w.measureRTT(ctx, pairs, probes)
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].Configured > pairs[j].Configured })
	return pairs, err
}

// rttProbe is the two hosts a pair's round trip is measured between.
type rttProbe struct {
	from, to Host
}

// rttPairs lists, in region order, the pairs ProbeRTT measures and the
// hosts it pings between.
func (w *WAN) rttPairs() ([]RTT, []rttProbe) {
	first := map[string][]Host{}
	var regions []string
	for _, h := range w.lab.Hosts() {
		if h.Role != RoleNode {
			continue
		}
		if len(first[h.Region]) == 0 {
			regions = append(regions, h.Region)
		}
		first[h.Region] = append(first[h.Region], h)
	}
	var pairs []RTT
	var probes []rttProbe
	for i, a := range regions {
		for _, b := range regions[i:] {
			from, to := first[a][0], first[b][0]
			if a == b {
				if len(first[a]) < 2 {
					continue
				}
				to = first[a][1]
			}
			r := RTT{From: a, To: b, Via: from.Name + " -> " + to.Name}
			if lk, ok := w.lab.topo.Link(a, b); ok && a != b {
				r.Configured = lk.RTT
				r.Tolerance = w.rttTolerance(lk.RTT)
			} else {
				r.Tolerance = 2 * time.Millisecond
			}
			pairs = append(pairs, r)
			probes = append(probes, rttProbe{from, to})
		}
	}
	return pairs, probes
}

// measureRTT pings every pair in parallel and fills in Measured and OK.
func (w *WAN) measureRTT(ctx context.Context, pairs []RTT, probes []rttProbe) error {
	g, gctx := errgroup.WithContext(ctx)
	for i := range pairs {
		g.Go(func() error {
			p, pr := &pairs[i], probes[i]
			out, err := containerHost{w.lab, pr.from.Name}.Run(gctx, []string{"ping", "-n", "-c", strconv.Itoa(pingCount), "-i", "0.2", "-W", "3", pr.to.IP})
			if err != nil {
				return fmt.Errorf("probe rtt %s: %w", p.Via, err)
			}
			if p.Measured, err = netem.PingMedian(string(out)); err != nil {
				return fmt.Errorf("probe rtt %s: %w", p.Via, err)
			}
			if p.Configured == 0 {
				p.OK = p.Measured < p.Tolerance
			} else {
				p.OK = math.Abs(float64(p.Measured-p.Configured)) <= float64(p.Tolerance)
			}
			return nil
		})
	}
	return g.Wait()
}

// verifyAttempts and verifySettle bound verify's retries. The check
// runs as the last replica finishes its base backup, when every node's
// PostgreSQL and Patroni are busy on the same cores as the agents: one
// median of 11 pings can land past the tolerance on a momentary backlog
// (and with three-region's ±10ms jitter per direction the median itself
// strays about 3ms). A pair is refused only when every attempt misses,
// which a wrong delay, a missing agent or a lasting overload still do.
const (
	verifyAttempts = 3
	verifySettle   = 2 * time.Second
)

// verify refuses a lab whose measured RTTs are off the declared ones:
// every figure a suite reports would be wrong. A pair that misses is
// measured again, up to verifyAttempts times in all, after verifySettle;
// the lab is refused when a pair missed on every attempt, and the error
// lists each attempt's measurement. Each queue's release error since its
// agent started is logged afterwards, pass or fail.
func (w *WAN) verify(ctx context.Context) error {
	if !w.hasLinks() {
		return nil
	}
	defer w.logFidelity(ctx)
	pairs, probes := w.rttPairs()
	misses := map[int][]string{} // by index in pairs
	pending := make([]int, len(pairs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		ps, prs := make([]RTT, len(pending)), make([]rttProbe, len(pending))
		for j, i := range pending {
			ps[j], prs[j] = pairs[i], probes[i]
		}
		if err := w.measureRTT(ctx, ps, prs); err != nil {
			return fmt.Errorf("verify WAN: %w", err)
		}
		var still []int
		for j, i := range pending {
			r := ps[j]
			pairs[i] = r
			w.lab.log.Info("rtt", "attempt", attempt, "pair", r.From+"<->"+r.To, "via", r.Via, "configured", r.Configured, "measured", r.Measured.Round(10*time.Microsecond), "tolerance", r.Tolerance, "ok", r.OK)
			if !r.OK {
				misses[i] = append(misses[i], fmt.Sprintf("attempt %d %s", attempt, r.Measured.Round(10*time.Microsecond)))
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if attempt == verifyAttempts {
			var bad []string
			for _, i := range pending {
				r := pairs[i]
				bad = append(bad, fmt.Sprintf("%s<->%s (%s) measured %s, configured %s ± %s", r.From, r.To, r.Via, strings.Join(misses[i], ", "), r.Configured, r.Tolerance))
			}
			b, _ := w.Backend()
			return fmt.Errorf("verify WAN (%s backend): missed on all %d attempts %s apart: %s; the machine may be overloaded (see the release errors logged below), or widen network.tolerance",
				b, verifyAttempts, verifySettle, strings.Join(bad, "; "))
		}
		w.lab.log.Warn("rtt off its tolerance; measuring again", "pairs", len(pending), "attempt", attempt, "of", verifyAttempts, "settle", verifySettle)
		select {
		case <-ctx.Done():
			return fmt.Errorf("verify WAN: %w", ctx.Err())
		case <-time.After(verifySettle):
		}
	}
	return nil
}

// rttTolerance is how far a measured round trip may stray from rtt: the
// larger of the topology's percentage of it and its absolute slack.
func (w *WAN) rttTolerance(rtt time.Duration) time.Duration {
	pct := time.Duration(float64(rtt) * float64(w.lab.topo.Network.TolerancePct) / 100)
	return max(pct, w.lab.topo.Network.ToleranceAbs)
}
