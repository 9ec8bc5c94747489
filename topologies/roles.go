package topologies

import (
	"fmt"
	"strings"
)

// The node roles replab documents. A role is otherwise free-form: any
// name-like value is a label scenarios can find nodes by.
const (
	// RoleBackup is a follower that backups are taken from: it never
	// leads, never serves the ro endpoint and is never a synchronous
	// standby (Patroni's nofailover, noloadbalance and nosync tags), so a
	// dump on it holds neither failover nor the application's reads or
	// commits. nosync also because Patroni 3.0 falls back to a nofailover
	// member as synchronous standby when no other streams, and a standby
	// that can never be promoted protects no write.
	RoleBackup = "backup"
	// RoleAnalytics is a follower that long reporting queries run on. It
	// sets no tag: add noloadbalance: true to keep the application's reads
	// off it, failover: false to keep it from leading.
	RoleAnalytics = "analytics"
)

// Roles lists the documented roles.
func Roles() []string { return []string{RoleBackup, RoleAnalytics} }

// WithRole returns the nodes that have role, in file order.
func (t *Topology) WithRole(role string) []Node {
	var out []Node
	for _, n := range t.Nodes() {
		if n.Role == role {
			out = append(out, n)
		}
	}
	return out
}

// roles checks each node's role and noloadbalance and applies what role
// backup implies. It runs before primaryRegion, which leaves a backup's
// Failover false.
func (r *resolver) roles() {
	all := len(r.order) > 0
	last := ""
	for _, name := range r.order {
		ref := r.nodes[name]
		n := r.node(ref)
		rp := ref.path + ".role"
		if r.doc.has(rp) {
			switch near := nearRole(n.Role); {
			case !validName(n.Role, maxNodeName):
				r.errorf(rp, "invalid role %q: %s, like %s", n.Role, nameRule(maxNodeName), strings.Join(Roles(), " or "))
				n.Role = ""
			case near != "":
				r.errorf(rp, "role %q is not %s (did you mean %q?): write %s, or a label further from it; %s", n.Role, near, near, near, rolesRule)
				n.Role = ""
			}
		}
		if n.Role == RoleBackup {
			ref.backup = true
			if r.doc.has(ref.path+".failover") && n.Failover {
				r.errorf(ref.path+".failover", "a backup follower never leads (role backup sets Patroni's nofailover): remove failover: true, or the role")
			}
			if r.doc.has(ref.path+".noloadbalance") && !n.NoLoadBalance {
				r.errorf(ref.path+".noloadbalance", "a backup follower never serves the ro endpoint (role backup sets Patroni's noloadbalance): remove noloadbalance: false, or the role")
			}
			n.Failover, n.NoLoadBalance, n.NoSync = false, true, true
		}
		if !n.NoLoadBalance {
			all = false
		} else {
			last = name
		}
	}
	if all && len(r.skippedNodes()) == 0 {
		ref := r.nodes[last]
		path := ref.path + ".noloadbalance"
		if !r.doc.has(path) {
			path = ref.path + ".role"
		}
		r.rep.warnf(r.doc.keyAt(path), path,
			"every node is kept out of the ro endpoint (noloadbalance, or role backup): reads through it (port 5001) find no server; let at least one node serve it")
	}
}

// skippedNodes lists the regions with nodes that could not be resolved.
func (r *resolver) skippedNodes() []string {
	var out []string
	for region, n := range r.skipped {
		if n > 0 {
			out = append(out, region)
		}
	}
	return out
}

// rolesRule says what roles are, for messages.
const rolesRule = "backup never leads, never serves the ro endpoint and is never a synchronous standby; analytics and any other role are labels"

// nearRole is RoleBackup when role is a plausible misspelling of it (one
// or two edits away, not equal), else "". A misspelt backup would silently
// be a label and leave the node a failover candidate; the other roles
// change no tag, so a label near them is taken as written.
func nearRole(role string) string {
	if d := editDistance(role, RoleBackup); d > 0 && d <= 2 {
		return RoleBackup
	}
	return ""
}

// backupNote names the backup followers of the primary region, for the
// messages that count failover candidates: " (lab-3 is role backup, which
// never leads)", or "" when there are none.
func (r *resolver) backupNote() string {
	var names []string
	for _, name := range r.order {
		if ref := r.nodes[name]; ref.backup && ref.region == r.primary {
			names = append(names, name)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (%s is role backup, which never leads)", names[0])
	}
	return fmt.Sprintf(" (%s are role backup, which never leads)", andList(names))
}

// noCandidate reports a primary region without a failover candidate: at
// the region, or at the role of its last backup follower when backups
// made it so.
func (r *resolver) noCandidate() {
	p := childPath("regions", r.primary)
	last := ""
	for _, name := range r.order {
		if ref := r.nodes[name]; ref.backup && ref.region == r.primary {
			last = name
		}
	}
	if last == "" {
		r.rep.errorf(r.doc.keyAt(p), p, "no failover candidate in primary region %s: let at least one of its nodes fail over (remove failover: false; true is the default there)", r.primary)
		return
	}
	r.errorf(r.nodes[last].path+".role", "no failover candidate in primary region %s%s: give %s another role, or let another node of %s fail over",
		r.primary, r.backupNote(), last, r.primary)
}
