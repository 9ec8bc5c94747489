package topologies

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a topology file, located by file, line and
// column (1-based; 0 when unknown) and by its YAML path, like
// "regions.eu-west.nodes[1].upstream". Msg says what is wrong and, where
// there is one, how to fix it.
//
// Warning marks a problem that does not stop the lab from running (an even
// etcd member count, say). Warnings never make Read or Parse fail: on
// success they are in Topology.Warnings.
type Error struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
	Warning   bool
}

// Error formats the problem the way compilers do, so that editors and
// terminals can jump to it: "file:line:col: path: message", with "warning: "
// before the message of a warning.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, sorted by position. Read and
// Parse return it (as error) when at least one entry is not a warning; it
// then holds the warnings too, so that a user sees everything at once.
type Errors []*Error

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warnings returns the entries that are warnings.
func (es Errors) Warnings() Errors {
	var out Errors
	for _, e := range es {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// HasErrors reports whether any entry is not a warning.
func (es Errors) HasErrors() bool {
	return slices.ContainsFunc(es, func(e *Error) bool { return !e.Warning })
}

// loc is a 1-based line and column in the file.
type loc struct{ line, col int }

func (l loc) before(o loc) bool {
	return l.line < o.line || (l.line == o.line && l.col < o.col)
}

// report collects the problems of one file.
type report struct {
	file string
	list Errors
}

func (r *report) errorf(at loc, path, format string, args ...any) {
	r.add(at, path, false, fmt.Sprintf(format, args...))
}

func (r *report) warnf(at loc, path, format string, args ...any) {
	r.add(at, path, true, fmt.Sprintf(format, args...))
}

func (r *report) add(at loc, path string, warning bool, msg string) {
	r.list = append(r.list, &Error{File: r.file, Line: at.line, Col: at.col, Path: path, Msg: msg, Warning: warning})
}

// sorted returns the problems by position; problems at the same position
// keep the order they were found in.
func (r *report) sorted() Errors {
	out := slices.Clone(r.list)
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out
}
