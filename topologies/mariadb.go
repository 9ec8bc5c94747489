package topologies

import (
	"slices"
	"time"
)

// MariaDB's defaults and bounds.
const (
	// mariadbVersion is the one MariaDB replab runs: Debian 12's.
	mariadbVersion = "10.11"
	// defaultSemiSyncTimeout is MariaDB's own rpl_semi_sync_master_timeout.
	defaultSemiSyncTimeout = 10 * time.Second
	minSemiSyncTimeout     = time.Millisecond
)

// patroniOnly lists the top-level keys that configure Patroni, etcd or
// PostgreSQL, with why each does not apply to MariaDB.
var patroniOnly = []struct{ key, why string }{
	{"dcs", "MariaDB's replication has no consensus store: replab promotes a replica itself"},
	{"patroni", "no Patroni runs with MariaDB: replab promotes a replica itself"},
	{"postgresql", "these are PostgreSQL parameters"},
	{"standby_cluster", "a standby cluster is Patroni's"},
	{"manager", "MariaDB has no failover manager to choose: replab promotes a replica itself"},
	{"pg_auto_failover", "pg_auto_failover manages PostgreSQL"},
	{"repmgr", "repmgr manages PostgreSQL"},
}

// mariadbEngine resolves engine.version and engine.image for mariadb.
func (r *resolver) mariadbEngine() {
	e := r.f.Engine
	r.t.Engine.Version = mariadbVersion
	if r.doc.has("engine.version") {
		if v := string(e.Version); v != mariadbVersion {
			r.errorf("engine.version", "version %q is not supported: replab runs MariaDB %s (Debian 12's); use version: \"%s\"", v, mariadbVersion, mariadbVersion)
		}
	}
	if r.doc.has("engine.image") {
		r.errorf("engine.image", "the image contract covers PostgreSQL with Patroni: MariaDB runs on replab's own image only; remove image")
	}
}

// mariadb refuses the keys that configure Patroni, etcd or PostgreSQL and
// resolves the mariadb block. Failover candidates are the primary region's
// replicas: replab's promotion picks among them.
func (r *resolver) mariadb() {
	for _, k := range patroniOnly {
		if r.doc.has(k.key) {
			r.rep.errorf(r.doc.keyAt(k.key), k.key, "does not apply to engine mariadb (%s): remove %s", k.why, k.key)
		}
	}
	timeout, ok := r.duration("mariadb.semi_sync_timeout", r.f.MariaDB.SemiSyncTimeout, defaultSemiSyncTimeout)
	if ok && timeout < minSemiSyncTimeout {
		r.errorf("mariadb.semi_sync_timeout", "semi_sync_timeout %s is below 1ms: MariaDB takes whole milliseconds; use 10s (its default), or mode: async for no wait at all", timeout)
	}
	r.t.MariaDB = MariaDB{SemiSyncTimeout: timeout}
}

// notMariaDB refuses the mariadb block on another engine.
func (r *resolver) notMariaDB() {
	if r.doc.has("mariadb") {
		r.rep.errorf(r.doc.keyAt("mariadb"), "mariadb", "applies to engine mariadb only (this topology runs %s): remove mariadb, or set engine: {kind: mariadb}", r.t.Engine.Kind)
	}
}

// engineMode refuses a replication mode the engine does not have; ok is
// false when it did.
func (r *resolver) engineMode(mode ReplicationMode) (ok bool) {
	path := "replication.mode"
	switch {
	case slices.Contains(EngineModes(r.t.Engine.Kind), mode):
		return true
	case r.t.Engine.Kind == EngineMariaDB:
		r.errorf(path, "MariaDB has no synchronous replication (a commit never waits for a replica to apply it): use semi-sync (AFTER_SYNC, lossless) or semi-sync-after-commit (MariaDB's default wait point)")
	default:
		r.errorf(path, "semi-sync-after-commit is MariaDB's wait point; PostgreSQL has async, semi-sync and sync: use semi-sync, or engine: {kind: mariadb}")
	}
	return false
}

// mariadbStandbys refuses more than one acknowledging replica: MariaDB's
// semi-sync primary waits for one.
func (r *resolver) mariadbStandbys(mode ReplicationMode, n int) bool {
	if r.t.Engine.Kind != EngineMariaDB || mode == Async || n <= 1 {
		return true
	}
	r.errorf("replication.sync_standbys", "MariaDB's semi-sync waits for one replica's acknowledgement, whatever the count: use sync_standbys: 1, or remove it")
	return false
}

// EngineModes lists the replication modes an engine has, weakest first.
func EngineModes(kind EngineKind) []ReplicationMode {
	if kind == EngineMariaDB {
		return []ReplicationMode{Async, SemiSync, SemiSyncAfterCommit}
	}
	return []ReplicationMode{Async, SemiSync, Sync}
}
