package experiment

import (
	"strings"
	"testing"

	"github.com/replab/replab/topologies"
)

// A MariaDB run states its engine and the semi-sync settings its figures
// are made of; an async one has no semi-sync label, and a PostgreSQL run
// neither.
func TestTopologyLabelsStateMariaDBSemiSync(t *testing.T) {
	topo, err := topologies.Builtin("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	l := TopologyLabels(topo)
	if l[LabelEngine] != "mariadb" || !strings.Contains(l[LabelSemiSync], "AFTER_SYNC") || !strings.Contains(l[LabelSemiSync], "rpl_semi_sync_master_timeout=10s") {
		t.Errorf("labels = %v, want engine mariadb and AFTER_SYNC with its 10s timeout", l)
	}
	topo.Replication.Mode = topologies.Async
	if l := TopologyLabels(topo); l[LabelSemiSync] != "" {
		t.Errorf("async labels = %v, want no semi-sync label", l)
	}
	if l := TopologyLabels(topologies.Default()); l[LabelEngine] != "" || l[LabelSemiSync] != "" {
		t.Errorf("postgres labels = %v, want neither", l)
	}
}
