package topologies

import (
	"fmt"
	"slices"
	"strings"
)

// Shape says in a sentence what kind of deployment t is and what losing
// its primary region does to it: `replab validate` prints it.
func (t *Topology) Shape() string {
	if t.Engine.Kind == EngineMariaDB {
		return t.mariadbShape()
	}
	if t.Manager != "" && t.Manager != ManagerPatroni {
		return t.managedShape()
	}
	if len(t.Regions) == 1 {
		return fmt.Sprintf("one region (%s): %d nodes and %d etcd members on one LAN, no WAN", t.PrimaryRegion, len(t.Nodes()), t.DCS.Members)
	}
	var candRegions []string
	for _, n := range t.Candidates() { // the primary cluster's
		if !slices.Contains(candRegions, n.Region) {
			candRegions = append(candRegions, n.Region)
		}
	}
	endpoints := "one endpoint, in " + t.PrimaryRegion
	if e := t.EndpointRegions(); len(e) > 1 {
		endpoints = "endpoints in " + strings.Join(e, ", ")
	}
	quorum := t.DCS.Members/2 + 1
	survives := t.DCS.Members-t.DCS.MembersIn(t.PrimaryRegion) >= quorum
	if t.DCS.Stretched() {
		var where []string
		for _, r := range t.Regions {
			if n := t.DCS.MembersIn(r.Name); n > 0 {
				where = append(where, fmt.Sprintf("%d in %s", n, r.Name))
			}
		}
		loss := "losing " + t.PrimaryRegion + " keeps an etcd quorum"
		switch {
		case !survives:
			loss = "losing " + t.PrimaryRegion + " loses the etcd quorum"
		case len(candRegions) > 1 && t.Replication.Mode == Async:
			loss += ", and a candidate elsewhere takes over"
		case len(candRegions) > 1:
			loss += ", but in " + string(t.Replication.Mode) + " mode only a synchronous standby (in " + t.PrimaryRegion + ") may take over"
		default:
			loss += ", but no candidate elsewhere can take over"
		}
		return fmt.Sprintf("stretched cluster: etcd over regions (%s), failover candidates in %s, %s; %s",
			strings.Join(where, ", "), strings.Join(candRegions, ", "), endpoints, loss)
	}
	loss := "losing " + t.PrimaryRegion + " loses the DCS and every candidate"
	if t.DCS.Region != t.PrimaryRegion {
		loss = "losing " + t.DCS.Region + " loses the DCS, losing " + t.PrimaryRegion + " every candidate"
	}
	if t.Standby.Region != "" {
		loss += fmt.Sprintf("; a standby cluster in %s (its own etcd: %s) replicates from it and takes over when promoted", t.Standby.Region, plural(t.Standby.DCSMembers, "member", "members"))
	}
	return fmt.Sprintf("primary region with remote replicas: etcd (%d members in %s), failover candidates in %s, async replicas elsewhere, %s; %s",
		t.DCS.Members, t.DCS.Region, strings.Join(candRegions, ", "), endpoints, loss)
}

// managedShape is Shape under pg_auto_failover or repmgr: no DCS, and
// what decides a failover.
func (t *Topology) managedShape() string {
	who := fmt.Sprintf("pg_auto_failover's monitor in %s decides failovers", t.PGAutoFailover.Region)
	if t.Manager == ManagerRepmgr {
		who = "repmgrd on the standbys decides failovers, no witness"
		if t.Repmgr.Witness != "" {
			who = fmt.Sprintf("repmgrd on the standbys decides failovers, asking a witness in %s", t.Repmgr.Witness)
		}
	}
	if len(t.Regions) == 1 {
		return fmt.Sprintf("one region (%s): %d nodes on one LAN, no WAN; %s", t.PrimaryRegion, len(t.Nodes()), who)
	}
	return fmt.Sprintf("primary region with remote replicas: %d nodes, candidates in %s, async replicas elsewhere; %s", len(t.Nodes()), t.PrimaryRegion, who)
}

// mariadbShape is Shape for the mariadb engine: no DCS; replab promotes
// one of the primary region's replicas.
func (t *Topology) mariadbShape() string {
	n := len(t.Nodes())
	if len(t.Regions) == 1 {
		return fmt.Sprintf("one region (%s): %d MariaDB nodes on one LAN, no WAN, no DCS: replab promotes a replica when the primary is lost", t.PrimaryRegion, n)
	}
	return fmt.Sprintf("primary region with remote replicas: %d MariaDB nodes, candidates in %s, async replicas elsewhere, no DCS: replab promotes a replica of %s; losing %s loses every candidate",
		n, t.PrimaryRegion, t.PrimaryRegion, t.PrimaryRegion)
}
