package harness

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/testcontainers/testcontainers-go"

	"github.com/replab/replab/topologies"
)

// Paths of a node run by pg_auto_failover or repmgr: its entrypoint (the
// manager's script, managerScript), the PostgreSQL settings and client
// authentication it starts with, the superuser's password for initdb and
// the manager's own configuration.
const (
	managedEntrypoint = "/etc/replab/node.sh"
	managedConf       = "/etc/replab/postgresql.conf"
	managedHBA        = "/etc/replab/pg_hba.conf"
	managedPass       = "/etc/replab/superuser-password"
	repmgrConfPath    = "/etc/replab/repmgr.conf"
)

// managedNodeSpec is a database node under pg_auto_failover or repmgr:
// one container running the manager's entrypoint as postgres, which
// prepares PostgreSQL and then runs the manager's agent (pg_autoctl run,
// repmgrd) in the foreground. i is the node's 1-based position.
func (l *Lab) managedNodeSpec(n member, i int) containerSpec {
	files := []testcontainers.ContainerFile{
		{Reader: bytes.NewReader(managerScript(l.plan.Manager)), ContainerFilePath: managedEntrypoint, FileMode: 0o755},
		{Reader: bytes.NewReader(managedPostgresConf(l.topo, l.plan)), ContainerFilePath: managedConf, FileMode: 0o644},
		{Reader: bytes.NewReader(managedHBAConf(l.plan)), ContainerFilePath: managedHBA, FileMode: 0o644},
		{Reader: bytes.NewReader([]byte(l.creds.SuperPass + "\n")), ContainerFilePath: managedPass, FileMode: 0o644},
	}
	env := l.managedEnv(n)
	if l.plan.Manager == topologies.ManagerRepmgr {
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(repmgrConf(l.topo, l.plan, n, i)), ContainerFilePath: repmgrConfPath, FileMode: 0o644})
		env = append(env, "ROLE="+repmgrRole(l.plan, n))
		if l.topo.Replication.Mode != topologies.Async {
			env = append(env, "SYNC_STANDBY_NAMES="+syncStandbyNames(l.topo, l.plan))
		}
	} else {
		env = append(env, pgafNodeEnv(l.topo, l.plan, n)...)
	}
	return containerSpec{
		m: n, role: "node", cmd: []string{managedEntrypoint}, user: "postgres", env: env,
		ports: []int{portPostgres}, files: files, netAdmin: true, volume: pgHome,
	}
}

// coordinatorSpec is pg_auto_failover's monitor or repmgr's witness: a
// PostgreSQL of its own that holds no application data.
func (l *Lab) coordinatorSpec(c member) containerSpec {
	s := l.managedNodeSpec(c, len(l.plan.Nodes)+1)
	if l.plan.Manager == topologies.ManagerRepmgr {
		s.env = append(l.managedEnv(c), "ROLE=witness")
	} else {
		s.env = append(l.managedEnv(c), "ROLE=monitor")
		s.env = append(s.env, pgafMonitorEnv(l.topo, c)...)
	}
	s.role = c.Name
	return s
}

// managedEnv is what every managed node's entrypoint reads: its address,
// the first node's (the bootstrap primary) and every node's.
func (l *Lab) managedEnv(n member) []string {
	var peers []string
	for _, o := range l.plan.Nodes {
		peers = append(peers, o.IP.String())
	}
	return []string{
		"NODE_NAME=" + n.Name,
		"MY_IP=" + n.IP.String(),
		"BOOT_PRIMARY=" + l.plan.Nodes[0].IP.String(),
		"PEERS=" + strings.Join(peers, " "),
		"PGDATA=" + pgDataDir,
	}
}

// managedPostgresConf is appended to the bootstrap primary's
// postgresql.conf (the others copy it with their base backup): the
// parameters every manager's nodes get (pgParameters) and the manager's
// library. synchronous_standby_names is pg_auto_failover's to set; under
// repmgr, which does not manage it, the bootstrap primary sets it once it
// has registered (SYNC_STANDBY_NAMES, syncStandbyNames).
func managedPostgresConf(t *topologies.Topology, p plan) []byte {
	params := pgParameters(t)
	params["listen_addresses"] = "*"
	params["password_encryption"] = "scram-sha-256"
	params["unix_socket_directories"] = "/var/run/postgresql"
	if p.Manager == topologies.ManagerRepmgr {
		params["shared_preload_libraries"] = "repmgr"
	}
	var b strings.Builder
	b.WriteString("# replab: the node's settings (harness.managedPostgresConf)\n")
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := strings.ReplaceAll(fmt.Sprint(params[k]), "'", "''")
		fmt.Fprintf(&b, "%s = '%s'\n", k, v)
	}
	return []byte(b.String())
}

// syncStandbyNames is repmgr's primary's synchronous_standby_names: ANY
// sync_standbys of the primary region's candidates, each listing every
// candidate (a node never streams from itself, so on whichever leads it
// means "of the others"). repmgr does not manage it, so nothing relaxes
// it when the standbys are gone: semi-sync is as strict as sync there,
// only the wait point differs (synchronous_commit).
func syncStandbyNames(t *topologies.Topology, p plan) string {
	var names []string
	for _, n := range p.Nodes {
		if n.Node.Failover && !n.Node.NoSync {
			names = append(names, `"`+n.Name+`"`)
		}
	}
	return fmt.Sprintf("ANY %d (%s)", max(t.Replication.SyncStandbys, 1), strings.Join(names, ", "))
}

// managedHBAConf is the nodes' client authentication: the superuser and
// every other account need their password from the Docker gateway (the
// host, through the published ports) and from anywhere else; the
// manager's own accounts (repmgr; pg_auto_failover's autoctl_node,
// pgautofailover_monitor and pgautofailover_replicator) are trusted from
// the lab's other addresses, as those managers' quick starts do, so that
// no password has to be handed to their agents.
func managedHBAConf(p plan) []byte {
	cidr := p.Subnet.Masked().String()
	gw := p.Gateway.String() + "/32"
	lines := []string{
		"# replab: client authentication (harness.managedHBAConf)",
		"local all all trust",
		"host all all " + gw + " scram-sha-256",
		"host replication all " + gw + " scram-sha-256",
	}
	switch p.Manager {
	case topologies.ManagerRepmgr:
		lines = append(lines,
			"host repmgr repmgr "+cidr+" trust",
			"host replication repmgr "+cidr+" trust",
		)
	case topologies.ManagerPGAutoFailover:
		lines = append(lines,
			"host pg_auto_failover autoctl_node "+cidr+" trust",
			"host all pgautofailover_monitor "+cidr+" trust",
			"host all pgautofailover_replicator "+cidr+" trust",
			"host replication pgautofailover_replicator "+cidr+" trust",
		)
	}
	lines = append(lines, "host all all 0.0.0.0/0 scram-sha-256", "")
	return []byte(strings.Join(lines, "\n"))
}
