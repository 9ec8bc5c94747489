package results

import "time"

// ModeSync is the replication mode (RunMeta.Mode) in which a commit is
// acknowledged only once the synchronous standbys have applied it
// (remote_apply): a read on a synchronous standby then always sees the
// session's acknowledged writes.
const ModeSync = "sync"

// StaleRead is a read that did not see its own session's acknowledged write
// (read-your-writes violated).
type StaleRead struct {
	Read  Op `json:"read"`
	Write Op `json:"write"`
	// IssuedAfterAck is how long after the write's acknowledgement the
	// read was invoked. It is two clock readings apart, not a measure of
	// staleness: how stale the replica was is BytesBehind and
	// VisibleAfter.
	IssuedAfterAck time.Duration `json:"issued_after_ack_ns"`
	// BytesBehind is the write's commit LSN minus the replica's replay LSN
	// when it answered; BytesKnown is false when either LSN is unknown (or
	// the replica claims to be past the write).
	BytesBehind uint64 `json:"bytes_behind"`
	BytesKnown  bool   `json:"bytes_known"`
	// VisibleAfter is the completion of the first later read of the same
	// process and key that found the row, minus the write's completion:
	// how long after the acknowledgement the row was certainly visible.
	// Visible is false when no later read found it.
	VisibleAfter time.Duration `json:"visible_after_ns"`
	Visible      bool          `json:"visible"`
	// Polls counts the later reads of the same process and key until the
	// row was found (the workload polls after a stale read).
	Polls int `json:"polls"`
	// InFault is true when the read was invoked inside a fault window
	// (from a fault's begin to its heal's end): not judged.
	InFault bool `json:"in_fault"`
}

// StaleReadsReport is the outcome of StaleReads.
type StaleReadsReport struct {
	// Reads counts ok reads; Checked the first ok read of each key its own
	// process had seen acknowledged before invoking it. Later reads of the
	// same process and key are polls after a stale read (StaleRead.Polls).
	Reads   int         `json:"reads"`
	Checked int         `json:"checked"`
	Stale   []StaleRead `json:"stale"`
	// CheckedSync counts the checked reads pinned to the synchronous
	// standby (Target TargetSync) outside fault windows; StaleSync those
	// of them that were stale: what ModeSync promises never happens.
	CheckedSync int `json:"checked_sync"`
	StaleSync   int `json:"stale_sync"`
	// MaxBytesBehind and MaxVisibleAfter are the largest known values
	// among the stale reads.
	MaxBytesBehind  uint64        `json:"max_bytes_behind"`
	MaxVisibleAfter time.Duration `json:"max_visible_after_ns"`
}

// StaleReads finds ok reads (OpRead) that did not find a key which the same
// Process had seen acknowledged (an ok write or probe completed before the
// read was invoked): read-your-writes violations, typically a follower
// behind its leader. Only the first such read of each process and key is
// checked; the later ones tell when the row became visible.
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
	faults := Faults(h)
	inFault := func(t time.Duration) bool {
		for _, f := range faults {
			if t >= f.Injected && t < max(f.End, f.HealEnd) {
				return true
			}
		}
		return false
	}
	checked := map[pk]int{} // index into r.Stale + 1, or 0 when the first read was fresh
	for _, o := range h.Ops {
		if o.Kind != OpRead || o.Outcome != OK || o.Process == InflightReaderProcess {
			continue
		}
		r.Reads++
		k := pk{o.Process, o.Key}
		w, seen := acked[k]
		if !seen || w.Complete >= o.Invoke {
			continue
		}
		if i, done := checked[k]; done {
			if i == 0 {
				continue
			}
			s := &r.Stale[i-1]
			if !s.Visible && o.Invoke > s.Read.Invoke {
				s.Polls++
				if o.Found {
					s.Visible, s.VisibleAfter = true, o.Complete-w.Complete
					r.MaxVisibleAfter = max(r.MaxVisibleAfter, s.VisibleAfter)
				}
			}
			continue
		}
		r.Checked++
		fault := inFault(o.Invoke)
		sync := o.Target == TargetSync && !fault
		if sync {
			r.CheckedSync++
		}
		if o.Found {
			checked[k] = 0
			continue
		}
		s := StaleRead{Read: o, Write: w, IssuedAfterAck: o.Invoke - w.Complete, InFault: fault}
		if w.LSN > 0 && o.LSN > 0 && w.LSN > o.LSN {
			s.BytesBehind, s.BytesKnown = w.LSN-o.LSN, true
			r.MaxBytesBehind = max(r.MaxBytesBehind, s.BytesBehind)
		}
		if sync {
			r.StaleSync++
		}
		r.Stale = append(r.Stale, s)
		checked[k] = len(r.Stale)
	}
	return r
}
