package results

import (
	"slices"
	"time"
)

// Latency summarises the commit latency (Complete − Invoke) of one
// client's acknowledged writes in some windows, by nearest-rank
// percentiles. Samples zero means the windows had no acknowledged write:
// the percentiles are then unknown, not zero, and Known reports false.
type Latency struct {
	Samples int
	// Excluded counts the windows' writes that were not acknowledged
	// (failed or unknown): their latency is not a commit's.
	Excluded int
	// Pending counts writes that had not completed when the history was
	// taken: neither a sample nor excluded. Take the history once the
	// client's timeout has passed since the last window, and it is zero.
	Pending       int
	P50, P95, P99 time.Duration
	Max           time.Duration
}

// Known says whether the windows had any acknowledged write.
func (l Latency) Known() bool { return l.Samples > 0 }

// Window is a span [From, To) of a history's time.
type Window struct{ From, To time.Duration }

// WriteLatency is the latency of the writes that process invoked in any
// of windows, counting only acknowledged ones. A write invoked in a
// window counts whole even if it completes after the window: cutting it
// at the window's end would understate the slow ones. Reads and probes
// are ignored, and so are other processes' writes.
func WriteLatency(h History, process string, windows ...Window) Latency {
	return opLatency(h, OpWrite, process, windows)
}

// ReadLatency is WriteLatency for the reads process invoked in any of
// windows: completed reads count (found or not), failed ones are
// excluded.
func ReadLatency(h History, process string, windows ...Window) Latency {
	return opLatency(h, OpRead, process, windows)
}

func opLatency(h History, kind OpKind, process string, windows []Window) Latency {
	var l Latency
	var v []float64
	for _, o := range h.Ops {
		if o.Kind != kind || o.Process != process || !slices.ContainsFunc(windows, func(w Window) bool { return o.Invoke >= w.From && o.Invoke < w.To }) {
			continue
		}
		switch {
		case o.Outcome == Unknown && o.Err == ErrPendingText:
			l.Pending++
		case o.Outcome != OK:
			l.Excluded++
		default:
			v = append(v, float64(o.Complete-o.Invoke))
		}
	}
	s := NewStats(v)
	l.Samples = s.Count
	if s.Count > 0 {
		l.P50, l.P95, l.P99, l.Max = time.Duration(s.P50), time.Duration(s.P95), time.Duration(s.P99), time.Duration(s.Max)
	}
	return l
}

// NoSamples is what a latency cell says for a window without an
// acknowledged write.
const NoSamples = "no samples"

// Cells formats p50, p95 and p99, each NoSamples when the window had no
// acknowledged write: an empty window must never read as zero latency.
func (l Latency) Cells() (p50, p95, p99 string) {
	if !l.Known() {
		return NoSamples, NoSamples, NoSamples
	}
	return FormatDuration(l.P50), FormatDuration(l.P95), FormatDuration(l.P99)
}
