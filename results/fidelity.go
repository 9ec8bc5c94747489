package results

import (
	"fmt"
	"strings"
	"time"
)

// LinkFidelity is how faithfully one userspace netem queue held the
// packets of one emulated link in one host over a run: the userspace
// backend delays packets in a process, and on a busy machine that process
// wakes late. The harness measures it (harness.LinkFidelity, the same
// fields) from the agent's counters at the start and the end of the
// workload, which converts it; the kernel backend has no such counters.
type LinkFidelity struct {
	Host string `json:"host"`
	// Link is the emulated link, "from->to": traffic from the first
	// region held where it arrives, in Host.
	Link  string        `json:"link"`
	Delay time.Duration `json:"delay_ns"`
	// Packets were released after their hold during the run; Dropped
	// were dropped for loss or a full queue.
	Packets uint64 `json:"packets"`
	Dropped uint64 `json:"dropped"`
	// ReleaseError is the mean signed error of release times against
	// their targets (late is positive); it adds to the link's delay.
	ReleaseError time.Duration `json:"release_error_ns"`
	// ArrivalLag is the mean time from the kernel's receive timestamp to
	// the agent reading the packet; it is counted in the hold, not added.
	ArrivalLag time.Duration `json:"arrival_lag_ns"`
	// Budget is the share of the topology's RTT tolerance one direction
	// may use (half of it): a mean release error past Budget moves the
	// link's round trip past its tolerance.
	Budget time.Duration `json:"budget_ns"`
}

// OK reports whether the mean release error stayed within the budget.
func (f LinkFidelity) OK() bool { return f.ReleaseError <= f.Budget && f.ReleaseError >= -f.Budget }

// Idle reports whether the queue saw no packet during the run.
func (f LinkFidelity) Idle() bool { return f.Packets == 0 && f.Dropped == 0 }

// Breaks reports whether packets were released and their mean error broke
// the budget: what the summary and the report warn about.
func (f LinkFidelity) Breaks() bool { return f.Packets > 0 && !f.OK() }

// FidelityWarnings lists, one line each, the links whose packets were
// released later (or earlier) than the tolerance allows: figures measured
// over them are skewed by about twice the error per round trip.
func FidelityWarnings(fs []LinkFidelity) []string {
	var out []string
	for _, f := range fs {
		if f.Breaks() {
			out = append(out, fmt.Sprintf("%s in %s: packets released %s off their target on average (budget ±%s): round trips over this link were about %s off",
				f.Link, f.Host, FormatDuration(f.ReleaseError), FormatDuration(f.Budget), FormatDuration(2*f.ReleaseError)))
		}
	}
	return out
}

func renderFidelity(b *strings.Builder, fs []LinkFidelity) {
	if len(fs) == 0 {
		return
	}
	b.WriteString("\n### WAN fidelity (userspace netem agent)\n\n")
	b.WriteString("| host | link | delay | packets | dropped | mean release error | budget | mean arrival lag |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	idle := 0
	for _, f := range fs {
		if f.Idle() {
			idle++
			continue
		}
		mark := ""
		if f.Breaks() {
			mark = " ⚠️"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %s%s | ±%s | %s |\n", mdCell(f.Host), mdCell(f.Link), FormatDuration(f.Delay), f.Packets, f.Dropped,
			FormatDuration(f.ReleaseError), mark, FormatDuration(f.Budget), FormatDuration(f.ArrivalLag))
	}
	if idle > 0 {
		fmt.Fprintf(b, "\n%d idle queue(s) not shown (results.json has them).\n", idle)
	}
	for _, w := range FidelityWarnings(fs) {
		fmt.Fprintf(b, "\n⚠️ %s.", mdCell(w))
	}
	b.WriteString("\n")
}
