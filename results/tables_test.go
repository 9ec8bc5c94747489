package results

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTablesRoundTripAndRender(t *testing.T) {
	rec := NewRecorder(RunMeta{ID: "t", Started: time.Unix(0, 0).UTC()})
	rec.RecordFigure(Figure{Name: "old leader demoted after", Value: "21.3s"})
	tbl := Table{
		Title:    "Commit latency per replication mode",
		Columns:  []string{"mode", "p50"},
		Rows:     [][]string{{"async", "1.2ms"}, {"sync", ""}},
		Note:     "ok writes through the endpoint",
		Settings: map[string]string{"synchronous_commit": "remote_apply"},
	}
	if err := rec.RecordTable(tbl); err != nil {
		t.Fatal(err)
	}
	tbl.Rows[0][1] = "changed after recording"

	var buf bytes.Buffer
	if err := EncodeHistory(&buf, rec.History()); err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Tables) != 1 || h.Tables[0].Rows[0][1] != "1.2ms" || len(h.Figures) != 1 {
		t.Fatalf("history lost or shared the tables: %+v %+v", h.Tables, h.Figures)
	}
	md := RenderSummary(Summarize(h, Evaluate(h, Targets{})))
	for _, want := range []string{
		"| old leader demoted after | 21.3s |",
		"### Commit latency per replication mode",
		"| mode | p50 |\n|---|---|\n| async | 1.2ms |\n| sync | - |",
		"Settings: `synchronous_commit=remote_apply`.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	html, err := RenderHTML(h, Summarize(h, Evaluate(h, Targets{})))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("<h2 id=\"table-0\">Commit latency per replication mode</h2>")) {
		t.Error("report.html lacks the table")
	}
}

func TestRecordTableRefusesRaggedRows(t *testing.T) {
	rec := NewRecorder(RunMeta{ID: "t"})
	err := rec.RecordTable(Table{Title: "x", Columns: []string{"a", "b"}, Rows: [][]string{{"1"}}})
	if err == nil || !strings.Contains(err.Error(), "row 1 has 1 cells for 2 columns") {
		t.Fatalf("ragged row accepted: %v", err)
	}
	if len(rec.History().Tables) != 0 {
		t.Fatal("a refused table was recorded")
	}
}
