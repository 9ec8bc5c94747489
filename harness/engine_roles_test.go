package harness

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replab/replab/internal/golden"
	"github.com/replab/replab/topologies"
)

func rolesPlan(t *testing.T) (*topologies.Topology, plan) {
	t.Helper()
	topo, err := topologies.Read(filepath.Join("testdata", "roles.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan("abcd1234", topo, netip.MustParsePrefix("172.29.7.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	return topo, p
}

// TestRolesConfigGolden pins the Patroni configuration of a backup and an
// analytics follower (their tags, the topology's parameters after
// replab's own) and HAProxy's ro section without the noloadbalance nodes.
func TestRolesConfigGolden(t *testing.T) {
	topo, p := rolesPlan(t)
	for _, n := range p.Nodes {
		if n.Name != "lab-3" && n.Name != "lab-4" {
			continue
		}
		out, err := patroniConfig(topo, p, n, testCreds)
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "patroni-roles-"+n.Name+".yml"), out)
	}
	golden.Check(t, filepath.Join("testdata", "haproxy-roles.cfg"), haproxyConfig(p, p.Proxies[0]))
}

// TestRolesTags: role backup carries nofailover, nosync and
// noloadbalance; noloadbalance alone carries only that; the topology's
// parameters override replab's defaults and leave its own alone.
func TestRolesTags(t *testing.T) {
	topo, p := rolesPlan(t)
	want := map[string][]string{
		"lab-1": {"nofailover: false", "noloadbalance: false", "nosync: false"},
		"lab-3": {"nofailover: true", "noloadbalance: true", "nosync: true"},
		"lab-4": {"nofailover: true", "noloadbalance: true", "nosync: false"},
	}
	for _, n := range p.Nodes {
		out, err := patroniConfig(topo, p, n, testCreds)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, w := range append(want[n.Name], "shared_buffers: 64MB", "work_mem: 16MB", `hot_standby_feedback: "false"`, "synchronous_commit: remote_write") {
			if !strings.Contains(s, w) {
				t.Errorf("%s: want %q in\n%s", n.Name, w, s)
			}
		}
	}
	cfg := string(haproxyConfig(p, p.Proxies[0]))
	_, ro, _ := strings.Cut(cfg, "listen ro")
	_, rw, _ := strings.Cut(strings.Split(cfg, "listen ro")[0], "listen rw")
	for _, name := range []string{"lab-1", "lab-2", "lab-3", "lab-4"} {
		inRO := strings.Contains(ro, "server "+name+" ")
		if wantRO := name == "lab-1" || name == "lab-2"; inRO != wantRO {
			t.Errorf("%s in ro = %v, want %v", name, inRO, wantRO)
		}
		if !strings.Contains(rw, "server "+name+" ") {
			t.Errorf("%s missing from rw", name)
		}
	}
}
