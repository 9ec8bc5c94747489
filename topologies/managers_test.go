package topologies

import (
	"testing"
	"time"
)

func TestWithManagerSwitchesAndKeepsTheDCSForPatroni(t *testing.T) {
	src := `name: lab
manager: repmgr
repmgr: {witness: local, reconnect_attempts: 2, reconnect_interval: 1s}
pg_auto_failover: {health_check_period: 1s}
patroni: {ttl: 20s}
regions:
  local:
    nodes:
      - {name: lab-1}
      - {name: lab-2}
      - {name: lab-3}
`
	topo, err := Parse("lab.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if topo.Manager != ManagerRepmgr || topo.DCS.Members != 0 {
		t.Fatalf("manager %s with %d etcd members, want repmgr with none", topo.Manager, topo.DCS.Members)
	}
	if got := topo.ManagerSettings()["repmgr.witness"]; got != "local" {
		t.Errorf("repmgr.witness setting = %q, want local", got)
	}
	p, err := topo.WithManager(ManagerPatroni, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.DCS.Members != 3 || p.Patroni.TTL != 20*time.Second {
		t.Errorf("patroni from the file: %d etcd members, ttl %s; want 3, 20s", p.DCS.Members, p.Patroni.TTL)
	}
	d, err := topo.WithManager(ManagerPatroni, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Patroni != PatroniDefaults {
		t.Errorf("patroni at defaults = %+v, want %+v", d.Patroni, PatroniDefaults)
	}
	a, err := topo.WithManager(ManagerPGAutoFailover, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.DCS.Members != 0 || a.PGAutoFailover.HealthCheckPeriod != time.Second || a.PGAutoFailover.Region != "local" {
		t.Errorf("pg_auto_failover from the file: %+v with %d etcd members", a.PGAutoFailover, a.DCS.Members)
	}
	r, err := topo.WithManager(ManagerRepmgr, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Repmgr.ReconnectAttempts != 6 || r.Repmgr.Witness != "local" {
		t.Errorf("repmgr at defaults = %+v, want 6 attempts and the file's witness", r.Repmgr)
	}
	if topo.Repmgr.ReconnectAttempts != 2 {
		t.Errorf("WithManager changed its receiver: %+v", topo.Repmgr)
	}
	if _, err := topo.WithManager("stolon", false); err == nil {
		t.Error("WithManager accepted an unknown manager")
	}
}
