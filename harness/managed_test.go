package harness

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/replab/replab/topologies"
)

// managedPlan is the plan of the built-in managers topology under m.
func managedPlan(t *testing.T, m topologies.ManagerKind, mode topologies.ReplicationMode) (*topologies.Topology, plan) {
	t.Helper()
	base, err := topologies.Builtin("managers")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := base.WithManager(m, false)
	if err != nil {
		t.Fatal(err)
	}
	topo.Replication.Mode = mode
	p, err := newPlan("abcd1234", topo, netip.MustParsePrefix("172.29.7.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	return topo, p
}

func TestManagedPlansTheCoordinatorInsteadOfEtcd(t *testing.T) {
	for m, want := range map[topologies.ManagerKind]string{topologies.ManagerPGAutoFailover: RoleMonitor, topologies.ManagerRepmgr: RoleWitness} {
		_, p := managedPlan(t, m, topologies.SemiSync)
		if len(p.Etcd) != 0 || len(p.Coordinator) != 1 || p.Coordinator[0].Name != want || p.Coordinator[0].IP.String() != "172.29.7.10" {
			t.Errorf("%s: etcd %v, coordinator %v; want no etcd and %s at .10", m, p.Etcd, p.Coordinator, want)
		}
		cfg := string(haproxyConfig(p, p.Proxies[0]))
		if !strings.Contains(cfg, "external-check command "+pgCheckPath) || strings.Contains(cfg, "httpchk") {
			t.Errorf("%s: HAProxy does not check the nodes with the SQL script:\n%s", m, cfg)
		}
	}
}

func TestManagedHBATrustsOnlyTheManagersAccountsInsideTheLab(t *testing.T) {
	_, p := managedPlan(t, topologies.ManagerRepmgr, topologies.SemiSync)
	hba := strings.Split(string(managedHBAConf(p)), "\n")
	gateway, trust := -1, -1
	for i, l := range hba {
		if strings.HasPrefix(l, "host all all 172.29.7.1/32 scram-sha-256") {
			gateway = i
		}
		if strings.HasSuffix(l, " trust") && strings.HasPrefix(l, "host") {
			if !strings.Contains(l, " repmgr ") {
				t.Errorf("a trust line for an account other than repmgr's: %q", l)
			}
			if trust < 0 {
				trust = i
			}
		}
	}
	if gateway < 0 || trust < 0 || gateway > trust {
		t.Errorf("the host (the gateway) must need a password before any trust line:\n%s", strings.Join(hba, "\n"))
	}
}

func TestRepmgrSettingsFollowTheTopology(t *testing.T) {
	topo, p := managedPlan(t, topologies.ManagerRepmgr, topologies.Sync)
	conf := string(repmgrConf(topo, p, p.Nodes[1], 2))
	for _, want := range []string{"node_id=2", "node_name='mgr-2'", "reconnect_attempts=2", "reconnect_interval=1", "monitor_interval_secs=1", "primary_visibility_consensus=true", "failover='automatic'", "priority=100"} {
		if !strings.Contains(conf, want+"\n") {
			t.Errorf("repmgr.conf lacks %q:\n%s", want, conf)
		}
	}
	pg := string(managedPostgresConf(topo, p))
	for _, want := range []string{"synchronous_commit = 'remote_apply'", "shared_preload_libraries = 'repmgr'"} {
		if !strings.Contains(pg, want) {
			t.Errorf("postgresql.conf lacks %q:\n%s", want, pg)
		}
	}
	if got, want := syncStandbyNames(topo, p), `ANY 1 ("mgr-1", "mgr-2", "mgr-3")`; got != want {
		t.Errorf("synchronous_standby_names = %s, want %s", got, want)
	}
	l := &Lab{topo: topo, plan: p}
	if env := strings.Join(l.managedNodeSpec(p.Nodes[0], 1).env, "\n"); !strings.Contains(env, "SYNC_STANDBY_NAMES=ANY 1") {
		t.Errorf("the bootstrap primary is not told its synchronous standbys:\n%s", env)
	}
	topo, p = managedPlan(t, topologies.ManagerRepmgr, topologies.Async)
	l = &Lab{topo: topo, plan: p}
	if env := strings.Join(l.managedNodeSpec(p.Nodes[0], 1).env, "\n"); strings.Contains(env, "SYNC_STANDBY_NAMES") {
		t.Error("async names synchronous standbys")
	}
}

func TestPGAutoFailoverMapsTheModes(t *testing.T) {
	for mode, want := range map[topologies.ReplicationMode]struct {
		quorum string
		nss    int
	}{topologies.Async: {"false", 0}, topologies.SemiSync: {"true", 0}, topologies.Sync: {"true", 1}} {
		topo, p := managedPlan(t, topologies.ManagerPGAutoFailover, mode)
		env := strings.Join(pgafNodeEnv(topo, p, p.Nodes[1]), " ")
		if !strings.Contains(env, "REPLICATION_QUORUM="+want.quorum) || !strings.Contains(env, "CANDIDATE_PRIORITY=50") || !strings.Contains(env, "NETWORK_PARTITION_TIMEOUT=5") {
			t.Errorf("%s: node environment %q", mode, env)
		}
		if n := pgafSyncStandbys(topo); n != want.nss {
			t.Errorf("%s: number_sync_standbys %d, want %d", mode, n, want.nss)
		}
		if strings.Contains(string(managedPostgresConf(topo, p)), "synchronous_standby_names") {
			t.Errorf("%s: replab sets synchronous_standby_names, which pg_auto_failover owns", mode)
		}
	}
	topo, p := managedPlan(t, topologies.ManagerPGAutoFailover, topologies.SemiSync)
	mon := strings.Join(pgafMonitorEnv(topo, p.Coordinator[0]), "\n")
	for _, want := range []string{"pgautofailover.health_check_period = 1000", "pgautofailover.primary_demote_timeout = 8000", "pgautofailover.node_considered_unhealthy_timeout = 5000"} {
		if !strings.Contains(mon, want) {
			t.Errorf("monitor settings lack %q:\n%s", want, mon)
		}
	}
}

func TestStandbyNameOfPGAutoFailoverIsItsAddress(t *testing.T) {
	topo, p := managedPlan(t, topologies.ManagerPGAutoFailover, topologies.SemiSync)
	l := &Lab{topo: topo, plan: p}
	if got := l.standbyName("pgautofailover_standby_3", p.Nodes[2].IP.String()); got != "mgr-3" {
		t.Errorf("standbyName = %q, want mgr-3", got)
	}
	if got := l.standbyName("mgr-2", "172.29.7.99"); got != "mgr-2" {
		t.Errorf("standbyName of a named standby = %q, want its application_name", got)
	}
}
