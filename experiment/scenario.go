package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// Scenario is one entry of the catalog: what it needs of a topology, how
// it shapes the topology it is given, the workload it runs and its plan.
// It is a value, not a function with a lifecycle of its own: Run owns the
// lifecycle (provision, workload, plan, heal, verify, read back, evaluate,
// write) for every scenario alike.
type Scenario struct {
	Name string
	// Summary is one line for `replab scenarios`.
	Summary string
	Needs   Needs
	// Shape adjusts a copy of the topology before provisioning (the RPO
	// trials set the replication mode); nil leaves it as given.
	Shape func(t *topologies.Topology)
	// Profile is the workload (zero: workload.Steady).
	Profile workload.Profile
	// ClientRegion, when set, places the profile's clients in the region
	// it returns for the topology being run (workload.Profile.ClientRegion).
	ClientRegion func(t *topologies.Topology) string
	// Netem says the plan slows links (slow-links, degrade): the runner
	// readies the netem backend on every node before the workload starts
	// (harness.WAN.Prepare), so that the first slowed link takes effect
	// within milliseconds of its begin stamp.
	Netem bool
	// NotJudged names SLA checks the plan does not exercise, with why
	// ("failover_time": "the scenario injects no fault"): their targets
	// are left out of the verdict, which would otherwise call them
	// inconclusive and fail the run, and the run's figures say so.
	NotJudged map[string]string
	// Steps is the plan, run in order. Every fault still active when it
	// ends (or fails, or is cancelled) is healed by Run.
	Steps []Step
	// Report steps run once the plan's faults are healed and every write
	// read back (results.LostWrites knows each write's fate then); they
	// record tables and figures and must not change the lab. They do not
	// run when the plan, the heal or the read-back failed.
	Report []Step
}

// Needs is what a scenario asks of a topology. Zero fields ask nothing.
type Needs struct {
	// Regions is the fewest regions with database nodes.
	Regions int
	// Modes lists the replication modes it can run in (empty: any).
	Modes []topologies.ReplicationMode
	// Candidates is the fewest failover candidates.
	Candidates int
	// Roles are node roles (topologies.RoleBackup, ...) the scenario's
	// work runs on: at least one node of each, after Shape.
	Roles []string
	// RegionLoss asks for a topology that survives losing its primary
	// region: an etcd quorum outside it, and a failover candidate and an
	// endpoint in one other region (SurvivorRegion).
	RegionLoss bool
	// Endpoints is the fewest regions with an endpoint.
	Endpoints int
	// StandbyCluster asks for a standby cluster (standby_cluster).
	StandbyCluster bool
	// RegionOutage asks for a topology that recovers from losing its
	// primary region: by itself (RegionLoss) or by promoting its standby
	// cluster.
	RegionOutage bool
	// Engines lists the engines it runs on (empty: postgres only, with
	// Patroni and etcd).
	Engines []topologies.EngineKind
	// Managers lists the PostgreSQL failover managers it runs under
	// (empty: Patroni only: most of the catalog acts through Patroni's
	// REST API, its dynamic configuration or its TTL).
	Managers []topologies.ManagerKind
}

// String says what the scenario needs, for `replab scenarios`.
func (n Needs) String() string {
	var parts []string
	if n.Regions > 1 {
		parts = append(parts, fmt.Sprintf("%d+ regions", n.Regions))
	}
	if len(n.Modes) > 0 {
		var ms []string
		for _, m := range n.Modes {
			ms = append(ms, string(m))
		}
		parts = append(parts, "mode "+strings.Join(ms, "|"))
	}
	if len(n.Engines) > 0 {
		var es []string
		for _, e := range n.Engines {
			es = append(es, string(e))
		}
		parts = append(parts, "engine "+strings.Join(es, "|"))
	}
	if len(n.Managers) > 0 {
		var ms []string
		for _, m := range n.Managers {
			ms = append(ms, string(m))
		}
		parts = append(parts, "manager "+strings.Join(ms, "|"))
	}
	if n.Candidates > 0 {
		parts = append(parts, fmt.Sprintf("%d+ failover candidates", n.Candidates))
	}
	if len(n.Roles) > 0 {
		parts = append(parts, "a node of role "+strings.Join(n.Roles, ", a node of role "))
	}
	if n.RegionLoss {
		parts = append(parts, "an etcd quorum, a failover candidate and an endpoint outside the primary region")
	}
	if n.Endpoints > 1 {
		parts = append(parts, fmt.Sprintf("endpoints in %d+ regions", n.Endpoints))
	}
	if n.StandbyCluster {
		parts = append(parts, "a standby cluster")
	}
	if n.RegionOutage {
		parts = append(parts, "a standby cluster, or an etcd quorum, a failover candidate and an endpoint outside the primary region")
	}
	if len(parts) == 0 {
		return "any topology"
	}
	return strings.Join(parts, ", ")
}

// Check says why t cannot run a scenario with these needs, or nil.
func (n Needs) Check(t *topologies.Topology) error {
	regions := map[string]bool{}
	candidates := 0
	for _, node := range t.Nodes() {
		regions[node.Region] = true
		if node.Failover && !node.Standby {
			candidates++
		}
	}
	var why []string
	engines := n.Engines
	if len(engines) == 0 {
		engines = []topologies.EngineKind{topologies.EnginePostgres}
	}
	if !slices.Contains(engines, t.Engine.Kind) {
		// Nothing else it needs means anything on another engine.
		return fmt.Errorf("topology %s cannot run it: it runs on engine %v, the topology's is %s", t.Name, engines, t.Engine.Kind)
	}
	managers := n.Managers
	if len(managers) == 0 {
		managers = []topologies.ManagerKind{topologies.ManagerPatroni}
	}
	if t.Engine.Kind == topologies.EnginePostgres && !slices.Contains(managers, t.Manager) {
		return fmt.Errorf("topology %s cannot run it: it runs under manager %v, the topology's is %s", t.Name, managers, t.Manager)
	}
	if len(regions) < n.Regions {
		why = append(why, fmt.Sprintf("it needs %d regions with database nodes, the topology has %d", n.Regions, len(regions)))
	}
	if len(n.Modes) > 0 && !slices.Contains(n.Modes, t.Replication.Mode) {
		why = append(why, fmt.Sprintf("it runs in mode %v, the topology's is %s", n.Modes, t.Replication.Mode))
	}
	if candidates < n.Candidates {
		why = append(why, fmt.Sprintf("it needs %d failover candidates, the topology has %d", n.Candidates, candidates))
	}
	for _, role := range n.Roles {
		if len(t.WithRole(role)) == 0 {
			why = append(why, fmt.Sprintf("it needs a node of role %s, the topology has none", role))
		}
	}
	if n.RegionLoss || n.RegionOutage && t.Standby.Region == "" {
		quorum := t.DCS.Members/2 + 1
		if left := t.DCS.Members - t.DCS.MembersIn(t.PrimaryRegion); left < quorum {
			why = append(why, fmt.Sprintf("losing %s loses the etcd quorum (%d of %d members outside it, %d needed): stretch the DCS over regions (dcs.regions)",
				t.PrimaryRegion, left, t.DCS.Members, quorum))
		}
		if SurvivorRegion(t) == "" {
			why = append(why, fmt.Sprintf("it needs a failover candidate and an endpoint (regions.NAME.endpoint: true) in one region other than %s", t.PrimaryRegion))
		}
	}
	if n.StandbyCluster && t.Standby.Region == "" {
		why = append(why, "it needs a standby cluster (standby_cluster: {region: NAME}), the topology has none")
	}
	if e := len(t.EndpointRegions()); e < n.Endpoints {
		why = append(why, fmt.Sprintf("it needs endpoints in %d regions, the topology has %d (add endpoint: true to a region)", n.Endpoints, e))
	}
	if len(why) > 0 {
		return fmt.Errorf("topology %s cannot run it: %s", t.Name, strings.Join(why, "; "))
	}
	return nil
}

// RunsOn reports whether any catalog scenario runs on engine kind.
func RunsOn(kind topologies.EngineKind) bool {
	for _, sc := range Catalog() {
		if slices.Contains(sc.Needs.Engines, kind) || len(sc.Needs.Engines) == 0 && kind == topologies.EnginePostgres {
			return true
		}
	}
	return false
}

// SurvivorRegion is the first region in file order, other than the
// primary, with a failover candidate and an endpoint: where a region
// outage's clients write from, and where the leader should move. "" when
// there is none.
func SurvivorRegion(t *topologies.Topology) string {
	for _, r := range t.Regions {
		if r.Name == t.PrimaryRegion || !r.Endpoint {
			continue
		}
		for _, n := range r.Nodes {
			if n.Failover {
				return r.Name
			}
		}
	}
	return ""
}
