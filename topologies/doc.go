// Package topologies owns replab's declarative lab files: the YAML format,
// strict decoding, validation with file:line:col positions, the resolved
// model (Topology) with every default applied once, the built-in topologies
// (embedded with go:embed) and schema.json for editors.
//
// It must not import Docker, Ginkgo, harness, chaos, netem or suites. The
// unit types that links and SLAs carry (Percent, BitRate) come from package
// units, which netem shares; the harness turns links into netem plans.
//
// # Loading
//
// Read (a path), Parse (bytes and a name for messages), Builtin (a shipped
// file by name, see BuiltinNames), Load (a path or a built-in name, as a
// user types it) and Default (DefaultName, "single-region") all return a
// *Topology whose every default is applied. Nothing downstream re-applies
// defaults or re-validates.
//
// A file that fails comes back as Errors: every problem found at once,
// sorted by position, each formatted like a compiler message with a fix
// where there is one:
//
//	three-region.yaml:14:9: regions.eu-west.nodes[1].upstream: unknown node "euw-9" (did you mean "euw-1"? nodes: aps-1, euw-1, use-1, use-2, use-3)
//
// Warnings (an even etcd member count, an SLA failover target below
// Patroni's ttl, lost_writes max 0 with async replication) never fail a
// load: they are in Topology.Warnings, and alongside the errors when
// something else fails.
//
// # File format
//
// Only name and regions are required. Keys are lower_snake_case; an unknown
// key is an error, not ignored; an empty value (key: with nothing after it)
// means the default. Durations use Go syntax (80ms, 1m30s), percentages
// may omit the % sign, rates take tc units (100mbit, 1gbit; kbps/mbps mean
// bytes per second). Anchors and aliases work; merge keys (<<) and tags do
// not.
//
//	name: three-region                        # required; [a-z0-9-], at most 32
//	description: ...                          # free text
//	engine: {kind: postgres, version: "15"}   # defaults; image: your own node image
//	dcs: {kind: etcd, members: 3, region: us-east}   # defaults: etcd, 3, primary region
//	patroni: {ttl: 20s, loop_wait: 1s, retry_timeout: 3s}  # defaults, Patroni 3.2+ minimums
//	replication: {mode: semi-sync, sync_standbys: 1}       # async | semi-sync | sync
//	postgresql:
//	  parameters: {work_mem: 16MB, random_page_cost: 1.1}  # every node, after replab's own
//	primary_region: us-east                   # default: the region with failover candidates
//	regions:                                  # required; file order is kept
//	  us-east:
//	    nodes:                                # names [a-z0-9-], at most 24, unique; not haproxy, etcd-N
//	      - {name: use-1}                     # failover defaults to true in the primary region
//	      - {name: use-4, role: backup}       # never leads, no ro reads, never a sync standby
//	      - {name: use-5, role: analytics, failover: false, noloadbalance: true}
//	  eu-west:
//	    nodes: [{name: euw-1, failover: false}]           # false elsewhere; true is an error
//	  ap-southeast:
//	    nodes: [{name: aps-1, failover: false, upstream: euw-1}]   # cascading replication
//	network:
//	  backend: auto                           # default; kernel | userspace | auto
//	  tolerance: {pct: 5%, abs: 1ms}          # defaults
//	  links:                                  # one per pair of regions when there are 2+
//	    - {between: [us-east, eu-west], rtt: 80ms, jitter: 4ms, loss: 0.1%, rate: 100mbit}
//	sla:                                      # each target optional
//	  failover_time: {max: 30s}
//	  lost_writes: {max: 0}
//	  replication_lag: {p99: 2s}
//	  availability: {min: 99.9%}
//	  allow_inconclusive: false               # default; true: too little evidence passes
//
// The built-in three-region topology, as the lab builds it:
//
//	          us-east (primary: leader + 2 candidates, 3 etcd)
//	         ┌────────────────────────────┐
//	         │ use-1    use-2    use-3    │
//	         └─────┬──────────────┬───────┘
//	     80ms RTT  │              │  200ms RTT
//	┌──────────────┴──┐        ┌──┴───────────────┐
//	│ eu-west: euw-1  ├────────┤ ap-southeast:    │
//	│ async, nosync   │ 150ms  │ aps-1, async     │
//	└─────────────────┘        └──────────────────┘
//
// # Defaults and rules
//
// Applied once, by Parse:
//
//   - engine: postgres, version "15", replab's own image. Only 15 (or 15.x)
//     runs in v1; image must be a Docker image reference (lowercase path).
//   - engine kind mariadb: version "10.11" (Debian 12's, the only one),
//     replab's own image only. dcs, patroni, postgresql and
//     standby_cluster do not apply and are errors; so is mode sync (MariaDB
//     has none) and sync_standbys above 1 (its semi-sync primary waits for
//     one acknowledgement). semi-sync is AFTER_SYNC; semi-sync-after-commit
//     (MariaDB only) is AFTER_COMMIT. mariadb: {semi_sync_timeout: 10s}
//     (rpl_semi_sync_master_timeout, at least 1ms) applies to it alone.
//     Failover candidates are the primary region's nodes: replab promotes
//     one of them; failover: true elsewhere is an error.
//   - dcs: etcd, 3 members (1 to 7; an even count warns: it tolerates no
//     more failures than one fewer), in the primary region.
//   - patroni: ttl 20s, loop_wait 1s, retry_timeout 3s. Patroni 3.2+
//     refuses ttl < 20s, loop_wait < 1s, retry_timeout < 3s and
//     loop_wait + 2*retry_timeout > ttl, so these are errors.
//   - replication: semi-sync; sync_standbys 1 for semi-sync and sync, 0 (and
//     only 0) for async. Synchronous standbys must be promotable, so
//     sync_standbys is at most the failover candidates in the primary region
//     minus one (the leader is a candidate too).
//   - primary region: primary_region, else the one region whose nodes may
//     fail over (failover defaults to true everywhere for this inference;
//     candidates in two regions without primary_region is an error).
//   - nodes: failover defaults to true in the primary region and false
//     elsewhere; failover: true outside it needs a DCS stretched over
//     regions (dcs.regions), and in semi-sync or sync it warns (Patroni
//     promotes only a synchronous standby, all in the primary region).
//     Every node outside the primary region has NoSync (Patroni's nosync
//     tag): cross-region replication is always asynchronous. At least one
//     candidate is required. haproxy, haproxy-<anything> and etcd-<number>
//     are refused as node names: every lab's endpoints and etcd members
//     carry them as container and host names.
//   - dcs: members in dcs.region (default the primary region), or spread
//     over dcs.regions one per region in turn (Regions lists each
//     member's region; members defaults to the list's length).
//   - endpoints: regions.R.endpoint places an HAProxy in R; the primary
//     region always has one (EndpointRegions).
//   - roles: role is free-form ([a-z0-9-], at most 24), default none.
//     backup is a follower to take backups from: Patroni's nofailover,
//     nosync and noloadbalance tags, so it never leads, is never a
//     synchronous standby (it could not be promoted) and never serves the
//     ro endpoint; failover: true or noloadbalance: false beside it is an
//     error, and so is a role one or two letters from backup (it would
//     silently be a label). analytics, for long reporting queries, and
//     every other role are labels scenarios find nodes by (follower-work
//     runs its aggregate on the analytics node). Backups do not count as
//     failover candidates, in the rules above too.
//   - noloadbalance: false; true keeps the node out of HAProxy's ro
//     endpoint (Patroni's noloadbalance tag: GET /replica answers 503, and
//     replab leaves the node out of the ro section). Every node kept out
//     warns: reads through the ro endpoint find no server.
//   - postgresql.parameters: none. name: value pairs go into Patroni's
//     dynamic configuration (bootstrap.dcs.postgresql.parameters) after
//     replab's own, so they override replab's defaults (shared_buffers
//     32MB, max_connections 100, wal_keep_size 256MB,
//     hot_standby_feedback on) on every node. Values are text, numbers or
//     true/false, kept as written. A name must be one Patroni 3.0 passes
//     to PostgreSQL 15 (it drops any other without a word), or an
//     extension's with a dot (pg_stat_statements.max); names are read
//     regardless of case, so two spellings of one name are an error; a
//     boolean parameter takes on, off, true, false, yes, no, 1 or 0. The
//     parameters replab or Patroni owns are refused with what to write
//     instead: synchronous_commit and synchronous_standby_names
//     (replication.mode and sync_standbys make them), wal_level,
//     hot_standby, wal_log_hints, max_wal_senders, max_replication_slots,
//     track_commit_timestamp, unix_socket_directories, listen_addresses,
//     port, cluster_name, data_directory, config_file, hba_file, ident_file
//     and the recovery settings (primary_conninfo, primary_slot_name,
//     restore_command, recovery_target_*, ...). A run's metadata and the
//     scenarios' settings tables state the parameters.
//   - network: backend auto, tolerance 5% and 1ms; jitter at most rtt/2;
//     loss 0% to below 100% (100% would cut the regions apart for good);
//     rate unlimited (a declared rate is positive, at most 100gbit: netem
//     reads 0 as no limit). What up's RTT check (ping) could not hold is an
//     error: a tolerance finer than 0.1ms (1ms from 100ms rtt up), or a
//     rate so low that one ping each way adds more than the tolerance. A
//     link to the etcd region needs rtt + 2*jitter below retry_timeout, or
//     Patroni across it never reaches etcd.
//   - sla: undeclared targets stay nil and are not evaluated; failover_time
//     must be positive, lost_writes and replication_lag not negative,
//     availability above 0% and at most 100%. allow_inconclusive is false:
//     a check without enough evidence (no write acknowledged before a
//     fault, no read-back) fails the run; true makes it pass instead.
//
// # Replication modes
//
// How each mode maps onto PostgreSQL and Patroni (harness renders it):
//
//   - async: synchronous_mode off; the leader waits for nobody and a crash
//     can lose acknowledged writes.
//   - semi-sync: synchronous_mode on, synchronous_node_count = SyncStandbys,
//     synchronous_commit = remote_write: standbys have received the WAL, not
//     applied it. Patroni 3.0 names the standbys (FIRST n); Patroni 4 can
//     use a quorum (ANY n).
//   - sync: as semi-sync with synchronous_commit = remote_apply: standbys
//     have applied the WAL.
//
// # Schema
//
// schema.json (Schema) is generated from the Go types in internal/format,
// which the decoder also walks, so editors and replab agree on the keys:
//
//	go generate ./topologies
//
// A test fails when schema.json is stale.
package topologies
