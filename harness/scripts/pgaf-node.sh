#!/bin/bash
# A PostgreSQL node or the monitor under pg_auto_failover
# (harness.managedNodeSpec): prepare the data directory, create the node
# with pg_autoctl, then run pg_autoctl in the foreground.
#
# Environment: ROLE (monitor, first or other), NODE_NAME, MY_IP, PGDATA,
# MONITOR_IP; for the monitor MONITOR_SETTINGS (its pgautofailover.*
# settings, one "name = value" a line) and NUMBER_SYNC_STANDBYS; for a
# node CANDIDATE_PRIORITY, REPLICATION_QUORUM and
# NETWORK_PARTITION_TIMEOUT (seconds).
#
# The first node and the monitor start from a data directory this script
# initialises (the superuser's password, replab's settings and client
# authentication), which pg_autoctl adopts; the other nodes wait for the
# first to be primary, then take a base backup of it.
set -u
MONITOR_URI="postgres://autoctl_node@$MONITOR_IP:5432/pg_auto_failover?sslmode=disable"
log() { echo "replab-node: $*" >&2; }
die() { log "FATAL: $*"; exit 1; }

init_pgdata() {
	initdb -D "$PGDATA" --data-checksums --no-sync -E UTF8 -U postgres --pwfile=/etc/replab/superuser-password \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null || die "initdb failed"
	cat /etc/replab/postgresql.conf >>"$PGDATA/postgresql.conf"
	cp /etc/replab/pg_hba.conf "$PGDATA/pg_hba.conf"
}

# After a kill the pid files are stale, and the new container's pid
# namespace may have given their pids to live processes: pg_autoctl
# would refuse to start, believing itself running.
rm -f "/tmp/pg_autoctl$PGDATA/pg_autoctl.pid" "$PGDATA/postmaster.pid"

if [ "$ROLE" = monitor ]; then
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		init_pgdata
		printf '%s\n' "$MONITOR_SETTINGS" >>"$PGDATA/postgresql.conf"
	fi
	exec pg_autoctl create monitor --pgdata "$PGDATA" --pgport 5432 --hostname "$MY_IP" --skip-pg-hba --no-ssl --run
fi

CFG=$HOME/.config/pg_autoctl$PGDATA/pg_autoctl.cfg
if [ ! -f "$CFG" ]; then
	if [ "$ROLE" = first ]; then
		[ -s "$PGDATA/PG_VERSION" ] || init_pgdata
	else
		# Registered before the first node, this one would be made
		# the primary of an empty cluster.
		for _ in $(seq 1 600); do
			[ "$(psql -XAtq -d "$MONITOR_URI" -c "SELECT count(*) FROM pgautofailover.node WHERE reportedstate IN ('single', 'wait_primary', 'primary') AND goalstate = reportedstate" 2>/dev/null)" = 1 ] && break
			sleep 0.25
		done
	fi
	pg_autoctl create postgres --pgdata "$PGDATA" --pgport 5432 --listen '*' --hostname "$MY_IP" --name "$NODE_NAME" \
		--monitor "$MONITOR_URI" --skip-pg-hba --no-ssl \
		--candidate-priority "$CANDIDATE_PRIORITY" --replication-quorum "$REPLICATION_QUORUM" || die "pg_autoctl create postgres failed"
	pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout "$NETWORK_PARTITION_TIMEOUT" || die "pg_autoctl config set failed"
fi
exec pg_autoctl run --pgdata "$PGDATA"
