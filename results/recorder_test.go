package results

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

func TestRecorderRecordsOnOneClock(t *testing.T) {
	r := NewRecorder(RunMeta{ID: "r1", Labels: map[string]string{}})
	if res := r.History().Clock.Resolution; res <= 0 || res > time.Millisecond {
		t.Errorf("clock resolution %v, want (0, 1ms]", res)
	}
	at0 := r.Event(Event{Kind: EventNote, Detail: "start", Resolution: time.Second})
	p := r.Begin(OpStart{Kind: OpWrite, Process: "writer-0", Target: TargetRW, Key: 7})
	r.Sample(Sample{Metric: MetricLagBytes, Node: "b", Value: 42})
	p.End(OpEnd{Outcome: OK, Member: "a", Timeline: 3})
	p.End(OpEnd{Outcome: Failed, Err: errors.New("second end is ignored")})
	r.Sample(Sample{Metric: MetricLagBytes, Node: "b", Value: math.NaN()})
	pending := r.Begin(OpStart{Kind: OpRead, Process: "reader-0", Target: TargetRO, Key: 7})
	r.RecordFinal(FinalState{Member: "a", Keys: []int64{7}, Timeline: 3})

	h := r.History()
	if h.Meta.ID != "r1" || h.Meta.Labels != nil || h.Meta.Started.IsZero() || h.Meta.Started.Location() != time.UTC {
		t.Errorf("meta %+v", h.Meta)
	}
	if len(h.Ops) != 2 || len(h.Samples) != 1 || len(h.Events) != 1 || h.DroppedSamples != 1 {
		t.Fatalf("ops %d samples %d events %d dropped %d", len(h.Ops), len(h.Samples), len(h.Events), h.DroppedSamples)
	}
	w := h.Ops[0]
	if w.ID != 1 || w.Outcome != OK || w.Member != "a" || w.Timeline != 3 || w.Err != "" || w.Key != 7 {
		t.Errorf("write %+v", w)
	}
	if !(at0 <= w.Invoke && w.Invoke <= h.Samples[0].At && h.Samples[0].At <= w.Complete) {
		t.Errorf("times out of order: event %v invoke %v sample %v complete %v", at0, w.Invoke, h.Samples[0].At, w.Complete)
	}
	if h.Events[0].Resolution != time.Second {
		t.Errorf("event %+v", h.Events[0])
	}
	if o := h.Ops[1]; o.Outcome != Unknown || o.Err != ErrPendingText || o.Complete < o.Invoke {
		t.Errorf("pending op %+v", o)
	}
	pending.End(OpEnd{Outcome: OK, Found: true})
	if o := r.History().Ops[1]; o.Outcome != OK || !o.Found || o.Err != "" {
		t.Errorf("op ended after the snapshot: %+v", o)
	}

	// the snapshot is a deep copy
	h.Final.Keys[0] = 99
	h.Ops[0].Key = 99
	if h2 := r.History(); h2.Final.Keys[0] != 7 || h2.Ops[0].Key != 7 {
		t.Error("History shares memory with the recorder")
	}
	if r.Now() < w.Complete {
		t.Error("Now went backwards")
	}
}

func TestRecorderEmptyOutcomeIsUnknown(t *testing.T) {
	r := NewRecorder(RunMeta{})
	r.Begin(OpStart{Kind: OpWrite}).End(OpEnd{Err: errors.New("boom")})
	if o := r.History().Ops[0]; o.Outcome != Unknown || o.Err != "boom" {
		t.Errorf("op %+v", o)
	}
	if h := r.History(); h.Samples != nil || h.Events != nil || h.Final != nil {
		t.Errorf("empty lists should be nil: %+v", h)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(RunMeta{ID: "c"})
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p := r.Begin(OpStart{Kind: OpWrite, Process: fmt.Sprintf("writer-%d", w), Target: TargetRW, Key: int64(w*each + i)})
				r.Sample(Sample{Metric: MetricLagReplaySeconds, Node: "f", Value: 0.01})
				p.End(OpEnd{Outcome: OK})
				if i%100 == 0 {
					r.Event(Event{Kind: EventNote})
					_ = r.History()
				}
			}
		})
	}
	wg.Wait()
	h := r.History()
	if len(h.Ops) != workers*each || len(h.Samples) != workers*each || len(h.Events) != workers*each/100 {
		t.Fatalf("ops %d samples %d events %d", len(h.Ops), len(h.Samples), len(h.Events))
	}
	for i, o := range h.Ops {
		if o.ID != int64(i+1) || o.Outcome != OK || o.Complete < o.Invoke {
			t.Fatalf("op %d: %+v", i, o)
		}
		if i > 0 && o.Invoke < h.Ops[i-1].Invoke {
			t.Fatalf("op ids not in invocation order at %d", i)
		}
	}
}

// BenchmarkRecorder records Begin/End pairs on one goroutine, as one writer
// would, and reports the rate. Recorders are replaced every 100,000
// operations so that memory stays bounded.
func BenchmarkRecorder(b *testing.B) {
	r := NewRecorder(RunMeta{ID: "bench"})
	n := 0
	start := time.Now()
	for b.Loop() {
		if n++; n%100_000 == 0 {
			r = NewRecorder(RunMeta{ID: "bench"})
		}
		p := r.Begin(OpStart{Kind: OpWrite, Process: "writer-0", Target: TargetRW, Key: int64(n)})
		p.End(OpEnd{Outcome: OK, Member: "lab-1", Timeline: 1})
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkRecorderParallel is BenchmarkRecorder from every core at once:
// the lock is shared.
func BenchmarkRecorderParallel(b *testing.B) {
	r := NewRecorder(RunMeta{ID: "bench"})
	var mu sync.Mutex
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			if n++; n%100_000 == 0 {
				mu.Lock()
				r = NewRecorder(RunMeta{ID: "bench"})
				mu.Unlock()
			}
			mu.Lock()
			rec := r
			mu.Unlock()
			rec.Begin(OpStart{Kind: OpWrite, Process: "writer", Target: TargetRW, Key: int64(n)}).End(OpEnd{Outcome: OK})
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkBeginEnd is the measurement overhead per operation: one
// Begin/End pair, in ns/op.
func BenchmarkBeginEnd(b *testing.B) {
	r := NewRecorder(RunMeta{ID: "bench"})
	n := 0
	for b.Loop() {
		if n++; n%100_000 == 0 {
			b.StopTimer()
			r = NewRecorder(RunMeta{ID: "bench"})
			b.StartTimer()
		}
		r.Begin(OpStart{Kind: OpWrite, Process: "writer-0", Target: TargetRW, Key: int64(n)}).End(OpEnd{Outcome: OK})
	}
}

// BenchmarkSample is the cost of one lag sample.
func BenchmarkSample(b *testing.B) {
	r := NewRecorder(RunMeta{ID: "bench"})
	n := 0
	for b.Loop() {
		if n++; n%100_000 == 0 {
			r = NewRecorder(RunMeta{ID: "bench"})
		}
		r.Sample(Sample{Metric: MetricLagReplaySeconds, Node: "lab-2", Value: 0.01})
	}
}

func TestRecorderOpsSince(t *testing.T) {
	r := NewRecorder(RunMeta{})
	for i := range chunkSize + 10 {
		r.Begin(OpStart{Kind: OpWrite, Key: int64(i)}).End(OpEnd{Outcome: OK})
	}
	p := r.Begin(OpStart{Kind: OpWrite, Key: -1})
	got := r.OpsSince(chunkSize - 2)
	if len(got) != 13 || got[0].ID != chunkSize-1 || got[0].Key != chunkSize-2 || got[12].Outcome != "" || got[11].Outcome != OK {
		t.Fatalf("OpsSince: %d ops, first %+v", len(got), got[0])
	}
	p.End(OpEnd{Outcome: Failed})
	if got := r.OpsSince(chunkSize + 10); len(got) != 1 || got[0].Outcome != Failed {
		t.Errorf("last op %+v", got)
	}
	if r.OpsSince(chunkSize+11) != nil || len(r.OpsSince(-5)) != chunkSize+11 {
		t.Error("bounds")
	}
}
