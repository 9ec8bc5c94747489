package importrules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/replab/replab"

// Import path patterns. A pattern whose first element has no dot is
// relative to the module ("harness"); one ending in "/..." also matches
// the packages below it; "..." alone matches every package of the module.
var (
	docker = []string{"github.com/docker/...", "github.com/moby/...", "github.com/containerd/...", "github.com/testcontainers/..."}
	ginkgo = []string{"github.com/onsi/ginkgo/...", "github.com/onsi/gomega/..."}
)

// rule binds the packages pkgs (minus except) to imports they must not
// reach.
type rule struct {
	pkgs   []string
	except []string
	// forbid lists what the packages must not import.
	forbid []string
	// stdOnly forbids every import outside the standard library, except
	// the patterns in allow.
	stdOnly bool
	allow   []string
	// direct: only the package's own imports count. Otherwise everything
	// it depends on, through any path, does.
	direct bool
	// tests: the imports of the package's _test.go files count too.
	tests bool
	why   string
	// pending, when set, says why the rule is known to be broken for now:
	// its violations are logged, not failed, so the rule can sit in the
	// table before the move that makes it hold lands. Remove the flag in
	// the commit that makes the rule hold (the test logs when it does).
	pending string
}

var rules = []rule{
	{
		pkgs:    []string{"units"},
		stdOnly: true,
		why:     "units sits below topologies and netem, which both use it",
	},
	{
		pkgs:   []string{"topologies/..."},
		forbid: cat([]string{"harness/...", "chaos", "netem/...", "suites/..."}, docker, ginkgo),
		why:    "a topology is a lab's description: loading one needs neither the lab nor its impairments (units are in package units)",
	},
	{
		pkgs:   []string{"netem/..."},
		forbid: cat([]string{"topologies/...", "harness/...", "chaos", "results", "suites/..."}, docker),
		why:    "netem impairs a node through its Host interface; the harness turns topologies into plans",
	},
	{
		pkgs:   []string{"chaos"},
		forbid: cat([]string{"harness/..."}, docker, ginkgo),
		why:    "chaos declares the interfaces its faults need; experiment.ClusterOf adapts a lab to them",
	},
	{
		pkgs:    []string{"results"},
		direct:  true,
		stdOnly: true,
		allow:   []string{"gonum.org/v1/plot/...", "golang.org/x/image/..."},
		why:     "results is pure data and arithmetic over a history; gonum's plot draws report.html's SVGs",
	},
	{
		pkgs:   []string{"results"},
		forbid: cat([]string{"..."}, docker, ginkgo),
		why:    "results is below every other replab package: a run's history can be checked without a lab",
	},
	{
		pkgs:   []string{"harness/..."},
		forbid: cat([]string{"chaos", "workload", "experiment", "suites/..."}, ginkgo),
		why:    "harness builds and reads the lab; what is done to it and asserted on it lives above",
	},
	{
		pkgs:   []string{"harness/..."},
		forbid: []string{"results"},
		why:    "the history's types belong to the run, not to the Docker layer: harness returns its own rows (harness.LinkFidelity) and workload converts them",
	},
	{
		pkgs:   []string{"workload"},
		forbid: cat([]string{"chaos", "experiment", "suites/..."}, ginkgo),
		why:    "the workload records a run's history; faults and scenarios drive it from above",
	},
	{
		pkgs:   []string{"..."},
		except: []string{"harness/..."},
		forbid: docker,
		direct: true,
		tests:  true,
		why:    "harness is the only package that talks to Docker; the others reach the lab through it",
	},
	{
		pkgs:   []string{"..."},
		except: []string{"suites/..."},
		forbid: ginkgo,
		tests:  true,
		why:    "only the suites are Ginkgo specs; go test ./... runs the rest as plain tests",
	},
}

func cat(lists ...[]string) []string { return slices.Concat(lists...) }

// match reports whether the import path p matches pattern.
func match(pattern, p string) bool {
	if pattern == "..." {
		return p == module || strings.HasPrefix(p, module+"/")
	}
	if first, _, _ := strings.Cut(pattern, "/"); !strings.Contains(first, ".") {
		pattern = module + "/" + pattern
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func matchAny(patterns []string, p string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return match(pat, p) })
}

type pkg struct {
	ImportPath   string
	Standard     bool
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// load lists every package of the module and everything they depend on.
func load(t *testing.T) (graph map[string]*pkg, own []string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Module,Imports,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run go list: %v: %s", err, stderr.Bytes())
	}
	graph = map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		graph[p.ImportPath] = &p
		if p.Module != nil && p.Module.Path == module {
			own = append(own, p.ImportPath)
		}
	}
	slices.Sort(own)
	return graph, own
}

func standard(graph map[string]*pkg, p string) bool {
	if q, ok := graph[p]; ok {
		return q.Standard
	}
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

func (r rule) binds(p string) bool {
	return matchAny(r.pkgs, p) && !matchAny(r.except, p)
}

func (r rule) forbids(graph map[string]*pkg, p string) bool {
	if r.stdOnly && !standard(graph, p) && !matchAny(r.allow, p) {
		return true
	}
	return matchAny(r.forbid, p)
}

// violations walks from p's imports (and its tests' when r.tests) and
// returns one import chain, shortest first, per forbidden package reached.
// It does not walk past a forbidden package: its own imports would only
// repeat the report.
func (r rule) violations(graph map[string]*pkg, p string) []string {
	type step struct {
		path string
		via  []string
	}
	short := func(s string) string { return strings.TrimPrefix(s, module+"/") }
	start := graph[p]
	var queue []step
	for _, imp := range start.Imports {
		queue = append(queue, step{imp, []string{short(p), short(imp)}})
	}
	if r.tests {
		for _, imp := range slices.Concat(start.TestImports, start.XTestImports) {
			if imp != p {
				queue = append(queue, step{imp, []string{short(p) + " (tests)", short(imp)}})
			}
		}
	}
	seen := map[string]bool{}
	var found []string
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.path] {
			continue
		}
		seen[s.path] = true
		if r.forbids(graph, s.path) {
			found = append(found, strings.Join(s.via, " → "))
			continue
		}
		if r.direct {
			continue
		}
		if q, ok := graph[s.path]; ok {
			for _, imp := range q.Imports {
				queue = append(queue, step{imp, append(slices.Clip(s.via), short(imp))})
			}
		}
	}
	return found
}

func (r rule) String() string {
	var what []string
	if r.stdOnly {
		what = append(what, "only the standard library")
		if len(r.allow) > 0 {
			what[0] += " and " + strings.Join(r.allow, ", ")
		}
	}
	if len(r.forbid) > 0 {
		names := slices.Clone(r.forbid)
		for i, f := range names {
			if f == "..." {
				names[i] = "any replab package"
			}
		}
		what = append(what, "not "+strings.Join(names, ", "))
	}
	s := strings.Join(r.pkgs, ", ")
	if len(r.except) > 0 {
		s += " except " + strings.Join(r.except, ", ")
	}
	s += " imports " + strings.Join(what, "; ")
	if r.direct {
		s += " (directly)"
	}
	return s
}

// TestImportDirection fails for each import chain that breaks a rule, e.g.
//
//	topologies → netem: the rule is topologies/... imports not harness/..., chaos, netem/..., ...: a topology is a lab's description: ...
func TestImportDirection(t *testing.T) {
	graph, own := load(t)
	if len(own) == 0 {
		t.Fatalf("go list found no package of %s", module)
	}
	for _, r := range rules {
		bound := 0
		var broken []string
		for _, p := range own {
			if !r.binds(p) {
				continue
			}
			bound++
			broken = append(broken, r.violations(graph, p)...)
		}
		if bound == 0 {
			t.Errorf("rule %q binds no package: was one renamed?", r)
			continue
		}
		for _, chain := range broken {
			msg := fmt.Sprintf("%s: the rule is %s: %s", chain, r, r.why)
			if r.pending != "" {
				t.Logf("pending, not failed: %s (%s)", msg, r.pending)
				continue
			}
			t.Error(msg)
		}
		if r.pending != "" && len(broken) == 0 {
			t.Logf("pending rule holds now, drop its pending flag: %s", r)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"harness", module + "/harness", true},
		{"harness", module + "/harness/nodeimage", false},
		{"harness/...", module + "/harness/nodeimage", true},
		{"harness/...", module + "/harnessx", false},
		{"...", module + "/units", true},
		{"...", "github.com/replab/replabx", false},
		{"github.com/docker/...", "github.com/docker/docker/client", true},
		{"github.com/onsi/gomega/...", "github.com/onsi/gomega", true},
	} {
		if got := match(c.pattern, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v; want %v", c.pattern, c.path, got, c.want)
		}
	}
}
