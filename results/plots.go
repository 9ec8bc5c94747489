package results

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot geometry. Widths in points; the HTML scales the SVG to the page.
const (
	plotWidth   = vg.Length(820)
	legendWidth = vg.Length(170)
	maxOpsRows  = 24  // more processes than this are grouped by kind and target
	opsBuckets  = 700 // points per row and outcome at most: about one per point of width
	lagBuckets  = 700 // points per follower at most
)

// Colours as 0xRRGGBBAA, chosen to read on white and for common colour
// blindness (ok and failed also differ in vertical position).
const (
	colOK      = 0x2e7d32ff
	colFailed  = 0xc62828ff
	colUnknown = 0xef8c00ff
	colLost    = 0x000000ff
	colStale   = 0x6a1b9aff
	colFault   = 0xd32f2f26
	colFaultLg = 0xd32f2f55 // the legend swatch, stronger to be seen
	colKeyGone = 0x6d4c41ff
	colElected = 0x1565c0ff
	colPromote = 0x00838fff
	colGrid    = 0xe4e4e4ff
	colMuted   = 0x707070ff
	colText    = 0x000000ff
)

// rgb turns 0xRRGGBBAA into a colour (not premultiplied).
func rgb(c uint32) color.Color {
	return color.NRGBA{R: uint8(c >> 24), G: uint8(c >> 16), B: uint8(c >> 8), A: uint8(c)}
}

func nodeColor(i int) color.Color {
	palette := [...]uint32{0x1f77b4ff, 0xff7f0eff, 0x2ca02cff, 0x9467bdff, 0x8c564bff, 0xe377c2ff, 0x7f7f7fff, 0xbcbd22ff, 0x17becfff}
	return rgb(palette[i%len(palette)])
}

func sans(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// newPlot makes a plot in the report's style: sans-serif text, a light grid,
// the x axis in seconds since the run started.
func newPlot(title, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(13, true)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "seconds since run start"
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(11, false)
		a.Tick.Label.Font = sans(10, false)
	}
	p.X.Tick.Marker = secondsTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = rgb(colGrid), rgb(colGrid)
	p.Add(g)
	return p
}

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = sans(10, false)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(18)
	l.Padding = vg.Points(5)
	return &l
}

func textStyle(size vg.Length, c color.Color) text.Style {
	return text.Style{Font: sans(size, false), Color: c, Handler: plot.DefaultTextHandler}
}

// renderSVG draws p with its legend in a column to the right and returns
// inline SVG for an HTML page.
func renderSVG(p *plot.Plot, leg *plot.Legend, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	lw := vg.Length(0)
	if leg != nil {
		lw = legendWidth
	}
	p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
	if leg != nil {
		leg.Draw(draw.Crop(dc, w-lw+vg.Points(12), 0, 0, -vg.Points(34)))
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("write svg: %w", err)
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	// Liberation Sans is metric-compatible with Arial and Helvetica, so
	// the layout holds where it is not installed.
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return template.HTML(s), nil //nolint:gosec // our own SVG, text escaped by vgsvg
}

func secs(d time.Duration) float64 { return d.Seconds() }

// shadeFaults adds a translucent band per fault window across [ymin, ymax]
// and a label at its top.
func shadeFaults(p *plot.Plot, faults []FaultWindow, ymin, ymax, labelY float64) error {
	var xys plotter.XYs
	var labels []string
	for _, f := range faults {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: secs(f.Injected), Y: ymin}, {X: secs(f.End), Y: ymin}, {X: secs(f.End), Y: ymax}, {X: secs(f.Injected), Y: ymax}})
		if err != nil {
			return fmt.Errorf("shade fault: %w", err)
		}
		poly.Color = rgb(colFault)
		poly.LineStyle.Width = 0
		p.Add(poly)
		xys = append(xys, plotter.XY{X: secs(f.Injected), Y: labelY})
		labels = append(labels, " "+strings.TrimSpace("fault "+f.Detail+" "+f.Node))
	}
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("label faults: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i] = textStyle(9, rgb(colFailed))
		l.TextStyle[i].YAlign = text.YCenter
	}
	p.Add(l)
	return nil
}

// leaderMarks adds a dashed vertical line for every leader event, labelled
// at staggered heights near the top.
func leaderMarks(p *plot.Plot, ev []EventRecord, ymin, ymax float64, labelYs []float64) (bool, bool, bool, error) {
	var xys plotter.XYs
	var labels []string
	var styles []text.Style
	var keyGone, elected, promoted bool
	for _, e := range ev {
		var c uint32
		var what string
		switch e.Kind {
		case EventLeaderKeyGone:
			c, what, keyGone = colKeyGone, "key gone", true
		case EventLeaderChanged:
			c, what, elected = colElected, "leader "+e.Node, true
		case EventPromoted:
			c, what, promoted = colPromote, "promoted "+e.Node, true
		default:
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: secs(e.At), Y: ymin}, {X: secs(e.At), Y: ymax}})
		if err != nil {
			return false, false, false, fmt.Errorf("mark %s: %w", e.Kind, err)
		}
		l.LineStyle.Color = rgb(c)
		l.LineStyle.Width = vg.Points(1.2)
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		xys = append(xys, plotter.XY{X: secs(e.At), Y: labelYs[len(labels)%len(labelYs)]})
		labels = append(labels, " "+strings.TrimSpace(what))
		st := textStyle(9, rgb(c))
		st.YAlign = text.YCenter
		styles = append(styles, st)
	}
	if len(xys) > 0 {
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return false, false, false, fmt.Errorf("label leader events: %w", err)
		}
		lab.TextStyle = styles
		p.Add(lab)
	}
	return keyGone, elected, promoted, nil
}

func legendLine(c uint32, dashed bool) plot.Thumbnailer {
	l, _ := plotter.NewLine(plotter.XYs{{}, {X: 1}})
	l.LineStyle.Color = rgb(c)
	l.LineStyle.Width = vg.Points(1.5)
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l
}

func legendBox(c color.Color) plot.Thumbnailer {
	poly, _ := plotter.NewPolygon(plotter.XYs{{}, {X: 1}, {X: 1, Y: 1}, {Y: 1}})
	poly.Color = c
	poly.LineStyle.Width = 0
	return poly
}

// opsRows names the rows of the operations strip, top to bottom, and maps
// each process to its row.
func opsRows(ops []Op) ([]string, map[string]int) {
	kindOf := map[string]OpKind{}
	for _, o := range ops {
		if k, seen := kindOf[o.Process]; !seen || (k == OpRead && o.Kind == OpWrite) {
			kindOf[o.Process] = o.Kind
		}
	}
	rank := func(k OpKind) int {
		switch k {
		case OpWrite:
			return 0
		case OpRead:
			return 1
		}
		return 2
	}
	names := sortedKeys(kindOf)
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(rank(kindOf[a]), rank(kindOf[b])) })
	rows, index := names, map[string]int{}
	if len(names) > maxOpsRows {
		// group: one row per kind and target
		rows = nil
		group := map[string]string{}
		for _, o := range ops {
			g := string(o.Kind) + "s → " + o.Target
			group[o.Process] = g
		}
		for _, n := range names {
			if !slices.Contains(rows, group[n]) {
				rows = append(rows, group[n])
			}
		}
		for _, n := range names {
			index[n] = slices.Index(rows, group[n])
		}
		return rows, index
	}
	for i, n := range names {
		index[n] = i
	}
	return rows, index
}

// opsPlot draws every operation at its completion time on its process's
// row, coloured by outcome, with fault windows shaded and leader events
// marked.
func opsPlot(h History, r Results) (template.HTML, error) {
	rows, rowOf := opsRows(h.Ops)
	if len(rows) == 0 {
		return "", nil
	}
	end := secs(RunEnd(h))
	p := newPlot("Operations over time: each mark is one operation, at its completion", "")
	p.Y.Label.Text = ""
	// top row first: nominal index 0 is at the bottom
	names := slices.Clone(rows)
	slices.Reverse(names)
	p.NominalY(names...)
	n := float64(len(rows))
	y := func(row int) float64 { return n - 1 - float64(row) }
	ymin, ymax := -0.6, n-0.5+2.0

	faults := Faults(h)
	if err := shadeFaults(p, faults, ymin, ymax, n-0.5+1.7); err != nil {
		return "", err
	}
	ev := sortedEvents(h)
	keyGone, elected, promoted, err := leaderMarks(p, ev, ymin, ymax, []float64{n - 0.5 + 0.4, n - 0.5 + 0.8, n - 0.5 + 1.2})
	if err != nil {
		return "", err
	}

	lost := map[int64]bool{}
	for _, o := range r.LostWrites.Lost {
		lost[o.ID] = true
	}
	stale := map[int64]bool{}
	for _, s := range r.StaleReads.Stale {
		stale[s.Read.ID] = true
	}
	type series struct {
		name   string
		col    uint32
		shape  draw.GlyphDrawer
		radius vg.Length
		dy     float64
		xys    plotter.XYs
	}
	all := []*series{
		{name: "ok", col: colOK, shape: draw.BoxGlyph{}, radius: 1.6},
		{name: "failed", col: colFailed, shape: draw.BoxGlyph{}, radius: 1.6, dy: -0.25},
		{name: "unknown outcome", col: colUnknown, shape: draw.TriangleGlyph{}, radius: 2.4, dy: 0.25},
		{name: "acknowledged, then lost", col: colLost, shape: draw.CrossGlyph{}, radius: 3.2},
		{name: "stale read (own write unseen)", col: colStale, shape: draw.RingGlyph{}, radius: 3.2},
	}
	bucket := max(end/opsBuckets, 1e-9)
	type key struct {
		row, series, bucket int
	}
	seen := map[key]bool{}
	add := func(si int, o Op) {
		row := rowOf[o.Process]
		k := key{row, si, int(secs(o.Complete) / bucket)}
		if seen[k] {
			return
		}
		seen[k] = true
		all[si].xys = append(all[si].xys, plotter.XY{X: secs(o.Complete), Y: y(row) + all[si].dy})
	}
	for _, o := range h.Ops {
		switch o.Outcome {
		case OK:
			add(0, o)
		case Failed:
			add(1, o)
		default:
			add(2, o)
		}
		if lost[o.ID] {
			add(3, o)
		}
		if stale[o.ID] {
			add(4, o)
		}
	}
	leg := newLegend()
	for _, s := range all {
		if len(s.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(s.xys)
		if err != nil {
			return "", fmt.Errorf("plot %s ops: %w", s.name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: rgb(s.col), Radius: vg.Points(float64(s.radius)), Shape: s.shape}
		p.Add(sc)
		leg.Add(s.name, sc)
	}
	if len(faults) > 0 {
		leg.Add("fault in effect", legendBox(rgb(colFaultLg)))
	}
	if keyGone {
		leg.Add("leader key gone", legendLine(colKeyGone, true))
	}
	if elected {
		leg.Add("new leader elected", legendLine(colElected, true))
	}
	if promoted {
		leg.Add("promotion done", legendLine(colPromote, true))
	}
	p.X.Min, p.X.Max = 0, math.Max(end, 1e-3)
	p.Y.Min, p.Y.Max = ymin, ymax
	height := vg.Points(150 + 24*float64(len(rows)))
	return renderSVG(p, leg, plotWidth, height)
}

// lagPlot draws one metric per follower over time (the largest value of
// each of lagBuckets time slices, so spikes survive), with fault windows.
func lagPlot(h History, metric string, target *time.Duration) (template.HTML, error) {
	byNode := map[string]plotter.XYs{}
	peak := 0.0
	for _, s := range h.Samples {
		if s.Metric == metric {
			byNode[s.Node] = append(byNode[s.Node], plotter.XY{X: secs(s.At), Y: s.Value})
			peak = math.Max(peak, s.Value)
		}
	}
	if len(byNode) == 0 {
		return "", nil
	}
	unit, scale := "", 1.0
	switch {
	case strings.HasSuffix(metric, "_seconds"):
		unit = "seconds"
		if peak < 1 {
			unit, scale = "milliseconds", 1000
		}
	case strings.HasSuffix(metric, "bytes"):
		unit = "bytes"
		if peak >= 10<<20 {
			unit, scale = "MiB", 1.0/(1<<20)
		} else if peak >= 10<<10 {
			unit, scale = "KiB", 1.0/(1<<10)
		}
	}
	// A failover makes lag jump by orders of magnitude: a log scale keeps
	// the steady state readable next to the spike.
	var all []float64
	for _, pts := range byNode {
		for _, pt := range pts {
			all = append(all, pt.Y*scale)
		}
	}
	st := NewStats(all)
	floor := math.Min(0, slices.Min(all))
	logY := st.P50 > 0 && st.Max > 50*st.P50
	if logY {
		floor = st.Max
		for _, v := range all {
			if v > 0 {
				floor = math.Min(floor, v)
			}
		}
		floor *= 0.8
	}
	yLabel := "lag"
	if unit != "" {
		yLabel = "lag (" + unit + ")"
	}
	if logY {
		yLabel = strings.TrimSuffix(yLabel, ")") + ", log scale)"
	}
	p := newPlot("Replication lag per follower: "+metric, yLabel)
	end := secs(RunEnd(h))
	top := peak * scale * 1.18
	if top <= 0 {
		top = 1
	}
	if logY {
		top = peak * scale * 2.5
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if err := shadeFaults(p, Faults(h), floor, top, labelHeight(floor, top, logY)); err != nil {
		return "", err
	}
	leg := newLegend()
	bucket := max(end/lagBuckets, 1e-9)
	for i, node := range sortedKeys(byNode) {
		pts := byNode[node]
		slices.SortStableFunc(pts, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		// A missing measurement is a gap, never zero: the line breaks
		// wherever samples are more than GapFactor periods apart.
		at := make([]time.Duration, len(pts))
		for j, pt := range pts {
			at[j] = time.Duration(pt.X * float64(time.Second))
		}
		gap := secs(GapFactor * samplingPeriod(at))
		var first *plotter.Line
		for _, seg := range splitAtGaps(pts, gap) {
			var down plotter.XYs
			last := -1
			for _, pt := range seg {
				b := int(pt.X / bucket)
				pt.Y = math.Max(pt.Y*scale, floor)
				if b != last || len(down) == 0 {
					down = append(down, pt)
					last = b
					continue
				}
				if pt.Y > down[len(down)-1].Y {
					down[len(down)-1] = pt
				}
			}
			l, err := plotter.NewLine(down)
			if err != nil {
				return "", fmt.Errorf("plot lag of %s: %w", node, err)
			}
			l.LineStyle.Color = nodeColor(i)
			l.LineStyle.Width = vg.Points(1.4)
			p.Add(l)
			if len(down) == 1 { // a lone sample between gaps: a dot, not nothing
				sc, err := plotter.NewScatter(down)
				if err != nil {
					return "", fmt.Errorf("plot lag of %s: %w", node, err)
				}
				sc.GlyphStyle.Color = nodeColor(i)
				sc.GlyphStyle.Radius = vg.Points(1.5)
				sc.GlyphStyle.Shape = draw.CircleGlyph{}
				p.Add(sc)
			}
			if first == nil {
				first = l
			}
		}
		if first != nil {
			leg.Add(node, first)
		}
	}
	if target != nil && strings.HasSuffix(metric, "_seconds") {
		ty := target.Seconds() * scale
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: ty}, {X: end, Y: ty}})
		if err != nil {
			return "", fmt.Errorf("plot lag target: %w", err)
		}
		l.LineStyle.Color = rgb(colMuted)
		l.LineStyle.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(l)
		leg.Add("SLA p99 target "+FormatDuration(*target), l)
		top = math.Max(top, ty*1.18)
		if logY {
			top = math.Max(top, ty*2.5)
		}
	}
	if len(Faults(h)) > 0 {
		leg.Add("fault in effect", legendBox(rgb(colFaultLg)))
	}
	p.X.Min, p.X.Max = 0, math.Max(end, 1e-3)
	p.Y.Min, p.Y.Max = floor, top
	return renderSVG(p, leg, plotWidth, vg.Points(280))
}

// splitAtGaps cuts time-sorted points into runs without a spacing over gap
// seconds; gap 0 keeps one run.
func splitAtGaps(pts plotter.XYs, gap float64) []plotter.XYs {
	var out []plotter.XYs
	start := 0
	for j := 1; j <= len(pts); j++ {
		if j == len(pts) || gap > 0 && pts[j].X-pts[j-1].X > gap {
			out = append(out, pts[start:j])
			start = j
		}
	}
	return out
}

// phaseBar is one row of the failover timeline.
type phaseBar struct {
	label    string
	from, to Phase
	col      uint32
}

// phasePlot draws one fault's failover as horizontal bars on the run's
// clock: what the client saw (RTO, write gap) above what the cluster did
// (detection, election, promotion, re-routing).
func phasePlot(f FailoverReport) (template.HTML, error) {
	ph := func(n string) Phase { return f.Phase(n) }
	first := func(names ...string) Phase {
		for _, n := range names {
			if p := ph(n); p.Present {
				return p
			}
		}
		return Phase{Name: names[len(names)-1]}
	}
	fault := ph(PhaseFaultInjected)
	bars := []phaseBar{
		{"RTO: fault → first ok write", fault, ph(PhaseFirstOKWrite), colFailed},
		{"write gap: last ok → first ok", ph(PhaseLastOKWrite), ph(PhaseFirstOKWrite), colUnknown},
	}
	if last := ph(PhaseLastOKWrite); last.Present && last.At > fault.At {
		bars = append(bars, phaseBar{"old leader still acking", fault, last, colMuted})
	}
	bars = append(bars,
		phaseBar{"detection: fault → key gone", fault, ph(PhaseLeaderKeyGone), colKeyGone},
		phaseBar{"election: → new leader", first(PhaseLeaderKeyGone, PhaseFaultInjected), ph(PhaseLeaderElected), colElected},
		phaseBar{"promotion: elected → promoted", ph(PhaseLeaderElected), ph(PhasePromoted), colPromote},
		phaseBar{"re-routing: → first ok write", first(PhasePromoted, PhaseLeaderElected), ph(PhaseFirstOKWrite), colOK},
	)
	lo, hi := secs(fault.At), secs(fault.At)
	for _, p := range f.Phases {
		if p.Present {
			lo, hi = math.Min(lo, secs(p.At)), math.Max(hi, secs(p.At))
		}
	}
	span := math.Max(hi-lo, 0.5)
	lo, hi = lo-span*0.05, hi+span*0.32 // room for the duration labels

	title := fmt.Sprintf("Failover of %s", faultName(f.Fault))
	if f.Recovered {
		title += ": RTO " + FormatDuration(f.RTO)
	} else {
		title += ": not recovered"
	}
	p := newPlot(title, "")
	names := make([]string, len(bars))
	for i, b := range bars {
		names[len(bars)-1-i] = b.label
	}
	p.NominalY(names...)
	var lxy plotter.XYs
	var ltext []string
	var lstyle []text.Style
	for i, b := range bars {
		yc := float64(len(bars) - 1 - i)
		if !b.from.Present || !b.to.Present {
			x := lo + span*0.02
			if b.from.Present {
				x = secs(b.from.At)
			}
			lxy = append(lxy, plotter.XY{X: x, Y: yc})
			missing := b.to.Name
			if !b.from.Present {
				missing = b.from.Name
			}
			ltext = append(ltext, " not observed ("+PhaseLabel(missing)+" absent)")
			st := textStyle(9, rgb(colMuted))
			st.YAlign = text.YCenter
			lstyle = append(lstyle, st)
			continue
		}
		x0, x1 := secs(b.from.At), secs(b.to.At)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		x1 = math.Max(x1, x0+span*0.002) // keep a zero-length step visible
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: yc - 0.32}, {X: x1, Y: yc - 0.32}, {X: x1, Y: yc + 0.32}, {X: x0, Y: yc + 0.32}})
		if err != nil {
			return "", fmt.Errorf("plot phase bar: %w", err)
		}
		poly.Color = rgb(b.col)
		poly.LineStyle.Width = 0
		p.Add(poly)
		lxy = append(lxy, plotter.XY{X: x1, Y: yc})
		d := b.to.At - b.from.At
		label := " " + FormatDuration(d)
		if res := b.from.Uncertainty + b.to.Uncertainty; res >= time.Millisecond {
			label += " (±" + FormatDuration(res) + ")"
		}
		ltext = append(ltext, label)
		st := textStyle(10, rgb(colText))
		st.YAlign = text.YCenter
		lstyle = append(lstyle, st)
	}
	if fault.Present {
		l, err := plotter.NewLine(plotter.XYs{{X: secs(fault.At), Y: -0.6}, {X: secs(fault.At), Y: float64(len(bars)) - 0.4}})
		if err != nil {
			return "", fmt.Errorf("plot fault line: %w", err)
		}
		l.LineStyle.Color = rgb(colFailed)
		l.LineStyle.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
	}
	if len(lxy) > 0 {
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: lxy, Labels: ltext})
		if err != nil {
			return "", fmt.Errorf("label phase bars: %w", err)
		}
		lab.TextStyle = lstyle
		p.Add(lab)
	}
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min, p.Y.Max = -0.6, float64(len(bars))-0.4
	return renderSVG(p, nil, plotWidth-legendWidth+vg.Points(60), vg.Points(70+30*float64(len(bars))))
}

// secondsTicks marks seconds with round steps (0.1, 0.2, 0.5, 1, 2, 5, 10,
// 15, 30, 60 ... s), about ten labelled ticks per axis, labels without
// needless decimals.
type secondsTicks struct{}

// Ticks implements plot.Ticker.
func (secondsTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	steps := []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 12 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	minor := step / 5
	for v := math.Ceil(lo/minor) * minor; v <= hi+minor/1e6; v += minor {
		k := math.Round(v/minor) * minor
		if math.Abs(math.Remainder(k, step)) < minor/1e3 {
			ticks = append(ticks, plot.Tick{Value: k, Label: strconv.FormatFloat(k, 'f', -1, 64)})
		} else {
			ticks = append(ticks, plot.Tick{Value: k})
		}
	}
	return ticks
}

// labelHeight is where fault labels go: near the top, on either scale.
func labelHeight(lo, hi float64, logY bool) float64 {
	if logY {
		return math.Pow(10, math.Log10(lo)+0.93*(math.Log10(hi)-math.Log10(lo)))
	}
	return lo + 0.95*(hi-lo)
}
