package results

import (
	"cmp"
	"slices"
	"time"
)

// AckedBeforeFault is how recently before a fault's begin some write must
// have been acknowledged, if none was in flight at it, for the fault to
// test durability: a fault that struck an idle writer puts no write at
// risk, so finding nothing lost proves nothing about it. A write in flight
// at the begin (invoked before, not completed by then: a commit blocked
// waiting for a synchronous standby) is at risk: acknowledged and lost, it
// would be a loss.
const AckedBeforeFault = time.Second

// DuplicateKey is an id present more than once in the final table.
type DuplicateKey struct {
	Key   int64 `json:"key"`
	Count int   `json:"count"`
}

// LostWritesReport is the outcome of LostWrites. Lists are in operation id
// order.
type LostWritesReport struct {
	// FinalRecorded is false when no FinalState was recorded: nothing
	// below but Writes and Acknowledged is meaningful then.
	FinalRecorded bool   `json:"final_recorded"`
	FinalMember   string `json:"final_member,omitempty"`
	FinalKeys     int    `json:"final_keys"`
	// Writes counts write and probe operations, Acknowledged those with
	// outcome ok.
	Writes       int `json:"writes"`
	Acknowledged int `json:"acknowledged"`
	// Lost are acknowledged writes whose key is absent: the RPO in rows.
	Lost []Op `json:"lost"`
	// UnknownFound and UnknownAbsent split writes of unknown outcome by
	// whether they happened after all. Neither is a defect.
	UnknownFound  []Op `json:"unknown_found"`
	UnknownAbsent []Op `json:"unknown_absent"`
	// FailedFound are writes reported failed whose key is present anyway
	// (and that no other ok or unknown operation wrote): the client was told
	// "no" about a commit that happened.
	FailedFound []Op `json:"failed_found"`
	// Duplicates are ids present more than once.
	Duplicates []DuplicateKey `json:"duplicates"`
	// UntestedFaults are the indexes (FaultWindow.Index) of faults with no
	// write acknowledged within AckedBeforeFault before their begin, nor
	// in flight at it.
	UntestedFaults []int `json:"untested_faults,omitempty"`
	// FinalRun is FinalState.Run: the run whose rows the read-back counted
	// ("" when the read-back did not say, in older histories).
	FinalRun string `json:"final_run,omitempty"`
}

// LostWrites compares every write (OpWrite and OpProbe) with the final state.
// Keys are expected to be unique per operation; a key that several
// operations wrote counts as present for all of them.
func LostWrites(h History) LostWritesReport {
	var r LostWritesReport
	for _, o := range h.Ops {
		if isWrite(o) {
			r.Writes++
			if o.Outcome == OK {
				r.Acknowledged++
			}
		}
	}
	for _, f := range Faults(h) {
		tested := false
		for _, o := range h.Ops {
			acked := o.Outcome == OK && o.Complete <= f.Injected && f.Injected-o.Complete <= AckedBeforeFault
			inFlight := o.Invoke < f.Injected && o.Complete > f.Injected
			if isWrite(o) && (acked || inFlight) {
				tested = true
				break
			}
		}
		if !tested {
			r.UntestedFaults = append(r.UntestedFaults, f.Index)
		}
	}
	if h.Final == nil {
		return r
	}
	r.FinalRecorded = true
	r.FinalMember = h.Final.Member
	r.FinalRun = h.Final.Run
	r.FinalKeys = len(h.Final.Keys)
	present := make(map[int64]int, len(h.Final.Keys))
	for _, k := range h.Final.Keys {
		present[k]++
	}
	for k, n := range present {
		if n > 1 {
			r.Duplicates = append(r.Duplicates, DuplicateKey{Key: k, Count: n})
		}
	}
	slices.SortFunc(r.Duplicates, func(a, b DuplicateKey) int { return cmp.Compare(a.Key, b.Key) })
	// keys some operation may have written (ok or unknown)
	maybeWritten := map[int64]bool{}
	for _, o := range h.Ops {
		if isWrite(o) && o.Outcome != Failed {
			maybeWritten[o.Key] = true
		}
	}
	for _, o := range h.Ops {
		if !isWrite(o) {
			continue
		}
		found := present[o.Key] > 0
		switch o.Outcome {
		case OK:
			if !found {
				r.Lost = append(r.Lost, o)
			}
		case Unknown:
			if found {
				r.UnknownFound = append(r.UnknownFound, o)
			} else {
				r.UnknownAbsent = append(r.UnknownAbsent, o)
			}
		case Failed:
			if found && !maybeWritten[o.Key] {
				r.FailedFound = append(r.FailedFound, o)
			}
		}
	}
	return r
}
