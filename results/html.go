package results

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strings"
)

// maxPhasePlots is how many faults get a failover timeline in the HTML
// report; the phase tables cover all of them.
const maxPhasePlots = 4

type htmlFault struct {
	Report FailoverReport
	Name   string
	Plot   template.HTML
}

type htmlData struct {
	R         Results
	Headline  string
	Budgets   []float64
	Sync      bool
	Gap       int
	MinLag    int
	Pass      bool
	OpsPlot   template.HTML
	Faults    []htmlFault
	LagPlots  []template.HTML
	Lost      []Op
	LostMore  int
	Failed    []Op
	Stale     []StaleRead
	StaleMore int
	Discarded []Op
}

// RenderHTML renders report.html: one self-contained page (inline CSS and
// SVG, no script, nothing fetched) with the verdict, the operations over
// time, each fault's failover timeline and phases, lag per follower, and
// the offending operations.
func RenderHTML(h History, r Results) ([]byte, error) {
	d := htmlData{R: r, Pass: r.Verdict.Pass, Headline: r.Verdict.Headline(), Budgets: Budgets, Sync: r.Meta.Mode == ModeSync,
		Gap: GapFactor, MinLag: MinLagSamples}
	var err error
	if d.OpsPlot, err = opsPlot(h, r); err != nil {
		return nil, fmt.Errorf("plot operations: %w", err)
	}
	for i, f := range r.Phases {
		hf := htmlFault{Report: f, Name: faultName(f.Fault)}
		if i < maxPhasePlots {
			if hf.Plot, err = phasePlot(f); err != nil {
				return nil, fmt.Errorf("plot failover %d: %w", i+1, err)
			}
		}
		d.Faults = append(d.Faults, hf)
	}
	slaMetric := lagMetric(h)
	metrics := Metrics(h)
	if i := slices.Index(metrics, slaMetric); i > 0 { // the judged metric first
		metrics = append([]string{slaMetric}, slices.Delete(metrics, i, i+1)...)
	}
	for _, m := range metrics {
		target := r.Verdict.Targets.ReplicationLagP99
		if m != slaMetric {
			target = nil
		}
		svg, err := lagPlot(h, m, target)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", m, err)
		}
		if svg != "" {
			d.LagPlots = append(d.LagPlots, svg)
		}
	}
	d.Lost, d.LostMore = firstN(r.LostWrites.Lost)
	d.Failed, _ = firstN(r.LostWrites.FailedFound)
	d.Discarded, _ = firstN(r.SplitBrain.Discarded)
	d.Stale, d.StaleMore = firstN(r.StaleReads.Stale)

	t, err := template.New("report").Funcs(template.FuncMap{
		"dur":     FormatDuration,
		"at":      FormatSeconds,
		"pct":     FormatPercent,
		"nines":   NinesLabel,
		"phase":   PhaseLabel,
		"metric":  FormatMetric,
		"dash":    orDash,
		"lagcell": lagCell,
		"judged":  judgedCell,
		"gaps":    gapCell,
		"unc":     uncertaintyCell,
		"rto":     rtoSentenceHTML,
		"bytes":   bytesBehindCell,
		"visible": visibleCell,
		"yesno":   yesNo,
		"peryear": perYearCell,
		"yearly":  YearlyBudget,
		"plus1":   func(i int) int { return i + 1 },
		"upper":   upperFirst,
		"lagv":    lagValue,
	}).Parse(reportTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse report template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("execute report template: %w", err)
	}
	return buf.Bytes(), nil
}

// rtoSentenceHTML is rtoSentence without Markdown emphasis.
func rtoSentenceHTML(f FailoverReport) string {
	return strings.ReplaceAll(rtoSentence(f), "**", "")
}

func firstN[T any](s []T) ([]T, int) {
	if len(s) <= maxListed {
		return s, 0
	}
	return s[:maxListed], len(s) - maxListed
}

const reportTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>replab {{dash .R.Meta.ID}}: {{.Headline}}</title>
<style>
body{font-family:'Liberation Sans',Arial,Helvetica,sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:20px 28px 48px}
h1{font-size:24px;margin:8px 0 4px}
h2{font-size:19px;margin:30px 0 8px;border-bottom:1px solid #d8dbe0;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
.meta{color:#555;margin:0 0 14px}
.badge{display:inline-block;padding:2px 12px;border-radius:12px;color:#fff;font-weight:bold;font-size:18px;vertical-align:middle}
.badge-pass{background:#2e7d32}.badge-fail{background:#c62828}
.card{background:#fff;border:1px solid #dfe2e6;border-radius:8px;padding:14px 18px;margin:12px 0}
table{border-collapse:collapse;margin:6px 0 10px;font-size:14px}
th,td{border-bottom:1px solid #e3e5e8;padding:5px 10px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.st{white-space:nowrap;font-weight:600}
tr.st-fail td.st{color:#c62828}tr.st-pass td.st{color:#2e7d32}tr.st-inconclusive td.st{color:#b26a00}
tr.st-fail{background:#fdecea}tr.st-inconclusive{background:#fff6e5}
.detail{color:#555;font-size:13px;max-width:520px}
.absent{color:#999;font-style:italic}
.big{font-size:20px;font-weight:bold}
svg{max-width:100%;height:auto;display:block;margin:6px 0 22px}
.note{color:#666;font-size:13px}
</style>
</head>
<body><main>
<h1>replab run <code>{{dash .R.Meta.ID}}</code> <span class="badge {{if .Pass}}badge-pass{{else}}badge-fail{{end}}">{{.Headline}}</span></h1>
<p class="meta">topology <b>{{dash .R.Meta.Topology}}</b> · replication <b>{{dash .R.Meta.Mode}}</b> · network backend {{dash .R.Meta.Backend}} · seed {{.R.Meta.Seed}} · started {{.R.Meta.Started.Format "2006-01-02 15:04:05 MST"}}
{{- range $k, $v := .R.Meta.Labels}} · {{$k}}={{$v}}{{end}}<br>
{{.R.Counts.Ops}} operations ({{.R.Counts.Writes}} writes, {{.R.Counts.Reads}} reads, {{.R.Counts.Probes}} probes: {{.R.Counts.OK}} ok, {{.R.Counts.Failed}} failed, {{.R.Counts.Unknown}} unknown) · {{.R.Counts.Samples}} samples · {{.R.Counts.Events}} events · {{.R.Counts.Faults}} fault(s)</p>

<h2 id="verdict">SLA verdict</h2>
<div class="card">
<table>
<tr><th>check</th><th>measured</th><th>target</th><th>status</th><th class="num">samples</th><th>detail</th></tr>
{{range .R.Verdict.Checks}}<tr class="st-{{.Status}}"><td><b>{{.Name}}</b></td><td>{{.Measured}}</td><td>{{.Target}}</td><td class="st">{{.Status}}</td><td class="num">{{.Samples}}</td><td class="detail">{{.Detail}}</td></tr>
{{end}}</table>
{{with .R.Verdict.Inconclusive}}<p><b>Inconclusive</b> ({{$.R.Verdict.InconclusiveNote}}):</p>
<ul>{{range .}}<li><b>{{.Name}}</b>: {{.Detail}}</li>{{end}}</ul>{{end}}
</div>

{{with .R.Figures}}<h2 id="measurements">Scenario measurements</h2>
<div class="card"><table><tr><th>measurement</th><th>value</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td>{{dash .Value}}</td></tr>
{{end}}</table></div>{{end}}
{{range $i, $t := .R.Tables}}<h2 id="table-{{$i}}">{{.Title}}</h2>
<div class="card"><table><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{dash .}}</td>{{end}}</tr>
{{end}}</table>
{{with .Note}}<p class="note">{{.}}</p>{{end}}
{{with .Settings}}<p class="note">Settings: {{range $k, $v := .}}<code>{{$k}}={{$v}}</code> {{end}}</p>{{end}}</div>
{{end}}
{{if .OpsPlot}}<h2 id="ops">Operations over time</h2>
<div class="card">{{.OpsPlot}}
<p class="note">One row per client session. Green: acknowledged; red (slightly below): failed; orange triangles (slightly above): outcome unknown. Shaded: a fault in effect. Dashed lines: leader events seen in Patroni/etcd.</p></div>{{end}}

{{range $i, $f := .Faults}}<h2 id="failover-{{$i}}">Failover: {{.Name}}</h2>
<div class="card">
<p>{{if and .Report.Outage .Report.Recovered}}Clients could not write for <span class="big">{{dur .Report.RTO}}</span> after the fault began. {{end}}{{rto .Report}}</p>
{{.Plot}}
<table>
<tr><th>phase</th><th class="num">at</th><th class="num">since fault</th><th class="num">uncertainty</th><th>node</th></tr>
{{range .Report.Phases}}{{if .Present}}<tr><td>{{phase .Name}}</td><td class="num">{{at .At}}</td><td class="num">{{dur .SinceFault}}</td><td class="num">{{unc .Uncertainty .How}}</td><td>{{.Node}}</td></tr>
{{else}}<tr><td>{{phase .Name}}</td><td class="absent" colspan="4">not observed</td></tr>
{{end}}{{end}}</table>
{{if .Report.Procedure}}<table>
<tr><th>procedure step</th><th class="num">began</th><th class="num">since fault</th><th class="num">took</th><th>node</th></tr>
{{range .Report.Procedure}}<tr><td>{{.Name}}</td><td class="num">{{at .At}}</td><td class="num">{{dur .SinceFault}}</td><td class="num">{{dur .Took}}</td><td>{{.Node}}</td></tr>
{{end}}</table>{{end}}
</div>
{{end}}

{{if .LagPlots}}<h2 id="lag">Replication lag</h2>
<div class="card">{{range .LagPlots}}{{.}}{{end}}
<table>
<tr><th>metric</th><th>follower</th><th class="num">samples</th><th class="num">judged p99</th><th class="num">steady p99 / max</th><th class="num">during faults p99 / max</th><th class="num">rejoin p99 / max</th><th class="num">after p99 / max</th><th class="num">gaps</th></tr>
{{range $l := .R.Lag}}{{range .Nodes}}<tr><td>{{$l.Metric}}</td><td>{{.Node}}</td><td class="num">{{.All.Count}}</td><td class="num">{{judged $l .}}</td><td class="num">{{lagcell $l .Steady}}</td><td class="num">{{lagcell $l .During}}</td><td class="num">{{lagcell $l .Rejoin}}</td><td class="num">{{lagcell $l .After}}</td><td class="num">{{gaps .}}</td></tr>
{{end}}{{end}}</table>
<p class="note">{{range .R.Lag}}{{if .Resolution}}{{.Metric}} is measured to {{dur .Resolution}}: a value under it reads as &lt; {{dur .Resolution}}. {{end}}{{end}}A follower's p99 is judged on its samples outside fault windows and rejoins, and only with {{.MinLag}} or more of them. A missing measurement is a gap in the plot (no sample for more than {{.Gap}} sampling periods), never zero.</p>
{{with .R.Rejoins}}<h3>Rejoin after the heal (not judged)</h3>
<table><tr><th>node</th><th class="num">after fault</th><th class="num">from (heal)</th><th class="num">caught up</th><th class="num">took</th></tr>
{{range .}}<tr><td>{{.Node}}{{if .Reconnect}} (followed the new leader){{end}}</td><td class="num">{{plus1 .Fault}}</td><td class="num">{{at .From}}</td><td class="num">{{if .Done}}{{at .To}} ({{.How}}){{else}}not by the run's end{{end}}</td><td class="num">{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}
</div>{{end}}

<h2 id="lost">Lost writes</h2>
<div class="card">
{{with .R.LostWrites}}{{if .FinalRecorded}}<p><b>{{len .Lost}}</b> of {{.Acknowledged}} acknowledged writes are absent on {{dash .FinalMember}} ({{.FinalKeys}} ids after convergence). Unknown outcome: {{len .UnknownFound}} found, {{len .UnknownAbsent}} absent. Reported failed but committed: <b>{{len .FailedFound}}</b>. Duplicated ids: <b>{{len .Duplicates}}</b>.</p>
{{else}}<p class="absent">No final state was recorded: {{.Acknowledged}} acknowledged writes could not be checked.</p>{{end}}{{end}}
{{if .Lost}}<h3>Acknowledged, then lost</h3>
<table><tr><th class="num">op</th><th class="num">key</th><th>process</th><th>served by</th><th class="num">invoked</th><th class="num">acknowledged</th></tr>
{{range .Lost}}<tr><td class="num">{{.ID}}</td><td class="num">{{.Key}}</td><td>{{.Process}}</td><td>{{dash .Member}}</td><td class="num">{{at .Invoke}}</td><td class="num">{{at .Complete}}</td></tr>
{{end}}{{if .LostMore}}<tr><td colspan="6">… {{.LostMore}} more in results.json</td></tr>{{end}}</table>{{end}}
{{if .Failed}}<h3>Reported failed, committed anyway</h3>
<table><tr><th class="num">op</th><th class="num">key</th><th>process</th><th>error</th></tr>
{{range .Failed}}<tr><td class="num">{{.ID}}</td><td class="num">{{.Key}}</td><td>{{.Process}}</td><td>{{.Err}}</td></tr>
{{end}}</table>{{end}}
{{with .R.LostWrites.Duplicates}}<h3>Duplicated ids</h3><p>{{range .}}{{.Key}} ×{{.Count}} {{end}}</p>{{end}}
</div>

<h2 id="split-brain">Split-brain</h2>
<div class="card">
{{with .R.SplitBrain}}<p>{{.ProbeWrites}} acknowledged probe writes (sent to each member directly) in {{len .Stints}} leadership stints. <b>{{len .Windows}}</b> windows where two members acknowledged writes at once; {{len .AfterElection}} writes acknowledged by a former leader after a new one was elected, <b>{{len .Discarded}}</b> of them absent at the end (thrown away with the old timeline).</p>
{{if .Stints}}<table><tr><th>member</th><th class="num">first ok probe</th><th class="num">last ok probe</th><th class="num">writes</th></tr>
{{range .Stints}}<tr><td>{{.Member}}</td><td class="num">{{at .Start}}</td><td class="num">{{at .End}}</td><td class="num">{{.Writes}}</td></tr>
{{end}}</table>{{end}}
{{if .Windows}}<h3>Overlapping leaders</h3><table><tr><th>former leader</th><th>new leader</th><th class="num">from</th><th class="num">to</th><th class="num">overlap</th></tr>
{{range .Windows}}<tr><td>{{.Former}}</td><td>{{.Later}}</td><td class="num">{{at .Start}}</td><td class="num">{{at .End}}</td><td class="num">{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}{{end}}
{{if .Discarded}}<h3>Discarded writes of a former leader</h3>
<table><tr><th class="num">op</th><th class="num">key</th><th>process</th><th>acknowledged by</th><th class="num">acknowledged</th></tr>
{{range .Discarded}}<tr><td class="num">{{.ID}}</td><td class="num">{{.Key}}</td><td>{{.Process}}</td><td>{{.Member}}</td><td class="num">{{at .Complete}}</td></tr>
{{end}}</table>{{end}}
</div>

<h2 id="stale">Stale reads</h2>
<div class="card">
{{with .R.StaleReads}}<p><b>{{len .Stale}}</b> of {{.Checked}} reads of the reader's own acknowledged writes did not see them ({{.Reads}} ok reads in all).
{{if $.Sync}}On the synchronous standby outside faults: <b>{{.StaleSync}}</b> of {{.CheckedSync}} (mode sync promises none).{{else}}Mode {{dash $.R.Meta.Mode}} does not promise read-your-writes on a replica: reported, not judged.{{end}}</p>{{end}}
{{if .Stale}}<table><tr><th class="num">read op</th><th class="num">key</th><th>process</th><th>target</th><th>served by</th><th class="num">read at</th><th class="num">bytes behind</th><th class="num">visible after the ack</th><th class="num">read issued after the ack</th><th>in a fault</th></tr>
{{range .Stale}}<tr><td class="num">{{.Read.ID}}</td><td class="num">{{.Read.Key}}</td><td>{{.Read.Process}}</td><td>{{.Read.Target}}</td><td>{{dash .Read.Member}}</td><td class="num">{{at .Read.Invoke}}</td><td class="num">{{bytes .}}</td><td class="num">{{visible .}}</td><td class="num">{{dur .IssuedAfterAck}}</td><td>{{yesno .InFault}}</td></tr>
{{end}}{{if .StaleMore}}<tr><td colspan="10">… {{.StaleMore}} more in results.json</td></tr>{{end}}</table>{{end}}
</div>

<h2 id="availability">Availability of the read-write endpoint</h2>
<div class="card">
{{with .R.Availability}}{{if .Writes}}<p>By time: <span class="big">{{pct .TimeShare}}</span> ({{nines .TimeShare}}): {{dur .Downtime}} without an acknowledged write (outages of {{dur .Gap}} or more) over {{dur .Span}}.</p>
<p>{{if .Extrapolated}}Extrapolation: about <b>{{dur .YearlyDowntime}}</b> of downtime a year ({{.ExtrapolationNote}}).{{else}}{{upper .ExtrapolationNote}}.{{end}}</p>
{{if .PerFault}}<h3>Error budget: failovers a year</h3>
<table><tr><th>fault</th><th class="num">downtime</th>{{range $.Budgets}}<th class="num">fit a year in {{pct .}} ({{dur (yearly .)}})</th>{{end}}</tr>
{{range .PerFault}}<tr><td>{{.Name}}</td><td class="num">{{dur .Downtime}}</td>{{range .Fits}}<td class="num">{{peryear .}}</td>{{end}}</tr>
{{end}}</table>{{if .Unattributed}}<p class="note">{{dur .Unattributed}} of downtime was charged to no fault.</p>{{end}}{{end}}
<p>By operations: {{pct .OpShare}} of {{.Writes}} writes acknowledged ({{.Failed}} failed, {{.Unknown}} unknown).</p>
{{if .Outages}}<table><tr><th class="num">outage from</th><th class="num">to</th><th class="num">lasting</th></tr>
{{range .Outages}}<tr><td class="num">{{at .Start}}</td><td class="num">{{at .End}}</td><td class="num">{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}
{{else}}<p class="absent">No write through the read-write endpoint.</p>{{end}}{{end}}
</div>
{{if .R.Netem}}
<h2 id="netem">WAN fidelity (userspace netem agent)</h2>
<div class="card">
<p>How late each agent released the packets it held, on average, against the budget (half the link's RTT tolerance). Late releases add to the emulated delay; the arrival lag is already counted in the hold.</p>
{{range .R.NetemWarnings}}<p class="warn">⚠️ {{.}}.</p>{{end}}
<table><tr><th>host</th><th>link</th><th class="num">delay</th><th class="num">packets</th><th class="num">dropped</th><th class="num">mean release error</th><th class="num">budget</th><th class="num">mean arrival lag</th></tr>
{{range .R.Netem}}{{if not .Idle}}<tr><td>{{.Host}}</td><td>{{.Link}}</td><td class="num">{{dur .Delay}}</td><td class="num">{{.Packets}}</td><td class="num">{{.Dropped}}</td><td class="num">{{dur .ReleaseError}}{{if .Breaks}} ⚠️{{end}}</td><td class="num">±{{dur .Budget}}</td><td class="num">{{dur .ArrivalLag}}</td></tr>
{{end}}{{end}}</table>
</div>
{{end}}
<p class="note">Times are seconds since the run started, on one monotonic clock. {{.R.Clock.Note}}; measured clock resolution {{dur .R.Clock.Resolution}}. results.json, history.jsonl and summary.md sit beside this file; <code>replab check</code> re-runs every checker on history.jsonl.</p>
</main></body>
</html>
`
