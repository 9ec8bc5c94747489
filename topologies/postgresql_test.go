package topologies

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestRolesAndParameters pins down what roles, noloadbalance and
// postgresql.parameters resolve to: backup implies nofailover, nosync and
// noloadbalance; other roles are labels; parameters keep file order and
// their text as written, with names in lower case.
func TestRolesAndParameters(t *testing.T) {
	topo := mustParseFile(t, "testdata/valid/roles.yaml")
	want := []Node{
		{Name: "lab-1", Region: "local", Failover: true},
		{Name: "lab-2", Region: "local", Failover: true},
		{Name: "lab-3", Region: "local", Role: RoleBackup, NoSync: true, NoLoadBalance: true},
		{Name: "lab-4", Region: "local", Role: RoleAnalytics, NoLoadBalance: true},
		{Name: "lab-5", Region: "local", Failover: true, Role: "reporting"},
	}
	if got := topo.Nodes(); !reflect.DeepEqual(got, want) {
		t.Errorf("nodes\ngot:  %+v\nwant: %+v", got, want)
	}
	wantParams := []Parameter{
		{"work_mem", "16MB"}, {"random_page_cost", "1.1"}, {"max_connections", "200"}, {"hot_standby_feedback", "false"},
		{"timezone", "UTC"}, {"pg_stat_statements.max", "1000"}, {"shared_preload_libraries", ""},
	}
	if got := topo.PostgreSQL.Parameters; !reflect.DeepEqual(got, wantParams) {
		t.Errorf("parameters\ngot:  %+v\nwant: %+v", got, wantParams)
	}
	if got := ParametersText(topo.PostgreSQL.Parameters[:2]); got != "work_mem=16MB, random_page_cost=1.1" {
		t.Errorf("ParametersText = %q", got)
	}
	if got := topo.WithRole(RoleBackup); len(got) != 1 || got[0].Name != "lab-3" {
		t.Errorf("WithRole(backup) = %+v", got)
	}
	if topo.Warnings != nil {
		t.Errorf("warnings: %v", topo.Warnings)
	}
}

// TestOwnedParametersRefused checks every owned parameter is refused, in
// any case, with a reason and a fix.
func TestOwnedParametersRefused(t *testing.T) {
	for _, name := range OwnedParameters() {
		for _, spelt := range []string{name, strings.ToUpper(name)} {
			data := "name: lab\npostgresql: {parameters: {" + spelt + ": x}}\nregions: {local: {nodes: [{name: lab-1}, {name: lab-2}]}}\n"
			_, err := Parse("owned.yaml", []byte(data))
			if err == nil || !strings.Contains(err.Error(), "owned.yaml:2:27: postgresql.parameters."+spelt+": cannot set "+spelt+": ") {
				t.Errorf("%s: got %v", spelt, err)
			}
		}
	}
	for _, name := range []string{"synchronous_commit", "wal_level", "listen_addresses", "port", "data_directory", "hba_file", "synchronous_standby_names", "primary_conninfo"} {
		if !slices.Contains(OwnedParameters(), name) {
			t.Errorf("%s is not owned", name)
		}
	}
}

// TestReplabParametersKnown keeps replab's own and owned parameters in
// the list of names Patroni passes on: a name missing there would be
// refused as unknown instead of as owned, or dropped by Patroni.
func TestReplabParametersKnown(t *testing.T) {
	for _, name := range append(OwnedParameters(), "shared_buffers", "max_connections", "wal_keep_size", "hot_standby_feedback") {
		if _, ok := patroniParameters[name]; !ok && !isRecovery(name) {
			t.Errorf("%s is not among Patroni's parameters", name)
		}
	}
}

func isRecovery(name string) bool {
	return strings.Contains(ownedParameters[name], "recovery settings")
}

// TestEveryNodeNoLoadBalanceWarns: a lab whose ro endpoint has no server
// loads, with a warning.
func TestEveryNodeNoLoadBalanceWarns(t *testing.T) {
	data := "name: lab\nreplication: {mode: async}\nregions:\n  local:\n    nodes:\n      - {name: lab-1, noloadbalance: true}\n      - {name: lab-2, role: backup}\n"
	topo, err := Parse("ro.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := "ro.yaml:7:23: regions.local.nodes[1].role: warning: every node is kept out of the ro endpoint (noloadbalance, or role backup): reads through it (port 5001) find no server; let at least one node serve it"
	if len(topo.Warnings) != 1 || topo.Warnings[0].Error() != want {
		t.Errorf("warnings %v, want %s", topo.Warnings, want)
	}
}
