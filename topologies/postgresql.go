package topologies

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// PostgreSQL holds the settings a topology passes through to PostgreSQL.
type PostgreSQL struct {
	// Parameters are postgresql.parameters in file order, names in lower
	// case. The harness puts them into Patroni's dynamic configuration
	// (bootstrap.dcs.postgresql.parameters) after replab's own, so that
	// they override replab's defaults (shared_buffers, max_connections,
	// wal_keep_size, hot_standby_feedback) and every node runs them. Nil
	// when the file declares none.
	Parameters []Parameter
}

// Parameter is one PostgreSQL setting. Value is the text as written:
// "64MB", "0.5", "true".
type Parameter struct {
	Name, Value string
}

// ParametersText lists parameters as "name=value" joined by ", ", in
// order: how a run's metadata and tables state them. Empty for none.
func ParametersText(ps []Parameter) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Name + "=" + p.Value
	}
	return strings.Join(parts, ", ")
}

// ownedParameters are the parameters replab or Patroni sets itself, with
// why and what to write instead. A user's value would be overwritten, or
// would break what the lab is built on (streaming replication, slots,
// pg_rewind, the replication mode a run reports), so validation refuses
// them. The harness's patroniConfig sets the first group; Patroni the
// others, whatever the dynamic configuration says.
var ownedParameters = func() map[string]string {
	const (
		replication = "replab sets it for streaming replication, replication slots and pg_rewind: remove it"
		mode        = "replab derives it from replication.mode (async: on, semi-sync: remote_write, sync: remote_apply): set replication.mode instead"
		syncNames   = "Patroni's synchronous_mode writes it from replication.mode and replication.sync_standbys: set those instead"
		patroni     = "Patroni sets it on every node from replab's layout (addresses, ports, data directory, cluster name): remove it"
		recovery    = "Patroni writes the recovery settings itself (primary_conninfo and primary_slot_name point a replica at its upstream) and drops the others from parameters: remove it; replab v1 passes no recovery setting"
	)
	m := map[string]string{
		"synchronous_commit":        mode,
		"synchronous_standby_names": syncNames,
		"wal_level":                 replication,
		"hot_standby":               replication,
		"wal_log_hints":             replication,
		"max_wal_senders":           replication,
		"max_replication_slots":     replication,
		"track_commit_timestamp":    "replab turns it on in every lab, so that the commit times of a run's writes stay readable after it: remove it",
		"unix_socket_directories":   "replab puts the socket in /var/run/postgresql, where its in-container tools connect: remove it",
		"listen_addresses":          patroni,
		"port":                      patroni,
		"cluster_name":              patroni,
		"data_directory":            patroni,
		"config_file":               patroni,
		"hba_file":                  patroni,
		"ident_file":                patroni,
	}
	for _, name := range []string{
		"primary_conninfo", "primary_slot_name", "restore_command", "archive_cleanup_command", "recovery_end_command",
		"recovery_min_apply_delay", "recovery_target", "recovery_target_action", "recovery_target_inclusive",
		"recovery_target_lsn", "recovery_target_name", "recovery_target_time", "recovery_target_timeline",
		"recovery_target_xid", "promote_trigger_file", "standby_mode", "trigger_file", "pause_at_recovery_target",
	} {
		m[name] = recovery
	}
	return m
}()

// OwnedParameters lists, sorted, the parameters postgresql.parameters may
// not set.
func OwnedParameters() []string { return slices.Sorted(maps.Keys(ownedParameters)) }

// gucRE is what a PostgreSQL parameter name looks like: an identifier, or
// two or more joined by dots for an extension's own (pg_stat_statements.max).
var gucRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// maxParameterName is PostgreSQL's longest identifier (NAMEDATALEN - 1).
const maxParameterName = 63

// postgresql checks postgresql.parameters and keeps them in file order:
// names like PostgreSQL's, known to the node image's Patroni (or an
// extension's, with a dot), not one replab or Patroni owns, not twice in
// different case, and a boolean parameter's value one Patroni reads.
func (r *resolver) postgresql() {
	params := r.f.PostgreSQL.Parameters
	if len(params) == 0 {
		return
	}
	var known []string
	seen := map[string]string{} // lower-case name -> path of its first use
	var out []Parameter
	for _, name := range r.doc.sortedKeys("postgresql.parameters", slices.Collect(maps.Keys(params))) {
		p := childPath("postgresql.parameters", name)
		if r.doc.broken(p) {
			continue
		}
		at := r.doc.keyAt(p)
		lower := strings.ToLower(name)
		value := string(params[name])
		switch {
		case len(name) > maxParameterName || !gucRE.MatchString(name):
			r.rep.errorf(at, p, "invalid parameter name %q: want a PostgreSQL parameter name (letters, digits and _, at most %d characters; an extension's has a dot, like pg_stat_statements.max)", name, maxParameterName)
			continue
		case ownedParameters[lower] != "":
			r.rep.errorf(at, p, "cannot set %s: %s", name, ownedParameters[lower])
			continue
		case seen[lower] != "":
			prev := seen[lower]
			r.rep.errorf(at, p, "duplicate parameter %s (first at %s, line %d): PostgreSQL reads names regardless of case; keep one", name, prev, r.doc.keyAt(prev).line)
			continue
		}
		seen[lower] = p
		if !strings.Contains(lower, ".") {
			boolean, ok := patroniParameters[lower]
			if !ok {
				if known == nil {
					known = slices.Sorted(maps.Keys(patroniParameters))
				}
				r.rep.errorf(at, p, "unknown parameter %q: PostgreSQL 15 has no such setting, or Patroni 3.0 would drop it%s", name, nearest(lower, known))
				continue
			}
			if _, ok := parseBool(value); boolean && !ok {
				r.errorf(p, "invalid value %q for boolean parameter %s: want on, off, true, false, yes, no, 1 or 0 (Patroni drops any other)", value, name)
				continue
			}
		}
		out = append(out, Parameter{Name: lower, Value: value})
	}
	r.t.PostgreSQL.Parameters = out
}

// parseBool reads a boolean as Patroni does (patroni.utils.parse_bool);
// ok is false when s is none.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "1":
		return true, true
	case "off", "false", "no", "0":
		return false, true
	}
	return false, false
}

// nearest formats " (did you mean "x"?)" for the closest of many names
// when it is a plausible typo, or nothing: a list of every parameter would
// drown the message.
func nearest(got string, valid []string) string {
	best, bestDist := "", 0
	for _, v := range valid {
		d := editDistance(got, v)
		if d <= 2 && d*3 <= len(v) && (best == "" || d < bestDist) {
			best, bestDist = v, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean \"" + best + "\"?)"
}
