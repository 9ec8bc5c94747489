package results

import (
	"fmt"
	"math"
	"time"
)

// Outage is a span without an acknowledged write through the endpoint.
type Outage struct {
	Start    time.Duration `json:"start_ns"`
	End      time.Duration `json:"end_ns"`
	Duration time.Duration `json:"duration_ns"`
}

// AvailabilityReport is the outcome of Availability. Percentages are 0 to
// 100.
type AvailabilityReport struct {
	// Writes counts writes through the read-write endpoint (OpWrite,
	// Target "rw"), split by outcome.
	Writes  int `json:"writes"`
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
	// OpShare is 100·OK/Writes. It depends on how fast clients retry
	// while the endpoint is down, so the SLA uses TimeShare.
	OpShare float64 `json:"op_share_percent"`
	// Gap is the threshold: a span without an ok write at least this long
	// is an outage.
	Gap time.Duration `json:"gap_ns"`
	// Span runs from the first endpoint write's invocation to the last
	// one's completion.
	Start    time.Duration `json:"start_ns"`
	End      time.Duration `json:"end_ns"`
	Span     time.Duration `json:"span_ns"`
	Outages  []Outage      `json:"outages"`
	Downtime time.Duration `json:"downtime_ns"`
	// TimeShare is 100·(1 − Downtime/Span).
	TimeShare float64 `json:"time_share_percent"`
	// Nines is −log10(1 − TimeShare/100), +Inf-free: 0 when TimeShare is
	// 0, and NoDowntimeNines when there was no downtime.
	Nines float64 `json:"nines"`
	// NinesLabel names TimeShare: "3 nines" for 99.9 %.
	NinesLabel string `json:"nines_label"`
	// YearlyDowntime extrapolates the run's downtime share to a year
	// (99.9 % is about 8.8 h a year, 99.99 % about 53 min). It assumes the
	// run's faults recur at the run's pace all year, so it is computed
	// (Extrapolated) only for runs of MinExtrapolationSpan or more, and is
	// zero otherwise; ExtrapolationNote says which and why.
	YearlyDowntime    time.Duration `json:"yearly_downtime_ns"`
	Extrapolated      bool          `json:"extrapolated"`
	ExtrapolationNote string        `json:"extrapolation_note"`
	// PerFault is the downtime each fault caused (the outages charged to
	// it, see FailoverPhases) and how many such failovers a year fit in
	// each of Budgets: the error-budget view, meaningful for a run of any
	// length.
	PerFault []FaultDowntime `json:"per_fault,omitempty"`
	// Unattributed is the downtime of outages charged to no fault.
	Unattributed time.Duration `json:"unattributed_ns"`
}

// MinExtrapolationSpan is the shortest run whose downtime share is
// extrapolated to a year: a short experiment that forces one failover
// would otherwise claim a failover every few seconds all year.
const MinExtrapolationSpan = 10 * time.Minute

// Budgets are the availability levels the error-budget table shows, in
// percent: 99.9 % allows about 8h46m of downtime a Julian year, 99.99 %
// about 52.6 min, 99.999 % about 5.3 min.
var Budgets = []float64{99.9, 99.99, 99.999}

// BudgetFit is how many failovers like one fault fit in a yearly error
// budget.
type BudgetFit struct {
	Percent float64 `json:"percent"`
	// Budget is the downtime a year the level allows.
	Budget time.Duration `json:"budget_ns"`
	// PerYear is how many whole failovers of that downtime fit in Budget;
	// -1 when the fault caused no downtime (no limit).
	PerYear int64 `json:"per_year"`
}

// FaultDowntime is one fault's cost in downtime.
type FaultDowntime struct {
	Fault    int           `json:"fault"`
	Name     string        `json:"name"`
	Outages  int           `json:"outages"`
	Downtime time.Duration `json:"downtime_ns"`
	Fits     []BudgetFit   `json:"fits"`
}

// YearlyBudget is the downtime a year that percent availability allows.
func YearlyBudget(percent float64) time.Duration {
	return time.Duration((1 - percent/100) * float64(year))
}

// fits computes the BudgetFit of a failover costing downtime for each of
// Budgets.
func fits(downtime time.Duration) []BudgetFit {
	out := make([]BudgetFit, 0, len(Budgets))
	for _, p := range Budgets {
		f := BudgetFit{Percent: p, Budget: YearlyBudget(p), PerYear: -1}
		if downtime > 0 {
			f.PerYear = int64(f.Budget / downtime)
		}
		out = append(out, f)
	}
	return out
}

// NoDowntimeNines stands for "no downtime observed" in
// AvailabilityReport.Nines (JSON cannot carry +Inf).
const NoDowntimeNines = 99

// year is the Julian year used for yearly downtime.
const year = time.Duration(365.25 * 24 * float64(time.Hour))

// Availability measures the read-write endpoint's availability over the
// run, by operations and by time. gap is the outage threshold; zero means
// DefaultOutageGap.
func Availability(h History, gap time.Duration) AvailabilityReport {
	if gap <= 0 {
		gap = DefaultOutageGap
	}
	r := AvailabilityReport{Gap: gap}
	first := true
	for _, o := range h.Ops {
		if o.Kind != OpWrite || o.Target != TargetRW {
			continue
		}
		r.Writes++
		switch o.Outcome {
		case OK:
			r.OK++
		case Failed:
			r.Failed++
		default:
			r.Unknown++
		}
		if first || o.Invoke < r.Start {
			r.Start = o.Invoke
		}
		if first || o.Complete > r.End {
			r.End = o.Complete
		}
		first = false
	}
	if r.Writes == 0 {
		return r
	}
	r.OpShare = 100 * float64(r.OK) / float64(r.Writes)
	r.Span = r.End - r.Start
	outs := endpointOutages(h, okEndpointWrites(h), r.Start, r.End, gap)
	faults := Faults(h)
	owners := outageOwners(faults, outs, RunEnd(h), gap)
	for _, f := range faults {
		r.PerFault = append(r.PerFault, FaultDowntime{Fault: f.Index, Name: faultName(f)})
	}
	for k, o := range outs {
		r.Outages = append(r.Outages, o.Outage)
		r.Downtime += o.Duration
		if i := owners[k]; i >= 0 {
			r.PerFault[i].Outages++
			r.PerFault[i].Downtime += o.Duration
		} else {
			r.Unattributed += o.Duration
		}
	}
	for i := range r.PerFault {
		r.PerFault[i].Fits = fits(r.PerFault[i].Downtime)
	}
	if r.Span > 0 {
		r.TimeShare = 100 * (1 - float64(r.Downtime)/float64(r.Span))
	} else if r.OK > 0 {
		r.TimeShare = 100
	}
	r.Nines = Nines(r.TimeShare)
	r.NinesLabel = NinesLabel(r.TimeShare)
	if r.Span >= MinExtrapolationSpan {
		r.Extrapolated = true
		r.YearlyDowntime = YearlyBudget(r.TimeShare)
		r.ExtrapolationNote = fmt.Sprintf("extrapolated from a %s run as if its faults recurred at its pace all year", FormatDuration(r.Span))
	} else {
		r.ExtrapolationNote = fmt.Sprintf("no yearly extrapolation: the run lasted %s, under the %s it takes to stand for a year; see the downtime per failover instead",
			FormatDuration(r.Span), FormatDuration(MinExtrapolationSpan))
	}
	return r
}

// Nines is −log10(1 − percent/100): 99.9 gives 3. It returns
// NoDowntimeNines for 100 and 0 for 0 or less.
func Nines(percent float64) float64 {
	if percent >= 100 {
		return NoDowntimeNines
	}
	if percent <= 0 {
		return 0
	}
	return -math.Log10(1 - percent/100)
}

// NinesLabel names an availability share the usual way: "3 nines" for
// 99.9 % up to 99.99 %, "no downtime observed" for 100 %.
func NinesLabel(percent float64) string {
	n := Nines(percent)
	switch {
	case n >= NoDowntimeNines:
		return "no downtime observed"
	case n < 1:
		return "less than 1 nine"
	}
	whole := int(math.Floor(n + 1e-9))
	if whole == 1 {
		return "1 nine"
	}
	return fmt.Sprintf("%d nines", whole)
}
