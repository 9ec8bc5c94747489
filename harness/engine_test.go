package harness

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

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
	for _, name := range []string{"single-region", "three-region"} {
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
	golden.Check(t, filepath.Join("testdata", "haproxy-three-region.cfg"), haproxyConfig(p))
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
	_, p := testPlan(t, "three-region")
	seen := map[netip.Addr]string{}
	all := append(append([]member{p.Proxy}, p.Etcd...), p.Nodes...)
	for _, m := range all {
		if !p.Subnet.Contains(m.IP) || m.IP == p.Gateway {
			t.Errorf("%s: address %s outside %s or the gateway", m.Name, m.IP, p.Subnet)
		}
		if o, dup := seen[m.IP]; dup {
			t.Errorf("%s and %s share %s", m.Name, o, m.IP)
		}
		seen[m.IP] = m.Name
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
