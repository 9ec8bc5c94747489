package results

import "time"

// StaleRead is a read that did not see its own session's acknowledged write.
type StaleRead struct {
	Read  Op `json:"read"`
	Write Op `json:"write"`
	// Behind is how long after the write's acknowledgement the read was
	// invoked.
	Behind time.Duration `json:"behind_ns"`
}

// StaleReadsReport is the outcome of StaleReads.
type StaleReadsReport struct {
	// Reads counts ok reads; Checked those of a key their own process had
	// written and seen acknowledged before invoking the read.
	Reads   int         `json:"reads"`
	Checked int         `json:"checked"`
	Stale   []StaleRead `json:"stale"`
	// MaxBehind is the largest Behind among the stale reads.
	MaxBehind time.Duration `json:"max_behind_ns"`
}

// StaleReads finds ok reads (OpRead) that did not find a key which the same
// Process had seen acknowledged (an ok write or probe completed before the
// read was invoked): read-your-writes violations, typically a follower
// behind its leader.
func StaleReads(h History) StaleReadsReport {
	var r StaleReadsReport
	type pk struct {
		process string
		key     int64
	}
	acked := map[pk]Op{}
	for _, o := range h.Ops {
		if isWrite(o) && o.Outcome == OK {
			k := pk{o.Process, o.Key}
			if w, seen := acked[k]; !seen || o.Complete < w.Complete {
				acked[k] = o
			}
		}
	}
	for _, o := range h.Ops {
		if o.Kind != OpRead || o.Outcome != OK {
			continue
		}
		r.Reads++
		w, seen := acked[pk{o.Process, o.Key}]
		if !seen || w.Complete >= o.Invoke {
			continue
		}
		r.Checked++
		if !o.Found {
			s := StaleRead{Read: o, Write: w, Behind: o.Invoke - w.Complete}
			r.Stale = append(r.Stale, s)
			r.MaxBehind = max(r.MaxBehind, s.Behind)
		}
	}
	return r
}
