package experiment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/results"
)

// The availability claim: a single instance restarted on crash reaches
// about 99.9 % (8.7 h of downtime a year), a cluster with automated
// failover about 99.99 % (52 min). What decides it is the downtime of one
// incident times how many incidents a year brings; the crash-schedule
// scenario measures the first on any topology, and its table states how
// many such incidents each budget allows.

// HostLossDown is how long host-loss keeps each killed node down: longer
// than a failover takes (ttl and a loop), shorter than a real repair, so
// that a run stays short; the table scales it to a year.
const HostLossDown = 45 * time.Second

// CrashScheduleSpec tunes the crash schedule.
type CrashScheduleSpec struct {
	// Incidents is how many times the leader is killed (default 3).
	Incidents int
	// HostDown is how long a killed node stays down before it is started
	// again: 0 is a process crash on a host that lives on (a supervisor
	// such as systemd's Restart=always restarts it at once); more is a
	// lost host, back after its repair time.
	HostDown time.Duration
	// Gap is how long writes run between incidents (default 5s).
	Gap time.Duration
}

// CrashScheduleScenario kills whoever leads, Incidents times: with
// failover candidates another node takes over while the old one is down;
// with a single node (topology `single`) nothing can, and writes resume
// only once the node is started again. The killed node is started again
// after HostDown, as a supervisor (or a repaired host) would. Each
// incident's downtime is its write gap; the table gives them with the
// incidents a year each availability level allows.
func CrashScheduleScenario(spec CrashScheduleSpec) Scenario {
	if spec.Incidents <= 0 {
		spec.Incidents = 3
	}
	if spec.Gap <= 0 {
		spec.Gap = 5 * time.Second
	}
	name, what := "crash-schedule", "process crashes, restarted at once"
	if spec.HostDown > 0 {
		name, what = "host-loss", fmt.Sprintf("hosts lost for %s each", spec.HostDown)
	}
	steps := []Step{Sleep("warm up", FailoverWarmup)}
	var faults []string
	for i := 1; i <= spec.Incidents; i++ {
		f := "crash-" + strconv.Itoa(i)
		faults = append(faults, f)
		steps = append(steps, Inject(f, func(*Run) chaos.Fault { return chaos.Kill(chaos.Leader) }))
		if spec.HostDown > 0 {
			steps = append(steps, Sleep("keep the host down", spec.HostDown))
		}
		steps = append(steps,
			Heal(f),
			Await(WritesAfter(f), WaitTimeout, ""),
			Await(nodeRunning(f), WaitTimeout, ""),
			Sleep("let writes run", spec.Gap),
		)
	}
	steps = append(steps, Do("measure the downtime of each incident", func(_ context.Context, r *Run) error {
		return r.Rec.RecordTable(incidentTable(r, faults, what))
	}))
	return Scenario{
		Name:    name,
		Summary: fmt.Sprintf("kill the leader %d times (%s): downtime per incident and the incidents a year each availability level allows; run it on single and on a cluster", spec.Incidents, what),
		Steps:   steps,
	}
}

// nodeRunning is the target of fault answering as a member again (leader
// or replica), so the next incident does not begin while it recovers.
func nodeRunning(fault string) Condition {
	return Condition{Detail: "the target of " + fault + " running again", Until: func(ctx context.Context, r *Run) (bool, error) {
		a, err := r.Fault(fault)
		if err != nil {
			return false, err
		}
		m, found, err := member(ctx, r, a.Target)
		if err != nil || !found {
			return false, nil
		}
		return m.State == "running" || m.State == "streaming", nil
	}}
}

// Incident is one kill of a crash schedule: its target and begin stamp.
type Incident struct {
	Target   string
	Injected time.Duration
}

// incidentTable is IncidentTable over the run so far.
func incidentTable(r *Run, faults []string, what string) results.Table {
	var inc []Incident
	for _, f := range faults {
		if a, err := r.Fault(f); err == nil {
			inc = append(inc, Incident{Target: a.Target, Injected: a.Injected})
		}
	}
	settings := failoverSettings(r.Topology)
	settings["candidates"] = strconv.Itoa(len(r.Topology.Candidates()))
	return IncidentTable(r.Rec.History(), inc, what, settings)
}

// IncidentTable has one row per incident (its downtime and where writes
// came back), then the mean downtime and the incidents a year each
// availability level allows at it. An incident without a measured
// downtime is shown as such and left out of the mean; with none measured
// there is no mean, never a zero.
func IncidentTable(h results.History, incidents []Incident, what string, settings map[string]string) results.Table {
	windows := results.Faults(h)
	t := results.Table{
		Title:   "Downtime per incident (" + what + ")",
		Columns: []string{"incident", "node", "downtime (write gap)", "RTO ± uncertainty", "writes came back on"},
		Note: "Downtime is the write gap through the read-write endpoint (last ok write before the kill to the first after it). " +
			"The usual claim: a single instance restarted on crash reaches about 99.9 % (8.7 h a year), a cluster with automated failover about 99.99 % (52 min).",
		Settings: settings,
	}
	var sum time.Duration
	n := 0
	for i, inc := range incidents {
		idx := -1
		for j, w := range windows {
			if w.Injected == inc.Injected {
				idx = j
			}
		}
		rep := results.FailoverPhases(h, idx)
		row := []string{strconv.Itoa(i + 1), inc.Target, "no outage", "", ""}
		switch {
		case !rep.Found:
			row[2] = "not recorded"
		case rep.Outage && rep.Recovered && rep.WriteGapKnown:
			row[2] = results.FormatDuration(rep.WriteGap)
			row[3] = results.FormatDuration(rep.RTO) + " ±" + results.FormatDuration(rep.RTOUncertainty)
			sum += rep.WriteGap
			n++
		case rep.Outage:
			row[2] = "not recovered"
		}
		if p := rep.Phase(results.PhaseFirstOKWrite); p.Present && rep.Outage {
			row[4] = p.Node + " (failed over)"
			if p.Node == inc.Target {
				row[4] = p.Node + " (restarted in place)"
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if n == 0 {
		t.Rows = append(t.Rows, []string{"mean", "", "no incident with a measured downtime", "", ""})
		return t
	}
	mean := sum / time.Duration(n)
	t.Rows = append(t.Rows, []string{"mean", "", results.FormatDuration(mean), "", ""})
	for _, p := range results.Budgets {
		budget := results.YearlyBudget(p)
		t.Rows = append(t.Rows, []string{strconv.FormatFloat(p, 'f', -1, 64) + " % allows", "", fmt.Sprintf("%d such incidents a year", int64(budget/mean)), results.FormatDuration(budget) + " a year", ""})
	}
	return t
}
