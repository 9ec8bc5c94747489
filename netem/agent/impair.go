package agent

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/replab/replab/netem"
)

// fate is what admit decided for a packet.
type fate uint8

const (
	hold     fate = iota // hold until the release time, then accept
	lost                 // dropped for Loss
	overflow             // dropped because Limit packets are held
)

// MaxRateBacklog is netem.MaxRateBacklog: the queue in front of a
// rate-limited link holds at most that much serialisation backlog.
const MaxRateBacklog = netem.MaxRateBacklog

// impairer decides each packet's release time. It is pure apart from its
// seeded random source: times are offsets on the agent's monotonic clock,
// supplied by the caller, so tests drive it with a fake clock.
type impairer struct {
	cfg   netem.AgentQueue
	limit int
	seed  int64
	rng   *rand.Rand
	// rateFree is when the emulated link finishes sending the packets
	// admitted so far (token bucket of depth one packet).
	rateFree time.Duration
	// flows holds each flow's last release time, to keep flows in order.
	flows     map[uint64]time.Duration
	lastPrune time.Duration
}

func newImpairer(cfg netem.AgentQueue, seed int64) *impairer {
	s := &impairer{flows: map[uint64]time.Duration{}}
	s.setConfig(cfg)
	s.reseed(seed)
	return s
}

// reseed restarts the random source from seed (and the queue number) if
// the seed changed.
func (s *impairer) reseed(seed int64) {
	if s.rng != nil && seed == s.seed {
		return
	}
	s.seed = seed
	s.rng = rand.New(rand.NewPCG(uint64(seed), uint64(s.cfg.Num)))
}

// setConfig changes the impairment. Held packets keep their release
// times; flow order is kept across the change.
func (s *impairer) setConfig(cfg netem.AgentQueue) {
	if cfg.Impairment.Rate != s.cfg.Impairment.Rate {
		s.rateFree = 0
	}
	s.cfg = cfg
	s.limit = cfg.Limit
	if s.limit <= 0 {
		s.limit = netem.DefaultAgentLimit
	}
}

// admit decides the fate of a packet of size bytes of flow arriving at now
// while held packets are held, and its release time if it is held.
//
// With a rate the packet first waits for the link (serialisation), then
// travels for delay±jitter (propagation), as on a real link. Unless
// Reorder, a packet is never released before an earlier one of its flow.
func (s *impairer) admit(now time.Duration, size int, flow uint64, held int) (time.Duration, fate) {
	im := s.cfg.Impairment
	if im.Loss > 0 && s.rng.Float64()*100 < float64(im.Loss) {
		return 0, lost
	}
	if held >= s.limit {
		return 0, overflow
	}
	depart := now
	if im.Rate > 0 {
		start := max(now, s.rateFree)
		if start-now > MaxRateBacklog {
			return 0, overflow
		}
		depart = start + time.Duration(float64(size*8)/float64(im.Rate)*float64(time.Second))
		s.rateFree = depart
	}
	d := im.Delay
	if im.Jitter > 0 {
		d += time.Duration((s.rng.Float64()*2 - 1) * float64(im.Jitter))
		d = max(d, 0)
	}
	release := depart + d
	if !s.cfg.Reorder {
		if last, ok := s.flows[flow]; ok && last > release {
			release = last
		}
		s.flows[flow] = release
		s.prune(now)
	}
	return release, hold
}

// prune forgets flows with nothing held, once a second, so the map does
// not grow with every connection ever seen.
func (s *impairer) prune(now time.Duration) {
	if now-s.lastPrune < time.Second {
		return
	}
	s.lastPrune = now
	for k, t := range s.flows {
		if t < now {
			delete(s.flows, k)
		}
	}
}

// heldPacket is a packet waiting for its release time.
type heldPacket struct {
	at  time.Duration
	seq uint64 // arrival order, to break ties
	id  uint32
}

// releaseHeap is a min-heap of held packets by release time, then arrival.
type releaseHeap []heldPacket

func (h releaseHeap) Len() int { return len(h) }
func (h releaseHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h releaseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *releaseHeap) Push(x any)   { *h = append(*h, x.(heldPacket)) }
func (h *releaseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// due pops every packet released at or before now, in release order.
func (h *releaseHeap) due(now time.Duration, out []heldPacket) []heldPacket {
	for h.Len() > 0 && (*h)[0].at <= now {
		out = append(out, heap.Pop(h).(heldPacket))
	}
	return out
}
