package harness

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/internal/golden"
	"github.com/replab/replab/topologies"
)

var testCreds = Credentials{Superuser: "postgres", SuperPass: "su", Replicator: "replicator", ReplPass: "rp", Rewinder: "rewinder", RewindPass: "rw"}

func testPlan(t *testing.T, name string) (*topologies.Topology, plan) {
	t.Helper()
	topo, err := topologies.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan("abcd1234", topo, netip.MustParsePrefix("172.29.7.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	return topo, p
}

func TestPatroniConfigGolden(t *testing.T) {
	for _, name := range []string{"single-region", "three-region", "stretched", "dr"} {
		topo, p := testPlan(t, name)
		for _, n := range p.Nodes {
			out, err := patroniConfig(topo, p, n, testCreds)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "patroni-"+name+"-"+n.Name+".yml"), out)
		}
	}
}

func TestHAProxyConfigGolden(t *testing.T) {
	_, p := testPlan(t, "three-region")
	golden.Check(t, filepath.Join("testdata", "haproxy-three-region.cfg"), haproxyConfig(p, p.Proxies[0]))
	_, p = testPlan(t, "stretched")
	for _, px := range p.Proxies {
		golden.Check(t, filepath.Join("testdata", "haproxy-stretched-"+px.Name+".cfg"), haproxyConfig(p, px))
	}
}

// TestStretchedPlan: one etcd member per region, raft timings from the
// worst round trip between them, each node's Patroni pointed at its own
// region's member first, and an endpoint per region.
func TestStretchedPlan(t *testing.T) {
	_, p := testPlan(t, "stretched")
	var regions, proxies []string
	for _, e := range p.Etcd {
		regions = append(regions, e.Region)
	}
	for _, px := range p.Proxies {
		proxies = append(proxies, px.Name+"@"+px.Region)
	}
	if strings.Join(regions, ",") != "us-east,eu-west,ap-southeast" {
		t.Errorf("etcd regions %v", regions)
	}
	if strings.Join(proxies, ",") != "haproxy@us-east,haproxy-eu-west@eu-west,haproxy-ap-southeast@ap-southeast" {
		t.Errorf("proxies %v", proxies)
	}
	// 200ms + 2*10ms of jitter: the us-east <-> ap-southeast link.
	if p.EtcdHeartbeat != 220*time.Millisecond || p.EtcdElection != 2200*time.Millisecond {
		t.Errorf("etcd heartbeat %s election %s, want 220ms and 2.2s", p.EtcdHeartbeat, p.EtcdElection)
	}
	if cmd := strings.Join(p.etcdCommand(0), " "); !strings.Contains(cmd, "--heartbeat-interval 220 --election-timeout 2200 --pre-vote") {
		t.Errorf("etcd command %s", cmd)
	}
	c := p.etcdConfig("eu-west")
	if hosts := c["hosts"].([]string); hosts[0] != p.Etcd[1].IP.String()+":2379" || c["use_proxies"] != true {
		t.Errorf("eu-west's etcd3 config %v, want etcd-2 first and use_proxies", c)
	}
	_, lan := testPlan(t, "three-region")
	if lan.EtcdHeartbeat != 50*time.Millisecond || lan.EtcdElection != 500*time.Millisecond || lan.etcdConfig("eu-west")["use_proxies"] != nil {
		t.Errorf("etcd in one region: heartbeat %s election %s config %v, want 50ms, 500ms, Patroni's own member order", lan.EtcdHeartbeat, lan.EtcdElection, lan.etcdConfig("eu-west"))
	}
}

// TestReplicationModeMapping checks what each mode makes the leader wait
// for, as PostgreSQL settings.
func TestReplicationModeMapping(t *testing.T) {
	for mode, want := range map[topologies.ReplicationMode]string{
		topologies.Async:    "synchronous_commit: \"on\"",
		topologies.SemiSync: "synchronous_commit: remote_write",
		topologies.Sync:     "synchronous_commit: remote_apply",
	} {
		topo, p := testPlan(t, "single-region")
		topo.Replication.Mode = mode
		if mode == topologies.Async {
			topo.Replication.SyncStandbys = 0
		}
		out, err := patroniConfig(topo, p, p.Nodes[0], testCreds)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		if !strings.Contains(s, want) {
			t.Errorf("%s: want %q in\n%s", mode, want, s)
		}
		if sync := strings.Contains(s, "synchronous_mode: true"); sync != (mode != topologies.Async) {
			t.Errorf("%s: synchronous_mode true = %v", mode, sync)
		}
	}
}

// Nodes abroad never become synchronous standbys or failover targets, and
// a cascading replica names its upstream.
func TestCrossRegionTags(t *testing.T) {
	topo, p := testPlan(t, "three-region")
	for _, n := range p.Nodes {
		out, err := patroniConfig(topo, p, n, testCreds)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		abroad := n.Region != topo.PrimaryRegion
		if got := strings.Contains(s, "nosync: true"); got != abroad {
			t.Errorf("%s (%s): nosync %v, want %v", n.Name, n.Region, got, abroad)
		}
		if got := strings.Contains(s, "nofailover: true"); got != abroad {
			t.Errorf("%s (%s): nofailover %v, want %v", n.Name, n.Region, got, abroad)
		}
		if n.Node.Upstream != "" && !strings.Contains(s, "replicatefrom: "+n.Node.Upstream) {
			t.Errorf("%s: want replicatefrom %s", n.Name, n.Node.Upstream)
		}
	}
}

func TestPlanAddresses(t *testing.T) {
	for _, name := range []string{"three-region", "stretched", "dr"} {
		_, p := testPlan(t, name)
		seen := map[netip.Addr]string{}
		for _, m := range append(append(append(append([]member{}, p.Proxies...), p.Etcd...), p.StandbyEtcd...), p.Nodes...) {
			if !p.Subnet.Contains(m.IP) || m.IP == p.Gateway {
				t.Errorf("%s: %s: address %s outside %s or the gateway", name, m.Name, m.IP, p.Subnet)
			}
			if o, dup := seen[m.IP]; dup {
				t.Errorf("%s: %s and %s share %s", name, m.Name, o, m.IP)
			}
			seen[m.IP] = m.Name
		}
	}
	if _, err := newPlan("x", topologies.Default(), netip.MustParsePrefix("10.0.0.0/28")); err == nil {
		t.Error("a /28 must be refused")
	}
}

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"0/3000060": 0x3000060, "1/0": 1 << 32, "": 0, "junk": 0, "G/1": 0} {
		if got := ParseLSN(in); got != want {
			t.Errorf("ParseLSN(%q) = %d, want %d", in, got, want)
		}
		if want != 0 && formatLSN(want) != strings.ToUpper(in) {
			t.Errorf("formatLSN(%d) = %s, want %s", want, formatLSN(want), in)
		}
	}
}

func TestEligibleFollowers(t *testing.T) {
	ms := []Member{
		{Name: "a", Role: RoleLeader, ReceivedLSN: ""},
		{Name: "b", Role: RoleReplica, ReceivedLSN: "0/3000060", SyncState: "async"},
		{Name: "c", Role: RoleReplica, ReceivedLSN: "0/3000100", SyncState: "sync"},
		{Name: "d", Role: RoleReplica, ReceivedLSN: "0/3000100", SyncState: "potential"},
		{Name: "e", Role: RoleUnknown, ReceivedLSN: "1/0"},
	}
	if got := MostAdvanced(ms); strings.Join(got, ",") != "c,d" {
		t.Errorf("MostAdvanced = %v, want c,d (the leader and unknown members never count)", got)
	}
	if got := SyncStandbys(ms); strings.Join(got, ",") != "c" {
		t.Errorf("SyncStandbys = %v, want c", got)
	}
	if got := MostAdvanced(ms[:1]); got != nil {
		t.Errorf("MostAdvanced of a lone leader = %v, want none", got)
	}
}

// TestStandbyClusterPlan: the standby cluster's nodes get a scope and an
// etcd of their own, replicate from the primary region's endpoint by base
// backup, never bootstrap from the image's template, and their etcd is a
// cluster of its own on the LAN.
func TestStandbyClusterPlan(t *testing.T) {
	topo, p := testPlan(t, "dr")
	p.PGTemplate = "/usr/share/replab/pgdata-15.tar.gz"
	if len(p.StandbyEtcd) != 1 || p.StandbyEtcd[0].Name != "dr-etcd-1" || p.StandbyEtcd[0].Region != "eu-west" {
		t.Fatalf("standby etcd %+v", p.StandbyEtcd)
	}
	cmd := strings.Join(p.standbyEtcdCommand(0), " ")
	if !strings.Contains(cmd, "--initial-cluster dr-etcd-1=http://") || !strings.Contains(cmd, "--initial-cluster-token replab-abcd1234-dr") || strings.Contains(cmd, "etcd-1=http://172.29.7.10") {
		t.Errorf("standby etcd command %s", cmd)
	}
	for _, n := range p.Nodes {
		out, err := patroniConfig(topo, p, n, testCreds)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		if got := strings.Contains(s, "scope: dr-dr"); got != n.Node.Standby {
			t.Errorf("%s: standby scope %v, want %v", n.Name, got, n.Node.Standby)
		}
		if got := strings.Contains(s, "standby_cluster:"); got != n.Node.Standby {
			t.Errorf("%s: standby_cluster %v, want %v", n.Name, got, n.Node.Standby)
		}
		if got := strings.Contains(s, "method: "+templateMethod); got == n.Node.Standby {
			t.Errorf("%s: template bootstrap %v, want %v", n.Name, got, !n.Node.Standby)
		}
		if n.Node.Standby && (!strings.Contains(s, "host: "+p.Proxies[0].IP.String()) || !strings.Contains(s, p.StandbyEtcd[0].IP.String()+":2379")) {
			t.Errorf("%s: want the primary endpoint as source and its own etcd:\n%s", n.Name, s)
		}
	}
}

// TestStandbyConfig: a cluster is a standby one while its configuration
// names standby_cluster, not once it is removed (null) or absent.
func TestStandbyConfig(t *testing.T) {
	for raw, want := range map[string]bool{
		``:                                     false,
		`{"ttl": 20}`:                          false,
		`{"ttl": 20, "standby_cluster": null}`: false,
		`{"standby_cluster": {"host": "172.29.7.2", "port": 5000}}`: true,
		`not json`: false,
	} {
		if got := standbyConfig(raw); got != want {
			t.Errorf("standbyConfig(%q) = %v, want %v", raw, got, want)
		}
	}
}
