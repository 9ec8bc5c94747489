package topologies

import (
	"time"

	"github.com/replab/replab/units"
)

// Topology is a validated lab description with every default applied. It is
// produced once by Read/Parse; nothing downstream re-applies defaults.
type Topology struct {
	// Name is the lab name ([a-z0-9-], at most 32 characters).
	Name        string
	Description string
	// Source names where the topology came from: a file path, or
	// "embedded:<name>.yaml" for a built-in one.
	Source string
	Engine Engine
	// Manager is the PostgreSQL failover manager (default patroni);
	// empty for mariadb, which has none.
	Manager ManagerKind
	// DCS is Patroni's etcd: zero Members under another manager.
	DCS     DCS
	Patroni Patroni
	// PGAutoFailover and Repmgr are those managers' settings, resolved
	// whatever Manager is (Topology.WithManager switches).
	PGAutoFailover PGAutoFailover
	Repmgr         Repmgr
	Replication    Replication
	PostgreSQL     PostgreSQL
	// PrimaryRegion is where the leader lives: the region of the failover
	// candidates. Nodes in other regions replicate asynchronously and carry
	// Patroni's nosync tag.
	PrimaryRegion string
	// Regions in file order.
	Regions []Region
	Network Network
	// Standby is the disaster-recovery cluster; zero Region when there is
	// none.
	Standby StandbyCluster
	// MariaDB holds the mariadb engine's settings; zero for postgres.
	MariaDB MariaDB
	SLA     SLA
	// Warnings are the problems that did not stop the topology from
	// loading (an even etcd member count, an SLA target below Patroni's
	// ttl). Nil when there are none. Show them to the user.
	Warnings Errors
	// patroniDCS is the DCS as resolved, kept for WithManager when
	// another manager cleared DCS.
	patroniDCS DCS
}

// EngineKind names the database engine.
type EngineKind string

const (
	// EnginePostgres is PostgreSQL with Patroni and etcd.
	EnginePostgres EngineKind = "postgres"
	// EngineMariaDB is MariaDB's binlog replication with GTID, no DCS and
	// no failover manager: replab itself promotes a replica when the
	// primary is lost, as a runbook would (docs/mariadb.md).
	EngineMariaDB EngineKind = "mariadb"
)

// Engine selects the database engine and the node image.
type Engine struct {
	Kind    EngineKind // default postgres
	Version string     // default "15"
	// Image is a user-supplied node image that follows the image contract
	// (harness/nodeimage/doc.go). Empty means replab's own offline-built image.
	Image string
}

// MariaDB is the mariadb engine's settings.
type MariaDB struct {
	// SemiSyncTimeout is rpl_semi_sync_master_timeout: how long the
	// primary waits for an acknowledgement before it falls back to async
	// (default 10s, MariaDB's own).
	SemiSyncTimeout time.Duration
}

// DCS describes the consensus store Patroni uses (none with mariadb:
// Members 0).
type DCS struct {
	Kind    string // "etcd", the only kind in v1
	Members int    // default 3; must be odd to tolerate a failure (even warns)
	Region  string // default: PrimaryRegion; the first member's region when stretched
	// Regions is each member's region, in member order (etcd-1 first):
	// Members entries, all Region unless the file stretched the DCS
	// (dcs.regions).
	Regions []string
}

// StandbyCluster is a second Patroni cluster in another region that
// replicates from the primary cluster (Patroni's standby_cluster): every
// node of Region is in it (Node.Standby), with an etcd of DCSMembers
// members of its own in Region.
type StandbyCluster struct {
	Region     string
	DCSMembers int
}

// Stretched reports whether the DCS has members in more than one region.
func (d DCS) Stretched() bool {
	for _, r := range d.Regions {
		if r != d.Regions[0] {
			return true
		}
	}
	return false
}

// MembersIn counts the DCS members in region.
func (d DCS) MembersIn(region string) int {
	n := 0
	for _, r := range d.Regions {
		if r == region {
			n++
		}
	}
	return n
}

// Patroni holds Patroni's timing knobs. Defaults (ttl 20s, loop_wait 1s,
// retry_timeout 3s) are the fastest allowed by Patroni 3.2+'s bounds:
// ttl >= 20s, loop_wait >= 1s, retry_timeout >= 3s, loop_wait+2*retry_timeout <= ttl.
type Patroni struct {
	TTL          time.Duration
	LoopWait     time.Duration
	RetryTimeout time.Duration
}

// ReplicationMode is how long the leader waits before acknowledging a commit.
type ReplicationMode string

const (
	// Async: the leader waits for nobody. A leader crash can lose the
	// acknowledged writes its followers had not received yet.
	Async ReplicationMode = "async"
	// SemiSync: the leader waits until SyncStandbys standbys have received
	// (written, not applied) the WAL: Patroni synchronous_mode with
	// synchronous_commit=remote_write.
	SemiSync ReplicationMode = "semi-sync"
	// Sync: the leader waits until SyncStandbys standbys have applied the
	// WAL: Patroni synchronous_mode with synchronous_commit=remote_apply.
	// PostgreSQL only.
	Sync ReplicationMode = "sync"
	// SemiSyncAfterCommit is MariaDB's default semi-sync wait point
	// (rpl_semi_sync_master_wait_point=AFTER_COMMIT): the primary commits,
	// other clients see the row, and only then does the committing client
	// wait for a replica's acknowledgement. MariaDB only; SemiSync is
	// AFTER_SYNC there.
	SemiSyncAfterCommit ReplicationMode = "semi-sync-after-commit"
)

// Replication is the commit acknowledgement policy.
type Replication struct {
	// Mode defaults to semi-sync, the usual production choice: a commit
	// waits for a standby to receive the WAL, not to apply it, so failover
	// loses no acknowledged write for a small cost in commit latency.
	Mode ReplicationMode
	// SyncStandbys is how many standbys must confirm; 0 for async, default 1
	// otherwise. At most the failover candidates in PrimaryRegion minus one.
	SyncStandbys int
}

// Region is a named set of nodes sharing a LAN.
type Region struct {
	Name  string
	Nodes []Node
	// Endpoint: an HAProxy (rw and ro routes) runs in the region. Always
	// true for the primary region.
	Endpoint bool
}

// Node is one PostgreSQL+Patroni member.
type Node struct {
	Name   string // unique across the topology, [a-z0-9-]
	Region string
	// Failover is true for failover candidates (default true in the primary
	// region). False maps to Patroni's nofailover tag.
	Failover bool
	// NoSync is true for nodes that must never be synchronous standbys:
	// every node outside PrimaryRegion (cross-region is always async).
	NoSync bool
	// Upstream names the node this one replicates from (cascading, Patroni's
	// replicatefrom tag); empty means the leader.
	Upstream string
	// Role is what the node is for ("" for none). RoleBackup sets Failover
	// false and NoSync and NoLoadBalance true; other roles are labels that
	// scenarios find nodes by.
	Role string
	// NoLoadBalance keeps the node out of the ro endpoint (Patroni's
	// noloadbalance tag).
	NoLoadBalance bool
	// Standby: the node belongs to the standby cluster (its region is
	// Topology.Standby.Region). Failover then means it may lead the
	// standby cluster.
	Standby bool
}

// Backend selects how network impairments are applied.
type Backend string

const (
	BackendAuto      Backend = "auto" // default: kernel if sch_netem works, else userspace
	BackendKernel    Backend = "kernel"
	BackendUserspace Backend = "userspace"
)

// Network describes the WAN between regions.
type Network struct {
	Backend Backend
	// Links has one entry per unordered pair of regions when there is more
	// than one region; each direction gets RTT/2 delay.
	Links []Link
	// Tolerance is how far a measured RTT may stray from the declared one:
	// the larger of TolerancePct of the RTT and ToleranceAbs. Defaults 5% and 1ms.
	TolerancePct units.Percent
	ToleranceAbs time.Duration
}

// Link is the impairment between two regions, symmetric in both directions.
type Link struct {
	Between [2]string // region names, as written
	RTT     time.Duration
	Jitter  time.Duration // per direction, added to RTT/2
	Loss    units.Percent // per direction
	Rate    units.BitRate // per direction; 0 means unlimited
}

// SLA holds the declared targets. A nil field was not declared and is not
// evaluated.
type SLA struct {
	FailoverTimeMax   *time.Duration
	LostWritesMax     *int
	ReplicationLagP99 *time.Duration
	AvailabilityMin   *units.Percent
	// AllowInconclusive (sla.allow_inconclusive, default false) makes a
	// check without enough evidence pass instead of failing the run (no
	// write acknowledged before a fault, no read-back). The harness maps it
	// to results.Targets.AllowInconclusive; --allow-inconclusive does the
	// same for one run.
	AllowInconclusive bool
}

// Nodes returns every node in file order.
func (t *Topology) Nodes() []Node {
	var out []Node
	for _, r := range t.Regions {
		out = append(out, r.Nodes...)
	}
	return out
}

// Node returns the node with the given name.
func (t *Topology) Node(name string) (Node, bool) {
	for _, r := range t.Regions {
		for _, n := range r.Nodes {
			if n.Name == name {
				return n, true
			}
		}
	}
	return Node{}, false
}

// Link returns the link between two distinct regions, in either order.
func (t *Topology) Link(a, b string) (Link, bool) {
	for _, l := range t.Network.Links {
		if (l.Between[0] == a && l.Between[1] == b) || (l.Between[0] == b && l.Between[1] == a) {
			return l, true
		}
	}
	return Link{}, false
}

// Candidates returns the primary cluster's failover candidates in file
// order: all in PrimaryRegion unless the DCS is stretched over regions.
func (t *Topology) Candidates() []Node {
	var out []Node
	for _, n := range t.Nodes() {
		if n.Failover && !n.Standby {
			out = append(out, n)
		}
	}
	return out
}

// Region returns the region with the given name.
func (t *Topology) Region(name string) (Region, bool) {
	for _, r := range t.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// EndpointRegions lists the regions with an endpoint, the primary region
// first.
func (t *Topology) EndpointRegions() []string {
	out := []string{t.PrimaryRegion}
	for _, r := range t.Regions {
		if r.Endpoint && r.Name != t.PrimaryRegion {
			out = append(out, r.Name)
		}
	}
	return out
}
