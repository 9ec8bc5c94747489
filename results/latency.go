package results

import "time"

// Latency summarises the commit latency (Complete − Invoke) of one
// client's acknowledged writes in a window, by nearest-rank percentiles.
// Samples zero means the window had no acknowledged write: the
// percentiles are then unknown, not zero, and Known reports false.
type Latency struct {
	Samples int
	// Excluded counts the window's writes that were not acknowledged
	// (failed or unknown): their latency is not a commit's.
	Excluded      int
	P50, P95, P99 time.Duration
	Max           time.Duration
}

// Known says whether the window had any acknowledged write.
func (l Latency) Known() bool { return l.Samples > 0 }

// WriteLatency is the latency of the writes that process invoked in
// [from, to), counting only acknowledged ones. A write invoked in the
// window counts whole even if it completes after to: cutting it at the
// window's end would understate the slow ones. Reads and probes are
// ignored, and so are other processes' writes.
func WriteLatency(h History, process string, from, to time.Duration) Latency {
	var l Latency
	var v []float64
	for _, o := range h.Ops {
		if o.Kind != OpWrite || o.Process != process || o.Invoke < from || o.Invoke >= to {
			continue
		}
		if o.Outcome != OK {
			l.Excluded++
			continue
		}
		v = append(v, float64(o.Complete-o.Invoke))
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
