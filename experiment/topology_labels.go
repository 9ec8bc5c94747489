package experiment

import (
	"strings"

	"github.com/replab/replab/topologies"
)

// Labels that state a topology's own settings in a run's metadata
// (results.json, report.html).
const (
	LabelParameters    = "postgresql.parameters"
	LabelRoles         = "node.roles"
	LabelNoLoadBalance = "node.noloadbalance"
	// LabelEngine and, on MariaDB, LabelSemiSync: which engine ran, and
	// its semi-sync wait point and the timeout after which the primary
	// falls back to async.
	LabelEngine   = "engine"
	LabelSemiSync = "mariadb.semi_sync"
)

// TopologyLabels are the run metadata labels stating what the topology
// adds to replab's defaults and a run's figures are made of: a MariaDB
// lab's engine and semi-sync settings, its PostgreSQL parameters ("work_mem=16MB, ..."), its node roles
// ("lab-3=backup") and the nodes kept out of the ro endpoint. A setting
// the topology does not declare has no label.
func TopologyLabels(t *topologies.Topology) map[string]string {
	out := map[string]string{}
	if t.Engine.Kind == topologies.EngineMariaDB {
		out[LabelEngine] = string(t.Engine.Kind)
		switch t.Replication.Mode {
		case topologies.SemiSync:
			out[LabelSemiSync] = "rpl_semi_sync_master_wait_point=AFTER_SYNC, rpl_semi_sync_master_timeout=" + t.MariaDB.SemiSyncTimeout.String()
		case topologies.SemiSyncAfterCommit:
			out[LabelSemiSync] = "rpl_semi_sync_master_wait_point=AFTER_COMMIT, rpl_semi_sync_master_timeout=" + t.MariaDB.SemiSyncTimeout.String()
		}
	}
	if ps := t.PostgreSQL.Parameters; len(ps) > 0 {
		out[LabelParameters] = topologies.ParametersText(ps)
	}
	var roles, nolb []string
	for _, n := range t.Nodes() {
		if n.Role != "" {
			roles = append(roles, n.Name+"="+n.Role)
		}
		if n.NoLoadBalance {
			nolb = append(nolb, n.Name)
		}
	}
	if len(roles) > 0 {
		out[LabelRoles] = strings.Join(roles, ", ")
	}
	if len(nolb) > 0 {
		out[LabelNoLoadBalance] = strings.Join(nolb, ", ")
	}
	return out
}
