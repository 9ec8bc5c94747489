#!/bin/bash
# A PostgreSQL node under repmgr (harness.managedNodeSpec): prepare
# PostgreSQL, register it, then run repmgrd in the foreground.
#
# Environment: ROLE (primary, standby or witness), NODE_NAME, MY_IP,
# BOOT_PRIMARY (the first node's address), PEERS (every node's), PGDATA.
#
# repmgr fences nothing: a former primary started again would come back
# as a second primary. On a restart this script asks its peers first and,
# when another node is primary, rejoins it as a standby (repmgr node
# rejoin --force-rewind), as operators' entrypoints for repmgr do.
set -u
CONF=/etc/replab/repmgr.conf
PGLOG=/var/lib/postgresql/postgres.log
log() { echo "replab-node: $*" >&2; }
die() { log "FATAL: $*"; [ -f "$PGLOG" ] && tail -20 "$PGLOG" >&2; exit 1; }
pgstart() { pg_ctl -D "$PGDATA" -w -t 120 -l "$PGLOG" start >/dev/null || die "pg_ctl start failed"; }
# rq HOST SQL: a query as repmgr over TCP (trusted inside the lab).
rq() { psql "host=$1 user=repmgr dbname=repmgr connect_timeout=2" -XAtc "$2" 2>/dev/null; }

init_cluster() {
	initdb -D "$PGDATA" --data-checksums --no-sync -U postgres --pwfile=/etc/replab/superuser-password \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null || die "initdb failed"
	cat /etc/replab/postgresql.conf >>"$PGDATA/postgresql.conf"
	cp /etc/replab/pg_hba.conf "$PGDATA/pg_hba.conf"
	# Bootstrap alone: no standby exists yet to acknowledge.
	pg_ctl -D "$PGDATA" -w -t 120 -l "$PGLOG" -o "-c synchronous_standby_names=" start >/dev/null || die "pg_ctl start failed"
	# repmgr's own writes (registration, events) never wait for a
	# synchronous standby: they happen while one is being lost.
	psql -X -v ON_ERROR_STOP=1 -q -d postgres \
		-c "CREATE USER repmgr SUPERUSER" -c "ALTER ROLE repmgr SET synchronous_commit = local" \
		-c "CREATE DATABASE repmgr OWNER repmgr" || die "create the repmgr account"
}

wait_primary() {
	for _ in $(seq 1 300); do
		[ "$(rq "$BOOT_PRIMARY" "SELECT count(*) FROM repmgr.nodes WHERE type = 'primary' AND active")" = 1 ] && return 0
		sleep 0.5
	done
	die "the primary $BOOT_PRIMARY did not register within 150s"
}

# other_primary prints "ADDRESS NODE_ID" of a peer that answers it is a
# primary and is registered as one.
other_primary() {
	for h in $PEERS; do
		[ "$h" = "$MY_IP" ] && continue
		r=$(rq "$h" "SELECT pg_is_in_recovery(), (SELECT node_id FROM repmgr.nodes WHERE type = 'primary' AND active AND conninfo LIKE '%host=$h %')")
		case "$r" in f\|[0-9]*) echo "$h ${r#f|}"; return 0 ;; esac
	done
	return 1
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	case "$ROLE" in
	primary)
		init_cluster
		repmgr -f $CONF primary register || die "repmgr primary register failed"
		pg_ctl -D "$PGDATA" -w -t 60 -m fast stop >/dev/null && pgstart
		;;
	standby)
		wait_primary
		repmgr -f $CONF -h "$BOOT_PRIMARY" -U repmgr -d repmgr standby clone --fast-checkpoint || die "repmgr standby clone failed"
		pgstart
		repmgr -f $CONF standby register --wait-sync=60 || die "repmgr standby register failed"
		;;
	witness)
		init_cluster
		wait_primary
		repmgr -f $CONF -h "$BOOT_PRIMARY" -U repmgr -d repmgr witness register || die "repmgr witness register failed"
		;;
	esac
else
	# After a kill the pid file is stale: the new container's pid
	# namespace may give its pid to a live process.
	rm -f "$PGDATA/postmaster.pid"
	if [ "$ROLE" = witness ]; then
		pgstart
		# Its copy of the metadata may name a primary that is gone.
		if other=$(other_primary); then
			repmgr -f $CONF -h "${other%% *}" -U repmgr -d repmgr witness register --force || log "witness register --force failed"
		fi
	elif other=$(other_primary); then
		set -- $other
		if [ -f "$PGDATA/standby.signal" ]; then
			pgstart
			grep -q "host=$1 " "$PGDATA/postgresql.auto.conf" || repmgr -f $CONF standby follow --upstream-node-id="$2" || die "repmgr standby follow failed"
		else
			log "node $2 ($1) is primary now: rejoining it as a standby"
			state=$(pg_controldata "$PGDATA" | sed -n 's/^Database cluster state: *//p')
			if [ "$state" != "shut down" ] && [ "$state" != "shut down in recovery" ]; then
				# pg_rewind needs a cleanly shut down data directory:
				# crash recovery in single-user mode accepts no client.
				postgres --single -D "$PGDATA" -c listen_addresses='' postgres </dev/null >>"$PGLOG" 2>&1 || die "crash recovery failed"
			fi
			# pg_rewind reads the source's timeline from its control
			# file, which a fresh promotion updates only at its checkpoint.
			psql "host=$1 user=repmgr dbname=repmgr connect_timeout=2" -XAtqc CHECKPOINT || log "CHECKPOINT on $1 failed"
			if ! repmgr -f $CONF node rejoin -d "host=$1 user=repmgr dbname=repmgr connect_timeout=2" --force-rewind \
				--config-files=postgresql.conf,pg_hba.conf; then
				# What Patroni does when a rewind fails: a new copy.
				log "rejoin failed: cloning $1 afresh"
				pg_ctl -D "$PGDATA" -w -t 60 -m immediate stop >/dev/null 2>&1
				rm -rf "${PGDATA:?}"/*
				repmgr -f $CONF -h "$1" -U repmgr -d repmgr standby clone --fast-checkpoint || die "repmgr standby clone failed: not starting a second primary"
				pgstart
				repmgr -f $CONF standby register --force --upstream-node-id="$2" || die "repmgr standby register failed"
			fi
		fi
	elif [ -f "$PGDATA/standby.signal" ]; then
		pgstart
	else
		# A former primary that sees no other: it starts as the primary
		# only once half its peers answer, so that a node cut off from
		# them does not come back as a primary of its own.
		need=$(( $(echo $PEERS | wc -w) / 2 ))
		for _ in $(seq 1 60); do
			got=0
			for h in $PEERS; do [ "$h" != "$MY_IP" ] && [ -n "$(rq "$h" 'SELECT 1')" ] && got=$((got + 1)); done
			[ "$got" -ge "$need" ] && break
			sleep 0.5
		done
		[ "$got" -ge "$need" ] || die "a former primary with $got of $need peers answering and no primary among them: not starting"
		pgstart
	fi
fi
rm -f /tmp/repmgrd.pid
exec repmgrd -f $CONF --daemonize=false
