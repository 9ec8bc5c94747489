package results

import "slices"

// InflightReaderProcess is the workload's reader of the row the writer
// is committing (workload's in-flight reader): its reads are what
// PhantomReads judges, and no read-your-writes check counts them.
const InflightReaderProcess = "reader-inflight"

// PhantomReport is what PhantomReads found.
type PhantomReport struct {
	// FinalRecorded is false when no final state was read back: nothing
	// below is meaningful then.
	FinalRecorded bool `json:"final_recorded"`
	// Reads counts the in-flight reader's ok reads, Seen those that found
	// the row.
	Reads int `json:"reads"`
	Seen  int `json:"seen"`
	// Keys are the rows another session saw and the cluster no longer
	// has: phantom reads, each key once, ascending.
	Keys []int64 `json:"keys"`
	// Unacknowledged counts those of Keys whose write was never
	// acknowledged to its writer: seen, never confirmed, then gone.
	// The others are lost writes too (LostWrites).
	Unacknowledged int `json:"unacknowledged"`
}

// PhantomReads finds rows the in-flight reader saw that are absent from
// the final state: a commit visible to other sessions before it was
// safe, then lost with its primary. Semi-sync's AFTER_COMMIT allows it
// (the commit is visible while the primary waits for a replica's
// acknowledgement); AFTER_SYNC does not.
func PhantomReads(h History) PhantomReport {
	var r PhantomReport
	if h.Final == nil {
		return r
	}
	r.FinalRecorded = true
	final := map[int64]bool{}
	for _, k := range h.Final.Keys {
		final[k] = true
	}
	acked := map[int64]bool{}
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Outcome == OK {
			acked[o.Key] = true
		}
	}
	seen := map[int64]bool{}
	for _, o := range h.Ops {
		if o.Process != InflightReaderProcess || o.Kind != OpRead || o.Outcome != OK {
			continue
		}
		r.Reads++
		if !o.Found {
			continue
		}
		r.Seen++
		if !final[o.Key] && !seen[o.Key] {
			seen[o.Key] = true
			r.Keys = append(r.Keys, o.Key)
			if !acked[o.Key] {
				r.Unacknowledged++
			}
		}
	}
	slices.Sort(r.Keys)
	return r
}
