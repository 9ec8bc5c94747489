package harness

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/replab/replab/internal/golden"
	"github.com/replab/replab/topologies"
)

var testMariaDBCreds = Credentials{Superuser: mariadbSuperuser, SuperPass: "su", Replicator: mariadbReplicator, ReplPass: "rp", Checker: mariadbChecker, CheckPass: "ck", App: mariadbApp, AppPass: "ap"}

// TestMariaDBConfigGolden: every node logs its binlog with GTID strictly,
// starts read-only, and has semi-sync's primary side when it may be
// promoted and its replica side when it may acknowledge.
func TestMariaDBConfigGolden(t *testing.T) {
	topo, p := testPlan(t, "mariadb")
	if len(p.Etcd) != 0 {
		t.Errorf("a MariaDB lab plans %d etcd members, want none", len(p.Etcd))
	}
	for i, n := range p.Nodes {
		golden.Check(t, filepath.Join("testdata", "mariadb-"+n.Name+".cnf"), mariadbConfig(topo, n, i+1))
	}
	golden.Check(t, filepath.Join("testdata", "mariadb-init.sql"), mariadbInitSQL(testMariaDBCreds))
	golden.Check(t, filepath.Join("testdata", "haproxy-mariadb.cfg"), haproxyConfig(p, p.Proxies[0]))
}

func TestSemiSyncWaitPoint(t *testing.T) {
	for m, want := range map[topologies.ReplicationMode]string{
		topologies.Async: "", topologies.SemiSync: "AFTER_SYNC", topologies.SemiSyncAfterCommit: "AFTER_COMMIT",
	} {
		if got := semiSyncWaitPoint(m); got != want {
			t.Errorf("%s: %q, want %q", m, got, want)
		}
	}
	topo, p := testPlan(t, "mariadb")
	topo.Replication = topologies.Replication{Mode: topologies.Async}
	if cfg := string(mariadbConfig(topo, p.Nodes[0], 1)); !strings.Contains(cfg, "rpl_semi_sync_slave_enabled = OFF") || strings.Contains(cfg, "wait_point") {
		t.Errorf("async config:\n%s", cfg)
	}
}

func TestGTIDSeqAndMostAdvanced(t *testing.T) {
	for pos, want := range map[string]int64{"0-1-57": 57, "": -1, "1-2-9": -1, "1-2-9,0-3-12": 12, "0-1-x": -1} {
		if got := GTIDSeq(pos); got != want {
			t.Errorf("GTIDSeq(%q) = %d, want %d", pos, got, want)
		}
	}
	received := map[string]string{"a": "0-1-10", "b": "0-1-12", "c": "0-1-12", "d": ""}
	if got := mostAdvanced([]string{"a", "b", "c", "d"}, received); got != "b" {
		t.Errorf("most advanced = %q, want b (the first of the furthest)", got)
	}
	if got := mostAdvanced([]string{"d"}, received); got != "d" {
		t.Errorf("a candidate without a position = %q, want it when it is the only one", got)
	}
	if got := mostAdvanced(nil, received); got != "" {
		t.Errorf("no candidate = %q", got)
	}
}
