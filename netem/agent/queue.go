package agent

import (
	"container/heap"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replab/replab/netem"
)

// drainGrace is how long a stopping queue keeps accepting packets at once
// before it unbinds: packets already on their way to the agent when the
// firewall rules were removed still get through instead of being dropped
// by the unbind.
const drainGrace = 100 * time.Millisecond

// queueIO is the netlink side of a queue; tests replace it.
type queueIO interface {
	receive() ([]packet, error)
	sendVerdicts([]verdict) error
	close() error
}

type arrival struct {
	p  packet
	at time.Duration
}

// maxWakeComp caps the wake-up latency the scheduler compensates for: a
// machine slower than that to wake the agent is too loaded to emulate a
// WAN faithfully, and releasing packets that early would be a worse lie.
const maxWakeComp = 2 * time.Millisecond

// queue runs one NFQUEUE with three goroutines: a reader that blocks on the
// socket, a scheduler that owns the release heap, and the scheduler's timer.
// No goroutine per packet.
//
// Two corrections keep the emulated delay honest on a busy machine. The
// hold counts from the kernel's receive timestamp when there is one, so
// the time the packet waited for the agent to read it is part of its
// delay, not added to it. And the scheduler learns how late it wakes
// (an exponentially weighted mean of timer lateness, capped at
// maxWakeComp) and arms its timer that much early.
type queue struct {
	num   uint16
	io    queueIO
	base  time.Time
	log   *slog.Logger
	timer *preciseTimer

	in     chan arrival
	cfgCh  chan queueUpdate
	stopCh chan struct{}
	done   chan struct{}

	received, accepted, lost, overflow, errors atomic.Uint64
	held                                       atomic.Int64
	lagSum, lagN                               atomic.Int64 // arrival lag, ns
	errSum, errN                               atomic.Int64 // release error, ns
	wakeComp                                   atomic.Int64 // ns

	mu  sync.Mutex
	cfg netem.AgentQueue
}

func newQueue(cfg netem.AgentQueue, io queueIO, base time.Time, log *slog.Logger) (*queue, error) {
	t, err := newPreciseTimer()
	if err != nil {
		return nil, fmt.Errorf("queue %d: %w", cfg.Num, err)
	}
	return &queue{
		num: cfg.Num, io: io, base: base, log: log.With("queue", cfg.Num), timer: t,
		in:     make(chan arrival, 1024),
		cfgCh:  make(chan queueUpdate),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
		cfg:    cfg,
	}, nil
}

func (q *queue) start(seed int64) {
	go q.read()
	go q.schedule(newImpairer(q.config(), seed))
}

func (q *queue) config() netem.AgentQueue {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg
}

type queueUpdate struct {
	cfg  netem.AgentQueue
	seed int64
}

// update hands a new impairment, and the config's seed, to the scheduler.
func (q *queue) update(cfg netem.AgentQueue, seed int64) {
	q.mu.Lock()
	q.cfg = cfg
	q.mu.Unlock()
	select {
	case q.cfgCh <- queueUpdate{cfg, seed}:
	case <-q.done:
	}
}

// stop releases every held packet, unbinds and waits for both goroutines.
func (q *queue) stop() {
	close(q.stopCh)
	<-q.done
}

func mean(sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n) / 1e3
}

func (q *queue) status() netem.AgentQueueStatus {
	cfg := q.config()
	return netem.AgentQueueStatus{
		Num: q.num, Links: cfg.Links, Impairment: cfg.Impairment,
		Held:     int(q.held.Load()),
		Received: q.received.Load(), Accepted: q.accepted.Load(),
		Lost: q.lost.Load(), Overflow: q.overflow.Load(), Errors: q.errors.Load(),
		ArrivalLagUS:   mean(q.lagSum.Load(), q.lagN.Load()),
		ReleaseErrorUS: mean(q.errSum.Load(), q.errN.Load()),
		WakeLatencyUS:  float64(q.wakeComp.Load()) / 1e3,
		Stamped:        uint64(q.lagN.Load()), Released: uint64(q.errN.Load()),
		ArrivalLagSumUS: float64(q.lagSum.Load()) / 1e3, ReleaseErrorSumUS: float64(q.errSum.Load()) / 1e3,
	}
}

func (q *queue) read() {
	defer close(q.in)
	failures := 0
	for {
		pkts, err := q.io.receive()
		now, wall := time.Since(q.base), time.Now()
		for _, p := range pkts {
			at := now
			if !p.Stamp.IsZero() {
				if lag := wall.Sub(p.Stamp); lag >= 0 && lag < time.Second {
					at -= lag
					q.lagSum.Add(int64(lag))
					q.lagN.Add(1)
				}
			}
			q.in <- arrival{p: p, at: at}
		}
		if err == nil {
			failures = 0
			continue
		}
		if isClosed(err) {
			return
		}
		q.errors.Add(1)
		if failures++; failures <= 3 || failures%1000 == 0 {
			q.log.Warn("queue receive failed", "err", err, "consecutive", failures)
		}
		if failures > 3 {
			time.Sleep(time.Millisecond) // no busy loop on a persistent error
		}
	}
}

func (q *queue) schedule(imp *impairer) {
	defer close(q.done)
	defer q.timer.close()
	var (
		h     releaseHeap
		seq   uint64
		out   []verdict
		due   []heldPacket
		comp  time.Duration      // estimated wake-up latency
		wakes time.Duration      // timer wake-ups measured, for the first averages
		armed time.Duration = -1 // when the timer should fire, -1 if unarmed
	)
	admit := func(a arrival) {
		q.received.Add(1)
		at, f := imp.admit(a.at, a.p.Len, flowKey(a.p.Header), h.Len())
		switch f {
		case lost:
			q.lost.Add(1)
			out = append(out, verdict{a.p.ID, verdictDrop})
		case overflow:
			q.overflow.Add(1)
			out = append(out, verdict{a.p.ID, verdictDrop})
		default:
			seq++
			heap.Push(&h, heldPacket{at: at, seq: seq, id: a.p.ID})
		}
	}
	for {
		fired := false
		select {
		case a := <-q.in:
			admit(a)
			for more := true; more && len(out) < 512; {
				select {
				case a := <-q.in:
					admit(a)
				default:
					more = false
				}
			}
		case <-q.timer.C:
			fired = true
		case u := <-q.cfgCh:
			imp.setConfig(u.cfg)
			imp.reseed(u.seed)
		case <-q.stopCh:
			q.drain(&h, out)
			return
		}
		now := time.Since(q.base)
		if fired && armed >= 0 && now >= armed {
			// A plain mean over the first 8 wake-ups, then a moving one.
			late := min(now-armed, maxWakeComp)
			wakes = min(wakes+1, 8)
			comp += (late - comp) / wakes
			q.wakeComp.Store(int64(comp))
		}
		due = h.due(now+comp, due[:0])
		for _, p := range due {
			out = append(out, verdict{p.id, verdictAccept})
			q.errSum.Add(int64(now - p.at))
		}
		q.errN.Add(int64(len(due)))
		q.accepted.Add(uint64(len(due)))
		q.held.Store(int64(h.Len()))
		q.flush(out)
		out = out[:0]
		armed = -1
		if h.Len() > 0 {
			armed = h[0].at - comp
			if err := q.timer.reset(armed - now); err != nil {
				q.log.Warn("arm timer", "err", err)
			}
		}
	}
}

// drain accepts everything held, then everything that arrives during
// drainGrace, unbinds, and accepts (in vain) what the reader still hands
// over until it stops.
func (q *queue) drain(h *releaseHeap, out []verdict) {
	for h.Len() > 0 {
		out = append(out, verdict{heap.Pop(h).(heldPacket).id, verdictAccept})
	}
	q.accepted.Add(uint64(len(out)))
	q.held.Store(0)
	q.flush(out)
	grace := time.After(drainGrace)
	closed := false
	for {
		select {
		case a, ok := <-q.in:
			if !ok {
				return
			}
			q.received.Add(1)
			if !closed {
				q.accepted.Add(1)
				q.flush([]verdict{{a.p.ID, verdictAccept}})
			}
		case <-grace:
			grace = nil
			closed = true
			if err := q.io.close(); err != nil {
				q.log.Debug("queue close", "err", err)
			}
		}
	}
}

func (q *queue) flush(out []verdict) {
	if len(out) == 0 {
		return
	}
	if err := q.io.sendVerdicts(out); err != nil {
		q.errors.Add(1)
		q.log.Warn("send verdicts failed", "err", err, "verdicts", len(out))
	}
}
