// Package harness owns everything that talks to Docker: the node image, the
// lab network, containers (etcd, PostgreSQL+Patroni or MariaDB nodes, HAProxy), engine
// configuration, the lab's own views of itself (members, Patroni state, the
// DCS leader key; pg_auto_failover's and repmgr's equivalents), cleanup and
// garbage collection. The clients that make a
// run's history live in package workload, which reaches the lab through
// harness's exported methods.
//
// It is the only package that imports Docker or testcontainers-go. It must
// not import Ginkgo, Gomega, chaos, workload, experiment, suites or
// results: what is done to the lab and asserted on it lives above, and the
// history's types belong to the run. The WAN fidelity rows are harness's
// own (LinkFidelity); workload converts them into results'.
//
// # The emulated WAN, by file
//
// What shapes or reads the emulated network is a method of *WAN, the
// facet Lab.WAN returns, not of *Lab.
//
//	wan_gate.go        Patroni waits for a gate file until its host is shaped
//	wan_plan.go        the pure plan: topology + hosts + overlays → netem.Plan per host
//	wan_state.go       Lab.WAN, the lab's network facet: backend, shapers and overlays (SetLink, SetNodeLinks, Reset)
//	wan_probe.go       RTT measured between regions (WAN.ProbeRTT), and the check that refuses a lab off it
//	wan_fidelity.go    how faithfully each userspace agent held its links (WAN.Counters, WAN.Fidelity)
//	netem_adapter.go   netem.Host over a container (exec as root, copy a file)
//	netem_backend_probe.go   which backend this machine supports, without a lab
//
// # Regions and clusters
//
// A topology may stretch etcd over regions (each member in its region,
// raft timings from the WAN), place an endpoint in several regions
// (proxyName, Lab.EndpointIn: "rw@eu-west") and add a standby cluster: a
// second Patroni cluster with its own scope and etcd, whose standby leader
// replicates from the primary region's endpoint.
//
//	etcd.go            the DCS through etcd's JSON gateway: get, put, delete, DCSWriteLatency
//	standby.go         the standby cluster: PromoteStandby, RebuildAsStandby
//
// # MariaDB
//
// A topology of engine kind mariadb runs MariaDB nodes with GTID
// replication instead of PostgreSQL, Patroni and etcd; the lab's network,
// containers, endpoints, WAN and cleanup are the same.
//
//	mariadb.go           node configuration, accounts, HAProxy's external check
//	mariadb_ready.go     Lab.SQL and Lab.AppSQL, attaching replicas, readiness
//	mariadb_members.go   Members for MariaDB: read_only, GTID, replica threads
//	mariadb_promote.go   replab's promotion runbook (PromoteMariaDB)
//	mariadb_rejoin.go    a former primary rejoined, or its errant transactions counted
//	mariadb_mode.go      the replication mode switched at runtime (SET GLOBAL)
//
// # Failover managers
//
// A PostgreSQL topology's manager may be pg_auto_failover or repmgr
// instead of Patroni (docs/managers.md). Their nodes run an entrypoint
// script of the manager (scripts/), their status is read over SQL
// instead of Patroni's REST API, and HAProxy's check asks the node.
//
//	manager.go           which manager, the coordinator's plan, status over SQL, HAProxy's check
//	managed.go           a managed node's container: settings, client authentication
//	manager_scripts.go   the entrypoints (scripts/pgaf-node.sh, scripts/repmgr-node.sh)
//	pgautofailover.go    the monitor: its settings, its primary (the leader key), readiness, switchover
//	repmgr.go            repmgr.conf, the switchover runbook without SSH
//
// # Endpoints
//
// Both engines' endpoints are HAProxy's rw and ro routes (haproxyConfig);
// haproxy_stats.go reads which servers each route sends to (Lab.Routes),
// and a lab is ready only once every route has checked every server.
package harness
