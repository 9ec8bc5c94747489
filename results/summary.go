package results

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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

// verdictMark is the verdict's headline with a mark.
func verdictMark(v Verdict) string {
	if v.Pass {
		return "✅ " + v.Headline()
	}
	return "❌ " + v.Headline()
}

// uncertaintyCell prints "±1.2ms (pidfd signal)".
func uncertaintyCell(u time.Duration, how string) string {
	s := "±" + FormatDuration(u)
	if how != "" {
		s += " (" + how + ")"
	}
	return s
}

// rtoSentence states one fault's outage: the RTO with its uncertainty and
// the write gap, or why there is none.
func rtoSentence(f FailoverReport) string {
	switch {
	case !f.Outage:
		return fmt.Sprintf("No outage began in this fault's window (%s to %s): writes through the endpoint never stopped for %s or more. No RTO sample.",
			FormatSeconds(f.Fault.Injected), FormatSeconds(f.WindowEnd), FormatDuration(DefaultOutageGap))
	case !f.Recovered:
		return fmt.Sprintf("No ok write through the endpoint after the fault in the %s observed: not recovered.", FormatDuration(f.Observed))
	}
	s := fmt.Sprintf("RTO (fault begin → first ok write through the endpoint) **%s** %s", FormatDuration(f.RTO), uncertaintyCell(f.RTOUncertainty, ""))
	fault := "fault ±" + FormatDuration(f.FaultUncertainty)
	if f.Fault.How != "" {
		fault += " " + f.Fault.How
	}
	s += fmt.Sprintf(" (%s + writer spacing ±%s)", fault, FormatDuration(f.WriterUncertainty))
	if f.WriteGapKnown {
		s += fmt.Sprintf("; write gap (last ok → first ok) **%s**", FormatDuration(f.WriteGap))
	}
	if f.Outages > 1 {
		s += fmt.Sprintf("; %d outages charged to it, %s in all", f.Outages, FormatDuration(f.Downtime))
	}
	return s + "."
}

// RenderSummary renders summary.md: a Markdown page fit for a CI step
// summary. The check table comes first with the inconclusive checks and
// why, then each fault's phases with their uncertainties, lost writes,
// split-brain, lag, stale reads, availability with its error budget and,
// with the userspace netem backend, how faithfully each link was held.
func RenderSummary(r Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## replab run `%s`: %s\n\n", orDash(r.Meta.ID), verdictMark(r.Verdict))
	fmt.Fprintf(&b, "topology **%s** · replication **%s** · network backend %s · seed %d · started %s\n\n",
		orDash(r.Meta.Topology), orDash(r.Meta.Mode), orDash(r.Meta.Backend), r.Meta.Seed, r.Meta.Started.Format("2006-01-02 15:04:05 MST"))

	b.WriteString("| check | measured | target | status | samples |\n|---|---|---|---|---:|\n")
	for _, c := range r.Verdict.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", c.Name, mdCell(c.Measured), mdCell(c.Target), statusMark(c.Status), c.Samples)
	}
	b.WriteString("\n")
	for _, c := range r.Verdict.Checks {
		if c.Detail != "" && c.Status != StatusInconclusive {
			fmt.Fprintf(&b, "- **%s**: %s\n", c.Name, mdCell(c.Detail))
		}
	}
	b.WriteString("\n")
	if inc := r.Verdict.Inconclusive(); len(inc) > 0 {
		fmt.Fprintf(&b, "**Inconclusive** (%s):\n\n", r.Verdict.InconclusiveNote())
		for _, c := range inc {
			fmt.Fprintf(&b, "- **%s**: %s\n", c.Name, mdCell(c.Detail))
		}
		b.WriteString("\n")
	}

	renderTables(&b, r.Figures, r.Tables)

	for _, f := range r.Phases {
		fmt.Fprintf(&b, "### Failover phases: %s\n\n", faultName(f.Fault))
		b.WriteString("| phase | at | since fault | uncertainty | node |\n|---|---:|---:|---:|---|\n")
		for _, p := range f.Phases {
			if !p.Present {
				fmt.Fprintf(&b, "| %s | absent | | | |\n", PhaseLabel(p.Name))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", PhaseLabel(p.Name), FormatSeconds(p.At),
				FormatDuration(p.SinceFault), uncertaintyCell(p.Uncertainty, p.How), mdCell(p.Node))
		}
		b.WriteString("\n" + rtoSentence(f) + "\n\n")
		if len(f.Procedure) > 0 {
			b.WriteString("| procedure step | began | since fault | took | node |\n|---|---:|---:|---:|---|\n")
			for _, p := range f.Procedure {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(p.Name), FormatSeconds(p.At), FormatDuration(p.SinceFault), FormatDuration(p.Took), mdCell(p.Node))
			}
			b.WriteString("\n")
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
		fmt.Fprintf(&b, "%d of %d acknowledged writes absent on %s (%d ids", len(lw.Lost), lw.Acknowledged, orDash(lw.FinalMember), lw.FinalKeys)
		if lw.FinalRun != "" {
			fmt.Fprintf(&b, " of run `%s`", lw.FinalRun)
		}
		fmt.Fprintf(&b, "). Unknown outcome: %d found, %d absent. Failed but committed: %d. Duplicated ids: %d.\n\n",
			len(lw.UnknownFound), len(lw.UnknownAbsent), len(lw.FailedFound), len(lw.Duplicates))
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
	if len(lw.UntestedFaults) > 0 {
		fmt.Fprintf(&b, "Faults with no write acknowledged within %s before them, nor in flight at them (nothing at risk): %s.\n\n",
			FormatDuration(AckedBeforeFault), untestedNames(r, lw.UntestedFaults))
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
		b.WriteString("| metric | follower | samples | judged p99 | steady | during faults | rejoin | after | max | gaps |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Lag {
			for _, n := range l.Nodes {
				fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", l.Metric, n.Node, n.All.Count, judgedCell(l, n),
					lagCell(l, n.Steady), lagCell(l, n.During), lagCell(l, n.Rejoin), lagCell(l, n.After), lagValue(l.Metric, n.All.Max, l.Resolution), gapCell(n))
			}
		}
		b.WriteString("\n")
		for _, l := range r.Lag {
			if l.Resolution > 0 {
				fmt.Fprintf(&b, "%s is measured to %s: a value under it reads as < %s. ", l.Metric, FormatDuration(l.Resolution), FormatDuration(l.Resolution))
			}
		}
		fmt.Fprintf(&b, "A follower's p99 is judged on the samples outside fault windows and rejoins, and only with %d or more of them. "+
			"Missing measurements are gaps (no sample for more than %d sampling periods), never zero.\n\n", MinLagSamples, GapFactor)
	}
	if len(r.Rejoins) > 0 {
		b.WriteString("| rejoin | after fault | from (heal) | caught up | took |\n|---|---|---:|---:|---:|\n")
		for _, j := range r.Rejoins {
			caught := "not by the run's end"
			if j.Done {
				caught = FormatSeconds(j.To) + " (" + j.How + ")"
			}
			node := j.Node
			if j.Reconnect {
				node += " (followed the new leader)"
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", node, j.Fault+1, FormatSeconds(j.From), caught, FormatDuration(j.Duration))
		}
		b.WriteString("\n")
	}

	st := r.StaleReads
	b.WriteString("### Stale reads (read-your-writes)\n\n")
	fmt.Fprintf(&b, "%d of %d reads of the reader's own acknowledged writes did not see them (%d ok reads in all)", len(st.Stale), st.Checked, st.Reads)
	if r.Meta.Mode == ModeSync {
		fmt.Fprintf(&b, "; on the synchronous standby outside faults, %d of %d (mode sync promises none)", st.StaleSync, st.CheckedSync)
	} else {
		fmt.Fprintf(&b, "; mode %s does not promise read-your-writes on a replica: reported, not judged", orDash(r.Meta.Mode))
	}
	b.WriteString(".\n\n")
	if len(st.Stale) > 0 {
		b.WriteString("| read op | key | process | target | served by | read at | bytes behind | visible after the ack | read issued after the ack | in a fault |\n|---:|---:|---|---|---|---:|---:|---:|---:|---|\n")
		for i, s := range st.Stale {
			if i == maxListed {
				fmt.Fprintf(&b, "| … %d more | | | | | | | | | |\n", len(st.Stale)-maxListed)
				break
			}
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Read.ID, s.Read.Key, mdCell(s.Read.Process), mdCell(s.Read.Target),
				mdCell(orDash(s.Read.Member)), FormatSeconds(s.Read.Invoke), bytesBehindCell(s), visibleCell(s), FormatDuration(s.IssuedAfterAck), yesNo(s.InFault))
		}
		b.WriteString("\n")
	}

	a := r.Availability
	b.WriteString("### Availability (writes through the endpoint)\n\n")
	if a.Writes == 0 {
		b.WriteString("No write through the read-write endpoint.\n")
	} else {
		fmt.Fprintf(&b, "By time: **%s** (%s): %s without an ok write (outages of %s or more) over %s. By operations: %s of %d writes ok (%d failed, %d unknown).\n\n",
			FormatPercent(a.TimeShare), NinesLabel(a.TimeShare), FormatDuration(a.Downtime), FormatDuration(a.Gap), FormatDuration(a.Span),
			FormatPercent(a.OpShare), a.Writes, a.Failed, a.Unknown)
		if a.Extrapolated {
			fmt.Fprintf(&b, "Extrapolation: about %s of downtime a year (%s).\n\n", FormatDuration(a.YearlyDowntime), a.ExtrapolationNote)
		} else {
			fmt.Fprintf(&b, "%s.\n\n", upperFirst(a.ExtrapolationNote))
		}
		writeBudgetTable(&b, a)
	}
	renderFidelity(&b, r.Netem)
	return b.String()
}

// writeBudgetTable writes the error-budget table: each fault's downtime
// and how many such failovers a year fit in each of Budgets.
func writeBudgetTable(b *strings.Builder, a AvailabilityReport) {
	if len(a.PerFault) == 0 {
		return
	}
	b.WriteString("| error budget | downtime |")
	for _, p := range Budgets {
		fmt.Fprintf(b, " fit a year in %s (%s) |", FormatPercent(p), FormatDuration(YearlyBudget(p)))
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(Budgets)) + "\n")
	for _, f := range a.PerFault {
		fmt.Fprintf(b, "| %s | %s |", mdCell(f.Name), FormatDuration(f.Downtime))
		for _, fit := range f.Fits {
			fmt.Fprintf(b, " %s |", perYearCell(fit))
		}
		b.WriteString("\n")
	}
	if a.Unattributed > 0 {
		fmt.Fprintf(b, "\n%s of downtime was charged to no fault.\n", FormatDuration(a.Unattributed))
	}
	b.WriteString("\n")
}

func perYearCell(f BudgetFit) string {
	if f.PerYear < 0 {
		return "no limit"
	}
	return strconv.FormatInt(f.PerYear, 10)
}

func untestedNames(r Results, idx []int) string {
	var names []string
	for _, i := range idx {
		name := fmt.Sprintf("fault %d", i+1)
		for _, p := range r.Phases {
			if p.Fault.Index == i {
				name = faultName(p.Fault)
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

func bytesBehindCell(s StaleRead) string {
	if !s.BytesKnown {
		return "–"
	}
	return formatBytes(float64(s.BytesBehind))
}

func visibleCell(s StaleRead) string {
	if !s.Visible {
		return "not seen"
	}
	return FormatDuration(s.VisibleAfter)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
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

func lagCell(l LagReport, s Stats) string {
	if s.Count == 0 {
		return "–"
	}
	return lagValue(l.Metric, s.P99, l.Resolution) + " / " + lagValue(l.Metric, s.Max, l.Resolution)
}

// judgedCell is the p99 the SLA judges, or why there is none.
func judgedCell(l LagReport, n NodeLag) string {
	if n.Judged.Count < MinLagSamples {
		return fmt.Sprintf("too few samples (%d)", n.Judged.Count)
	}
	return lagValue(l.Metric, n.Judged.P99, l.Resolution)
}

func gapCell(n NodeLag) string {
	if n.Gaps == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (longest %s)", n.Gaps, FormatDuration(n.LongestGap))
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
