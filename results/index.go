package results

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files of a verify directory, beside one run directory per scenario.
const (
	FileIndexJSON = "index.json"
	FileIndexHTML = "index.html"
	FileJUnit     = "junit.xml"
	SchemaIndex   = "replab.index/v1"
)

// EntryStatus is how one scenario of a verification ended.
type EntryStatus string

const (
	EntryPass EntryStatus = "pass"
	// EntryFail: the run completed and its verdict did not pass.
	EntryFail EntryStatus = "fail"
	// EntryError: the run did not complete (provisioning, a step, the
	// heal or the read-back failed); its verdict, if any, is partial.
	EntryError EntryStatus = "error"
	// EntrySkipped: the topology cannot run the scenario (Reason says why).
	EntrySkipped EntryStatus = "skipped"
)

// IndexEntry is one scenario of a verification.
type IndexEntry struct {
	Scenario string      `json:"scenario"`
	Summary  string      `json:"summary"`
	Status   EntryStatus `json:"status"`
	// Reason says why a scenario was skipped or errored.
	Reason string `json:"reason,omitempty"`
	// RunDir is the run's directory, relative to the index.
	RunDir  string        `json:"run_dir,omitempty"`
	Took    time.Duration `json:"took_ns"`
	Verdict *Verdict      `json:"verdict,omitempty"`
	Figures []Figure      `json:"figures,omitempty"`
	Tables  []Table       `json:"tables,omitempty"`
}

// Index is a verification: every catalog scenario a topology can run,
// each judged against the topology's SLA.
type Index struct {
	Schema   string        `json:"schema"`
	Topology string        `json:"topology"`
	Source   string        `json:"source"`
	Seed     int64         `json:"seed"`
	Started  time.Time     `json:"started"`
	Took     time.Duration `json:"took_ns"`
	Entries  []IndexEntry  `json:"entries"`
}

// Pass is true when no scenario failed or errored (skipped ones do not
// count against it: the index says why each was skipped).
func (ix Index) Pass() bool {
	for _, e := range ix.Entries {
		if e.Status == EntryFail || e.Status == EntryError {
			return false
		}
	}
	return true
}

// Ran counts the scenarios that ran (not skipped).
func (ix Index) Ran() int {
	n := 0
	for _, e := range ix.Entries {
		if e.Status != EntrySkipped {
			n++
		}
	}
	return n
}

// Misses lists "scenario: check (measured, target)" for every failed or
// inconclusive-and-not-allowed check, and "scenario: error" for runs that
// did not complete: what a CI log must name.
func (ix Index) Misses() []string {
	var out []string
	for _, e := range ix.Entries {
		if e.Status == EntryError {
			out = append(out, e.Scenario+": did not complete: "+e.Reason)
		}
		if e.Verdict == nil {
			continue
		}
		for _, c := range e.Verdict.Checks {
			if c.Status == StatusFail || c.Status == StatusInconclusive && !e.Verdict.Targets.AllowInconclusive {
				out = append(out, fmt.Sprintf("%s: %s %s (measured %s, target %s)", e.Scenario, c.Name, c.Status, orDash(c.Measured), orDash(c.Target)))
			}
		}
	}
	return out
}

// checkNames are every check name in the index, in first-seen order.
func (ix Index) checkNames() []string {
	var names []string
	for _, e := range ix.Entries {
		if e.Verdict == nil {
			continue
		}
		for _, c := range e.Verdict.Checks {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	return names
}

// cell is a scenario's status for one check in the grid.
func (e IndexEntry) cell(check string) string {
	if e.Status == EntrySkipped {
		return "skipped"
	}
	if e.Verdict != nil {
		if c, ok := e.Verdict.Check(check); ok {
			return string(c.Status)
		}
	}
	return "-"
}

// Grid renders scenario × check as aligned text, then each scenario's
// outcome (the reason for a skip or an error): what `replab verify`
// prints.
func (ix Index) Grid() string {
	checks := ix.checkNames()
	rows := [][]string{append([]string{"SCENARIO", "RESULT"}, checks...)}
	for _, e := range ix.Entries {
		row := []string{e.Scenario, string(e.Status)}
		for _, c := range checks {
			row = append(row, e.cell(c))
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	writeAligned(&b, rows)
	for _, e := range ix.Entries {
		if e.Reason != "" {
			fmt.Fprintf(&b, "  %s %s: %s\n", e.Scenario, e.Status, e.Reason)
		}
	}
	return b.String()
}

// writeAligned writes rows as columns two spaces apart.
func writeAligned(b *strings.Builder, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
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
}

// JUnit renders junit.xml: one testsuite, one testcase per scenario and
// check (classname the scenario), a failure for a failed or a
// not-allowed inconclusive check, an error for a run that did not
// complete, a skip for a scenario the topology cannot run.
func (ix Index) JUnit() ([]byte, error) {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skipped struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Class   string   `xml:"classname,attr"`
		Name    string   `xml:"name,attr"`
		Time    string   `xml:"time,attr"`
		Failure *failure `xml:"failure,omitempty"`
		Error   *failure `xml:"error,omitempty"`
		Skipped *skipped `xml:"skipped,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	s := suite{Name: "replab verify " + ix.Topology, Time: secs(ix.Took)}
	for _, e := range ix.Entries {
		switch {
		case e.Status == EntrySkipped:
			s.Cases = append(s.Cases, testcase{Class: e.Scenario, Name: "run", Time: "0", Skipped: &skipped{Message: e.Reason}})
			s.Skipped++
			continue
		case e.Status == EntryError:
			s.Cases = append(s.Cases, testcase{Class: e.Scenario, Name: "run", Time: secs(e.Took), Error: &failure{Message: "the run did not complete", Text: e.Reason}})
			s.Errors++
		}
		if e.Verdict == nil {
			continue
		}
		for _, c := range e.Verdict.Checks {
			tc := testcase{Class: e.Scenario, Name: c.Name, Time: "0"}
			if c.Status == StatusFail || c.Status == StatusInconclusive && !e.Verdict.Targets.AllowInconclusive {
				tc.Failure = &failure{Message: fmt.Sprintf("%s: measured %s, target %s", c.Status, orDash(c.Measured), orDash(c.Target)), Text: c.Detail}
				s.Failures++
			}
			s.Cases = append(s.Cases, tc)
		}
	}
	s.Tests = len(s.Cases)
	out, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode junit: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{
	"dash": orDash,
	"dur":  FormatDuration,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>replab verify {{.Ix.Topology}}: {{if .Ix.Pass}}PASS{{else}}FAIL{{end}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#222}
main{max-width:1100px;margin:0 auto;padding:24px}
table{border-collapse:collapse;background:#fff;margin:8px 0 18px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.pass{background:#e7f6ea}.fail,.error{background:#fbe4e4}.inconclusive{background:#fff4d6}.skipped{color:#888}
.badge{padding:2px 8px;border-radius:4px;color:#fff}.badge-pass{background:#2e7d32}.badge-fail{background:#c62828}
.note{color:#666;font-size:13px}
</style></head>
<body><main>
<h1>replab verify <code>{{.Ix.Topology}}</code> <span class="badge {{if .Ix.Pass}}badge-pass{{else}}badge-fail{{end}}">{{if .Ix.Pass}}PASS{{else}}FAIL{{end}}</span></h1>
<p class="note">{{.Ix.Source}} · seed {{.Ix.Seed}} · started {{.Ix.Started.Format "2006-01-02 15:04:05 MST"}} · took {{dur .Ix.Took}} · {{.Ix.Ran}} of {{len .Ix.Entries}} scenarios ran</p>
<table><tr><th>scenario</th><th>result</th>{{range .Checks}}<th>{{.}}</th>{{end}}<th>report</th></tr>
{{range .Rows}}<tr><td><b>{{.Entry.Scenario}}</b><br><span class="note">{{.Entry.Summary}}</span></td><td class="{{.Entry.Status}}">{{.Entry.Status}}{{with .Entry.Reason}}<br><span class="note">{{.}}</span>{{end}}</td>{{range .Cells}}<td class="{{.}}">{{.}}</td>{{end}}<td>{{with .Entry.RunDir}}<a href="{{.}}/report.html">report</a> · <a href="{{.}}/summary.md">summary</a>{{end}}</td></tr>
{{end}}</table>
{{with .Misses}}<h2>Missed</h2><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</main></body></html>
`))

// HTML renders index.html: the scenario × check grid, each row linking
// its run's report.
func (ix Index) HTML() ([]byte, error) {
	type row struct {
		Entry IndexEntry
		Cells []string
	}
	checks := ix.checkNames()
	d := struct {
		Ix     Index
		Checks []string
		Rows   []row
		Misses []string
	}{Ix: ix, Checks: checks, Misses: ix.Misses()}
	for _, e := range ix.Entries {
		r := row{Entry: e}
		for _, c := range checks {
			r.Cells = append(r.Cells, e.cell(c))
		}
		d.Rows = append(d.Rows, r)
	}
	var b bytes.Buffer
	if err := indexTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", FileIndexHTML, err)
	}
	return b.Bytes(), nil
}

// WriteIndex writes index.json, index.html and junit.xml into dir.
func WriteIndex(dir string, ix Index) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create verify directory: %w", err)
	}
	ix.Schema = SchemaIndex
	js, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", FileIndexJSON, err)
	}
	html, err := ix.HTML()
	if err != nil {
		return err
	}
	junit, err := ix.JUnit()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{FileIndexJSON: append(js, '\n'), FileIndexHTML: html, FileJUnit: junit} {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}
