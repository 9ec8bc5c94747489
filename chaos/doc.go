// Package chaos owns reversible faults, target selectors resolved at inject
// time, the injector that tracks active faults, baseline checks, and seeded
// schedules (the nemesis).
//
// # Import rule
//
// chaos must not import Docker, harness, Ginkgo or Gomega. It declares the
// small interfaces it needs, one per fault family, and a lab satisfies
// them through experiment.ClusterOf(lab):
//
//	Cluster    LeaderName, Kill, Start          (a bare *harness.Lab: kill only)
//	Processes  Stop, Pause, Unpause             stop, restart, pause
//	Commands   Run a program in a host          iptables (root), crash (postgres)
//	Resources  SetCPUs                          cpu
//	SQL        ExecSQL on one node              long-query
//	Topology   Hosts, Members, HostState        selectors, baseline, reset
//
// A fault asks for its capability at inject time and fails with
// ErrUnsupported, touching nothing, when the cluster lacks it.
//
// # Fault lifecycle
//
//	            resolve selectors now
//	Inject ───────────────────────────▶ in effect ──── Heal ───▶ recovered
//	  │ (fault.injected event)              │ (fault.healed event)
//	  │ error: what was done is undone,     │ idempotent; HealAll runs it with
//	  ▼ nothing left, nothing recorded      ▼ a non-cancelled context, capped
//	(no Active)                       Injector tracks it until healed
//
// The Injector records every inject and heal on the run's clock and
// HealAll heals what is still active, newest first, errors joined: suites
// call it in DeferCleanup, so no fault outlives its spec, on failure and on
// Ctrl-C too. VerifyBaseline checks every host afterwards (running, not
// paused, no CPU quota, no REPLAB-CHAOS chain); Reset restores baseline
// without knowing what was injected (`replab chaos heal`).
//
// # Selectors
//
// Leader, SyncStandby, AnyFollower(seed), Node(name), Region(name) (its
// database nodes), Site(name) (every container of the region: nodes, etcd,
// endpoint), LeaderRegion, EtcdMembers, Rest (everything the other side of
// a partition did not select). ParseTarget reads the CLI's TARGET grammar
// (leader, sync, follower, etcd, leader-region, rest, region:NAME,
// site:NAME, node:NAME, NAME) into one of them.
//
// # Faults
//
//	Kill(s)              SIGKILL the container; heal starts it
//	RegionOutage(r)      Kill of every container of region r (Site)
//	CutRegion(r)         Partition(Site(r), Rest): the region cut off
//	Stop(s)              graceful stop, Patroni releases the lock; heal starts
//	Restart(s)           graceful stop and start at inject
//	Pause(s)             cgroup freeze; heal thaws
//	CrashPostgres(s)     SIGKILL the postmaster while Patroni lives
//	Partition(a, b)      iptables DROP both ways between two host sets
//	PartitionOneWay(a,b) drop what a sends to b
//	Isolate(s)           Partition(s, Rest)
//	CutFromDCS(s)        Partition(s, EtcdMembers): a leader must demote
//	ThrottleCPU(s, cpus) container CPU quota; heal removes it
//	LongQuery(s, d)      follower query that blocks WAL replay; heal cancels
//	Degrade(ra, rb, imp) overlay imp on the WAN link between two regions
//	                     (netem's runtime overlay); heal restores the baseline
//
// Partitions live in one chain per fault and host (ChainPrefix + hash),
// hooked first in INPUT and OUTPUT; heal removes exactly those. Proxies get
// no rules (no NET_ADMIN): the other side's rules cut them off.
//
// # Randomness
//
// Only seeded generators (math/rand/v2 PCG): AnyFollower(seed) and
// Schedule{Seed} replay exactly; the seed is logged with every step.
package chaos
