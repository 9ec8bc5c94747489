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
	// YearlyDowntime is the downtime a year at TimeShare implies: 99.9 %
	// is about 8.8 h a year, 99.99 % about 53 min.
	YearlyDowntime time.Duration `json:"yearly_downtime_ns"`
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
	prev := r.Start
	for _, o := range okEndpointWrites(h) {
		if o.Complete-prev >= gap {
			r.Outages = append(r.Outages, Outage{Start: prev, End: o.Complete, Duration: o.Complete - prev})
		}
		prev = o.Complete
	}
	if r.End-prev >= gap {
		r.Outages = append(r.Outages, Outage{Start: prev, End: r.End, Duration: r.End - prev})
	}
	for _, o := range r.Outages {
		r.Downtime += o.Duration
	}
	if r.Span > 0 {
		r.TimeShare = 100 * (1 - float64(r.Downtime)/float64(r.Span))
	} else if r.OK > 0 {
		r.TimeShare = 100
	}
	r.Nines = Nines(r.TimeShare)
	r.NinesLabel = NinesLabel(r.TimeShare)
	r.YearlyDowntime = time.Duration((1 - r.TimeShare/100) * float64(year))
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
