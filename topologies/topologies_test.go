package topologies

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/replab/replab/units"
)

func ptr[T any](v T) *T { return &v }

func mustParseFile(t *testing.T, path string) *Topology {
	t.Helper()
	topo, err := Read(path)
	if err != nil {
		t.Fatalf("Read(%s): %v", path, err)
	}
	return topo
}

// TestValidFiles checks the resolved value of each file in testdata/valid,
// field by field, so that every default is pinned down.
func TestValidFiles(t *testing.T) {
	tests := []struct {
		file string
		want Topology
	}{{
		file: "minimal.yaml",
		want: Topology{
			Name:          "minimal",
			Engine:        Engine{Kind: EnginePostgres, Version: "15"},
			DCS:           DCS{Kind: "etcd", Members: 3, Region: "local", Regions: []string{"local", "local", "local"}},
			Patroni:       Patroni{TTL: 20 * time.Second, LoopWait: time.Second, RetryTimeout: 3 * time.Second},
			Replication:   Replication{Mode: SemiSync, SyncStandbys: 1},
			PrimaryRegion: "local",
			Regions: []Region{{Name: "local", Nodes: []Node{
				{Name: "a-1", Region: "local", Failover: true},
				{Name: "a-2", Region: "local", Failover: true},
			}, Endpoint: true}},
			Network: Network{Backend: BackendAuto, TolerancePct: 5, ToleranceAbs: time.Millisecond},
		},
	}, {
		file: "full.yaml",
		want: Topology{
			Name:          "full",
			Description:   "Every knob turned.",
			Engine:        Engine{Kind: EnginePostgres, Version: "15.4", Image: "registry.local:5000/my/postgres-patroni:15"},
			DCS:           DCS{Kind: "etcd", Members: 5, Region: "eu-west", Regions: []string{"eu-west", "eu-west", "eu-west", "eu-west", "eu-west"}},
			Patroni:       Patroni{TTL: 30 * time.Second, LoopWait: 2 * time.Second, RetryTimeout: 5 * time.Second},
			Replication:   Replication{Mode: Sync, SyncStandbys: 2},
			PrimaryRegion: "us-east",
			Regions: []Region{{Name: "us-east", Nodes: []Node{
				{Name: "use-1", Region: "us-east", Failover: true},
				{Name: "use-2", Region: "us-east", Failover: true},
				{Name: "use-3", Region: "us-east", Failover: true},
				{Name: "use-4", Region: "us-east", Failover: false},
			}, Endpoint: true}, {Name: "eu-west", Nodes: []Node{
				{Name: "euw-1", Region: "eu-west", NoSync: true},
				{Name: "euw-2", Region: "eu-west", NoSync: true, Upstream: "euw-1"},
			}}},
			Network: Network{
				Backend: BackendUserspace,
				Links: []Link{{
					Between: [2]string{"eu-west", "us-east"},
					RTT:     80 * time.Millisecond, Jitter: 40 * time.Millisecond,
					Loss: 0.5, Rate: 1_000_000_000,
				}},
				TolerancePct: 10, ToleranceAbs: 2 * time.Millisecond,
			},
			SLA: SLA{
				FailoverTimeMax:   ptr(45 * time.Second),
				LostWritesMax:     ptr(10),
				ReplicationLagP99: ptr(500 * time.Millisecond),
				AvailabilityMin:   ptr(units.Percent(99.5)),
				AllowInconclusive: true,
			},
		},
	}, {
		file: "async-inferred.yaml",
		want: Topology{
			Name:          "async-inferred",
			Engine:        Engine{Kind: EnginePostgres, Version: "15"},
			DCS:           DCS{Kind: "etcd", Members: 3, Region: "near", Regions: []string{"near", "near", "near"}},
			Patroni:       Patroni{TTL: 20 * time.Second, LoopWait: time.Second, RetryTimeout: 3 * time.Second},
			Replication:   Replication{Mode: Async, SyncStandbys: 0},
			PrimaryRegion: "near",
			Regions: []Region{
				{Name: "far", Nodes: []Node{{Name: "far-1", Region: "far", NoSync: true}}},
				{Name: "near", Nodes: []Node{{Name: "near-1", Region: "near", Failover: true}}, Endpoint: true},
			},
			Network: Network{
				Backend:      BackendAuto,
				Links:        []Link{{Between: [2]string{"near", "far"}, RTT: 120 * time.Millisecond}},
				TolerancePct: 5, ToleranceAbs: time.Millisecond,
			},
			SLA: SLA{LostWritesMax: ptr(5), ReplicationLagP99: ptr(120 * time.Millisecond)},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "valid", tt.file)
			got := mustParseFile(t, path)
			tt.want.Source = path
			withManagerDefaults(&tt.want)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("resolved topology differs\ngot:  %s\nwant: %s", dump(got), dump(&tt.want))
			}
		})
	}
}

// dump prints a topology with its SLA pointers followed, for diffs.
func dump(t *Topology) string {
	c := *t
	sla := fmt.Sprintf("failover_time=%v lost_writes=%v lag=%v availability=%v allow_inconclusive=%v",
		deref(c.SLA.FailoverTimeMax), deref(c.SLA.LostWritesMax), deref(c.SLA.ReplicationLagP99), deref(c.SLA.AvailabilityMin), c.SLA.AllowInconclusive)
	c.SLA = SLA{}
	return fmt.Sprintf("%+v SLA{%s}", c, sla)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestWarningsDoNotFail(t *testing.T) {
	topo := mustParseFile(t, "testdata/valid/warnings.yaml")
	want := []string{
		"testdata/valid/warnings.yaml:4:16: dcs.members: warning: an even member count adds no fault tolerance: 4 members tolerate 1 failure, as 3 do; use 3 or 5",
		"testdata/valid/warnings.yaml:9:24: sla.failover_time.max: warning: 10s is below patroni.ttl 20s: a crashed leader's lock only expires after ttl, so failovers after a crash take longer",
	}
	var got []string
	for _, w := range topo.Warnings {
		if !w.Warning {
			t.Errorf("entry in Warnings is not a warning: %v", w)
		}
		got = append(got, w.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if topo.DCS.Members != 4 {
		t.Errorf("members = %d, want 4: a warning must not change the value", topo.DCS.Members)
	}
}

// TestWarningsAccompanyErrors checks that a failing file reports its
// warnings along with its errors, in position order.
func TestWarningsAccompanyErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte("name: x\ndcs: {members: 2}\nregions: {local: {nodes: [{name: n-1}]}}\nreplication: {mode: bogus}\n"))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want Errors", err)
	}
	if len(errs) != 2 || !errs[0].Warning || errs[1].Warning || !errs.HasErrors() || len(errs.Warnings()) != 1 {
		t.Fatalf("want a warning then an error, got:\n%v", err)
	}
}

func TestBuiltins(t *testing.T) {
	names := BuiltinNames()
	if !slices.Equal(names, []string{"dr", "managers", "mariadb", "single", "single-region", "stretched", "three-region"}) {
		t.Fatalf("BuiltinNames() = %v", names)
	}
	for _, name := range names {
		topo, err := Builtin(name)
		if err != nil {
			t.Fatalf("built-in %s is invalid:\n%v", name, err)
		}
		if len(topo.Warnings) > 0 {
			t.Errorf("built-in %s has warnings:\n%v", name, topo.Warnings)
		}
		if want := "embedded:" + name + ".yaml"; topo.Source != want {
			t.Errorf("Source = %q, want %q", topo.Source, want)
		}
		if topo.Name != name {
			t.Errorf("built-in %s is named %q: keep file and name in step", name, topo.Name)
		}
		// The shipped files are the ones users read: keep them equal to
		// the copies on disk.
		disk := mustParseFile(t, name+".yaml")
		disk.Source = topo.Source
		if !reflect.DeepEqual(disk, topo) {
			t.Errorf("embedded %s differs from %s.yaml", name, name)
		}
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrUnknownBuiltin) || !strings.Contains(err.Error(), "dr, managers, mariadb, single, single-region, stretched, three-region") {
		t.Errorf("Builtin(nope) = %v, want ErrUnknownBuiltin listing the names", err)
	}
	if _, err := Builtin("../single-region"); !errors.Is(err, ErrUnknownBuiltin) {
		t.Errorf("Builtin(../single-region) = %v, want ErrUnknownBuiltin", err)
	}
}

func TestSingleRegion(t *testing.T) {
	d := Default()
	if d.Name != DefaultName || d.PrimaryRegion != "local" || len(d.Nodes()) != 3 {
		t.Fatalf("Default() = %+v", d)
	}
	for _, n := range d.Nodes() {
		if !n.Failover || n.NoSync || n.Upstream != "" {
			t.Errorf("node %+v: want a failover candidate", n)
		}
	}
	if !reflect.DeepEqual(d.DCS, DCS{Kind: "etcd", Members: 3, Region: "local", Regions: []string{"local", "local", "local"}}) || d.DCS.Stretched() || d.Replication != (Replication{Mode: SemiSync, SyncStandbys: 1}) {
		t.Errorf("dcs %+v, replication %+v", d.DCS, d.Replication)
	}
	s := d.SLA
	// Availability is off in the default lab: one failover in a short run
	// cannot reach any meaningful target (see the file's comment).
	if *s.FailoverTimeMax != 30*time.Second || *s.LostWritesMax != 0 || s.AvailabilityMin != nil || *s.ReplicationLagP99 != time.Second {
		t.Errorf("SLA = %s", dump(d))
	}
	if Default() == d || Default().Regions[0].Nodes[0].Name != "lab-1" {
		t.Error("Default must return a fresh copy each time")
	}
	d.Regions[0].Nodes[0].Name = "changed"
	if Default().Regions[0].Nodes[0].Name != "lab-1" {
		t.Error("changing one Default() result changed the next")
	}
}

func TestThreeRegion(t *testing.T) {
	topo, err := Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	if got := regionNames(topo); !slices.Equal(got, []string{"us-east", "eu-west", "ap-southeast"}) {
		t.Errorf("regions in order %v", got)
	}
	if topo.PrimaryRegion != "us-east" || topo.DCS.Region != "us-east" || topo.Network.Backend != BackendAuto {
		t.Errorf("primary %q, dcs %+v, backend %q", topo.PrimaryRegion, topo.DCS, topo.Network.Backend)
	}
	var candidates []string
	for _, n := range topo.Candidates() {
		candidates = append(candidates, n.Name)
	}
	if !slices.Equal(candidates, []string{"use-1", "use-2", "use-3"}) {
		t.Errorf("candidates %v", candidates)
	}
	for _, name := range []string{"euw-1", "aps-1"} {
		n, ok := topo.Node(name)
		if !ok || n.Failover || !n.NoSync {
			t.Errorf("node %s = %+v, %v: want an async replica (no failover, nosync)", name, n, ok)
		}
	}
	for _, c := range []struct {
		a, b string
		rtt  time.Duration
	}{{"us-east", "eu-west", 80 * time.Millisecond}, {"ap-southeast", "us-east", 200 * time.Millisecond}, {"eu-west", "ap-southeast", 150 * time.Millisecond}} {
		l, ok := topo.Link(c.a, c.b)
		if !ok || l.RTT != c.rtt {
			t.Errorf("link %s-%s = %+v, %v; want rtt %s", c.a, c.b, l, ok, c.rtt)
		}
	}
}

func regionNames(t *Topology) []string {
	var out []string
	for _, r := range t.Regions {
		out = append(out, r.Name)
	}
	return out
}

// TestRegionOrder checks that regions keep file order, which a Go map
// would lose, however the names sort.
func TestRegionOrder(t *testing.T) {
	src := "name: order\nprimary_region: m\nreplication: {mode: async}\nregions:\n"
	names := []string{"z", "a", "m", "b", "y"}
	for _, n := range names {
		src += fmt.Sprintf("  %s: {nodes: [{name: %s-1}]}\n", n, n)
	}
	src += "network:\n  links:\n"
	for i, a := range names {
		for _, b := range names[i+1:] {
			src += fmt.Sprintf("    - {between: [%s, %s], rtt: 10ms}\n", a, b)
		}
	}
	topo, err := Parse("order.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := regionNames(topo); !slices.Equal(got, names) {
		t.Errorf("regions %v, want file order %v", got, names)
	}
}

// TestAllProblemsAtOnce checks that one file with many problems gets all of
// them in one error, in file order, instead of one per attempt.
func TestAllProblemsAtOnce(t *testing.T) {
	src := `name: Bad_Name
engine: {kind: mysql}
dcs: {members: 4, region: mars}
patroni: {ttl: 10s}
replication: {mode: sync, sync_standbys: 5}
regions:
  us-east:
    nodes:
      - {name: use-1, colour: blue}
      - {name: use-1}
  eu-west:
    nodes: [{name: euw-1, failover: false, upstream: euw-1}]
network:
  backend: fast
  links:
    - {between: [us-east, eu-west], rtt: -1ms, loss: 101%, rate: 10mbits}
sla:
  failover_time: {max: soon}
  lost_writes: {max: -3}
  availability: {min: 0%}
`
	_, err := Parse("many.yaml", []byte(src))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want Errors", err)
	}
	want := []string{
		"many.yaml:1:7: name: invalid name",
		"many.yaml:2:16: engine.kind: unknown engine kind \"mysql\"",
		"many.yaml:3:16: dcs.members: warning: an even member count",
		"many.yaml:3:27: dcs.region: unknown region \"mars\"",
		"many.yaml:4:16: patroni.ttl: ttl 10s is below 20s",
		"many.yaml:5:42: replication.sync_standbys: 5 synchronous standbys need at least 6 failover candidates in us-east, found 1",
		"many.yaml:9:23: regions.us-east.nodes[0].colour: unknown key \"colour\"",
		"many.yaml:10:16: regions.us-east.nodes[1].name: duplicate node name \"use-1\"",
		"many.yaml:12:54: regions.eu-west.nodes[0].upstream: a node cannot replicate from itself",
		"many.yaml:14:12: network.backend: unknown backend \"fast\"",
		"many.yaml:16:42: network.links[0].rtt: must not be negative",
		"many.yaml:16:54: network.links[0].loss: loss 101% is outside",
		"many.yaml:16:66: network.links[0].rate: invalid rate \"10mbits\"",
		"many.yaml:18:24: sla.failover_time.max: invalid duration \"soon\"",
		"many.yaml:19:22: sla.lost_writes.max: impossible target",
		"many.yaml:20:23: sla.availability.min: impossible target",
	}
	if len(errs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if i >= len(errs) {
			break
		}
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("problem %d:\ngot:  %s\nwant: %s...", i, errs[i], w)
		}
	}
}

// TestPositions pins Error's fields for the YAML shapes positions come
// from: block and flow mappings, list items, quoted scalars, aliases. The
// expected position is where the marker text first appears in the source.
func TestPositions(t *testing.T) {
	tests := []struct {
		name, src, marker, path string
	}{{
		name:   "block mapping value",
		src:    "name: p\nregions:\n  r:\n    nodes:\n      - name: n-1\n        upstream: nope\n      - name: n-2\n",
		marker: "nope", path: "regions.r.nodes[0].upstream",
	}, {
		name:   "flow mapping key",
		src:    "name: p\nregions: {r: {nodes: [{name: n-1, extra: 1}, {name: n-2}]}}\n",
		marker: "extra", path: "regions.r.nodes[0].extra",
	}, {
		name:   "quoted scalar",
		src:    "name: p\nengine:\n  version: \"fifteen\"\nregions: {r: {nodes: [{name: n-1}, {name: n-2}]}}\n",
		marker: `"fifteen"`, path: "engine.version",
	}, {
		name:   "list item of the wrong type",
		src:    "name: p\nregions:\n  r:\n    nodes:\n      - n-1\n      - {name: n-2}\n",
		marker: "n-1", path: "regions.r.nodes[0]",
	}, {
		name:   "alias points where it is used",
		src:    "name: p\nreplication: {mode: &m async}\nnetwork: {backend: *m}\nregions: {r: {nodes: [{name: n-1}]}}\n",
		marker: "*m", path: "network.backend",
	}, {
		name:   "missing key points at its mapping",
		src:    "name: p\nregions:\n  r:\n    nodes:\n      - failover: true\n      - name: n-2\n",
		marker: "failover", path: "regions.r.nodes[0].name",
	}, {
		name:   "after comments and blank lines",
		src:    "# c\n\n# c\nname: p\n\nregions:\n  r:\n\n    nodes: [{name: n-1}, {name: n-2}]\n    # c\n    extra: true\n",
		marker: "extra", path: "regions.r.extra",
	}, {
		name:   "windows line endings",
		src:    "name: p\r\nregions:\r\n  r:\r\n    nodes: [{name: n-1, upstream: zz}, {name: n-2}]\r\n",
		marker: "zz", path: "regions.r.nodes[0].upstream",
	}, {
		name:   "multibyte characters count as one column",
		src:    "name: p\ndescription: \"€€€\"\nregions: {r: {nodes: [{name: n-1, bogus: 1}, {name: n-2}]}}\n",
		marker: "bogus", path: "regions.r.nodes[0].bogus",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, col := where(t, tt.src, tt.marker)
			_, err := Parse("p.yaml", []byte(tt.src))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("got %v, want Errors with one problem", err)
			}
			got := errs[0]
			if got.File != "p.yaml" || got.Line != line || got.Col != col || got.Path != tt.path {
				t.Errorf("got %s:%d:%d %s, want p.yaml:%d:%d %s (%v)", got.File, got.Line, got.Col, got.Path, line, col, tt.path, err)
			}
		})
	}
}

// where returns the 1-based line and column (in characters) of the first
// occurrence of marker in src.
func where(t *testing.T, src, marker string) (line, col int) {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatalf("marker %q not in source", marker)
	}
	before := src[:i]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:]) + 1
	return line, col
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Col: 5, Path: "dcs.members", Msg: "bad"}, "a.yaml:3:5: dcs.members: bad"},
		{Error{File: "a.yaml", Line: 3, Col: 5, Path: "dcs.members", Msg: "even", Warning: true}, "a.yaml:3:5: dcs.members: warning: even"},
		{Error{File: "a.yaml", Line: 1, Col: 1, Msg: "invalid YAML"}, "a.yaml:1:1: invalid YAML"},
		{Error{File: "a.yaml", Msg: "no position"}, "a.yaml: no position"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	es := Errors{&tests[0].e, &tests[1].e}
	if got := es.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("Errors.Error() = %q", got)
	}
	var one *Error
	if !errors.As(error(es), &one) || one != &tests[0].e {
		t.Error("errors.As cannot reach an *Error inside Errors")
	}
}

func TestRead(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read topology: ") {
		t.Errorf("Read(absent) = %v, want a wrapped fs.ErrNotExist", err)
	}
	path := filepath.Join(t.TempDir(), "lab.yml")
	if err := os.WriteFile(path, []byte("name: lab\nregions: {r: {nodes: [{name: n}, {name: m}]}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := Load(path)
	if err != nil || topo.Source != path || topo.Name != "lab" {
		t.Errorf("Load(%s) = %+v, %v", path, topo, err)
	}
	if topo, err := Load("three-region"); err != nil || topo.Source != "embedded:three-region.yaml" {
		t.Errorf("Load(three-region) = %+v, %v", topo, err)
	}
}

// TestShapes: validate's one-line description of each built-in says what
// losing the primary region does.
func TestShapes(t *testing.T) {
	for name, want := range map[string]string{
		"single-region": "one region (local)",
		"three-region":  "losing us-east loses the DCS and every candidate",
		"stretched":     "losing us-east keeps an etcd quorum, and a candidate elsewhere takes over",
	} {
		topo, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := topo.Shape(); !strings.Contains(got, want) {
			t.Errorf("%s: shape %q, want it to say %q", name, got, want)
		}
	}
	topo, err := Builtin("stretched")
	if err != nil {
		t.Fatal(err)
	}
	topo.Replication = Replication{Mode: SemiSync, SyncStandbys: 1}
	if got := topo.Shape(); !strings.Contains(got, "only a synchronous standby") {
		t.Errorf("stretched in semi-sync: shape %q, want it to say only a synchronous standby may take over", got)
	}
}

// TestStretchedDCSWarnings: a stretched DCS whose quorum dies with one
// region, and a candidate abroad in a synchronous mode, are allowed but
// warned about, each at the key to change.
func TestStretchedDCSWarnings(t *testing.T) {
	src := `name: s
primary_region: a
dcs: {members: 3, regions: [a, b]}
regions:
  a: {nodes: [{name: a-1}, {name: a-2}]}
  b: {nodes: [{name: b-1, failover: true}]}
network: {links: [{between: [a, b], rtt: 20ms}]}
`
	topo, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(topo.DCS.Regions, []string{"a", "b", "a"}) || !topo.DCS.Stretched() {
		t.Errorf("dcs %+v, want members spread a, b, a", topo.DCS)
	}
	var got []string
	for _, w := range topo.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		"s.yaml:3:28: dcs.regions: warning: losing a takes the etcd quorum with it (1 of 3 members left, 2 needed)",
		"s.yaml:6:37: regions.b.nodes[0].failover: warning: b-1 is a failover candidate in b, but in semi-sync mode Patroni promotes only a synchronous standby",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
	if n, _ := topo.Node("b-1"); !n.Failover || !n.NoSync {
		t.Errorf("b-1 %+v: want a candidate that is never a synchronous standby", n)
	}
}

// withManagerDefaults fills what every PostgreSQL topology resolves
// without a manager key or block: Patroni, and the other managers' own
// defaults with pg_auto_failover's monitor in the primary region.
func withManagerDefaults(t *Topology) {
	if t.Manager == "" {
		t.Manager = ManagerPatroni
	}
	if t.PGAutoFailover == (PGAutoFailover{}) {
		t.PGAutoFailover = PGAutoFailoverDefaults
		t.PGAutoFailover.Region = t.PrimaryRegion
	}
	if t.Repmgr == (Repmgr{}) {
		t.Repmgr = RepmgrDefaults
	}
	if t.patroniDCS.Kind == "" {
		t.patroniDCS = t.DCS
	}
}
