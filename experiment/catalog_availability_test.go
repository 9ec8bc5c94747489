package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/results"
)

// historyWithIncidents has ok writes every 10ms through the endpoint and,
// for each incident, a kill at its begin and no ok write for its outage;
// writes come back on back[i].
func historyWithIncidents(kills []time.Duration, outages []time.Duration, back []string) results.History {
	h := results.History{Meta: results.RunMeta{ID: "t"}}
	end := kills[len(kills)-1] + outages[len(outages)-1] + 2*time.Second
	id := int64(0)
	member := "n1"
	for at := time.Duration(0); at < end; at += 10 * time.Millisecond {
		out := results.OK
		for i, k := range kills {
			if at >= k && at < k+outages[i] {
				out = results.Failed
			}
			if at >= k+outages[i] {
				member = back[i]
			}
		}
		id++
		o := results.Op{ID: id, Kind: results.OpWrite, Process: "writer-0", Target: results.TargetRW, Key: id, Invoke: at, Complete: at + 2*time.Millisecond, Outcome: out}
		if out == results.OK {
			o.Member = member
		}
		h.Ops = append(h.Ops, o)
	}
	for _, k := range kills {
		h.Events = append(h.Events, results.EventRecord{At: k, End: k + 20*time.Microsecond, Kind: results.EventFaultInjected, Node: "n1", Detail: "kill n1"})
	}
	return h
}

func TestIncidentTable(t *testing.T) {
	kills := []time.Duration{2 * time.Second, 10 * time.Second}
	h := historyWithIncidents(kills, []time.Duration{4 * time.Second, 2 * time.Second}, []string{"n1", "n2"})
	tbl := IncidentTable(h, []Incident{{"n1", kills[0]}, {"n1", kills[1]}, {"n1", 99 * time.Second}}, "process crashes", nil)
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, r := range tbl.Rows {
		rows[r[0]] = r
	}
	if !strings.HasPrefix(rows["1"][2], "4.0") || rows["1"][4] != "n1 (restarted in place)" {
		t.Errorf("incident 1: %v, want a write gap of about 4s, back on n1 in place", rows["1"])
	}
	if !strings.HasPrefix(rows["2"][2], "2.0") || rows["2"][4] != "n2 (failed over)" {
		t.Errorf("incident 2: %v, want about 2s, failed over to n2", rows["2"])
	}
	if rows["3"][2] != "not recorded" {
		t.Errorf("an incident the history lacks: %v, want it said, not counted", rows["3"])
	}
	// The mean is of the two measured incidents, (4+2)/2 = 3s plus a
	// writer period: 8h46m of 99.9% allows about 10500 such incidents.
	if !strings.HasPrefix(rows["mean"][2], "3.0") {
		t.Errorf("mean %v, want about 3s (the unrecorded incident left out)", rows["mean"])
	}
	if r := rows["99.9 % allows"]; r == nil || !(strings.HasPrefix(r[2], "104") || strings.HasPrefix(r[2], "105")) {
		t.Errorf("99.9%% row %v, want about 10500 incidents a year", r)
	}
	if rows["99.99 % allows"] == nil || rows["99.999 % allows"] == nil {
		t.Errorf("rows %v: want one per budget, named by its level", tbl.Rows)
	}
}

func TestIncidentTableWithoutDowntimeHasNoMean(t *testing.T) {
	h := historyWithIncidents([]time.Duration{2 * time.Second}, []time.Duration{0}, []string{"n1"})
	tbl := IncidentTable(h, []Incident{{"n1", 2 * time.Second}}, "x", nil)
	last := tbl.Rows[len(tbl.Rows)-1]
	if last[0] != "mean" || !strings.Contains(last[2], "no incident with a measured downtime") {
		t.Fatalf("last row %v: without a measured incident there is no mean (never 0)", last)
	}
}
