package results

import (
	"fmt"
	"strings"
)

// maxListed is how many offending operations the summary and the HTML
// report list; results.json has them all.
const maxListed = 20

// PhaseLabel is the human name of a failover phase.
func PhaseLabel(name string) string {
	switch name {
	case PhaseFaultInjected:
		return "fault injected"
	case PhaseLastOKWrite:
		return "last ok write"
	case PhaseLeaderKeyGone:
		return "leader key gone"
	case PhaseLeaderElected:
		return "new leader elected"
	case PhasePromoted:
		return "promotion done"
	case PhaseFirstOKWrite:
		return "first ok write"
	}
	return name
}

func statusMark(s Status) string {
	switch s {
	case StatusPass:
		return "✅ pass"
	case StatusFail:
		return "❌ fail"
	}
	return "⚠️ inconclusive"
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// RenderSummary renders summary.md: a Markdown page fit for a CI step
// summary. The check table comes first, then each fault's phases, lost
// writes, split-brain, lag, stale reads, availability and, with the
// userspace netem backend, how faithfully each link was held.
func RenderSummary(r Results) string {
	var b strings.Builder
	verdict := "✅ PASS"
	if !r.Verdict.Pass {
		verdict = "❌ FAIL"
	}
	fmt.Fprintf(&b, "## replab run `%s`: %s\n\n", orDash(r.Meta.ID), verdict)
	fmt.Fprintf(&b, "topology **%s** · replication **%s** · network backend %s · seed %d · started %s\n\n",
		orDash(r.Meta.Topology), orDash(r.Meta.Mode), orDash(r.Meta.Backend), r.Meta.Seed, r.Meta.Started.Format("2006-01-02 15:04:05 MST"))

	b.WriteString("| check | measured | target | status | samples |\n|---|---|---|---|---:|\n")
	for _, c := range r.Verdict.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", c.Name, mdCell(c.Measured), mdCell(c.Target), statusMark(c.Status), c.Samples)
	}
	b.WriteString("\n")
	for _, c := range r.Verdict.Checks {
		if c.Detail != "" {
			fmt.Fprintf(&b, "- **%s**: %s\n", c.Name, mdCell(c.Detail))
		}
	}
	b.WriteString("\n")

	for _, f := range r.Phases {
		fmt.Fprintf(&b, "### Failover phases: %s\n\n", faultName(f.Fault))
		b.WriteString("| phase | at | since fault | resolution | node |\n|---|---:|---:|---:|---|\n")
		for _, p := range f.Phases {
			if !p.Present {
				fmt.Fprintf(&b, "| %s | absent | | | |\n", PhaseLabel(p.Name))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", PhaseLabel(p.Name), FormatSeconds(p.At),
				FormatDuration(p.SinceFault), FormatDuration(p.Resolution), mdCell(p.Node))
		}
		b.WriteString("\n")
		switch {
		case f.Recovered:
			fmt.Fprintf(&b, "RTO (fault → first ok write through the endpoint) **%s** (±%s)", FormatDuration(f.RTO), FormatDuration(f.Resolution))
			if f.WriteGapKnown {
				fmt.Fprintf(&b, "; write gap (last ok → first ok) **%s**", FormatDuration(f.WriteGap))
			}
			b.WriteString(".\n\n")
		default:
			fmt.Fprintf(&b, "No ok write through the endpoint after the fault in the %s observed: not recovered.\n\n", FormatDuration(f.Observed))
		}
		if len(f.Steps) > 0 {
			b.WriteString("| step | took |\n|---|---:|\n")
			for _, s := range f.Steps {
				fmt.Fprintf(&b, "| %s → %s | %s |\n", PhaseLabel(s.From), PhaseLabel(s.To), FormatDuration(s.Duration))
			}
			b.WriteString("\n")
		}
	}

	lw := r.LostWrites
	b.WriteString("### Lost writes\n\n")
	if !lw.FinalRecorded {
		fmt.Fprintf(&b, "No final state recorded: %d acknowledged writes could not be checked.\n\n", lw.Acknowledged)
	} else {
		fmt.Fprintf(&b, "%d of %d acknowledged writes absent on %s (%d ids). Unknown outcome: %d found, %d absent. Failed but committed: %d. Duplicated ids: %d.\n\n",
			len(lw.Lost), lw.Acknowledged, orDash(lw.FinalMember), lw.FinalKeys, len(lw.UnknownFound), len(lw.UnknownAbsent), len(lw.FailedFound), len(lw.Duplicates))
		writeOpTable(&b, "acknowledged, then lost", lw.Lost)
		writeOpTable(&b, "reported failed, committed anyway", lw.FailedFound)
		if len(lw.Duplicates) > 0 {
			b.WriteString("| duplicated id | copies |\n|---:|---:|\n")
			for i, d := range lw.Duplicates {
				if i == maxListed {
					fmt.Fprintf(&b, "| … %d more | |\n", len(lw.Duplicates)-maxListed)
					break
				}
				fmt.Fprintf(&b, "| %d | %d |\n", d.Key, d.Count)
			}
			b.WriteString("\n")
		}
	}

	sb := r.SplitBrain
	b.WriteString("### Split-brain\n\n")
	fmt.Fprintf(&b, "%d ok probe writes in %d leadership stints; %d overlapping windows; %d writes acknowledged by a former leader after a new one was elected, %d of them discarded.\n\n",
		sb.ProbeWrites, len(sb.Stints), len(sb.Windows), len(sb.AfterElection), len(sb.Discarded))
	if len(sb.Windows) > 0 {
		b.WriteString("| former leader | new leader | from | to | overlap |\n|---|---|---:|---:|---:|\n")
		for _, w := range sb.Windows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", w.Former, w.Later, FormatSeconds(w.Start), FormatSeconds(w.End), FormatDuration(w.Duration))
		}
		b.WriteString("\n")
	}
	writeOpTable(&b, "discarded (old timeline)", sb.Discarded)

	if len(r.Lag) > 0 {
		b.WriteString("### Replication lag (p99 / max per phase)\n\n")
		b.WriteString("| metric | follower | samples | steady | during faults | after | max |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Lag {
			for _, n := range l.Nodes {
				fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", l.Metric, n.Node, n.All.Count,
					lagCell(l.Metric, n.Steady), lagCell(l.Metric, n.During), lagCell(l.Metric, n.After), FormatMetric(l.Metric, n.All.Max))
			}
		}
		b.WriteString("\n")
	}

	st := r.StaleReads
	b.WriteString("### Stale reads\n\n")
	fmt.Fprintf(&b, "%d of %d reads of the reader's own acknowledged writes did not see them (%d ok reads in all)", len(st.Stale), st.Checked, st.Reads)
	if len(st.Stale) > 0 {
		fmt.Fprintf(&b, "; worst %s after the acknowledgement", FormatDuration(st.MaxBehind))
	}
	b.WriteString(".\n\n")
	if len(st.Stale) > 0 {
		b.WriteString("| read op | key | process | served by | read at | behind the write |\n|---:|---:|---|---|---:|---:|\n")
		for i, s := range st.Stale {
			if i == maxListed {
				fmt.Fprintf(&b, "| … %d more | | | | | |\n", len(st.Stale)-maxListed)
				break
			}
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s |\n", s.Read.ID, s.Read.Key, mdCell(s.Read.Process), mdCell(orDash(s.Read.Member)), FormatSeconds(s.Read.Invoke), FormatDuration(s.Behind))
		}
		b.WriteString("\n")
	}

	a := r.Availability
	b.WriteString("### Availability (writes through the endpoint)\n\n")
	if a.Writes == 0 {
		b.WriteString("No write through the read-write endpoint.\n")
	} else {
		fmt.Fprintf(&b, "By time: **%s** (%s): %s without an ok write (outages of %s or more) over %s; that rate is about %s of downtime a year. By operations: %s of %d writes ok (%d failed, %d unknown).\n",
			FormatPercent(a.TimeShare), NinesLabel(a.TimeShare), FormatDuration(a.Downtime), FormatDuration(a.Gap), FormatDuration(a.Span),
			FormatDuration(a.YearlyDowntime), FormatPercent(a.OpShare), a.Writes, a.Failed, a.Unknown)
	}
	renderFidelity(&b, r.Netem)
	return b.String()
}

func writeOpTable(b *strings.Builder, title string, ops []Op) {
	if len(ops) == 0 {
		return
	}
	fmt.Fprintf(b, "**%s** (%d)\n\n| op | key | process | target | served by | invoked | completed |\n|---:|---:|---|---|---|---:|---:|\n", title, len(ops))
	for i, o := range ops {
		if i == maxListed {
			fmt.Fprintf(b, "| … %d more (results.json lists all) | | | | | | |\n", len(ops)-maxListed)
			break
		}
		fmt.Fprintf(b, "| %d | %d | %s | %s | %s | %s | %s |\n", o.ID, o.Key, mdCell(o.Process), mdCell(o.Target), mdCell(orDash(o.Member)), FormatSeconds(o.Invoke), FormatSeconds(o.Complete))
	}
	b.WriteString("\n")
}

func lagCell(metric string, s Stats) string {
	if s.Count == 0 {
		return "–"
	}
	return FormatMetric(metric, s.P99) + " / " + FormatMetric(metric, s.Max)
}

// FormatMetric prints a sample value in its unit: durations for *_seconds
// metrics, bytes for *bytes metrics, a plain number otherwise.
func FormatMetric(metric string, v float64) string {
	switch {
	case strings.HasSuffix(metric, "_seconds"):
		return FormatDuration(secondsDur(v))
	case strings.HasSuffix(metric, "bytes"):
		return formatBytes(v)
	}
	return fmt.Sprintf("%g", v)
}

func formatBytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
