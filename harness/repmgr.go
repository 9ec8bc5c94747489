package harness

import (
	"context"
	"fmt"
	"slices"
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
		// Keepalives: a connection to a node cut off by a partition
		// fails in seconds instead of at TCP's retransmission timeout.
		fmt.Sprintf("conninfo='host=%s port=%d user=repmgr dbname=repmgr connect_timeout=2 keepalives_idle=2 keepalives_interval=1 keepalives_count=3'", n.IP, portPostgres),
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

// repmgrSwitchover is repmgr's planned switchover without SSH: repmgr
// standby switchover reaches the old primary over SSH to stop it, which
// a lab's nodes do not run, so replab runs the same steps in each
// container:
//
//  1. repmgr service pause: no repmgrd fails over while the primary is down;
//  2. pg_ctl stop -m fast on the old primary: a shutdown checkpoint,
//     whose WAL its walsenders send before they exit;
//  3. repmgr standby promote on the candidate, and a checkpoint there
//     (pg_rewind reads the new timeline from its control file);
//  4. repmgr node rejoin on the old primary, as a standby of the new one;
//  5. repmgr standby follow on every other standby, and the witness
//     registered again against the new primary;
//  6. repmgr service unpause.
//
// sent is called once repmgrd is paused, as the old primary stops.
func (l *Lab) repmgrSwitchover(ctx context.Context, leader, candidate string, sent func()) error {
	if candidate == "" {
		ms, err := l.Members(ctx)
		if err != nil {
			return fmt.Errorf("switchover %s: %w", leader, err)
		}
		sync := SyncStandbys(ms)
		for _, m := range ms {
			if m.Role == RoleReplica && m.State == "streaming" && l.isCandidate(m.Name) && (len(sync) == 0 || slices.Contains(sync, m.Name)) {
				candidate = m.Name
				break
			}
		}
		if candidate == "" {
			return fmt.Errorf("switchover %s: no streaming failover candidate", leader)
		}
	}
	run := func(node string, cmd ...string) error {
		res, err := l.Exec(ctx, node, ExecRequest{Cmd: cmd, User: "postgres"})
		if err != nil {
			return fmt.Errorf("switchover %s→%s: %s on %s: %w", leader, candidate, strings.Join(cmd, " "), node, err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("switchover %s→%s: %s on %s exited %d: %s", leader, candidate, strings.Join(cmd, " "), node, res.ExitCode, lastLines(res.Stderr, 3))
		}
		return nil
	}
	repmgr := func(args ...string) []string {
		return append([]string{pgBinDir + "/repmgr", "-f", repmgrConfPath}, args...)
	}
	if err := run(candidate, repmgr("service", "pause")...); err != nil {
		return err
	}
	if sent != nil {
		sent()
	}
	defer func() { _ = run(candidate, repmgr("service", "unpause")...) }()
	if err := run(leader, pgBinDir+"/pg_ctl", "-D", pgDataDir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	if err := run(candidate, repmgr("standby", "promote")...); err != nil {
		return err
	}
	// pg_rewind reads the new primary's timeline from its control file,
	// which the promotion updates only at its checkpoint.
	if err := run(candidate, pgBinDir+"/psql", "-XAtqc", "CHECKPOINT", "postgres"); err != nil {
		return err
	}
	var ip string
	for _, n := range l.plan.Nodes {
		if n.Name == candidate {
			ip = n.IP.String()
		}
	}
	if err := run(leader, repmgr("node", "rejoin", "-d", "host="+ip+" user=repmgr dbname=repmgr connect_timeout=2", "--force-rewind", "--config-files=postgresql.conf,pg_hba.conf")...); err != nil {
		return err
	}
	for _, n := range l.plan.Nodes {
		if n.Name == leader || n.Name == candidate {
			continue
		}
		if err := run(n.Name, repmgr("standby", "follow")...); err != nil {
			return err
		}
	}
	for _, w := range l.plan.Coordinator {
		if err := run(w.Name, repmgr("-h", ip, "-U", "repmgr", "-d", "repmgr", "witness", "register", "--force")...); err != nil {
			return err
		}
	}
	return nil
}

// isCandidate reports whether node may be promoted.
func (l *Lab) isCandidate(node string) bool {
	for _, n := range l.plan.Nodes {
		if n.Name == node {
			return n.Node.Failover
		}
	}
	return false
}

// lastLines is the last n lines of out, for errors.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
