package results

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Table is a scenario's own measurement, beyond what every run reports: a
// write-latency grid per replication mode, the rows of a failover kind, a
// lag cause's recovery. The scenario computes it from the history and the
// lab (the settings that made the number go in Settings), the recorder
// keeps it, and summary.md, report.html and results.json show it as is.
type Table struct {
	// Title names the table ("Commit latency per replication mode").
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Note says how the figures were measured and what bounds them.
	Note string `json:"note,omitempty"`
	// Settings are the database and manager settings that made the
	// figures (name → value), what a reader needs to reproduce them.
	Settings map[string]string `json:"settings,omitempty"`
}

// Figure is one named measurement a scenario step took ("old leader
// demoted after": "21.3s").
type Figure struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Validate says what is wrong with t: a title, columns, and rows of
// exactly as many cells.
func (t Table) Validate() error {
	if t.Title == "" {
		return fmt.Errorf("table has no title")
	}
	if len(t.Columns) == 0 {
		return fmt.Errorf("table %q has no columns", t.Title)
	}
	for i, r := range t.Rows {
		if len(r) != len(t.Columns) {
			return fmt.Errorf("table %q: row %d has %d cells for %d columns", t.Title, i+1, len(r), len(t.Columns))
		}
	}
	return nil
}

// renderTables writes the figures and each table as Markdown.
func renderTables(b *strings.Builder, figures []Figure, tables []Table) {
	if len(figures) > 0 {
		b.WriteString("### Scenario measurements\n\n| measurement | value |\n|---|---|\n")
		for _, f := range figures {
			fmt.Fprintf(b, "| %s | %s |\n", mdCell(f.Name), mdCell(orDash(f.Value)))
		}
		b.WriteString("\n")
	}
	for _, t := range tables {
		fmt.Fprintf(b, "### %s\n\n", mdCell(t.Title))
		b.WriteString("| " + strings.Join(mdCells(t.Columns), " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(t.Columns)) + "\n")
		for _, r := range t.Rows {
			b.WriteString("| " + strings.Join(mdCells(r), " | ") + " |\n")
		}
		b.WriteString("\n")
		if t.Note != "" {
			b.WriteString(mdCell(t.Note) + "\n\n")
		}
		if len(t.Settings) > 0 {
			b.WriteString("Settings: " + settingsLine(t.Settings) + ".\n\n")
		}
	}
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdCell(orDash(c))
	}
	return out
}

// settingsLine lists settings as `name=value`, sorted by name.
func settingsLine(s map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, "`"+k+"="+s[k]+"`")
	}
	return strings.Join(parts, ", ")
}
