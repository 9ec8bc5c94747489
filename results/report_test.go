package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/internal/golden"
)

// recordedHistory replays a synthetic scenario through a real Recorder, so
// the round trip sees what a run produces (monotonic readings, wall clock,
// labels, errors).
func recordedHistory(t *testing.T) History {
	t.Helper()
	r := NewRecorder(RunMeta{ID: "rt-1", Topology: "single-region", Seed: 42, Backend: "userspace", Mode: "async",
		Started: time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600)), Labels: map[string]string{"suite": "smoke"}})
	for i := range 50 {
		p := r.Begin(OpStart{Kind: OpWrite, Process: "writer-0", Target: TargetRW, Key: int64(i)})
		switch i % 5 {
		case 3:
			p.End(OpEnd{Outcome: Failed, Err: errors.New(`pq: cannot execute INSERT in a read-only transaction "quoted"`)})
		case 4:
			p.End(OpEnd{Outcome: Unknown, Err: errors.New("unexpected EOF\nnewline")})
		default:
			p.End(OpEnd{Outcome: OK, Member: "lab-1", Timeline: 1})
		}
		r.Sample(Sample{Metric: MetricLagReplaySeconds, Node: "lab-2", Value: 0.1 + float64(i)/3})
		if i == 20 {
			r.Event(Event{Kind: EventFaultInjected, Node: "lab-1", Detail: "kill"})
		}
	}
	rd := r.Begin(OpStart{Kind: OpRead, Process: "writer-0", Target: TargetRO, Key: 1})
	rd.End(OpEnd{Outcome: OK, Found: true, Member: "lab-2"})
	r.Begin(OpStart{Kind: OpProbe, Process: "probe:lab-3", Target: "lab-3", Key: 1e6}) // left pending
	r.Event(Event{Kind: EventLeaderChanged, Node: "lab-2", Resolution: 100 * time.Millisecond})
	r.RecordFinal(FinalState{Member: "lab-2", Keys: []int64{0, 1, 2, 2}, Timeline: 2})
	return r.History()
}

func TestRoundTrip(t *testing.T) {
	for name, h := range map[string]History{
		"recorded":  recordedHistory(t),
		"scenario":  scenario{lose: 2, splitBrain: true, stale: 1}.build(),
		"no final":  scenario{noFinal: true}.build(),
		"empty run": NewRecorder(RunMeta{ID: "empty"}).History(),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			v := Evaluate(h, slaTargets())
			if err := WriteRun(dir, h, v); err != nil {
				t.Fatalf("WriteRun: %v", err)
			}
			got, err := LoadHistory(dir)
			if err != nil {
				t.Fatalf("LoadHistory: %v", err)
			}
			if !reflect.DeepEqual(got, h) {
				t.Fatalf("history changed in the round trip\n got %+v\nwant %+v", got.Meta, h.Meta)
			}
			saved, err := LoadResults(dir)
			if err != nil {
				t.Fatalf("LoadResults: %v", err)
			}
			if !reflect.DeepEqual(saved.Verdict, v) {
				t.Errorf("saved verdict differs\n got %+v\nwant %+v", saved.Verdict, v)
			}
			again, err := CheckDir(dir, saved.Verdict.Targets)
			if err != nil {
				t.Fatalf("CheckDir: %v", err)
			}
			if !reflect.DeepEqual(again, v) {
				t.Errorf("offline check differs\n%s\nvs saved\n%s", again.Table(), v.Table())
			}
			if saved.Schema != SchemaResults {
				t.Errorf("schema %q", saved.Schema)
			}
			for _, f := range []string{FileResults, FileHistory, FileSummary, FileReport} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
			}
			if err := RenderDir(dir); err != nil {
				t.Fatalf("RenderDir: %v", err)
			}
			if again, _ := LoadResults(dir); !reflect.DeepEqual(again.Verdict, v) {
				t.Error("RenderDir changed the verdict")
			}
		})
	}
}

func TestResultsJSONShape(t *testing.T) {
	dir := t.TempDir()
	h := scenario{lose: 1}.build()
	if err := WriteRun(dir, h, Evaluate(h, slaTargets())); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileResults))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "meta", "clock", "verdict", "phases", "lost_writes", "split_brain", "lag", "stale_reads", "availability", "counts"} {
		if _, ok := top[k]; !ok {
			t.Errorf("results.json lacks %q", k)
		}
	}
	if !bytes.Contains(top["phases"], []byte(`"rto_ns"`)) || !bytes.Contains(top["verdict"], []byte(`"failover_time_max_ns": 30000000000`)) {
		t.Errorf("phases or targets not as expected")
	}
	// one line per op, sample and event, plus the header
	hl, err := os.ReadFile(filepath.Join(dir, FileHistory))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(hl, []byte("\n"))
	if want := 1 + len(h.Ops) + len(h.Samples) + len(h.Events); lines != want {
		t.Errorf("history.jsonl has %d lines, want %d", lines, want)
	}
	if !bytes.HasPrefix(hl, []byte(`{"header":{"schema":"replab.history/v1"`)) {
		t.Errorf("history.jsonl starts %q", hl[:60])
	}
}

func TestDecodeHistoryErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no header":      `{"op":{"id":1}}` + "\n",
		"unknown schema": `{"header":{"schema":"replab.history/v9"}}` + "\n",
		"bad json":       `{"header":{"schema":"replab.history/v1"}}` + "\n{nope\n",
		"empty line obj": `{"header":{"schema":"replab.history/v1"}}` + "\n{}\n",
		"two headers":    `{"header":{"schema":"replab.history/v1"}}` + "\n" + `{"header":{"schema":"replab.history/v1"}}` + "\n",
	} {
		if _, err := DecodeHistory(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadHistory(t.TempDir()); err == nil || !strings.Contains(err.Error(), "open history") {
		t.Errorf("missing dir: %v", err)
	}
}

// TestRenderReport renders the full report of a failover with planted
// defects. Set REPLAB_REPORT_DIR to keep it for a look in a browser.
func TestRenderReport(t *testing.T) {
	dir := os.Getenv("REPLAB_REPORT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	h := scenario{lose: 3, stale: 2, failedCommitted: true}.build()
	h.Meta.ID = "20250102-030405-kill-leader"
	v := Evaluate(h, slaTargets())
	if err := WriteRun(dir, h, v); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, FileReport))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<svg", "Operations over time", "seconds since run start", "Failover of fault 1 kill lab-1", "RTO", "Replication lag per follower", "acknowledged, then lost", "lab-2", `class="st-fail"`,
		"uncertainty", "(writer spacing)", "Error budget: failovers a year", "No yearly extrapolation", "rejoin p99 / max", "read issued after the ack"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	if bytes.Contains(html, []byte("http://")) && bytes.Count(html, []byte("http://")) != bytes.Count(html, []byte("http://www.w3.org/")) {
		t.Error("report.html refers to something outside itself")
	}
	md, err := os.ReadFile(filepath.Join(dir, FileSummary))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| check | measured | target | status | samples |", "| lost_writes | 3, 1 failed but committed | ≤ 0 | ❌ fail |", "### Failover phases", "| new leader elected |", "### Lost writes"} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("summary.md lacks %q:\n%s", s, md)
		}
	}
}

// goldenHistory is the planted-defect scenario with a kill stamped by its
// call (begin and end) and a heal that took 900 ms.
func goldenHistory() History {
	h := scenario{lose: 2, stale: 2}.build()
	for i, e := range h.Events {
		switch e.Kind {
		case EventFaultInjected:
			h.Events[i].End, h.Events[i].How = e.At+ms(1.2), "pidfd signal"
		case EventFaultHealed:
			h.Events[i].End, h.Events[i].How = e.At+ms(900), "docker API call"
		}
	}
	h.Final.Run = h.Meta.ID
	return h
}

// TestSummaryGolden pins summary.md and the verdict table: uncertainties,
// the inconclusive list, the error-budget table. go test ./results -run
// TestSummaryGolden -update rewrites them after a reviewed change.
func TestSummaryGolden(t *testing.T) {
	h := goldenHistory()
	tg := slaTargets()
	tg.AvailabilityMin = ptr(60.0)
	v := Evaluate(h, tg)
	golden.Check(t, "testdata/summary.md.golden", []byte(RenderSummary(Summarize(h, v))))
	golden.Check(t, "testdata/table.txt.golden", []byte(v.Table()))

	noFinal := goldenHistory()
	noFinal.Final = nil
	golden.Check(t, "testdata/table-inconclusive.txt.golden", []byte(Evaluate(noFinal, tg).Table()))
}
