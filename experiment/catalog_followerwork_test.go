package experiment

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// TestShapeFollowerWorkDefault: on the default lab, lab-3 becomes the
// backup follower and an analytics follower joins; the topology given is
// left as it was.
func TestShapeFollowerWorkDefault(t *testing.T) {
	orig := topologies.Default()
	before := orig.Nodes()
	shaped := *orig
	ShapeFollowerWork(&shaped)
	want := []topologies.Node{
		{Name: "lab-1", Region: "local", Failover: true},
		{Name: "lab-2", Region: "local", Failover: true},
		{Name: "lab-3", Region: "local", Role: topologies.RoleBackup, NoSync: true, NoLoadBalance: true},
		{Name: "analytics", Region: "local", Role: topologies.RoleAnalytics, NoLoadBalance: true},
	}
	if got := shaped.Nodes(); !reflect.DeepEqual(got, want) {
		t.Errorf("shaped nodes\ngot:  %+v\nwant: %+v", got, want)
	}
	if !reflect.DeepEqual(orig.Nodes(), before) {
		t.Errorf("Shape changed the topology it was given: %+v", orig.Nodes())
	}
	sc := FollowerWorkScenario(FollowerWorkSpec{})
	if err := sc.Needs.Check(&shaped); err != nil {
		t.Errorf("the shaped default cannot run it: %v", err)
	}
	if err := sc.Needs.Check(orig); err == nil || !strings.Contains(err.Error(), "role backup") {
		t.Errorf("the unshaped default: %v, want a missing role backup", err)
	}
	if got := sc.Needs.String(); !strings.Contains(got, "a node of role backup, a node of role analytics") {
		t.Errorf("Needs.String() = %q", got)
	}
}

// TestShapeFollowerWorkKeepsDeclaredRoles: a topology that declares its
// backup and analytics followers runs on them as written; one whose
// candidates are all needed takes a non-candidate as backup.
func TestShapeFollowerWorkKeepsDeclaredRoles(t *testing.T) {
	declared := mustParse(t, `name: roles
regions:
  local:
    nodes:
      - {name: a}
      - {name: b}
      - {name: c, role: analytics, failover: false}
      - {name: d, role: backup}
`)
	shaped := *declared
	ShapeFollowerWork(&shaped)
	if !reflect.DeepEqual(shaped.Nodes(), declared.Nodes()) {
		t.Errorf("Shape changed declared roles: %+v", shaped.Nodes())
	}

	tight := mustParse(t, `name: tight
regions:
  local:
    nodes:
      - {name: a}
      - {name: b}
      - {name: c, failover: false}
`)
	shaped = *tight
	ShapeFollowerWork(&shaped)
	if b := shaped.WithRole(topologies.RoleBackup); len(b) != 1 || b[0].Name != "c" || len(shaped.Candidates()) != 2 {
		t.Errorf("backup %+v, candidates %+v: want c, and a and b still candidates", b, shaped.Candidates())
	}

	three, err := topologies.Builtin("three-region")
	if err != nil {
		t.Fatal(err)
	}
	shaped = *three
	ShapeFollowerWork(&shaped)
	if b, a := shaped.WithRole(topologies.RoleBackup), shaped.WithRole(topologies.RoleAnalytics); len(b) != 1 || b[0].Name != "use-3" || len(a) != 1 || a[0].Region != "us-east" {
		t.Errorf("three-region: backup %+v, analytics %+v", b, a)
	}
}

func mustParse(t *testing.T, data string) *topologies.Topology {
	t.Helper()
	topo, err := topologies.Parse("test.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestFollowerWorkTable lays out the three windows with their change over
// the window without work.
func TestFollowerWorkTable(t *testing.T) {
	ms := time.Millisecond
	ws := []WorkWindow{
		{Where: WorkNone, Latency: results.Latency{Samples: 2000, P50: 2 * ms, P95: 4 * ms, P99: 6 * ms}, BackupLag: 0.01, AnalyticsLag: 0.02, BackupBytes: 0},
		{Where: WorkFollowers, Dump: "lab-3", Aggregate: "analytics", Latency: results.Latency{Samples: 1990, Excluded: 1, P50: 3 * ms, P95: 7 * ms, P99: 12 * ms},
			Dumps: 4, DumpMean: 4500 * ms, Aggregates: 9, AggregateMean: 2 * time.Second, BackupLag: 0.4, AnalyticsLag: 0.1, BackupBytes: 2 << 20},
		{Where: WorkLeader, Dump: "lab-1", Aggregate: "lab-1", Latency: results.Latency{Samples: 1900, P50: 5 * ms, P95: 20 * ms, P99: 40 * ms},
			BackupLag: -1, AnalyticsLag: 0.05, BackupBytes: -1},
	}
	tab := FollowerWorkTable(ws, map[string]string{"work_mem": "4MB"})
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range tab.Columns {
		col[c] = i
	}
	for _, c := range []struct {
		row       int
		col, want string
	}{
		{0, "p50 / p99 over no work", "baseline"},
		{0, "pg_dump on", "-"},
		{0, "pg_dumps done (mean)", "-"},
		{1, "p50 / p99 over no work", "+1ms / +6ms"},
		{1, "pg_dumps done (mean)", "4 (4.5s)"},
		{1, "aggregates done (mean)", "9 (2s)"},
		{1, "backup byte lag max", "2.0 MiB"},
		{1, "not ok", "1"},
		{2, "p50 / p99 over no work", "+3ms / +34ms"},
		{2, "pg_dumps done (mean)", "0 (each longer than the window)"},
		{2, "backup lag max (heartbeat)", "no sample"},
	} {
		if got := tab.Rows[c.row][col[c.col]]; got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	if tab.Settings["work_mem"] != "4MB" {
		t.Errorf("settings %v", tab.Settings)
	}
}

// TestTopologyLabels: a run states the topology's parameters, roles and
// noloadbalance nodes, and nothing for a topology without them.
func TestTopologyLabels(t *testing.T) {
	if got := TopologyLabels(topologies.Default()); len(got) != 0 {
		t.Errorf("default topology labels %v, want none", got)
	}
	topo := mustParse(t, `name: roles
postgresql: {parameters: {work_mem: 16MB, random_page_cost: 1.1}}
regions:
  local:
    nodes: [{name: a}, {name: b}, {name: c, role: backup}, {name: d, noloadbalance: true}]
`)
	want := map[string]string{LabelParameters: "work_mem=16MB, random_page_cost=1.1", LabelRoles: "c=backup", LabelNoLoadBalance: "c, d"}
	if got := TopologyLabels(topo); !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}
