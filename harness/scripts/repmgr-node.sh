#!/bin/bash
# A PostgreSQL node under repmgr (harness.managedNodeSpec): prepare
# PostgreSQL, register it, then run repmgrd in the foreground.
#
# Environment: ROLE (primary, standby or witness), NODE_NAME, MY_IP,
# BOOT_PRIMARY (the first node's address), PEERS (every node's), PGDATA,
# SYNC_STANDBY_NAMES (empty in async).
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
	pgstart
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

# other_primary prints "ADDRESS NODE_ID" of the peer that is a primary on
# the newest timeline (after a split-brain two answer; the newer won).
other_primary() {
	best="" best_tl=-1
	for h in $PEERS; do
		[ "$h" = "$MY_IP" ] && continue
		r=$(rq "$h" "SELECT coalesce((SELECT node_id FROM repmgr.nodes WHERE type = 'primary' AND active AND conninfo LIKE '%host=$h %'), 0), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int WHERE NOT pg_is_in_recovery()")
		case "$r" in
		[0-9]*\|[0-9]*)
			tl=${r##*|}
			if [ "$tl" -gt "$best_tl" ]; then best="$h ${r%%|*}" best_tl=$tl; fi
			;;
		esac
	done
	[ -n "$best" ] && echo "$best"
}

# rejoin ADDRESS NODE_ID: attach this stopped node to the primary there,
# rewinding what it has that the primary has not (pg_rewind recovers a
# data directory that was not shut down cleanly first); a fresh clone if
# that fails, as Patroni does when a rewind fails.
rejoin() {
	# pg_rewind reads the source's timeline from its control file, which
	# a fresh promotion updates only at its checkpoint.
	psql "host=$1 user=repmgr dbname=repmgr connect_timeout=2" -XAtqc CHECKPOINT || log "CHECKPOINT on $1 failed"
	repmgr -f $CONF node rejoin -d "host=$1 user=repmgr dbname=repmgr connect_timeout=2" --force-rewind \
		--config-files=postgresql.conf,pg_hba.conf && return 0
	log "rejoin failed: cloning $1 afresh"
	pg_ctl -D "$PGDATA" -w -t 60 -m immediate stop >/dev/null 2>&1
	rm -rf "${PGDATA:?}"/*
	repmgr -f $CONF -h "$1" -U repmgr -d repmgr standby clone --fast-checkpoint || die "repmgr standby clone failed: not starting"
	pgstart
	repmgr -f $CONF standby register --force --upstream-node-id="$2" || die "repmgr standby register failed"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	case "$ROLE" in
	primary)
		init_cluster
		repmgr -f $CONF primary register || die "repmgr primary register failed"
		# Synchronous standbys only now: no standby existed to
		# acknowledge the bootstrap. The standbys copy the setting
		# (postgresql.auto.conf) with their base backup.
		if [ -n "${SYNC_STANDBY_NAMES:-}" ]; then
			echo "ALTER SYSTEM SET synchronous_standby_names = :'names'; SELECT pg_reload_conf();" |
				psql -X -v ON_ERROR_STOP=1 -q -d postgres -v names="$SYNC_STANDBY_NAMES" >/dev/null || die "set synchronous_standby_names"
		fi
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
		if [ -f "$PGDATA/standby.signal" ] && grep -q "host=$1 " "$PGDATA/postgresql.auto.conf"; then
			pgstart
		else
			# A former primary, or a standby of a node that is no
			# longer the primary (it may hold WAL the primary lacks).
			log "node $2 ($1) is the primary: rejoining it"
			rejoin "$1" "$2"
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
# repmgrd exits when it cannot reach its upstream as it starts; like the
# service manager that runs it in production, start it again.
while :; do
	rm -f /tmp/repmgrd.pid
	repmgrd -f $CONF --daemonize=false
	log "repmgrd exited ($?): starting it again in 1s"
	sleep 1
done
