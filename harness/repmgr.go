package harness

import (
	"fmt"
	"strings"

	"github.com/replab/replab/topologies"
)

// repmgrRole is a node's part in the bootstrap: the first node of the
// plan initialises the cluster and registers as primary, the others
// clone it and register as standbys.
func repmgrRole(p plan, n member) string {
	if n.Name == p.Nodes[0].Name {
		return "primary"
	}
	return "standby"
}

// repmgrConf renders repmgr.conf for one node (id i, 1-based; the witness
// takes the id after the last node's). repmgrd runs in the foreground and
// logs to its stderr; PostgreSQL is started by the entrypoint, so the
// service commands are pg_ctl's. A node that is not a failover candidate
// gets priority 0 (repmgrd never promotes it); with a witness, a standby
// promotes only when the witness cannot see the primary either
// (primary_visibility_consensus).
func repmgrConf(t *topologies.Topology, p plan, n member, i int) []byte {
	g := t.Repmgr
	priority := 100
	if n.Node.Name != "" && !n.Node.Failover {
		priority = 0
	}
	pgctl := pgBinDir + "/pg_ctl -D " + pgDataDir + " -w -t 60"
	lines := []string{
		fmt.Sprintf("node_id=%d", i),
		fmt.Sprintf("node_name='%s'", n.Name),
		fmt.Sprintf("conninfo='host=%s port=%d user=repmgr dbname=repmgr connect_timeout=2'", n.IP, portPostgres),
		"data_directory='" + pgDataDir + "'",
		"pg_bindir='" + pgBinDir + "'",
		"repmgr_bindir='" + pgBinDir + "'",
		fmt.Sprintf("location='%s'", n.Region),
		fmt.Sprintf("priority=%d", priority),
		"use_replication_slots=yes",
		"failover='automatic'",
		"promote_command='" + pgBinDir + "/repmgr standby promote -f " + repmgrConfPath + "'",
		"follow_command='" + pgBinDir + "/repmgr standby follow -f " + repmgrConfPath + " --upstream-node-id=%n'",
		fmt.Sprintf("reconnect_attempts=%d", g.ReconnectAttempts),
		fmt.Sprintf("reconnect_interval=%d", seconds(g.ReconnectInterval)),
		fmt.Sprintf("monitor_interval_secs=%d", seconds(g.MonitorInterval)),
		fmt.Sprintf("primary_visibility_consensus=%v", g.Witness != ""),
		"standby_disconnect_on_failover=false",
		"connection_check_type='ping'",
		"service_start_command='" + pgctl + " -l " + pgHome + "/postgres.log start'",
		"service_stop_command='" + pgctl + " -m fast stop'",
		"service_restart_command='" + pgctl + " -m fast -l " + pgHome + "/postgres.log restart'",
		"service_reload_command='" + pgBinDir + "/pg_ctl -D " + pgDataDir + " reload'",
		"log_level='INFO'",
		"log_status_interval=60",
		"",
	}
	return []byte(strings.Join(lines, "\n"))
}
