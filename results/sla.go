package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Targets are the SLA a run is judged against. A nil field is not
// evaluated; split-brain is always evaluated.
type Targets struct {
	// FailoverTimeMax bounds the RTO of every fault (see FailoverPhases).
	FailoverTimeMax *time.Duration `json:"failover_time_max_ns,omitempty"`
	// LostWritesMax bounds the acknowledged writes missing at the end.
	LostWritesMax *int `json:"lost_writes_max,omitempty"`
	// ReplicationLagP99 bounds the worst follower's p99 lag outside fault
	// windows.
	ReplicationLagP99 *time.Duration `json:"replication_lag_p99_ns,omitempty"`
	// AvailabilityMin is the least time-based availability, in percent.
	AvailabilityMin *float64 `json:"availability_min_percent,omitempty"`
}

// Status is a check's result.
type Status string

const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	// StatusInconclusive means too little was observed to judge: it does
	// not fail the verdict but is shown.
	StatusInconclusive Status = "inconclusive"
)

// Check names, in the order Evaluate lists them.
const (
	CheckFailoverTime = "failover_time"
	CheckLostWrites   = "lost_writes"
	CheckSplitBrain   = "split_brain"
	CheckLagP99       = "replication_lag_p99"
	CheckAvailability = "availability"
)

// MinLagSamples is the fewest lag samples a replication-lag verdict rests
// on; with fewer the check is inconclusive.
const MinLagSamples = 20

// Check is one judged SLA item.
type Check struct {
	Name     string `json:"name"`
	Status   Status `json:"status"`
	Measured string `json:"measured"`
	Target   string `json:"target"`
	// Samples is how many observations the measurement rests on.
	Samples int    `json:"samples"`
	Detail  string `json:"detail"`
}

// Verdict is the judgement of a run: Pass is false if any check failed.
type Verdict struct {
	Pass   bool    `json:"pass"`
	Checks []Check `json:"checks"`
	// Targets are the targets judged against (copied), saved so that a run
	// can be re-checked offline with the same ones.
	Targets Targets `json:"targets"`
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
	if t.AvailabilityMin != nil {
		checks = append(checks, checkAvailability(h, *t.AvailabilityMin))
	}
	v := Verdict{Pass: true, Checks: checks, Targets: t.clone()}
	for _, c := range checks {
		if c.Status == StatusFail {
			v.Pass = false
		}
	}
	return v
}

func checkFailover(h History, target time.Duration) Check {
	c := Check{Name: CheckFailoverTime, Target: "≤ " + FormatDuration(target)}
	faults := Faults(h)
	if len(faults) == 0 {
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no fault", "no fault.injected event: nothing to fail over from"
		return c
	}
	var worst time.Duration
	var notes []string
	failed, open := false, false
	for i := range faults {
		f := FailoverPhases(h, i)
		name := faultName(f.Fault)
		if f.Recovered {
			c.Samples++
			worst = max(worst, f.RTO)
			note := fmt.Sprintf("%s: RTO %s", name, FormatDuration(f.RTO))
			if f.WriteGapKnown {
				note += ", write gap " + FormatDuration(f.WriteGap)
			}
			notes = append(notes, note)
			continue
		}
		if f.Observed > target {
			failed = true
			worst = max(worst, f.Observed)
			notes = append(notes, fmt.Sprintf("%s: no ok write in the %s observed after it", name, FormatDuration(f.Observed)))
		} else {
			open = true
			notes = append(notes, fmt.Sprintf("%s: no ok write yet, only %s observed after it", name, FormatDuration(f.Observed)))
		}
	}
	c.Detail = strings.Join(notes, "; ")
	switch {
	case failed:
		c.Status, c.Measured = StatusFail, "> "+FormatDuration(worst)
	case c.Samples > 0 && worst > target:
		c.Status, c.Measured = StatusFail, FormatDuration(worst)
	case open:
		c.Status, c.Measured = StatusInconclusive, "not recovered when the run ended"
		if c.Samples > 0 {
			c.Measured = FormatDuration(worst) + " (and one not recovered)"
		}
	default:
		c.Status, c.Measured = StatusPass, FormatDuration(worst)
	}
	return c
}

func checkLostWrites(h History, target int) Check {
	r := LostWrites(h)
	c := Check{Name: CheckLostWrites, Target: "≤ " + strconv.Itoa(target), Samples: r.Acknowledged}
	switch {
	case !r.FinalRecorded:
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no final state", "RecordFinal was not called: nothing to compare the writes with"
		return c
	case r.Acknowledged == 0:
		c.Status, c.Measured, c.Detail = StatusInconclusive, "no acknowledged write", "no write was acknowledged"
		return c
	}
	c.Measured = strconv.Itoa(len(r.Lost))
	c.Status = StatusPass
	if len(r.Lost) > target {
		c.Status = StatusFail
	}
	c.Detail = fmt.Sprintf("%d of %d acknowledged writes absent on %s; unknown outcome: %d found, %d absent; failed but committed: %d; duplicated ids: %d",
		len(r.Lost), r.Acknowledged, orDash(r.FinalMember), len(r.UnknownFound), len(r.UnknownAbsent), len(r.FailedFound), len(r.Duplicates))
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

func checkLag(h History, target time.Duration) Check {
	metric := lagMetric(h)
	c := Check{Name: CheckLagP99, Target: "≤ " + FormatDuration(target)}
	windows := Faults(h)
	byNode := map[string][]float64{}
	var during []float64
	for _, s := range h.Samples {
		if s.Metric != metric {
			continue
		}
		if lagPhase(windows, s.At) == LagDuring {
			during = append(during, s.Value)
			continue
		}
		byNode[s.Node] = append(byNode[s.Node], s.Value)
		c.Samples++
	}
	if c.Samples < MinLagSamples {
		c.Status = StatusInconclusive
		c.Measured = fmt.Sprintf("%d samples", c.Samples)
		c.Detail = fmt.Sprintf("%s: fewer than %d samples outside fault windows", metric, MinLagSamples)
		return c
	}
	worstNode, worst := "", -1.0
	var per []string
	for _, n := range sortedKeys(byNode) {
		p99 := NewStats(byNode[n]).P99
		per = append(per, n+" "+FormatDuration(secondsDur(p99)))
		if p99 > worst {
			worstNode, worst = n, p99
		}
	}
	c.Measured = FormatDuration(secondsDur(worst))
	c.Status = StatusPass
	if secondsDur(worst) > target {
		c.Status = StatusFail
	}
	c.Detail = fmt.Sprintf("%s p99 outside fault windows, worst follower %s; per follower: %s", metric, worstNode, strings.Join(per, ", "))
	if len(during) > 0 {
		c.Detail += fmt.Sprintf("; during faults (not judged): max %s over %d samples", FormatDuration(secondsDur(NewStats(during).Max)), len(during))
	}
	return c
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
	c.Detail = fmt.Sprintf("by time: %s down over %s in %s of %s or more, about %s a year at this rate; by operations: %s of %d writes ok",
		FormatDuration(r.Downtime), FormatDuration(r.Span), plural(len(r.Outages), "outage"), FormatDuration(r.Gap), FormatDuration(r.YearlyDowntime), FormatPercent(r.OpShare), r.Writes)
	return c
}

// Table renders the checks as aligned plain text: check, status,
// measured, target, samples, then the details. Matchers and the CLI print
// it.
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
	verdict := "PASS"
	if !v.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "SLA verdict: %s\n", verdict)
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
		if c.Detail != "" {
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

// clone copies the pointed-to values so a Verdict shares nothing with the
// caller.
func (t Targets) clone() Targets {
	return Targets{
		FailoverTimeMax:   clonePtr(t.FailoverTimeMax),
		LostWritesMax:     clonePtr(t.LostWritesMax),
		ReplicationLagP99: clonePtr(t.ReplicationLagP99),
		AvailabilityMin:   clonePtr(t.AvailabilityMin),
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
