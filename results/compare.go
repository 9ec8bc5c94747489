package results

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ManagerTrial is one run of one fault against one failover manager at
// one group of settings: a trial of a cell of replab compare's table. It
// is read off the run's history (ManagerTrialOf) except for what only
// the runner knows (who, which settings, the run's error).
type ManagerTrial struct {
	Manager  string `json:"manager"`
	Settings string `json:"settings"` // "defaults" or "tuned"
	Scenario string `json:"scenario"`
	RunID    string `json:"run_id,omitempty"`
	// Err is set when the run failed rather than measured (the lab did
	// not come up, a step broke): the trial counts in no figure.
	Err string `json:"error,omitempty"`
	// Outage says the fault stopped writes through the rw endpoint for
	// DefaultOutageGap or more; RTO (its fault → first ok write) is valid
	// when Recovered.
	Outage         bool          `json:"outage"`
	Recovered      bool          `json:"recovered"`
	RTO            time.Duration `json:"rto_ns"`
	RTOUncertainty time.Duration `json:"rto_uncertainty_ns"`
	// Lost counts acknowledged writes missing from the final state;
	// LostKnown is false when the run recorded no final state.
	Lost      int  `json:"lost"`
	LostKnown bool `json:"lost_known"`
	// SplitBrain is the summed time two members acknowledged writes at
	// once, AfterElection the writes a former leader acknowledged after
	// another was elected.
	SplitBrain    time.Duration `json:"split_brain_ns"`
	AfterElection int           `json:"after_election"`
	// FailedOver says another member than the fault's target was
	// elected after the fault began: only then is there a rejoin.
	FailedOver bool `json:"failed_over"`
	// Rejoined says the fault's target streamed from the new leader
	// again; Rejoin is how long after the heal (or, when it streamed
	// before any heal, as after a switchover, after the fault's begin)
	// it first did.
	Rejoined bool          `json:"rejoined"`
	Rejoin   time.Duration `json:"rejoin_ns"`
	// Notes are the run's findings in words: awaits that timed out as an
	// outcome ("no new leader ..."), in time order.
	Notes []string `json:"notes,omitempty"`
}

// ManagerTrialOf reads one trial's figures off a run's history: its
// first fault's failover, lost writes, split-brain windows and the
// target's rejoin.
func ManagerTrialOf(h History) ManagerTrial {
	var t ManagerTrial
	fs := Faults(h)
	if len(fs) > 0 {
		f := fs[0]
		fr := FailoverPhases(h, f.Index)
		t.Outage, t.Recovered, t.RTO, t.RTOUncertainty = fr.Outage, fr.Recovered, fr.RTO, fr.RTOUncertainty
		target, _, _ := strings.Cut(f.Node, "<->")
		target, _, _ = strings.Cut(target, ",")
		for _, e := range sortedEvents(h) {
			if e.Kind == EventLeaderChanged && e.At >= f.Injected && e.Node != "" && e.Node != target && e.Detail != "initial" {
				t.FailedOver = true
				break
			}
		}
		// From the heal, or from the injection for a fault with nothing
		// to heal (a switchover's no-op heal comes after the rejoin).
		for _, e := range sortedEvents(h) {
			if e.Kind == EventStreaming && e.Node == target && e.At >= f.Injected {
				from := f.Injected
				if f.EndReason == "healed" && f.End <= e.At {
					from = f.End
				}
				t.Rejoined, t.Rejoin = true, e.At-from
				break
			}
		}
	}
	lw := LostWrites(h)
	t.Lost, t.LostKnown = len(lw.Lost), lw.FinalRecorded
	sb := SplitBrain(h)
	t.SplitBrain, t.AfterElection = sb.Overlap, len(sb.AfterElection)
	if len(fs) > 0 {
		target, _, _ := strings.Cut(fs[0].Node, "<->")
		target, _, _ = strings.Cut(target, ",")
		for _, f := range h.Figures {
			if f.Name == FigureLeadersAtBound {
				t.Notes = append(t.Notes, leadersOutcome(f.Value, target))
			}
		}
	}
	for _, e := range sortedEvents(h) {
		if e.Kind == EventNote && e.Detail != "" {
			t.Notes = append(t.Notes, e.Detail)
		}
	}
	return t
}

// FigureLeadersAtBound names the figure a comparison scenario records
// once the manager's bound has passed with its fault still on: the
// members accepting writes then, comma-separated, or "none".
const FigureLeadersAtBound = "leaders before the heal"

// leadersOutcome says in words what the manager did with the fault's
// target by its bound, from FigureLeadersAtBound's value.
func leadersOutcome(value, target string) string {
	var leaders []string
	for _, l := range strings.Split(value, ",") {
		if l = strings.TrimSpace(l); l != "" && l != "none" && !strings.HasPrefix(l, "unknown") {
			leaders = append(leaders, l)
		}
	}
	old := slices.Contains(leaders, target)
	switch {
	case strings.HasPrefix(value, "unknown"):
		return "leaders at the bound unknown"
	case len(leaders) == 0:
		return "no leader at the bound"
	case old && len(leaders) == 1:
		return "the old leader kept leading"
	case old:
		return "two primaries at the bound"
	case len(leaders) == 1:
		return "failed over by the bound"
	}
	return fmt.Sprintf("%d leaders at the bound", len(leaders))
}

// ManagerCell summarises one cell's trials.
type ManagerCell struct {
	Settings, Manager, Scenario string
	Trials                      int
	Failed                      int // runs that measured nothing (Err)
	// Recovered counts trials whose outage ended, Outages those with one.
	Recovered, Outages int
	RTO                Stats // seconds, over recovered trials
	// Lost, SplitBrain and Rejoin list each measured trial's figure in
	// run order; Rejoin only the trials that failed over, -1 for a target
	// that never rejoined.
	Lost       []int
	SplitBrain []time.Duration
	After      []int
	Rejoin     []time.Duration
	Notes      []string // distinct, first seen first
}

// CompareManagers groups trials into cells: by settings, manager and
// scenario, in the order first seen.
func CompareManagers(trials []ManagerTrial) []ManagerCell {
	var cells []ManagerCell
	idx := map[[3]string]int{}
	for _, t := range trials {
		k := [3]string{t.Settings, t.Manager, t.Scenario}
		i, ok := idx[k]
		if !ok {
			i = len(cells)
			idx[k] = i
			cells = append(cells, ManagerCell{Settings: t.Settings, Manager: t.Manager, Scenario: t.Scenario})
		}
		c := &cells[i]
		c.Trials++
		if t.Err != "" {
			c.Failed++
			continue
		}
		if t.Outage {
			c.Outages++
		}
		if t.Recovered {
			c.Recovered++
		}
		if t.LostKnown {
			c.Lost = append(c.Lost, t.Lost)
		}
		c.SplitBrain = append(c.SplitBrain, t.SplitBrain)
		c.After = append(c.After, t.AfterElection)
		switch {
		case !t.FailedOver:
		case t.Rejoined:
			c.Rejoin = append(c.Rejoin, t.Rejoin)
		default:
			c.Rejoin = append(c.Rejoin, -1)
		}
		for _, n := range t.Notes {
			if !slices.Contains(c.Notes, n) {
				c.Notes = append(c.Notes, n)
			}
		}
	}
	for i := range cells {
		var rto []float64
		for _, t := range trials {
			if t.Err == "" && t.Recovered && t.Settings == cells[i].Settings && t.Manager == cells[i].Manager && t.Scenario == cells[i].Scenario {
				rto = append(rto, t.RTO.Seconds())
			}
		}
		cells[i].RTO = NewStats(rto)
	}
	return cells
}

// CompareMarkdown renders cells as one Markdown table, a row per cell:
// RTO p50/max over the trials that recovered (how many of how many),
// each trial's lost writes, the longest split-brain window and the
// writes acknowledged by a former leader, the old leader's rejoin p50/max
// (how many rejoined), and what the runs noted.
func CompareMarkdown(cells []ManagerCell) string {
	var b strings.Builder
	b.WriteString("| settings | manager | scenario | trials | RTO p50 / max | lost writes | split-brain (longest) | writes by a former leader | old leader rejoined p50 / max | outcome notes |\n")
	b.WriteString("|---|---|---|---:|---|---|---|---|---|---|\n")
	for _, c := range cells {
		trials := fmt.Sprint(c.Trials)
		if c.Failed > 0 {
			trials = fmt.Sprintf("%d (%d failed)", c.Trials, c.Failed)
		}
		rto := "no outage"
		switch {
		case c.Recovered > 0:
			rto = fmt.Sprintf("%s / %s", seconds1(c.RTO.P50), seconds1(c.RTO.Max))
			if c.Recovered < c.Trials-c.Failed {
				rto += fmt.Sprintf(" (%d of %d recovered)", c.Recovered, c.Trials-c.Failed)
			}
		case c.Outages > 0:
			rto = fmt.Sprintf("never recovered (%d of %d)", c.Outages, c.Trials-c.Failed)
		case c.Trials == c.Failed:
			rto = "–"
		}
		var longest time.Duration
		for _, d := range c.SplitBrain {
			longest = max(longest, d)
		}
		sb := "none"
		if longest > 0 {
			sb = longest.Round(time.Millisecond).String()
		}
		var rejoined []float64
		for _, d := range c.Rejoin {
			if d >= 0 {
				rejoined = append(rejoined, d.Seconds())
			}
		}
		rj := "no failover"
		if len(c.Rejoin) > 0 {
			rj = "never"
		}
		if len(rejoined) > 0 {
			st := NewStats(rejoined)
			rj = fmt.Sprintf("%s / %s", seconds1(st.P50), seconds1(st.Max))
		}
		if len(rejoined) > 0 && len(rejoined) < len(c.Rejoin) {
			rj += fmt.Sprintf(" (%d of %d)", len(rejoined), len(c.Rejoin))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			c.Settings, c.Manager, c.Scenario, trials, rto, ints(c.Lost), sb, ints(c.After), rj, cmp.Or(strings.Join(c.Notes, "; "), "–"))
	}
	return b.String()
}

func seconds1(s float64) string { return fmt.Sprintf("%.1fs", s) }

func ints(v []int) string {
	if len(v) == 0 {
		return "–"
	}
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
