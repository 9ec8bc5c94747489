// Package format mirrors the topology file as Go types: one struct per YAML
// mapping, with yaml tags naming the keys and jsonschema tags carrying the
// descriptions, enums and bounds that editors show.
//
// These types are the single source of truth for the file's shape: the
// topologies decoder walks them to accept keys (anything else is an unknown
// key) and internal/schemagen reflects them into schema.json. Values stay as
// written (durations, percentages and rates are text); parsing, defaults and
// cross-field rules live in package topologies.
//
// It imports nothing but the standard library, so that linking the decoder
// does not link the schema generator.
package format

// Text is implemented by the string-typed scalars that topologies parses
// after decoding. The decoder uses it to describe the value it wants in type
// errors and to decide whether a bare YAML number is acceptable.
type Text interface {
	// Want describes the expected value, like "a duration like 80ms".
	Want() string
	// NumbersAllowed reports whether a bare YAML number (15, 0.1) is read
	// as its literal text.
	NumbersAllowed() bool
}

// Duration is a Go duration as written ("80ms", "1m30s"). Bare numbers are
// rejected because a duration without a unit is ambiguous.
type Duration string

// Want implements Text.
func (Duration) Want() string { return "a duration with a unit, like 80ms" }

// NumbersAllowed implements Text: durations need units.
func (Duration) NumbersAllowed() bool { return false }

// Percent is a percentage as written ("0.1%", "5%"); a bare number (0.1)
// means percent too.
type Percent string

// Want implements Text.
func (Percent) Want() string { return "a percentage, like 0.1%" }

// NumbersAllowed implements Text.
func (Percent) NumbersAllowed() bool { return true }

// Rate is a tc-style bit rate as written ("100mbit", "1gbit"); the unit is
// required.
type Rate string

// Want implements Text.
func (Rate) Want() string { return "a rate with a unit, like 100mbit" }

// NumbersAllowed implements Text: rates need units.
func (Rate) NumbersAllowed() bool { return false }

// Version is an engine version as written ("15", "15.4"); a bare number is
// read as its literal text so that 15.10 stays "15.10".
type Version string

// Want implements Text.
func (Version) Want() string { return `a version, like "15"` }

// NumbersAllowed implements Text.
func (Version) NumbersAllowed() bool { return true }

// Setting is a PostgreSQL parameter's value as written: text, a number
// or true/false, each kept as its literal text ("64MB", "0.5", "true") and
// passed to PostgreSQL as such.
type Setting string

// Want implements Text.
func (Setting) Want() string { return "a text, number or true/false value, like 64MB" }

// NumbersAllowed implements Text: PostgreSQL takes numbers as text.
func (Setting) NumbersAllowed() bool { return true }

// BoolsAllowed reports that true and false are read as their text, for
// PostgreSQL's boolean parameters.
func (Setting) BoolsAllowed() bool { return true }

// File is a whole topology file.
type File struct {
	Name           string            `yaml:"name" jsonschema:"required,pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$,minLength=1,maxLength=32" jsonschema_description:"Lab name: 1 to 32 characters from a-z, 0-9 and -, not starting or ending with -. Prefixes every container and network."`
	Description    string            `yaml:"description" jsonschema_description:"One line for humans, shown in reports."`
	Engine         Engine            `yaml:"engine" jsonschema_description:"Database engine and node image. Default: postgres 15 on replab's own image."`
	Manager        string            `yaml:"manager" jsonschema:"enum=patroni,enum=pg_auto_failover,enum=repmgr,default=patroni" jsonschema_description:"PostgreSQL failover manager: patroni (with etcd), pg_auto_failover (a monitor node and a keeper per node) or repmgr (repmgrd per node, optional witness; no consensus store). The blocks of the managers not chosen are validated and unused, so one file serves replab compare."`
	PGAutoFailover PGAutoFailover    `yaml:"pg_auto_failover" jsonschema_description:"pg_auto_failover's monitor placement and timings (manager pg_auto_failover). Absent keys take pg_auto_failover 2.0's own defaults."`
	Repmgr         Repmgr            `yaml:"repmgr" jsonschema_description:"repmgr's witness and repmgrd timings (manager repmgr). Absent keys take repmgr 5.3's own defaults."`
	DCS            DCS               `yaml:"dcs" jsonschema_description:"Consensus store Patroni uses. Default: 3 etcd members in the primary region."`
	Patroni        Patroni           `yaml:"patroni" jsonschema_description:"Patroni timing. Defaults (ttl 20s, loop_wait 1s, retry_timeout 3s) are the fastest Patroni 3.2+ accepts."`
	Replication    Replication       `yaml:"replication" jsonschema_description:"Commit acknowledgement policy. Default: semi-sync with 1 synchronous standby."`
	PostgreSQL     PostgreSQL        `yaml:"postgresql" jsonschema_description:"PostgreSQL settings passed through to every node, after replab's own."`
	PrimaryRegion  string            `yaml:"primary_region" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"Region of the leader and of every failover candidate. Default: the region whose nodes are failover candidates."`
	Regions        map[string]Region `yaml:"regions" jsonschema:"required" jsonschema_description:"Regions by name, in the order they are created. Each is a LAN of nodes; links between regions are declared under network.links."`
	Network        Network           `yaml:"network" jsonschema_description:"The WAN between regions and how impairments are applied."`
	// StandbyCluster is a second Patroni cluster for disaster recovery.
	// MariaDB holds the MariaDB engine's settings.
	MariaDB        MariaDB        `yaml:"mariadb" jsonschema_description:"MariaDB settings (engine kind mariadb only)."`
	StandbyCluster StandbyCluster `yaml:"standby_cluster" jsonschema_description:"A second Patroni cluster for disaster recovery: every node of one region outside the primary forms it, with its own etcd; its standby leader replicates from the primary cluster's endpoint and its other nodes cascade from it. Promoting it is an explicit step (replab dr promote; the region-outage scenario does it)."`
	SLA            SLA            `yaml:"sla" jsonschema_description:"Targets a run is judged against. Undeclared targets are not evaluated."`
}

// MariaDB holds the MariaDB engine's settings.
type MariaDB struct {
	SemiSyncTimeout Duration `yaml:"semi_sync_timeout" jsonschema:"default=10s" jsonschema_description:"How long the primary waits for a replica's acknowledgement before it falls back to async (rpl_semi_sync_master_timeout). Default 10s, MariaDB's own. At least 1ms."`
}

// StandbyCluster is the disaster-recovery cluster.
type StandbyCluster struct {
	Region     string `yaml:"region" jsonschema:"required,pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"The region whose nodes form the standby cluster: not the primary region. Its nodes default to failover: true (within the standby cluster) and it gets an endpoint."`
	DCSMembers int    `yaml:"dcs_members" jsonschema:"minimum=1,maximum=3,default=1" jsonschema_description:"etcd members of the standby cluster's own DCS, in its region (dr-etcd-1, ...): 1 to 3. Default 1."`
}

// Engine selects the database engine and the node image.
type Engine struct {
	Kind    string  `yaml:"kind" jsonschema:"enum=postgres,enum=mariadb,default=postgres" jsonschema_description:"Database engine: postgres (Patroni, etcd) or mariadb (binlog replication with GTID; replab promotes a replica when the primary is lost)."`
	Version Version `yaml:"version" jsonschema_description:"Major (or major.minor) engine version: 15 or 15.x for postgres, 10.11 for mariadb (the ones Debian 12 ships). Default \"15\", or \"10.11\" for mariadb."`
	Image   string  `yaml:"image" jsonschema_description:"A node image you built that follows replab's image contract. Default: replab's own image, built offline."`
}

// DCS describes the consensus store.
type DCS struct {
	Kind    string `yaml:"kind" jsonschema:"enum=etcd,default=etcd" jsonschema_description:"Consensus store. Only etcd in v1."`
	Members int    `yaml:"members" jsonschema:"minimum=1,maximum=7,default=3" jsonschema_description:"Number of etcd members, 1 to 7. Use an odd number: an even one tolerates no more failures than one fewer."`
	Region  string `yaml:"region" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"Region the etcd members run in. Default: the primary region."`
	// Regions stretches the DCS over regions.
	Regions []string `yaml:"regions" jsonschema:"minItems=1,maxItems=7" jsonschema_description:"Regions the etcd members are spread over, one member per region in turn (etcd-1 in the first, etcd-2 in the second, ...): a DCS stretched over regions, whose quorum survives the loss of one of three. Members defaults to the list's length. Exclusive with region. Lets failover candidates live outside the primary region."`
}

// PGAutoFailover holds pg_auto_failover's settings.
type PGAutoFailover struct {
	Region                  string   `yaml:"region" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"Region the monitor runs in. Default: the primary region."`
	HealthCheckPeriod       Duration `yaml:"health_check_period" jsonschema:"default=5s" jsonschema_description:"pgautofailover.health_check_period: how often the monitor checks each node. Default 5s. At least 1ms."`
	HealthCheckTimeout      Duration `yaml:"health_check_timeout" jsonschema:"default=5s" jsonschema_description:"pgautofailover.health_check_timeout: the connect timeout of one check. Default 5s. At least 1ms."`
	HealthCheckMaxRetries   int      `yaml:"health_check_max_retries" jsonschema:"minimum=1,maximum=100,default=2" jsonschema_description:"pgautofailover.health_check_max_retries: failed checks retried before a node is marked bad, 1 to 100. Default 2."`
	HealthCheckRetryDelay   Duration `yaml:"health_check_retry_delay" jsonschema:"default=2s" jsonschema_description:"pgautofailover.health_check_retry_delay: pause between retries. Default 2s. At least 1ms."`
	UnhealthyTimeout        Duration `yaml:"node_considered_unhealthy_timeout" jsonschema:"default=20s" jsonschema_description:"pgautofailover.node_considered_unhealthy_timeout: how long a node must have been silent (no keeper report) and failing checks before the monitor fails it over. Default 20s. At least 1ms."`
	PrimaryDemoteTimeout    Duration `yaml:"primary_demote_timeout" jsonschema:"default=30s" jsonschema_description:"pgautofailover.primary_demote_timeout: how long the monitor waits for a primary it failed over to confirm its demotion before the new primary takes writes; a dead primary never confirms, so a crash costs all of it. Default 30s. More than network_partition_timeout."`
	NetworkPartitionTimeout Duration `yaml:"network_partition_timeout" jsonschema:"default=20s" jsonschema_description:"The keeper's timeout.network_partition_timeout: a primary that reaches neither the monitor nor any standby for this long demotes itself. Default 20s. Whole seconds, at least 1s."`
}

// Repmgr holds repmgr's settings.
type Repmgr struct {
	Witness           string   `yaml:"witness" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"Region of a witness node (its own PostgreSQL, no data): with it, the standbys of the primary's region promote only when the witness cannot see the primary either. Default: no witness."`
	ReconnectAttempts int      `yaml:"reconnect_attempts" jsonschema:"minimum=0,default=6" jsonschema_description:"repmgrd's reconnect_attempts: tries to reach a lost primary before failing over. Default 6."`
	ReconnectInterval Duration `yaml:"reconnect_interval" jsonschema:"default=10s" jsonschema_description:"repmgrd's reconnect_interval: pause between those tries. Default 10s. Whole seconds, at least 1s."`
	MonitorInterval   Duration `yaml:"monitor_interval" jsonschema:"default=2s" jsonschema_description:"repmgrd's monitor_interval_secs: how often it checks its upstream. Default 2s. Whole seconds, at least 1s."`
}

// Patroni holds Patroni's timing knobs.
type Patroni struct {
	TTL          Duration `yaml:"ttl" jsonschema:"default=20s" jsonschema_description:"Leader lock time to live. At least 20s, and at least loop_wait + 2 * retry_timeout."`
	LoopWait     Duration `yaml:"loop_wait" jsonschema:"default=1s" jsonschema_description:"Pause between Patroni's HA loops. At least 1s."`
	RetryTimeout Duration `yaml:"retry_timeout" jsonschema:"default=3s" jsonschema_description:"Timeout for DCS and PostgreSQL operations. At least 3s."`
}

// Replication is the commit acknowledgement policy.
type Replication struct {
	Mode         string `yaml:"mode" jsonschema:"enum=async,enum=semi-sync,enum=sync,enum=semi-sync-after-commit,default=semi-sync" jsonschema_description:"async: the leader waits for nobody. semi-sync: it waits until sync_standbys standbys have received the WAL (synchronous_commit=remote_write; MariaDB: AFTER_SYNC). sync: until they have applied it (remote_apply; PostgreSQL only). semi-sync-after-commit: MariaDB's default wait point, AFTER_COMMIT (MariaDB only)."`
	SyncStandbys int    `yaml:"sync_standbys" jsonschema:"minimum=0" jsonschema_description:"Synchronous standbys the leader waits for. Default 1 for semi-sync and sync, 0 for async. At most the failover candidates in the primary region minus one."`
}

// PostgreSQL holds settings passed through to PostgreSQL.
type PostgreSQL struct {
	Parameters map[string]Setting `yaml:"parameters" jsonschema_description:"PostgreSQL parameters (name: value) for every node, through Patroni's dynamic configuration, after replab's own. Values are text, numbers or true/false. The parameters replab or Patroni owns (synchronous_commit, wal_level, listen_addresses, primary_conninfo, ...) are refused; see replab validate."`
}

// Region is one LAN of nodes.
type Region struct {
	Nodes []Node `yaml:"nodes" jsonschema:"required,minItems=1" jsonschema_description:"PostgreSQL+Patroni members in this region."`
	// Endpoint places an HAProxy in the region.
	Endpoint bool `yaml:"endpoint" jsonschema_description:"Run an endpoint (HAProxy with the rw and ro routes) in this region: clients declared in the region connect through it, and its traffic to nodes elsewhere crosses the WAN. Its ro route prefers the region's own replicas. Default true in the primary region, false elsewhere."`
}

// Node is one PostgreSQL+Patroni member.
type Node struct {
	Name     string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$,minLength=1,maxLength=24" jsonschema_description:"Node name, unique across the topology: 1 to 24 characters from a-z, 0-9 and -, not starting or ending with -. haproxy and etcd-1, etcd-2, ... are taken by replab's own containers."`
	Failover bool   `yaml:"failover" jsonschema_description:"Whether the node may become leader. Default true in the primary region, false elsewhere. Outside the primary region it may be true only with a DCS stretched over regions (dcs.regions)."`
	Upstream string `yaml:"upstream" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" jsonschema_description:"Node this one replicates from (cascading replication). Default: the leader."`
	Role     string `yaml:"role" jsonschema:"pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$,maxLength=24" jsonschema_description:"What the node is for, like backup or analytics. backup never leads, never serves the ro endpoint and is never a synchronous standby (Patroni's nofailover, noloadbalance and nosync tags); other roles are labels that scenarios look nodes up by. Default: none."`
	// NoLoadBalance is Patroni's noloadbalance tag.
	NoLoadBalance bool `yaml:"noloadbalance" jsonschema_description:"Keep the node out of the ro endpoint (Patroni's noloadbalance tag: GET /replica answers 503). Default false; true for role backup."`
}

// Network describes the WAN between regions.
type Network struct {
	Backend   string    `yaml:"backend" jsonschema:"enum=auto,enum=kernel,enum=userspace,default=auto" jsonschema_description:"How impairments are applied: kernel (tc netem), userspace (replab's queue agent) or auto (kernel when sch_netem works, else userspace)."`
	Tolerance Tolerance `yaml:"tolerance" jsonschema_description:"How far a measured RTT may stray from the declared one. Default: the larger of 5% and 1ms. At least 0.1ms (1ms from 100ms rtt up), what ping can measure."`
	Links     []Link    `yaml:"links" jsonschema_description:"One entry per pair of regions when there are two or more."`
}

// Tolerance bounds how far a measured RTT may stray from the declared one.
type Tolerance struct {
	Pct Percent  `yaml:"pct" jsonschema:"default=5%" jsonschema_description:"Relative tolerance, in percent of the declared RTT."`
	Abs Duration `yaml:"abs" jsonschema:"default=1ms" jsonschema_description:"Absolute tolerance."`
}

// Link is the impairment between two regions, symmetric in both directions.
type Link struct {
	Between []string `yaml:"between" jsonschema:"required,minItems=2,maxItems=2" jsonschema_description:"The two regions this link joins, in either order."`
	RTT     Duration `yaml:"rtt" jsonschema:"required" jsonschema_description:"Round-trip time between the regions; each direction gets rtt/2."`
	Jitter  Duration `yaml:"jitter" jsonschema_description:"Delay variation per direction, at most rtt/2. Default 0."`
	Loss    Percent  `yaml:"loss" jsonschema_description:"Packet loss per direction, 0% to below 100%. Default 0%."`
	Rate    Rate     `yaml:"rate" jsonschema_description:"Bandwidth per direction, like 100mbit: positive, at most 100gbit. Default: unlimited (leave it out; 0 is an error)."`
}

// SLA holds the declared targets.
type SLA struct {
	FailoverTime   FailoverTime   `yaml:"failover_time" jsonschema_description:"Longest acceptable time from losing the leader to accepting writes again."`
	LostWrites     LostWrites     `yaml:"lost_writes" jsonschema_description:"Most acknowledged writes that may be lost."`
	ReplicationLag ReplicationLag `yaml:"replication_lag" jsonschema_description:"Replication lag target."`
	Availability   Availability   `yaml:"availability" jsonschema_description:"Share of the run during which writes succeed."`
	// AllowInconclusive is a plain bool: a YAML number or string is a type
	// error, not "true".
	AllowInconclusive bool `yaml:"allow_inconclusive" jsonschema:"default=false" jsonschema_description:"When true, a check without enough evidence to pass or fail (no write acknowledged before a fault, no read-back) passes instead of failing the run. Default false: inconclusive fails, as a failed check does."`
}

// FailoverTime is the failover time target.
type FailoverTime struct {
	Max Duration `yaml:"max" jsonschema:"required" jsonschema_description:"Longest acceptable failover, like 30s. Must be positive."`
}

// LostWrites is the lost acknowledged writes target.
type LostWrites struct {
	Max int `yaml:"max" jsonschema:"required,minimum=0" jsonschema_description:"Most acknowledged writes that may be lost; 0 for none."`
}

// ReplicationLag is the replication lag target.
type ReplicationLag struct {
	P99 Duration `yaml:"p99" jsonschema:"required" jsonschema_description:"99th percentile of replication lag across replicas, like 2s."`
}

// Availability is the write availability target.
type Availability struct {
	Min Percent `yaml:"min" jsonschema:"required" jsonschema_description:"Lowest acceptable write availability, above 0% and at most 100%, like 99.9%."`
}
