package topologies

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it returns keeps
// its promises: an error is a non-empty Errors with at least one real error,
// all in the named file; a topology is internally consistent.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := Parse("fuzz.yaml", data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || !errs.HasErrors() {
				t.Fatalf("error %T %v: want Errors with an error in it", err, err)
			}
			for _, e := range errs {
				if e.File != "fuzz.yaml" || e.Line < 0 || e.Col < 0 || e.Msg == "" {
					t.Fatalf("malformed problem %#v", e)
				}
			}
			return
		}
		checkInvariants(t, topo)
	})
}

// checkInvariants is what every successfully resolved topology satisfies.
func checkInvariants(t *testing.T, topo *Topology) {
	t.Helper()
	if !validName(topo.Name, maxLabName) || len(topo.Regions) == 0 {
		t.Fatalf("name %q, %d regions", topo.Name, len(topo.Regions))
	}
	if topo.Warnings.HasErrors() {
		t.Fatalf("an error among the warnings: %v", topo.Warnings)
	}
	var regions []string
	for _, r := range topo.Regions {
		regions = append(regions, r.Name)
	}
	mariadb := topo.Engine.Kind == EngineMariaDB
	if mariadb {
		// No DCS, no Patroni, no PostgreSQL parameters; never sync.
		if topo.DCS.Members != 0 || topo.Patroni != (Patroni{}) || len(topo.PostgreSQL.Parameters) > 0 || topo.Standby.Region != "" ||
			topo.Replication.Mode == Sync || topo.MariaDB.SemiSyncTimeout < minSemiSyncTimeout || topo.Replication.SyncStandbys > 1 {
			t.Fatalf("mariadb topology %+v", topo)
		}
	} else if topo.MariaDB != (MariaDB{}) || topo.Replication.Mode == SemiSyncAfterCommit {
		t.Fatalf("postgres topology with mariadb settings %+v", topo)
	}
	if !slices.Contains(regions, topo.PrimaryRegion) || !mariadb && !slices.Contains(regions, topo.DCS.Region) {
		t.Fatalf("primary %q, dcs %q, regions %v", topo.PrimaryRegion, topo.DCS.Region, regions)
	}
	if !mariadb && (len(topo.DCS.Regions) != topo.DCS.Members || topo.DCS.Regions[0] != topo.DCS.Region) {
		t.Fatalf("dcs %+v", topo.DCS)
	}
	for _, r := range topo.DCS.Regions {
		if !slices.Contains(regions, r) {
			t.Fatalf("dcs member in unknown region %q: %+v", r, topo.DCS)
		}
	}
	if eps := topo.EndpointRegions(); eps[0] != topo.PrimaryRegion || slices.Index(eps[1:], topo.PrimaryRegion) >= 0 {
		t.Fatalf("endpoint regions %v, primary %s", eps, topo.PrimaryRegion)
	}
	seen := map[string]bool{}
	candidates := 0
	for _, r := range topo.Regions {
		if len(r.Nodes) == 0 {
			t.Fatalf("region %s has no nodes", r.Name)
		}
		for _, n := range r.Nodes {
			if seen[n.Name] || n.Region != r.Name || n.Upstream == n.Name {
				t.Fatalf("bad node %+v", n)
			}
			seen[n.Name] = true
			backup := n.Role == RoleBackup
			remote := n.Region != topo.PrimaryRegion
			if (remote || backup) != n.NoSync || (n.Failover && n.NoSync && !(remote && (topo.DCS.Stretched() || n.Standby))) || (backup && !n.NoLoadBalance) || n.Standby != (n.Region == topo.Standby.Region) {
				t.Fatalf("node %+v in primary region %s", n, topo.PrimaryRegion)
			}
			if n.Failover && !n.Standby {
				candidates++
			}
		}
	}
	for _, n := range topo.Nodes() {
		if n.Upstream != "" && !seen[n.Upstream] {
			t.Fatalf("node %s replicates from unknown %s", n.Name, n.Upstream)
		}
	}
	rp := topo.Replication
	if candidates == 0 || (rp.Mode == Async) != (rp.SyncStandbys == 0) || rp.SyncStandbys > candidates-1 {
		t.Fatalf("%d candidates, replication %+v", candidates, rp)
	}
	params := map[string]bool{}
	for _, p := range topo.PostgreSQL.Parameters {
		if params[p.Name] || p.Name != strings.ToLower(p.Name) || ownedParameters[p.Name] != "" || !gucRE.MatchString(p.Name) {
			t.Fatalf("parameter %+v among %v", p, topo.PostgreSQL.Parameters)
		}
		params[p.Name] = true
	}
	p := topo.Patroni
	if !mariadb && (p.TTL < minTTL || p.LoopWait < minLoopWait || p.RetryTimeout < minRetryTimeout || p.LoopWait+2*p.RetryTimeout > p.TTL) {
		t.Fatalf("patroni %+v", p)
	}
	if !mariadb && (topo.DCS.Members < 1 || topo.DCS.Members > maxDCSMembers) {
		t.Fatalf("dcs %+v", topo.DCS)
	}
	if want := len(regions) * (len(regions) - 1) / 2; len(topo.Network.Links) != want {
		t.Fatalf("%d links for %d regions", len(topo.Network.Links), len(regions))
	}
	for _, l := range topo.Network.Links {
		if !slices.Contains(regions, l.Between[0]) || !slices.Contains(regions, l.Between[1]) || l.Between[0] == l.Between[1] ||
			l.RTT < 0 || l.Jitter < 0 || l.Jitter > l.RTT/2 || l.Loss < 0 || l.Loss > 100 {
			t.Fatalf("link %+v", l)
		}
	}
}
