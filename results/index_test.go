package results

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func verdictOf(checks ...Check) *Verdict {
	v := &Verdict{Pass: true, Checks: checks}
	for _, c := range checks {
		if c.Status != StatusPass {
			v.Pass = false
		}
	}
	return v
}

func cleanIndex() Index {
	return Index{Topology: "single-region", Source: "embedded:single-region.yaml", Started: time.Unix(0, 0).UTC(), Took: time.Minute, Entries: []IndexEntry{
		{Scenario: "leader-kill", Status: EntryPass, RunDir: "leader-kill", Verdict: verdictOf(
			Check{Name: "failover_time", Status: StatusPass, Measured: "22s", Target: "≤ 30s"},
			Check{Name: "lost_writes", Status: StatusPass, Measured: "0", Target: "≤ 0"})},
		{Scenario: "region-outage", Status: EntrySkipped, Reason: "it needs 2 regions with database nodes, the topology has 1"},
	}}
}

func TestIndexCleanPasses(t *testing.T) {
	ix := cleanIndex()
	if !ix.Pass() || len(ix.Misses()) != 0 || ix.Ran() != 1 {
		t.Fatalf("clean index: pass %v, misses %v, ran %d", ix.Pass(), ix.Misses(), ix.Ran())
	}
	grid := ix.Grid()
	for _, want := range []string{"SCENARIO", "leader-kill", "pass", "region-outage  skipped", "region-outage skipped: it needs 2 regions"} {
		if !strings.Contains(grid, want) {
			t.Errorf("grid lacks %q:\n%s", want, grid)
		}
	}
}

func TestIndexNamesTheMissedScenarioAndCheck(t *testing.T) {
	ix := cleanIndex()
	ix.Entries = append(ix.Entries,
		IndexEntry{Scenario: "switchover", Status: EntryFail, RunDir: "switchover", Verdict: verdictOf(
			Check{Name: "failover_time", Status: StatusFail, Measured: "3.7s", Target: "≤ 1s", Detail: "RTO 3.7s"},
			Check{Name: "lost_writes", Status: StatusInconclusive, Measured: "-", Target: "≤ 0", Detail: "no read-back"})},
		IndexEntry{Scenario: "pause-past-ttl", Status: EntryError, Reason: "step 3: wait for a new leader: deadline exceeded"},
	)
	if ix.Pass() {
		t.Fatal("an index with a failed scenario passes")
	}
	misses := strings.Join(ix.Misses(), "\n")
	for _, want := range []string{"switchover: failover_time fail (measured 3.7s, target ≤ 1s)", "switchover: lost_writes inconclusive", "pause-past-ttl: did not complete"} {
		if !strings.Contains(misses, want) {
			t.Errorf("misses lack %q:\n%s", want, misses)
		}
	}

	b, err := ix.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Cases    []struct {
			Class   string    `xml:"classname,attr"`
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(b, &s); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, b)
	}
	// leader-kill 2 checks, region-outage skipped, switchover 2 checks,
	// pause-past-ttl one errored run.
	if s.Tests != 6 || s.Failures != 2 || s.Errors != 1 || s.Skipped != 1 {
		t.Errorf("junit counts tests %d failures %d errors %d skipped %d, want 6 2 1 1\n%s", s.Tests, s.Failures, s.Errors, s.Skipped, b)
	}

	dir := t.TempDir()
	if err := WriteIndex(dir, ix); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, FileIndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<a href="switchover/report.html">`) || !strings.Contains(string(html), "FAIL") {
		t.Errorf("index.html lacks the failing run's link or verdict")
	}
	for _, f := range []string{FileIndexJSON, FileJUnit} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
