package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Schema versions of the files WriteRun writes. A reader refuses a file
// whose schema it does not know.
const (
	SchemaResults = "replab.results/v1"
	SchemaHistory = "replab.history/v1"
)

// File names inside a run directory.
const (
	FileResults = "results.json"
	FileHistory = "history.jsonl"
	FileSummary = "summary.md"
	FileReport  = "report.html"
)

// Counts are the sizes of a history.
type Counts struct {
	Ops     int `json:"ops"`
	Writes  int `json:"writes"`
	Reads   int `json:"reads"`
	Probes  int `json:"probes"`
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
	Samples int `json:"samples"`
	Events  int `json:"events"`
	Faults  int `json:"faults"`
}

// Results is the content of results.json: the verdict and every checker's
// report. Durations are integer nanoseconds (fields ending in _ns).
type Results struct {
	Schema     string           `json:"schema"`
	Meta       RunMeta          `json:"meta"`
	Clock      Clock            `json:"clock"`
	Verdict    Verdict          `json:"verdict"`
	Phases     []FailoverReport `json:"phases"`
	LostWrites LostWritesReport `json:"lost_writes"`
	SplitBrain SplitBrainReport `json:"split_brain"`
	Lag        []LagReport      `json:"lag"`
	// Rejoins are the nodes' catch-ups after a heal (the faulted nodes',
	// and after a failover every follower's), judged
	// by the SLA's lag metric against its target (DefaultRejoinLag
	// without one); their samples are in each LagReport's Rejoin phase.
	Rejoins      []Rejoin           `json:"rejoins,omitempty"`
	StaleReads   StaleReadsReport   `json:"stale_reads"`
	Availability AvailabilityReport `json:"availability"`
	Counts       Counts             `json:"counts"`
	// Netem is how faithfully the userspace netem agents held each link;
	// NetemWarnings names the links whose release error broke the budget.
	Netem         []LinkFidelity `json:"netem,omitempty"`
	NetemWarnings []string       `json:"netem_warnings,omitempty"`
	// Figures and Tables are the scenario's own measurements, as recorded.
	Figures []Figure `json:"figures,omitempty"`
	Tables  []Table  `json:"tables,omitempty"`
}

// Summarize runs every checker over h (failover phases for every fault, lag
// for every metric) and bundles them with v.
func Summarize(h History, v Verdict) Results {
	r := Results{
		Schema:       SchemaResults,
		Meta:         h.Meta,
		Clock:        h.Clock,
		Verdict:      v,
		LostWrites:   LostWrites(h),
		SplitBrain:   SplitBrain(h),
		StaleReads:   StaleReads(h),
		Availability: Availability(h, DefaultOutageGap),
		Netem:        h.Netem,
		Figures:      h.Figures,
		Tables:       h.Tables,
	}
	r.NetemWarnings = FidelityWarnings(h.Netem)
	faults := Faults(h)
	for i := range faults {
		r.Phases = append(r.Phases, FailoverPhases(h, i))
	}
	r.Rejoins = Rejoins(h, lagMetric(h), rejoinLag(v.Targets))
	for _, m := range Metrics(h) {
		r.Lag = append(r.Lag, Lag(h, m, r.Rejoins))
	}
	c := &r.Counts
	c.Ops, c.Samples, c.Events, c.Faults = len(h.Ops), len(h.Samples), len(h.Events), len(faults)
	for _, o := range h.Ops {
		switch o.Kind {
		case OpWrite:
			c.Writes++
		case OpRead:
			c.Reads++
		case OpProbe:
			c.Probes++
		}
		switch o.Outcome {
		case OK:
			c.OK++
		case Failed:
			c.Failed++
		default:
			c.Unknown++
		}
	}
	return r
}

// rejoinLag is the lag under which a returning node has caught up: the
// lag target when set.
func rejoinLag(t Targets) time.Duration {
	if t.ReplicationLagP99 != nil {
		return *t.ReplicationLagP99
	}
	return DefaultRejoinLag
}

// WriteRun writes a run directory: results.json, history.jsonl (enough for
// LoadHistory to rebuild h exactly), summary.md and report.html. It creates
// dir if needed and replaces those files.
func WriteRun(dir string, h History, v Verdict) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	res := Summarize(h, v)
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("encode %s: %w", FileResults, err)
	}
	var hist bytes.Buffer
	if err := EncodeHistory(&hist, h); err != nil {
		return fmt.Errorf("encode %s: %w", FileHistory, err)
	}
	html, err := RenderHTML(h, res)
	if err != nil {
		return fmt.Errorf("render %s: %w", FileReport, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{FileHistory, hist.Bytes()},
		{FileResults, js.Bytes()},
		{FileSummary, []byte(RenderSummary(res))},
		{FileReport, html},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a reader
// never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// historyHeader is the first line of history.jsonl.
type historyHeader struct {
	Schema         string                   `json:"schema"`
	Meta           RunMeta                  `json:"meta"`
	Clock          Clock                    `json:"clock"`
	Final          *FinalState              `json:"final"`
	DroppedSamples int                      `json:"dropped_samples,omitempty"`
	Netem          []LinkFidelity           `json:"netem,omitempty"`
	Resolutions    map[string]time.Duration `json:"resolutions_ns,omitempty"`
	Figures        []Figure                 `json:"figures,omitempty"`
	Tables         []Table                  `json:"tables,omitempty"`
}

// historyLine is one line of history.jsonl: exactly one field is set.
type historyLine struct {
	Header *historyHeader `json:"header,omitempty"`
	Op     *Op            `json:"op,omitempty"`
	Sample *SampleRecord  `json:"sample,omitempty"`
	Event  *EventRecord   `json:"event,omitempty"`
}

// EncodeHistory writes h as JSON lines: a header (schema, meta, clock,
// final state), then operations, samples and events merged in time order
// (operations by invocation), each kind keeping its own order.
func EncodeHistory(w io.Writer, h History) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(historyLine{Header: &historyHeader{
		Schema: SchemaHistory, Meta: h.Meta, Clock: h.Clock, Final: h.Final, DroppedSamples: h.DroppedSamples, Netem: h.Netem, Resolutions: h.Resolutions,
		Figures: h.Figures, Tables: h.Tables,
	}}); err != nil {
		return fmt.Errorf("encode header: %w", err)
	}
	i, j, k := 0, 0, 0
	for i < len(h.Ops) || j < len(h.Samples) || k < len(h.Events) {
		const inf = 1<<63 - 1
		ti, tj, tk := int64(inf), int64(inf), int64(inf)
		if i < len(h.Ops) {
			ti = int64(h.Ops[i].Invoke)
		}
		if j < len(h.Samples) {
			tj = int64(h.Samples[j].At)
		}
		if k < len(h.Events) {
			tk = int64(h.Events[k].At)
		}
		var line historyLine
		switch {
		case i < len(h.Ops) && ti <= tj && ti <= tk:
			line.Op = &h.Ops[i]
			i++
		case k < len(h.Events) && tk <= tj:
			line.Event = &h.Events[k]
			k++
		default:
			line.Sample = &h.Samples[j]
			j++
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("encode history line: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flush history: %w", err)
	}
	return nil
}

// DecodeHistory reads what EncodeHistory wrote.
func DecodeHistory(r io.Reader) (History, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var h History
	header := false
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var line historyLine
			if uerr := json.Unmarshal(b, &line); uerr != nil {
				return History{}, fmt.Errorf("decode line %d: %w", n, uerr)
			}
			switch {
			case line.Header != nil:
				if header {
					return History{}, fmt.Errorf("decode line %d: second header", n)
				}
				if line.Header.Schema != SchemaHistory {
					return History{}, fmt.Errorf("decode line %d: schema %q, want %q", n, line.Header.Schema, SchemaHistory)
				}
				header = true
				h.Meta, h.Clock, h.Final, h.DroppedSamples, h.Netem = line.Header.Meta, line.Header.Clock, line.Header.Final, line.Header.DroppedSamples, line.Header.Netem
				h.Resolutions, h.Figures, h.Tables = line.Header.Resolutions, line.Header.Figures, line.Header.Tables
			case !header:
				return History{}, fmt.Errorf("decode line %d: record before the header", n)
			case line.Op != nil:
				h.Ops = append(h.Ops, *line.Op)
			case line.Sample != nil:
				h.Samples = append(h.Samples, *line.Sample)
			case line.Event != nil:
				h.Events = append(h.Events, *line.Event)
			default:
				return History{}, fmt.Errorf("decode line %d: no op, sample or event", n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return History{}, fmt.Errorf("read line %d: %w", n, err)
		}
	}
	if !header {
		return History{}, errors.New("decode history: no header line")
	}
	return h, nil
}

// LoadHistory reads dir/history.jsonl back into the History WriteRun saved.
func LoadHistory(dir string) (History, error) {
	f, err := os.Open(filepath.Join(dir, FileHistory))
	if err != nil {
		return History{}, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	h, err := DecodeHistory(f)
	if err != nil {
		return History{}, fmt.Errorf("read %s: %w", filepath.Join(dir, FileHistory), err)
	}
	return h, nil
}

// LoadResults reads dir/results.json.
func LoadResults(dir string) (Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileResults))
	if err != nil {
		return Results{}, fmt.Errorf("read results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return Results{}, fmt.Errorf("decode %s: %w", filepath.Join(dir, FileResults), err)
	}
	if r.Schema != SchemaResults {
		return Results{}, fmt.Errorf("decode %s: schema %q, want %q", filepath.Join(dir, FileResults), r.Schema, SchemaResults)
	}
	return r, nil
}

// CheckDir re-runs every checker on a saved run's history against t and
// returns the verdict; with the targets saved in results.json
// (LoadResults(dir).Verdict.Targets) it is identical to the saved verdict.
// `replab check DIR` calls it.
func CheckDir(dir string, t Targets) (Verdict, error) {
	h, err := LoadHistory(dir)
	if err != nil {
		return Verdict{}, err
	}
	return Evaluate(h, t), nil
}

// RenderDir re-renders a saved run's results.json, summary.md and
// report.html from its history and saved verdict (`replab report DIR`).
func RenderDir(dir string) error {
	h, err := LoadHistory(dir)
	if err != nil {
		return err
	}
	r, err := LoadResults(dir)
	if err != nil {
		return err
	}
	return WriteRun(dir, h, r.Verdict)
}
