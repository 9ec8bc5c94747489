package results

import (
	"cmp"
	"slices"
	"time"
)

// outageSpan is an Outage with what the checkers need to charge it to a
// fault.
type outageSpan struct {
	Outage
	// open is true when no ok write ended it: it lasted to the end of
	// what was observed.
	open bool
	// last and first index the ok writes at its edges (okEndpointWrites
	// order); -1 when there is none.
	last, first int
	// noticed is the completion of the first endpoint write after Start
	// that was not acknowledged: the writer knew of the outage then, so
	// whatever caused it had begun. End when no write failed.
	noticed time.Duration
}

// endpointOutages finds the spans of gap or more without an acknowledged
// write through the endpoint, between from (the first write's invocation)
// and to (the end of what was observed). acks are okEndpointWrites(h).
func endpointOutages(h History, acks []Op, from, to, gap time.Duration) []outageSpan {
	var failures []time.Duration // completions of endpoint writes not acknowledged
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Target == TargetRW && o.Outcome != OK {
			failures = append(failures, o.Complete)
		}
	}
	slices.Sort(failures)
	noticed := func(start, end time.Duration) time.Duration {
		i, _ := slices.BinarySearch(failures, start+1)
		if i < len(failures) && failures[i] < end {
			return failures[i]
		}
		return end
	}
	var out []outageSpan
	prev, last := from, -1
	for i, o := range acks {
		if o.Complete-prev >= gap {
			out = append(out, outageSpan{Outage: Outage{Start: prev, End: o.Complete, Duration: o.Complete - prev},
				last: last, first: i, noticed: noticed(prev, o.Complete)})
		}
		prev, last = max(prev, o.Complete), i
	}
	if to-prev >= gap {
		out = append(out, outageSpan{Outage: Outage{Start: prev, End: to, Duration: to - prev},
			open: true, last: last, first: -1, noticed: noticed(prev, to)})
	}
	return out
}

// outageOwners charges each outage to at most one fault and returns, per
// outage, the fault's index or -1.
//
// An outage's real start lies between its last ok write (Start) and the
// moment the writer first noticed it: the first failed write after Start,
// or Start + gap, whichever is sooner (a writer that went gap without an
// acknowledgement has noticed). A fault begun later than that cannot have
// caused it. Among the faults begun by then whose own window (see
// attributionEnd) was still open at Start, the outage belongs to the one
// begun last: the most recent cause. A fault whose window closed before
// the outage began gets nothing, and so does a fault begun during an
// outage that was already noticed.
//
// A fault event without an end stamp (histories recorded before faults
// carried both) may have been stamped when its call returned, after the
// writer noticed: for it the bound is Start + gap alone.
func outageOwners(faults []FaultWindow, outs []outageSpan, runEnd, gap time.Duration) []int {
	owners := make([]int, len(outs))
	for k, o := range outs {
		owners[k] = -1
		for i, f := range faults {
			bound := o.Start + gap
			if f.InjectedEnd > f.Injected {
				bound = min(o.noticed, bound)
			}
			if f.Injected <= bound && attributionEnd(faults, i, runEnd) > o.Start {
				owners[k] = i // faults are in injection order: the last one wins
			}
		}
	}
	return owners
}

// okEndpointWrites are the ok writes through the read-write endpoint, in
// acknowledgement order.
func okEndpointWrites(h History) []Op {
	var acks []Op
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Target == TargetRW && o.Outcome == OK {
			acks = append(acks, o)
		}
	}
	slices.SortStableFunc(acks, func(a, b Op) int { return cmp.Compare(a.Complete, b.Complete) })
	return acks
}

// firstEndpointInvoke is the invocation of the first write through the
// endpoint, and whether there is one.
func firstEndpointInvoke(h History) (time.Duration, bool) {
	var first time.Duration
	found := false
	for _, o := range h.Ops {
		if o.Kind == OpWrite && o.Target == TargetRW && (!found || o.Invoke < first) {
			first, found = o.Invoke, true
		}
	}
	return first, found
}

// writerSpacing is how late the writers could have noticed that the
// endpoint was back, given that the first ok write after an outage
// completed at ack: the time since the invocation of the latest endpoint
// write attempt invoked before that ok write (the endpoint may have been
// back as soon as that attempt was sent). Without an earlier attempt it is
// the ok write's own duration.
func writerSpacing(h History, ok Op) time.Duration {
	from := ok.Invoke
	found := false
	for _, o := range h.Ops {
		if o.Kind != OpWrite || o.Target != TargetRW || o.ID == ok.ID || o.Invoke >= ok.Invoke {
			continue
		}
		if !found || o.Invoke > from {
			from, found = o.Invoke, true
		}
	}
	return ok.Complete - from
}
