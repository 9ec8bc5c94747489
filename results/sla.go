package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Targets are the SLA a run is judged against. A nil field is not
// evaluated; split-brain is always evaluated, and so is read-your-writes
// when the history has reads of the session's own writes or the mode
// promises them.
type Targets struct {
	// FailoverTimeMax bounds the RTO of every fault (see FailoverPhases).
	FailoverTimeMax *time.Duration `json:"failover_time_max_ns,omitempty"`
	// LostWritesMax bounds the acknowledged writes missing at the end.
	LostWritesMax *int `json:"lost_writes_max,omitempty"`
	// ReplicationLagP99 bounds every follower's p99 lag outside fault
	// windows and rejoins.
	ReplicationLagP99 *time.Duration `json:"replication_lag_p99_ns,omitempty"`
	// AvailabilityMin is the least time-based availability, in percent.
	AvailabilityMin *float64 `json:"availability_min_percent,omitempty"`
	// AllowInconclusive lets a verdict pass although some checks were
	// inconclusive (too little observed to judge). By default an
	// inconclusive check fails the verdict: a run that could not see a
	// defect must not be read as one that had none.
	AllowInconclusive bool `json:"allow_inconclusive,omitempty"`
}

// Status is a check's result.
type Status string

const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	// StatusInconclusive means too little was observed to judge. It fails
	// the verdict unless Targets.AllowInconclusive is set.
	StatusInconclusive Status = "inconclusive"
)

// Check names, in the order Evaluate lists them.
const (
	CheckFailoverTime   = "failover_time"
	CheckLostWrites     = "lost_writes"
	CheckSplitBrain     = "split_brain"
	CheckLagP99         = "replication_lag_p99"
	CheckReadYourWrites = "read_your_writes"
	CheckAvailability   = "availability"
)

// MinLagSamples is the fewest judged lag samples a follower's p99 rests
// on; a follower with fewer is listed but not judged, and the check is
// inconclusive when no follower has enough.
const MinLagSamples = 20

// Check is one judged SLA item.
type Check struct {
	Name     string `json:"name"`
	Status   Status `json:"status"`
	Measured string `json:"measured"`
	Target   string `json:"target"`
	// Samples is how many observations the measurement rests on.
	Samples int `json:"samples"`
	// Detail explains the measurement; for an inconclusive check, why.
	Detail string `json:"detail"`
}

// Verdict is the judgement of a run: Pass is false if any check failed, or
// was inconclusive without Targets.AllowInconclusive.
type Verdict struct {
	Pass   bool    `json:"pass"`
	Checks []Check `json:"checks"`
	// Targets are the targets judged against (copied), saved so that a run
	// can be re-checked offline with the same ones.
	Targets Targets `json:"targets"`
}

// Inconclusive lists the checks that were inconclusive; each one's Detail
// says why.
func (v Verdict) Inconclusive() []Check { return v.withStatus(StatusInconclusive) }

// Check returns the check named name, and whether the verdict has it.
func (v Verdict) Check(name string) (Check, bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Failed lists the checks that failed.
func (v Verdict) Failed() []Check { return v.withStatus(StatusFail) }

func (v Verdict) withStatus(s Status) []Check {
	var out []Check
	for _, c := range v.Checks {
		if c.Status == s {
			out = append(out, c)
		}
	}
	return out
}

// Headline states the verdict in one line: "PASS", "FAIL", "FAIL: 1 check
// failed, 2 inconclusive (not allowed)", "PASS with 1 check inconclusive
// (allowed)".
func (v Verdict) Headline() string {
	failed, inc := len(v.Failed()), len(v.Inconclusive())
	word := "PASS"
	if !v.Pass {
		word = "FAIL"
	}
	switch {
	case inc == 0:
		return word
	case v.Targets.AllowInconclusive && failed == 0:
		return fmt.Sprintf("%s with %s inconclusive (allowed)", word, plural(inc, "check"))
	case v.Targets.AllowInconclusive:
		return fmt.Sprintf("%s: %s failed, %d inconclusive (allowed)", word, plural(failed, "check"), inc)
	case failed == 0:
		return fmt.Sprintf("%s: %s inconclusive (not allowed)", word, plural(inc, "check"))
	}
	return fmt.Sprintf("%s: %s failed, %d inconclusive (not allowed)", word, plural(failed, "check"), inc)
}

// InconclusiveNote says what inconclusive checks mean for this verdict.
func (v Verdict) InconclusiveNote() string {
	if v.Targets.AllowInconclusive {
		return "allowed: the targets set allow_inconclusive, so they do not fail the run"
	}
	return "they fail the run: too little was observed to judge; allow_inconclusive accepts them"
}

// Evaluate judges a history against targets. It is deterministic: the same
// history gives the same verdict, which is how a saved run is re-checked.
func Evaluate(h History, t Targets) Verdict {
	var checks []Check
	if t.FailoverTimeMax != nil {
		checks = append(checks, checkFailover(h, *t.FailoverTimeMax))
	}
	if t.LostWritesMax != nil {
		checks = append(checks, checkLostWrites(h, *t.LostWritesMax))
	}
	checks = append(checks, checkSplitBrain(h))
	if t.ReplicationLagP99 != nil {
		checks = append(checks, checkLag(h, *t.ReplicationLagP99))
	}
	if c, ok := checkReadYourWrites(h); ok {
		checks = append(checks, c)
	}
	if t.AvailabilityMin != nil {
		checks = append(checks, checkAvailability(h, *t.AvailabilityMin))
	}
	v := Verdict{Pass: true, Checks: checks, Targets: t.clone()}
	for _, c := range checks {
		if c.Status == StatusFail || c.Status == StatusInconclusive && !t.AllowInconclusive {
			v.Pass = false
		}
	}
	return v
}

// withUncertainty prints a duration with its uncertainty and source:
// "19.8s ±501ms (pidfd signal)".
func withUncertainty(d, u time.Duration, how string) string {
	s := FormatDuration(d) + " ±" + FormatDuration(u)
	if how != "" {
		s += " (" + how + ")"
	}
	return s
}

// rtoText prints a recovered fault's RTO with its uncertainty and where
// the uncertainty comes from.
func rtoText(f FailoverReport) string {
	how := fmt.Sprintf("fault ±%s", FormatDuration(f.FaultUncertainty))
	if f.Fault.How != "" {
		how += " " + f.Fault.How
	}
	how += fmt.Sprintf(" + writer ±%s", FormatDuration(f.WriterUncertainty))
	return withUncertainty(f.RTO, f.RTOUncertainty, how)
}

func checkFailover(h History, target time.Duration) Check {
	c := Check{Name: CheckFailoverTime, Target: "≤ " + FormatDuration(target)}
	faults := Faults(h)
	if len(faults) == 0 {
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no fault", "no fault.injected event: nothing to fail over from"
		return c
	}
	if _, ok := firstEndpointInvoke(h); !ok {
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no writes", "no write through the read-write endpoint: an outage cannot be seen"
		return c
	}
	var worst, worstU time.Duration
	var notes []string
	failed, open := false, false
	for i := range faults {
		f := FailoverPhases(h, i)
		name := faultName(f.Fault)
		switch {
		case !f.Outage:
			notes = append(notes, fmt.Sprintf("%s: no outage began in its window (%s to %s): no RTO sample",
				name, FormatSeconds(f.Fault.Injected), FormatSeconds(f.WindowEnd)))
		case f.Recovered:
			c.Samples++
			if f.RTO > worst {
				worst, worstU = f.RTO, f.RTOUncertainty
			}
			note := fmt.Sprintf("%s: RTO %s", name, rtoText(f))
			if f.WriteGapKnown {
				note += ", write gap " + FormatDuration(f.WriteGap)
			}
			notes = append(notes, note)
		case f.Observed > target:
			failed = true
			worst = max(worst, f.Observed)
			notes = append(notes, fmt.Sprintf("%s: no ok write in the %s observed after it", name, FormatDuration(f.Observed)))
		default:
			open = true
			notes = append(notes, fmt.Sprintf("%s: no ok write yet, only %s observed after it", name, FormatDuration(f.Observed)))
		}
	}
	c.Detail = strings.Join(notes, "; ")
	switch {
	case failed:
		c.Status, c.Measured = StatusFail, "> "+FormatDuration(worst)
	case c.Samples > 0 && worst > target:
		c.Status, c.Measured = StatusFail, FormatDuration(worst)+" ±"+FormatDuration(worstU)
	case open:
		c.Status, c.Measured = StatusInconclusive, "not recovered when the run ended"
		if c.Samples > 0 {
			c.Measured = FormatDuration(worst) + " (and one not recovered)"
		}
	case c.Samples == 0:
		c.Status, c.Measured = StatusPass, "no outage"
	default:
		c.Status, c.Measured = StatusPass, FormatDuration(worst)+" ±"+FormatDuration(worstU)
	}
	return c
}

func checkLostWrites(h History, target int) Check {
	r := LostWrites(h)
	c := Check{Name: CheckLostWrites, Target: "≤ " + strconv.Itoa(target), Samples: r.Acknowledged}
	if !r.FinalRecorded {
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no final state", "RecordFinal was not called: nothing to compare the writes with"
		return c
	}
	if r.FinalRun != "" && r.FinalRun != h.Meta.ID {
		c.Status, c.Measured = StatusInconclusive, "read-back of another run"
		c.Detail = fmt.Sprintf("the read-back counted the rows of run %q, not of this run %q", r.FinalRun, h.Meta.ID)
		return c
	}
	c.Measured = strconv.Itoa(len(r.Lost))
	if len(r.Duplicates) > 0 {
		c.Measured += fmt.Sprintf(", %s duplicated", plural(len(r.Duplicates), "id"))
	}
	if len(r.FailedFound) > 0 {
		c.Measured += fmt.Sprintf(", %d failed but committed", len(r.FailedFound))
	}
	notes := []string{fmt.Sprintf("%d of %d acknowledged writes absent on %s; unknown outcome: %d found, %d absent; failed but committed: %d; duplicated ids: %d",
		len(r.Lost), r.Acknowledged, orDash(r.FinalMember), len(r.UnknownFound), len(r.UnknownAbsent), len(r.FailedFound), len(r.Duplicates))}
	defect := len(r.Lost) > target || len(r.Duplicates) > 0 || len(r.FailedFound) > 0
	if len(r.Duplicates) > 0 || len(r.FailedFound) > 0 {
		notes = append(notes, "a duplicated id or a write reported failed that committed fails the check whatever the target")
	}
	faults := Faults(h)
	var untested []string
	for _, i := range r.UntestedFaults {
		untested = append(untested, faultName(faults[i]))
	}
	if len(untested) > 0 {
		notes = append(notes, fmt.Sprintf("no write acknowledged within %s before, nor in flight at, %s: nothing was at risk",
			FormatDuration(AckedBeforeFault), strings.Join(untested, ", ")))
	}
	if r.FinalRun == "" {
		notes = append(notes, "the read-back does not say which run's rows it counted")
	}
	c.Detail = strings.Join(notes, "; ")
	switch {
	case defect:
		c.Status = StatusFail
	case r.Acknowledged == 0:
		c.Status, c.Measured = StatusInconclusive, "no acknowledged write"
	case len(untested) > 0:
		c.Status = StatusInconclusive
	default:
		c.Status = StatusPass
	}
	return c
}
func checkSplitBrain(h History) Check {
	r := SplitBrain(h)
	c := Check{Name: CheckSplitBrain, Target: "no overlapping leaders, no discarded writes", Samples: r.ProbeWrites}
	var longest time.Duration
	for _, w := range r.Windows {
		longest = max(longest, w.Duration)
	}
	c.Measured = fmt.Sprintf("%s, %d discarded", plural(len(r.Windows), "window"), len(r.Discarded))
	if len(r.Windows) > 0 {
		c.Measured = fmt.Sprintf("%s (longest %s), %d discarded", plural(len(r.Windows), "window"), FormatDuration(longest), len(r.Discarded))
	}
	var notes []string
	for _, w := range r.Windows {
		notes = append(notes, fmt.Sprintf("%s and %s both acknowledged writes from %s to %s (%s)",
			w.Former, w.Later, FormatSeconds(w.Start), FormatSeconds(w.End), FormatDuration(w.Duration)))
	}
	notes = append(notes, fmt.Sprintf("%d writes acknowledged by a former leader after a new one was elected", len(r.AfterElection)))
	if !r.FinalRecorded {
		notes = append(notes, "no final state: discarded writes not checked")
	}
	c.Detail = strings.Join(notes, "; ")
	switch {
	case len(r.Windows) > 0 || len(r.Discarded) > 0:
		c.Status = StatusFail
	case r.ProbeWrites == 0:
		c.Status = StatusInconclusive
		c.Detail = "no ok probe write: members were not probed directly; " + c.Detail
	default:
		c.Status = StatusPass
	}
	return c
}

// lagMetric picks the lag metric the SLA judges: the heartbeat visibility
// lag when recorded (what a reader sees), else replay lag.
func lagMetric(h History) string {
	replay := false
	for _, s := range h.Samples {
		if s.Metric == MetricLagHeartbeatSeconds {
			return MetricLagHeartbeatSeconds
		}
		replay = replay || s.Metric == MetricLagReplaySeconds
	}
	if replay {
		return MetricLagReplaySeconds
	}
	return MetricLagHeartbeatSeconds
}

// lagValue prints a lag value of metric with resolution res: under res
// it reads as "< res".
func lagValue(metric string, v float64, res time.Duration) string {
	if res > 0 && secondsDur(v) < res {
		return "< " + FormatDuration(res)
	}
	return FormatMetric(metric, v)
}

func checkLag(h History, target time.Duration) Check {
	metric := lagMetric(h)
	c := Check{Name: CheckLagP99, Target: "≤ " + FormatDuration(target)}
	rejoins := Rejoins(h, metric, target)
	rep := Lag(h, metric, rejoins)
	res := rep.Resolution
	worstNode, worst := "", -1.0
	var per, few []string
	var during []float64
	total := 0
	for _, n := range rep.Nodes {
		total += n.Judged.Count
		if n.During.Count > 0 {
			during = append(during, n.During.Max)
		}
		if n.Judged.Count < MinLagSamples {
			few = append(few, fmt.Sprintf("%s %d", n.Node, n.Judged.Count))
			continue
		}
		c.Samples += n.Judged.Count
		per = append(per, fmt.Sprintf("%s %s (%d samples)", n.Node, lagValue(metric, n.Judged.P99, res), n.Judged.Count))
		if n.Judged.P99 > worst {
			worstNode, worst = n.Node, n.Judged.P99
		}
	}
	var notes []string
	if len(per) > 0 {
		notes = append(notes, fmt.Sprintf("%s p99 outside fault windows and rejoins, worst follower %s; per follower: %s", metric, worstNode, strings.Join(per, ", ")))
	}
	if len(few) > 0 {
		notes = append(notes, fmt.Sprintf("too few samples (under %d, not judged): %s", MinLagSamples, strings.Join(few, ", ")))
	}
	var behind []string // rejoins still behind at the run's end
	for _, r := range rejoins {
		switch last, ok := lastSample(h.Samples, metric, r.Node, r.From); {
		case r.Done:
			notes = append(notes, fmt.Sprintf("rejoin (not judged): %s caught up %s after its heal (%s)", r.Node, FormatDuration(r.Duration), r.How))
		case ok:
			behind = append(behind, fmt.Sprintf("%s still %s behind at the run's end, %s after its heal", r.Node, lagValue(metric, last, res), FormatDuration(r.Duration)))
		default:
			notes = append(notes, fmt.Sprintf("rejoin (not judged): %s had no sample in the %s after its heal", r.Node, FormatDuration(r.Duration)))
		}
	}
	if len(behind) > 0 {
		notes = append([]string{"never caught up: " + strings.Join(behind, ", ")}, notes...)
	}
	if len(during) > 0 {
		notes = append(notes, fmt.Sprintf("during faults (not judged): max %s", lagValue(metric, NewStats(during).Max, res)))
	}
	if res > 0 {
		notes = append(notes, fmt.Sprintf("%s is measured to %s (its resolution): a value under it reads as < %s", metric, FormatDuration(res), FormatDuration(res)))
	}
	c.Detail = strings.Join(notes, "; ")
	switch {
	case len(behind) > 0:
		c.Status, c.Measured = StatusFail, fmt.Sprintf("%d never caught up", len(behind))
	case worstNode == "":
		c.Status = StatusInconclusive
		c.Measured = fmt.Sprintf("%d samples", total)
		c.Detail = fmt.Sprintf("%s: no follower has %d samples outside fault windows and rejoins", metric, MinLagSamples) + "; " + c.Detail
	case target < res && secondsDur(worst) < res:
		c.Status = StatusInconclusive
		c.Measured = lagValue(metric, worst, res)
		c.Detail = fmt.Sprintf("the target is finer than what %s can show", metric) + "; " + c.Detail
	case secondsDur(worst) > target:
		c.Status, c.Measured = StatusFail, lagValue(metric, worst, res)
	default:
		c.Status, c.Measured = StatusPass, lagValue(metric, worst, res)
	}
	return c
}

func checkReadYourWrites(h History) (Check, bool) {
	r := StaleReads(h)
	mode := h.Meta.Mode
	c := Check{Name: CheckReadYourWrites}
	var notes []string
	if len(r.Stale) > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d reads of the reader's own acknowledged writes were stale", len(r.Stale), r.Checked))
		if r.MaxBytesBehind > 0 {
			notes = append(notes, "worst "+formatBytes(float64(r.MaxBytesBehind))+" behind the write's commit")
		}
		if r.MaxVisibleAfter > 0 {
			notes = append(notes, "row visible at most "+FormatDuration(r.MaxVisibleAfter)+" after the acknowledgement")
		}
	}
	if mode != ModeSync {
		if r.Checked == 0 {
			return c, false
		}
		c.Status, c.Samples = StatusPass, r.Checked
		c.Measured = fmt.Sprintf("%d of %d stale", len(r.Stale), r.Checked)
		c.Target = "not promised by mode " + orDash(mode)
		c.Detail = strings.Join(append(notes, fmt.Sprintf("reported, not judged: mode %s does not promise that a replica shows the session's writes", orDash(mode))), "; ")
		return c, true
	}
	c.Target = "no stale read on the synchronous standby"
	c.Samples = r.CheckedSync
	if r.CheckedSync == 0 {
		c.Status, c.Measured = StatusInconclusive, "no sync read"
		c.Detail = strings.Join(append(notes, "mode sync (remote_apply) promises that the synchronous standby shows the session's acknowledged writes, "+
			"but no read of an own write pinned to it (Target \"sync\") was recorded outside fault windows"), "; ")
		return c, true
	}
	c.Measured = fmt.Sprintf("%d of %d stale", r.StaleSync, r.CheckedSync)
	c.Status = StatusPass
	if r.StaleSync > 0 {
		c.Status = StatusFail
	}
	notes = append(notes, fmt.Sprintf("judged: the %d reads pinned to the synchronous standby outside fault windows; other reads reported only", r.CheckedSync))
	c.Detail = strings.Join(notes, "; ")
	return c, true
}

func checkAvailability(h History, target float64) Check {
	r := Availability(h, DefaultOutageGap)
	c := Check{Name: CheckAvailability, Target: "≥ " + FormatPercent(target), Samples: r.Writes}
	if r.Writes == 0 {
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no writes", "no write through the read-write endpoint"
		return c
	}
	c.Measured = fmt.Sprintf("%s (%s)", FormatPercent(r.TimeShare), NinesLabel(r.TimeShare))
	c.Status = StatusPass
	if r.TimeShare < target {
		c.Status = StatusFail
	}
	notes := []string{fmt.Sprintf("by time: %s down over %s in %s of %s or more", FormatDuration(r.Downtime), FormatDuration(r.Span), plural(len(r.Outages), "outage"), FormatDuration(r.Gap))}
	for _, f := range r.PerFault {
		notes = append(notes, fmt.Sprintf("%s cost %s: %s", f.Name, FormatDuration(f.Downtime), fitsText(f.Fits)))
	}
	if r.Extrapolated {
		notes = append(notes, fmt.Sprintf("about %s of downtime a year (%s)", FormatDuration(r.YearlyDowntime), r.ExtrapolationNote))
	} else {
		notes = append(notes, r.ExtrapolationNote)
	}
	notes = append(notes, fmt.Sprintf("by operations: %s of %d writes ok", FormatPercent(r.OpShare), r.Writes))
	c.Detail = strings.Join(notes, "; ")
	return c
}

// fitsText says how many failovers of one cost fit a year in each budget:
// "1598 a year fit in 99.9%, 159 in 99.99%, 15 in 99.999%".
func fitsText(fs []BudgetFit) string {
	var parts []string
	for i, f := range fs {
		n := "any number"
		if f.PerYear >= 0 {
			n = strconv.FormatInt(f.PerYear, 10)
		}
		if i == 0 {
			parts = append(parts, n+" a year fit in "+FormatPercent(f.Percent))
		} else {
			parts = append(parts, n+" in "+FormatPercent(f.Percent))
		}
	}
	return strings.Join(parts, ", ")
}

// Table renders the checks as aligned plain text: the verdict's
// headline, then check, status, measured, target, samples, then the
// details and the inconclusive checks with why. Matchers and the CLI
// print it.
func (v Verdict) Table() string {
	rows := [][]string{{"CHECK", "STATUS", "MEASURED", "TARGET", "SAMPLES"}}
	for _, c := range v.Checks {
		rows = append(rows, []string{c.Name, string(c.Status), c.Measured, c.Target, strconv.Itoa(c.Samples)})
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SLA verdict: %s\n", v.Headline())
	for _, r := range rows {
		for i, cell := range r {
			if i == len(r)-1 {
				b.WriteString(cell)
				break
			}
			b.WriteString(cell + strings.Repeat(" ", width[i]-len([]rune(cell))+2))
		}
		b.WriteString("\n")
	}
	for _, c := range v.Checks {
		if c.Detail != "" && c.Status != StatusInconclusive {
			fmt.Fprintf(&b, "  %s: %s\n", c.Name, c.Detail)
		}
	}
	if inc := v.Inconclusive(); len(inc) > 0 {
		fmt.Fprintf(&b, "Inconclusive (%s):\n", v.InconclusiveNote())
		for _, c := range inc {
			fmt.Fprintf(&b, "  %s: %s\n", c.Name, c.Detail)
		}
	}
	return b.String()
}

// FormatDuration prints a duration to about a millisecond, the way reports
// show it: "19.843s", "30s", "12.4ms", "850µs", "8h46m", "123.1 days".
func FormatDuration(d time.Duration) string {
	neg := ""
	switch {
	case d == 0:
		return "0s"
	case d < 0:
		neg, d = "-", -d
	}
	trim := func(v float64, digits int) string {
		s := strconv.FormatFloat(v, 'f', digits, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	switch {
	case d >= 48*time.Hour:
		return neg + trim(d.Hours()/24, 1) + " days"
	case d >= time.Hour:
		s := d.Round(time.Minute).String() // "8h46m0s"
		return neg + strings.TrimSuffix(s, "0s")
	case d >= time.Minute:
		return neg + d.Round(time.Millisecond).String()
	case d >= time.Second:
		return neg + trim(d.Seconds(), 3) + "s"
	case d >= time.Millisecond:
		return neg + trim(float64(d)/float64(time.Millisecond), 1) + "ms"
	case d >= time.Microsecond:
		return neg + trim(float64(d)/float64(time.Microsecond), 1) + "µs"
	}
	return neg + strconv.FormatInt(int64(d), 10) + "ns"
}

// FormatSeconds prints a time since the run's start as seconds with
// millisecond digits: "t=12.345s".
func FormatSeconds(d time.Duration) string {
	return "t=" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

// FormatPercent prints a percentage with as many digits as it needs, at
// most four decimals: "99.9%", "83.3333%".
func FormatPercent(p float64) string {
	return strconv.FormatFloat(math.Round(p*1e4)/1e4, 'f', -1, 64) + "%"
}

func faultName(f FaultWindow) string {
	s := fmt.Sprintf("fault %d", f.Index+1)
	if f.Detail != "" {
		s += " " + f.Detail
	}
	if f.Node != "" {
		s += " " + f.Node
	}
	return s + " at " + FormatSeconds(f.Injected)
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Without returns t with the targets of the named checks removed, so
// that they are not evaluated: a scenario that injects no fault does not
// judge failover_time. Split-brain and read-your-writes have no target
// and cannot be removed; an unknown name is an error.
func (t Targets) Without(checks ...string) (Targets, error) {
	out := t.clone()
	for _, c := range checks {
		switch c {
		case CheckFailoverTime:
			out.FailoverTimeMax = nil
		case CheckLostWrites:
			out.LostWritesMax = nil
		case CheckLagP99:
			out.ReplicationLagP99 = nil
		case CheckAvailability:
			out.AvailabilityMin = nil
		default:
			return t, fmt.Errorf("leave out check %q: not a check with a target (%s, %s, %s, %s)", c, CheckFailoverTime, CheckLostWrites, CheckLagP99, CheckAvailability)
		}
	}
	return out, nil
}

// clone copies the pointed-to values so a Verdict shares nothing with the
// caller.
func (t Targets) clone() Targets {
	return Targets{
		FailoverTimeMax:   clonePtr(t.FailoverTimeMax),
		LostWritesMax:     clonePtr(t.LostWritesMax),
		ReplicationLagP99: clonePtr(t.ReplicationLagP99),
		AvailabilityMin:   clonePtr(t.AvailabilityMin),
		AllowInconclusive: t.AllowInconclusive,
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
