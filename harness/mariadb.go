package harness

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/testcontainers/testcontainers-go"

	"github.com/replab/replab/topologies"
)

// A MariaDB node (topologies.EngineMariaDB): mariadbd with binlog
// replication and GTID, no Patroni and no etcd. Every node starts
// read-only with the users replab needs; readiness makes the primary
// writable and attaches the replicas (mariadb_ready.go).
const (
	portMariaDB = 3306
	// mariadbHome is the node's named volume; the data directory is
	// below it so that the volume's root stays the mysql user's.
	mariadbHome       = "/var/lib/mysql"
	mariadbDataDir    = mariadbHome + "/data"
	mariadbConfigPath = "/etc/replab/my.cnf"
	mariadbInitPath   = "/etc/replab/init.sql"
	// mariadbCheckPath is HAProxy's external check (mariadbCheckScript),
	// mariadbCheckCnf the client options it reads (its account).
	mariadbCheckPath = "/etc/replab/mariadb-check"
	mariadbCheckCnf  = "/etc/replab/mariadb-check.cnf"
	// MariaDBDatabase holds replab's tables on a MariaDB lab.
	MariaDBDatabase = "replab"
)

// MariaDB accounts; their passwords are the lab's Credentials.
const (
	mariadbSuperuser  = "replab"
	mariadbReplicator = "repl"
	mariadbChecker    = "replab_check"
	mariadbApp        = "replab_app"
)

// mariadbCredentials are a MariaDB lab's accounts: the superuser replab
// and its clients use, the replication account and HAProxy's check.
func mariadbCredentials() (Credentials, error) {
	c := Credentials{Superuser: mariadbSuperuser, Replicator: mariadbReplicator, Checker: mariadbChecker, App: mariadbApp}
	for _, p := range []*string{&c.SuperPass, &c.ReplPass, &c.CheckPass, &c.AppPass} {
		s, err := randomSecret()
		if err != nil {
			return Credentials{}, err
		}
		*p = s
	}
	return c, nil
}

// mariadbNodeCommand initialises the data directory on first start (a
// volume keeps it across kill and restart) and runs mariadbd as the mysql
// user, created here: the image carries MariaDB's server core, whose
// package does not create it.
func mariadbNodeCommand() []string {
	script := strings.Join([]string{
		"set -e",
		"id mysql >/dev/null 2>&1 || useradd --system --no-create-home --home-dir " + mariadbHome + " --shell /usr/sbin/nologin mysql",
		"mkdir -p /run/mysqld " + mariadbDataDir,
		"chown mysql:mysql /run/mysqld " + mariadbHome + " " + mariadbDataDir + " " + mariadbInitPath,
		"if [ ! -d " + mariadbDataDir + "/mysql ]; then mariadb-install-db --defaults-file=" + mariadbConfigPath +
			" --user=mysql --skip-test-db --auth-root-authentication-method=normal >/dev/null; fi",
		"exec mariadbd --defaults-file=" + mariadbConfigPath + " --user=mysql",
	}, "\n")
	return []string{"sh", "-c", script}
}

// semiSyncWaitPoint maps a replication mode onto MariaDB's semi-sync
// wait point ("" for async):
//
//	semi-sync               AFTER_SYNC: the binlog is synced and a replica
//	                        has acknowledged it before the engine commits
//	                        (lossless: no other client sees the row first)
//	semi-sync-after-commit  AFTER_COMMIT: the engine commits, then the
//	                        client waits for the acknowledgement
func semiSyncWaitPoint(m topologies.ReplicationMode) string {
	switch m {
	case topologies.SemiSync:
		return "AFTER_SYNC"
	case topologies.SemiSyncAfterCommit:
		return "AFTER_COMMIT"
	}
	return ""
}

// mariadbConfig renders one node's my.cnf. It is pure and golden-tested.
// Every node logs its binlog (log_slave_updates) so that any can become
// the primary or an upstream; every node starts read-only, and with
// semi-sync's primary side off: on a replica it would make each applied
// transaction wait rpl_semi_sync_master_timeout for an acknowledgement
// nobody sends. makePrimary turns both on the one primary. The replica
// side is on for the nodes that may acknowledge: not NoSync ones.
func mariadbConfig(t *topologies.Topology, n member, serverID int) []byte {
	var b bytes.Buffer
	set := func(k string, v any) { fmt.Fprintf(&b, "%s = %v\n", k, v) }
	b.WriteString("# replab: MariaDB node " + n.Name + " (generated)\n[client-server]\n")
	set("socket", "/run/mysqld/mysqld.sock")
	b.WriteString("\n[mariadbd]\n")
	set("datadir", mariadbDataDir)
	set("port", portMariaDB)
	set("bind-address", "0.0.0.0")
	set("skip_name_resolve", "ON")
	set("server_id", serverID)
	set("log_bin", "mariadb-bin")
	set("log_slave_updates", "ON")
	set("binlog_format", "ROW")
	set("sync_binlog", 1)
	set("innodb_flush_log_at_trx_commit", 1)
	set("gtid_strict_mode", "ON")
	set("relay_log", "relay-bin")
	set("relay_log_recovery", "ON")
	set("read_only", "ON")
	set("init_file", mariadbInitPath)
	// A replica notices a dead primary after slave_net_timeout without
	// heartbeats (MASTER_HEARTBEAT_PERIOD is set to 1s when it attaches).
	set("slave_net_timeout", 4)
	set("innodb_buffer_pool_size", "64M")
	set("performance_schema", "OFF")
	set("max_connections", 300)
	wait := semiSyncWaitPoint(t.Replication.Mode)
	onOff := func(b bool) string {
		if b {
			return "ON"
		}
		return "OFF"
	}
	set("rpl_semi_sync_master_enabled", "OFF")
	set("rpl_semi_sync_slave_enabled", onOff(wait != "" && !n.Node.NoSync))
	if wait != "" {
		set("rpl_semi_sync_master_wait_point", wait)
		set("rpl_semi_sync_master_timeout", t.MariaDB.SemiSyncTimeout.Milliseconds())
	}
	return b.Bytes()
}

// mariadbInitSQL is the init_file every node runs at each start: the
// accounts and replab's database, kept out of the binlog (sql_log_bin=0)
// so that no node holds a transaction of its own that the others lack;
// with gtid_strict_mode one would stop replication.
func mariadbInitSQL(c Credentials) []byte {
	var b strings.Builder
	stmt := func(format string, args ...any) { fmt.Fprintf(&b, format+";\n", args...) }
	stmt("SET sql_log_bin = 0")
	stmt("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", c.Superuser, c.SuperPass)
	stmt("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", c.Superuser)
	stmt("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", c.Replicator, c.ReplPass)
	stmt("GRANT REPLICATION SLAVE, SLAVE MONITOR ON *.* TO '%s'@'%%'", c.Replicator)
	stmt("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", c.Checker, c.CheckPass)
	stmt("GRANT SLAVE MONITOR ON *.* TO '%s'@'%%'", c.Checker)
	stmt("CREATE DATABASE IF NOT EXISTS %s", MariaDBDatabase)
	if c.App != "" {
		stmt("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", c.App, c.AppPass)
		stmt("GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%'", MariaDBDatabase, c.App)
		// SHOW SLAVE STATUS, for the heartbeat to tell a replica from a
		// detached node; it does not lift read_only.
		stmt("GRANT SLAVE MONITOR ON *.* TO '%s'@'%%'", c.App)
	}
	return []byte(b.String())
}

// mariadbCheckScript is HAProxy's external check for a MariaDB node
// (arguments: proxy address and port, server address and port; HAProxy
// names the section in HAPROXY_PROXY_NAME). rw passes a node that is not
// read-only; ro a read-only one whose replication threads both run
// (Slave_running ON): what Patroni's /primary and /replica say for
// PostgreSQL.
func mariadbCheckScript() []byte {
	return []byte(`#!/bin/sh
out=$(mariadb --defaults-extra-file=` + mariadbCheckCnf + ` --connect-timeout=1 -h "$3" -P "$4" -N -B -e \
  "SELECT @@global.read_only, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING')" 2>/dev/null) || exit 1
set -- $out
case "$HAPROXY_PROXY_NAME" in
rw) [ "$1" = 0 ] ;;
*) [ "$1" = 1 ] && [ "$2" = ON ] ;;
esac
`)
}

// mariadbCheckConfig holds the check's account.
func mariadbCheckConfig(c Credentials) []byte {
	return []byte(fmt.Sprintf("[client]\nuser = %s\npassword = %s\n", c.Checker, c.CheckPass))
}

// mariadbNodeSpec is the container of one MariaDB node; serverID is unique
// in the lab.
func (l *Lab) mariadbNodeSpec(n member, serverID int) containerSpec {
	return containerSpec{
		m: n, role: "node", cmd: mariadbNodeCommand(),
		ports: []int{portMariaDB},
		files: []testcontainers.ContainerFile{
			{Reader: bytes.NewReader(mariadbConfig(l.topo, n, serverID)), ContainerFilePath: mariadbConfigPath, FileMode: 0o644},
			{Reader: bytes.NewReader(mariadbInitSQL(l.creds)), ContainerFilePath: mariadbInitPath, FileMode: 0o600},
		},
		netAdmin: true, volume: mariadbHome,
	}
}

// mariadbProxyFiles are the check script and its account for a MariaDB
// lab's HAProxy.
func (l *Lab) mariadbProxyFiles() []testcontainers.ContainerFile {
	return []testcontainers.ContainerFile{
		{Reader: bytes.NewReader(mariadbCheckScript()), ContainerFilePath: mariadbCheckPath, FileMode: 0o755},
		{Reader: bytes.NewReader(mariadbCheckConfig(l.creds)), ContainerFilePath: mariadbCheckCnf, FileMode: 0o600},
	}
}

// isMariaDB reports whether the lab runs MariaDB.
func (l *Lab) isMariaDB() bool { return l.topo.Engine.Kind == topologies.EngineMariaDB }
