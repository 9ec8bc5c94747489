// Package workload owns the clients that make a run's history: the writer
// through the read-write endpoint, the read-your-writes sessions, the
// direct probes of every member, the heartbeat (visibility lag), the lag
// sampler (pg_stat_replication), the monitor (leader events) and the
// read-back, with named profiles (Profile) that say which run and how hard.
// Every operation, sample and event goes to a results.Recorder on the
// run's one clock.
//
//	runner ──▶ workload.Start(lab, rec, profile) ──▶ pgx / Patroni REST / etcd (through harness.Lab)
//	                  │                         └──▶ database/sql on a MariaDB lab (mariadb_*.go)
//	                  └──────────────────────────────▶ results.Recorder
//
// The writer and the probes write through a client (client.go), one per
// engine, so that every checker judges both engines' rows alike. On a
// MariaDB lab the monitor reads read_only, the lag sampler SHOW SLAVE
// STATUS, and the read-your-writes sessions do not run yet.
//
// It reaches the lab only through harness.Lab's exported methods
// (Connect, AppSQL, SQL, Members, Patroni, LeaderKey, NodeByIP, Topology). It must not import
// chaos, experiment, suites, Ginkgo or Gomega; harness must not import it
// (nor results).
package workload
