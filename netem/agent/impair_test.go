package agent

import (
	"container/heap"
	"slices"
	"testing"
	"time"

	"github.com/replab/replab/netem"
	"github.com/replab/replab/units"
)

func q(im netem.Impairment) netem.AgentQueue { return netem.AgentQueue{Num: 1000, Impairment: im} }

func TestImpairerDelay(t *testing.T) {
	s := newImpairer(q(netem.Impairment{Delay: 40 * time.Millisecond}), 1)
	for i, now := range []time.Duration{0, time.Millisecond, 7 * time.Millisecond} {
		at, f := s.admit(now, 1500, uint64(i), 0)
		if f != hold || at != now+40*time.Millisecond {
			t.Errorf("admit at %v = %v, %v; want hold until %v", now, at, f, now+40*time.Millisecond)
		}
	}
}

func TestImpairerJitterSeededAndBounded(t *testing.T) {
	im := netem.Impairment{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}
	run := func(seed int64, reorder bool) []time.Duration {
		cfg := q(im)
		cfg.Reorder = reorder
		s := newImpairer(cfg, seed)
		var out []time.Duration
		for i := range 1000 {
			now := time.Duration(i) * 100 * time.Microsecond
			at, _ := s.admit(now, 100, 7, 0)
			out = append(out, at)
			if d := at - now; d < 40*time.Millisecond && !reorder {
				// in-order release may only add time
				t.Fatalf("packet %d held %v, less than delay-jitter", i, d)
			}
		}
		return out
	}
	a, b, c := run(1, true), run(1, true), run(2, true)
	if !slices.Equal(a, b) {
		t.Error("same seed, different release times")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same release times")
	}
	lo, hi := time.Hour, time.Duration(0)
	reordered := false
	for i, at := range a {
		d := at - time.Duration(i)*100*time.Microsecond
		lo, hi = min(lo, d), max(hi, d)
		if i > 0 && at < a[i-1] {
			reordered = true
		}
	}
	if lo < 40*time.Millisecond || hi > 60*time.Millisecond || hi-lo < 15*time.Millisecond {
		t.Errorf("delays span %v..%v, want about 40ms..60ms", lo, hi)
	}
	if !reordered {
		t.Error("Reorder with jitter never reordered a flow")
	}
	inOrder := run(1, false)
	if !slices.IsSorted(inOrder) {
		t.Error("one flow was reordered without Reorder")
	}
}

func TestImpairerRate(t *testing.T) {
	// 10 Mbit/s: a 1250-byte packet takes 1 ms on the wire.
	s := newImpairer(q(netem.Impairment{Delay: 20 * time.Millisecond, Rate: 10_000_000}), 1)
	for i := range 5 {
		at, _ := s.admit(0, 1250, 1, 0)
		if want := time.Duration(i+1)*time.Millisecond + 20*time.Millisecond; at != want {
			t.Errorf("packet %d released at %v, want %v", i, at, want)
		}
	}
	// An idle link does not bank credit.
	at, _ := s.admit(time.Second, 1250, 1, 0)
	if want := time.Second + 21*time.Millisecond; at != want {
		t.Errorf("after idle: released at %v, want %v", at, want)
	}
}

func TestImpairerLossAndLimit(t *testing.T) {
	count := func(loss units.Percent) (n int) {
		s := newImpairer(q(netem.Impairment{Loss: loss}), 3)
		for i := range 10000 {
			if _, f := s.admit(time.Duration(i), 100, 1, 0); f == lost {
				n++
			}
		}
		return n
	}
	if n := count(0); n != 0 {
		t.Errorf("loss 0%%: %d lost", n)
	}
	if n := count(10); n < 900 || n > 1100 {
		t.Errorf("loss 10%%: %d of 10000 lost", n)
	}
	if n := count(100); n != 10000 {
		t.Errorf("loss 100%%: %d of 10000 lost", n)
	}
	cfg := q(netem.Impairment{Delay: time.Millisecond})
	cfg.Limit = 3
	s := newImpairer(cfg, 1)
	if _, f := s.admit(0, 1, 1, 2); f != hold {
		t.Errorf("2 held of 3: %v, want hold", f)
	}
	if _, f := s.admit(0, 1, 1, 3); f != overflow {
		t.Errorf("3 held of 3: %v, want overflow", f)
	}
}

func TestImpairerConfigChangeKeepsFlowOrder(t *testing.T) {
	s := newImpairer(q(netem.Impairment{Delay: 100 * time.Millisecond}), 1)
	first, _ := s.admit(0, 1, 9, 0)
	s.setConfig(q(netem.Impairment{Delay: 10 * time.Millisecond}))
	second, _ := s.admit(time.Millisecond, 1, 9, 1)
	if second < first {
		t.Errorf("after lowering the delay a packet (%v) overtook an earlier one of its flow (%v)", second, first)
	}
	other, _ := s.admit(time.Millisecond, 1, 10, 1)
	if other != 11*time.Millisecond {
		t.Errorf("another flow released at %v, want 11ms", other)
	}
}

func TestReleaseHeap(t *testing.T) {
	var h releaseHeap
	for i, at := range []time.Duration{30, 10, 20, 10} {
		heap.Push(&h, heldPacket{at: at, seq: uint64(i), id: uint32(i)})
	}
	var ids []uint32
	for _, p := range h.due(20, nil) {
		ids = append(ids, p.id)
	}
	if !slices.Equal(ids, []uint32{1, 3, 2}) || h.Len() != 1 {
		t.Errorf("due(20) = %v with %d left, want [1 3 2] with 1 left", ids, h.Len())
	}
}

func TestImpairerRateQueueIsBounded(t *testing.T) {
	// 1 Mbit/s: a 1250-byte packet takes 10ms; a burst at one instant fills
	// MaxRateBacklog after 11 packets, and the rest are tail-dropped.
	s := newImpairer(q(netem.Impairment{Rate: 1_000_000}), 1)
	var held, dropped int
	for range 50 {
		if _, f := s.admit(0, 1250, 1, 0); f == overflow {
			dropped++
		} else {
			held++
		}
	}
	if want := int(MaxRateBacklog/(10*time.Millisecond)) + 1; held != want || dropped != 50-want {
		t.Errorf("burst of 50 at 1 Mbit/s: %d held, %d dropped; want %d held", held, dropped, want)
	}
	// Once the backlog drains, the link accepts again.
	if _, f := s.admit(time.Second, 1250, 1, 0); f != hold {
		t.Errorf("after the backlog drained: fate %v, want hold", f)
	}
}
