package results

import (
	"testing"
	"time"
)

// TestWriteLatencyCountsOnlyAcknowledgedWritesOfTheWindow: the window's
// percentiles come from its ok writes of the named process alone; a
// failed or unknown write (a timeout is not a commit's latency), a write
// of another process, a read and a write invoked outside the window are
// left out.
func TestWriteLatencyCountsOnlyAcknowledgedWritesOfTheWindow(t *testing.T) {
	b := newHB()
	// Ten ok writes of 1..10 ms, invoked at 100, 110, ... 190 ms.
	for i := range 10 {
		inv := 100 + 10*float64(i)
		b.write("writer-0", int64(i), inv, inv+float64(i+1), OK, "lab-1")
	}
	b.write("writer-0", 20, 150, 1150, Unknown, "")  // timed out: 1s
	b.write("writer-0", 21, 160, 900, Failed, "")    // refused after 740ms
	b.write("session-0", 22, 150, 650, OK, "lab-1")  // another client
	b.write("writer-0", 23, 99, 599, OK, "lab-1")    // invoked before the window
	b.write("writer-0", 24, 200, 700, OK, "lab-1")   // invoked at its end
	b.read("writer-0", 1, 150, 650, true, "lab-2")   // a read
	b.write("writer-0", 25, 190.5, 300, OK, "lab-1") // invoked inside, completes after: counts

	got := WriteLatency(b.h, "writer-0", Window{ms(100), ms(200)})
	if got.Samples != 11 || got.Excluded != 2 {
		t.Fatalf("samples %d excluded %d, want 11 ok and 2 not acknowledged", got.Samples, got.Excluded)
	}
	// Sorted: 1..10 ms and 109.5 ms. Nearest rank: p50 is the 6th (6 ms),
	// p95 and p99 the 11th.
	if got.P50 != ms(6) || got.P95 != ms(109.5) || got.P99 != ms(109.5) || got.Max != ms(109.5) {
		t.Errorf("p50 %s p95 %s p99 %s max %s, want 6ms 109.5ms 109.5ms 109.5ms", got.P50, got.P95, got.P99, got.Max)
	}
	p50, _, _ := got.Cells()
	if p50 != "6ms" {
		t.Errorf("p50 cell %q, want 6ms", p50)
	}
}

// TestWriteLatencyOfAnEmptyWindowIsUnknownNotZero: a window in which no
// write was acknowledged (all failed, or none invoked) has no latency;
// its cells say so instead of showing 0s.
func TestWriteLatencyOfAnEmptyWindowIsUnknownNotZero(t *testing.T) {
	b := newHB()
	b.write("writer-0", 1, 10, 1010, Unknown, "")
	b.write("writer-0", 2, 20, 30, Failed, "")
	for name, win := range map[string][2]float64{"only failures": {0, 100}, "nothing invoked": {500, 600}} {
		got := WriteLatency(b.h, "writer-0", Window{ms(win[0]), ms(win[1])})
		if got.Known() || got.Samples != 0 {
			t.Errorf("%s: %+v is known, want no samples", name, got)
		}
		p50, p95, p99 := got.Cells()
		for _, c := range []string{p50, p95, p99} {
			if c != NoSamples {
				t.Errorf("%s: cell %q, want %q", name, c, NoSamples)
			}
		}
	}
	if got := WriteLatency(b.h, "writer-0", Window{0, ms(100)}); got.Excluded != 2 {
		t.Errorf("excluded %d, want both writes counted as not acknowledged", got.Excluded)
	}
	if got := WriteLatency(History{}, "writer-0", Window{0, time.Hour}); got.Known() {
		t.Errorf("an empty history has latency %+v", got)
	}
}

// TestWriteLatencyJoinsWindowsAndSetsPendingWritesApart: the samples of
// several windows are pooled; a write still pending when the history was
// taken is neither a sample nor a failure (it may yet be the slowest
// commit), and no window at all has no samples.
func TestWriteLatencyJoinsWindowsAndSetsPendingWritesApart(t *testing.T) {
	b := newHB()
	b.write("writer-0", 1, 10, 12, OK, "lab-1")
	b.write("writer-0", 2, 50, 90, OK, "lab-1") // between the windows
	b.write("writer-0", 3, 110, 114, OK, "lab-1")
	b.op(Op{Kind: OpWrite, Process: "writer-0", Target: TargetRW, Key: 4, Invoke: ms(115), Complete: ms(120), Outcome: Unknown, Err: ErrPendingText})
	got := WriteLatency(b.h, "writer-0", Window{0, ms(20)}, Window{ms(100), ms(200)})
	if got.Samples != 2 || got.Pending != 1 || got.Excluded != 0 || got.P50 != ms(2) || got.Max != ms(4) {
		t.Errorf("%+v, want 2 samples (2ms, 4ms), 1 pending, none excluded", got)
	}
	if got := WriteLatency(b.h, "writer-0"); got.Known() {
		t.Errorf("no window: %+v", got)
	}
}

// TestReadLatencyCountsOnlyTheProcessReads: reads of the named process in
// the window, found or not, count; its writes, its failed reads and other
// processes' reads do not.
func TestReadLatencyCountsOnlyTheProcessReads(t *testing.T) {
	b := newHB()
	b.read("session@eu-west", 1, 100, 101, true, "euw-1")
	b.read("session@eu-west", 2, 110, 113, false, "euw-1")
	b.read("session@eu-west", 3, 120, 125, true, "euw-1")
	b.write("session@eu-west", 4, 130, 210, OK, "use-1")
	b.read("session-0", 5, 140, 340, true, "use-2")
	got := ReadLatency(b.h, "session@eu-west", Window{ms(0), ms(1000)})
	if got.Samples != 3 || got.P50 != ms(3) || got.Max != ms(5) {
		t.Errorf("samples %d p50 %s max %s, want 3 reads, p50 3ms, max 5ms", got.Samples, got.P50, got.Max)
	}
}
