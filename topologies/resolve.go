package topologies

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/topologies/internal/format"
	"github.com/replab/replab/units"
)

// Defaults, applied once by resolve. They are documented on the model's
// types and in doc.go; keep the three in step.
const (
	defaultEngineVersion = "15"
	defaultDCSMembers    = 3
	defaultTTL           = 20 * time.Second
	defaultLoopWait      = 1 * time.Second
	defaultRetryTimeout  = 3 * time.Second
	defaultMode          = SemiSync
	defaultBackend       = BackendAuto
	defaultTolerancePct  = units.Percent(5)
	defaultToleranceAbs  = 1 * time.Millisecond
)

// Patroni 3.2+ refuses timings outside these bounds (older Patroni accepts
// them but misbehaves); replab enforces them so topologies keep working on
// newer images.
const (
	minTTL          = 20 * time.Second
	minLoopWait     = 1 * time.Second
	minRetryTimeout = 3 * time.Second
)

// Name lengths: lab and region names prefix Docker networks and
// containers; node names become host names and Patroni member names.
const (
	maxLabName    = 32
	maxRegionName = 32
	maxNodeName   = 24
	maxDCSMembers = 7
)

// DCSEtcd is the only consensus store kind in v1.
const DCSEtcd = "etcd"

// EngineKinds lists the valid engine kinds.
func EngineKinds() []EngineKind { return []EngineKind{EnginePostgres, EngineMariaDB} }

// DCSKinds lists the valid consensus store kinds.
func DCSKinds() []string { return []string{DCSEtcd} }

// ReplicationModes lists the valid replication modes, weakest first.
func ReplicationModes() []ReplicationMode {
	return []ReplicationMode{Async, SemiSync, Sync, SemiSyncAfterCommit}
}

// Backends lists the valid network backends.
func Backends() []Backend { return []Backend{BackendAuto, BackendKernel, BackendUserspace} }

// nodeRef is a node being resolved, with where it came from.
type nodeRef struct {
	region, path string
	ri, ni       int // index into Topology.Regions and Region.Nodes
	hasFailover  bool
	backup       bool // role backup: never a failover candidate
}

// resolver validates a decoded file and builds the Topology, applying every
// default. It reports all problems it can find; a check that depends on a
// value already reported as wrong is skipped rather than piled on.
type resolver struct {
	doc *document
	f   *format.File
	rep *report
	t   *Topology

	regions []string            // valid region names, file order
	nodes   map[string]*nodeRef // by node name, first occurrence
	order   []string            // node names, file order, no duplicates
	primary string              // "" when it could not be determined
	// skipped counts, per region, the nodes that could not be resolved
	// (already reported). Any of them might have been a candidate, so
	// candidate counts are lower bounds there.
	skipped map[string]int
	// retryOK is set when patroni.retry_timeout resolved without a problem.
	retryOK bool
}

func resolve(doc *document, rep *report) *Topology {
	r := &resolver{doc: doc, f: &doc.file, rep: rep, t: &Topology{}, nodes: map[string]*nodeRef{}, skipped: map[string]int{}}
	r.name()
	r.engine()
	r.regionsAndNodes()
	r.roles()
	r.primaryRegion()
	r.upstreams()
	if r.t.Engine.Kind == EngineMariaDB {
		r.mariadb()
	} else {
		r.notMariaDB()
		r.manager()
		r.notPatroniOnly()
		r.dcs()
		r.standby()
		r.patroni()
		r.t.patroniDCS = r.t.DCS
		if r.t.Manager != ManagerPatroni {
			r.t.DCS = DCS{}
		}
	}
	r.replication()
	if r.t.Engine.Kind != EngineMariaDB {
		r.postgresql()
	}
	r.network()
	r.sla()
	return r.t
}

func (r *resolver) errorf(path, format string, args ...any) {
	r.rep.errorf(r.doc.at(path), path, format, args...)
}

// knownRegion reports whether name is one of the file's regions, and
// reports it at path, with the nearest names, when it is not.
func (r *resolver) knownRegion(path, name string) bool {
	if slices.Contains(r.regions, name) {
		return true
	}
	r.errorf(path, "unknown region %q%s", name, suggest(name, r.regions, "regions"))
	return false
}

// missing reports whether path is absent (and not merely broken).
func (r *resolver) missing(path string) bool {
	return !r.doc.has(path) && !r.doc.broken(path)
}

func (r *resolver) name() {
	f := r.f
	r.t.Name, r.t.Description = f.Name, f.Description
	switch {
	case r.missing("name"):
		r.rep.errorf(r.doc.root, "name", "missing: add a lab name, like name: my-lab")
	case r.doc.has("name") && !validName(f.Name, maxLabName):
		r.errorf("name", "invalid name %q: %s", f.Name, nameRule(maxLabName))
	}
}

func (r *resolver) engine() {
	e := r.f.Engine
	r.t.Engine = Engine{Kind: EnginePostgres, Version: defaultEngineVersion, Image: e.Image}
	if r.doc.has("engine.kind") {
		r.t.Engine.Kind = EngineKind(e.Kind)
		if !slices.Contains(EngineKinds(), r.t.Engine.Kind) {
			r.errorf("engine.kind", "unknown engine kind %q%s", e.Kind, suggest(e.Kind, strs(EngineKinds()), "valid kinds"))
		}
	}
	if r.t.Engine.Kind == EngineMariaDB {
		r.mariadbEngine()
		return
	}
	if r.doc.has("engine.version") {
		r.t.Engine.Version = string(e.Version)
		switch v := r.t.Engine.Version; {
		case !versionRE.MatchString(v):
			r.errorf("engine.version", "invalid version %q: want digits and dots, like \"15\"", e.Version)
		case v != supportedMajor && !strings.HasPrefix(v, supportedMajor+"."):
			// The harness points Patroni's bin_dir at /usr/lib/postgresql/15/bin
			// whatever the version says: another major would run 15 on
			// replab's image, or fail at up on an image that has only its own.
			r.errorf("engine.version", "version %q is not supported: replab v1 runs PostgreSQL %s (the image contract's /usr/lib/postgresql/%s/bin); use version: \"%s\"", e.Version, supportedMajor, supportedMajor, supportedMajor)
		}
	}
	switch {
	case !r.doc.has("engine.image"):
	case e.Image == "" || strings.ContainsFunc(e.Image, isSpace):
		r.errorf("engine.image", "invalid image %q: want an image reference without spaces, like my/postgres-patroni:15", e.Image)
	case !validImageRef(e.Image):
		r.errorf("engine.image", "invalid image %q: Docker would refuse it at up; want a lowercase repository path with an optional registry host, :tag and @digest, like my/postgres-patroni:15", e.Image)
	}
}

// supportedMajor is the one PostgreSQL major version replab v1 runs.
const supportedMajor = "15"

var versionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// imageRefRE is Docker's image reference grammar (distribution/reference):
// [host[:port]/]path[:tag][@digest], path components lowercase.
var imageRefRE = func() *regexp.Regexp {
	const (
		alnum      = `[a-z0-9]+`
		separator  = `(?:[._]|__|[-]+)`
		component  = alnum + `(?:` + separator + alnum + `)*`
		domainPart = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host       = `(?:` + domainPart + `(?:\.` + domainPart + `)*|\[[a-fA-F0-9:]+\])`
		domain     = host + `(?::[0-9]+)?`
		tag        = `[\w][\w.-]{0,127}`
		digest     = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(?:` + domain + `/)?` + component + `(?:/` + component + `)*(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// validImageRef reports whether ref is an image reference Docker accepts:
// the grammar, and a repository name of at most 255 characters.
func validImageRef(ref string) bool {
	if !imageRefRE.MatchString(ref) {
		return false
	}
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return len(name) <= 255
}

// regionsAndNodes builds Topology.Regions in file order and checks region
// and node names. Failover and NoSync are settled later, once the primary
// region is known.
func (r *resolver) regionsAndNodes() {
	f := r.f
	if r.missing("regions") {
		r.rep.errorf(r.doc.root, "regions", "missing: declare at least one region, like regions: {local: {nodes: [{name: lab-1}]}}")
		return
	}
	if !r.doc.has("regions") {
		return
	}
	if len(f.Regions) == 0 {
		r.errorf("regions", "no regions: declare at least one region with nodes, like local: {nodes: [{name: lab-1}]}")
		return
	}
	firstAt := map[string]string{} // node name -> path of its first use
	for _, name := range r.doc.sortedKeys("regions", slices.Collect(maps.Keys(f.Regions))) {
		p := childPath("regions", name)
		if !validName(name, maxRegionName) {
			r.rep.errorf(r.doc.keyAt(p), p, "invalid region name %q: %s", name, nameRule(maxRegionName))
		}
		if r.doc.broken(p) {
			continue
		}
		reg := f.Regions[name]
		ri := len(r.t.Regions)
		r.t.Regions = append(r.t.Regions, Region{Name: name, Endpoint: reg.Endpoint})
		r.regions = append(r.regions, name)
		if len(reg.Nodes) == 0 && !r.doc.broken(p+".nodes") {
			r.rep.errorf(r.doc.keyAt(p), p, "region has no nodes: add nodes: [{name: %s-1}]", name)
			continue
		}
		for i, n := range reg.Nodes {
			np := fmt.Sprintf("%s.nodes[%d]", p, i)
			if r.doc.broken(np) {
				r.skipped[name]++
				continue
			}
			switch {
			case r.missing(np + ".name"):
				r.rep.errorf(r.doc.at(np), np+".name", "missing: every node needs a name, like {name: %s-%d}", name, i+1)
			case !r.doc.has(np + ".name"):
			case !validName(n.Name, maxNodeName):
				r.errorf(np+".name", "invalid node name %q: %s", n.Name, nameRule(maxNodeName))
			case reservedNodeName(n.Name):
				r.errorf(np+".name", "node name %q is taken by replab: rename the node; %s", n.Name, reservedNames)
			case firstAt[n.Name] != "":
				prev := firstAt[n.Name]
				r.errorf(np+".name", "duplicate node name %q (first at %s, line %d): node names are unique across the topology",
					n.Name, prev, r.doc.at(prev+".name").line)
			}
			if n.Name == "" || firstAt[n.Name] != "" {
				r.skipped[name]++
			} else {
				firstAt[n.Name] = np
				r.nodes[n.Name] = &nodeRef{region: name, path: np, ri: ri, ni: len(r.t.Regions[ri].Nodes), hasFailover: r.doc.has(np + ".failover")}
				r.order = append(r.order, n.Name)
			}
			r.t.Regions[ri].Nodes = append(r.t.Regions[ri].Nodes, Node{
				Name: n.Name, Region: name, Failover: n.Failover, Upstream: n.Upstream,
				Role: n.Role, NoLoadBalance: n.NoLoadBalance,
			})
		}
	}
}

// node returns the resolved node a reference points at.
func (r *resolver) node(ref *nodeRef) *Node { return &r.t.Regions[ref.ri].Nodes[ref.ni] }

// primaryRegion settles PrimaryRegion, then every node's Failover and
// NoSync: failover defaults to true in the primary region and is refused
// elsewhere; every node outside the primary region is nosync.
func (r *resolver) primaryRegion() {
	if len(r.regions) == 0 {
		return
	}
	if r.doc.has("primary_region") {
		pr := r.f.PrimaryRegion
		if !r.knownRegion("primary_region", pr) {
			return
		}
		r.primary = pr
	} else if r.doc.broken("primary_region") {
		return
	} else {
		// Without primary_region, failover defaults to true everywhere: the
		// primary region is the one region that has candidates.
		var cands []string
		for _, name := range r.order {
			ref := r.nodes[name]
			if r.doc.has("standby_cluster.region") && ref.region == r.f.StandbyCluster.Region {
				continue // the standby cluster's candidates lead only it
			}
			if (!ref.hasFailover || r.node(ref).Failover) && !ref.backup && !slices.Contains(cands, ref.region) {
				cands = append(cands, ref.region)
			}
		}
		switch {
		case len(cands) == 1:
			r.primary = cands[0]
		case len(cands) > 1:
			all := "all"
			if len(cands) == 2 {
				all = "both"
			}
			r.rep.errorf(r.doc.keyAt("regions"), "primary_region",
				"cannot tell which region is primary: %s %s have failover candidates (failover defaults to true); add primary_region: %s, and failover: false to the nodes outside it",
				andList(cands), all, cands[0])
			return
		case len(r.regions) == 1:
			r.primary = r.regions[0]
		default:
			if len(r.order) > 0 {
				r.rep.errorf(r.doc.keyAt("regions"), "regions",
					"no failover candidate: every node has failover: false or role backup; remove it from the nodes of the region the leader should live in")
			}
			return
		}
	}
	r.t.PrimaryRegion = r.primary
	for i := range r.t.Regions {
		if r.t.Regions[i].Name == r.primary {
			if p := childPath("regions", r.primary) + ".endpoint"; r.doc.has(p) && !r.t.Regions[i].Endpoint {
				r.errorf(p, "the primary region always has an endpoint (the harness's clients write through it): remove endpoint: false")
			}
			r.t.Regions[i].Endpoint = true
		}
	}
	stretched, dcsWrong := r.stretchedDCS()
	standby := r.standbyRegion()
	candidates := 0
	for _, name := range r.order {
		ref := r.nodes[name]
		n := r.node(ref)
		if ref.region == standby {
			// The standby cluster's nodes: candidates for its own
			// leadership unless they say otherwise, never synchronous.
			n.Standby, n.NoSync = true, true
			if !ref.hasFailover && !ref.backup {
				n.Failover = true
			}
			continue
		}
		if ref.region == r.primary {
			if !ref.hasFailover && !ref.backup {
				n.Failover = true
			}
			if n.Failover {
				candidates++
			}
			continue
		}
		n.NoSync = true
		if ref.hasFailover && n.Failover && !ref.backup {
			if r.t.Engine.Kind == EngineMariaDB {
				r.errorf(ref.path+".failover", "replab promotes MariaDB replicas of the primary region only (%s): %s is in %s; set failover: false", r.primary, name, ref.region)
				n.Failover = false
				continue
			}
			if stretched || dcsWrong {
				continue // dcs.regions' own error says what is wrong
			}
			r.errorf(ref.path+".failover",
				"a failover candidate outside the primary region needs a DCS stretched over regions: %s is in %s but the primary region is %s and every etcd member is in %s, so losing %s loses the DCS too; stretch it (dcs: {regions: [%s, %s, ...]}) or set failover: false",
				name, ref.region, r.primary, r.dcsHome(), r.dcsHome(), r.primary, ref.region)
		}
		n.Failover = false
	}
	if candidates == 0 && r.primaryHasNodes() && r.skipped[r.primary] == 0 {
		r.noCandidate()
	}
}

// standbyRegion is standby_cluster.region when it names a region other
// than the primary one ("" otherwise; standby reports what is wrong).
func (r *resolver) standbyRegion() string {
	reg := r.f.StandbyCluster.Region
	if !r.doc.has("standby_cluster.region") || reg == r.primary || !slices.Contains(r.regions, reg) {
		return ""
	}
	return reg
}

// standby resolves standby_cluster: a region other than the primary one,
// with a candidate for its leadership and an endpoint, and its own etcd.
func (r *resolver) standby() {
	if !r.doc.has("standby_cluster") {
		return
	}
	s := r.f.StandbyCluster
	switch {
	case r.missing("standby_cluster.region"):
		r.rep.errorf(r.doc.at("standby_cluster"), "standby_cluster.region", "missing: name the region whose nodes form the standby cluster, like standby_cluster: {region: %s}", r.otherRegion())
		return
	case !r.doc.has("standby_cluster.region"):
		return
	case !slices.Contains(r.regions, s.Region):
		r.errorf("standby_cluster.region", "unknown region %q%s", s.Region, suggest(s.Region, r.regions, "regions"))
		return
	case r.primary == "":
		return
	case s.Region == r.primary:
		r.errorf("standby_cluster.region", "%s is the primary region: the standby cluster must live in another region (it is what survives the primary's loss), like %s", s.Region, r.otherRegion())
		return
	}
	members := 1
	if r.doc.has("standby_cluster.dcs_members") {
		members = s.DCSMembers
		if members < 1 || members > maxStandbyDCSMembers {
			r.errorf("standby_cluster.dcs_members", "the standby cluster's etcd needs 1 to %d members, got %d", maxStandbyDCSMembers, members)
			return
		}
	}
	r.t.Standby = StandbyCluster{Region: s.Region, DCSMembers: members}
	lead := false
	for i := range r.t.Regions {
		reg := &r.t.Regions[i]
		if reg.Name != s.Region {
			continue
		}
		if p := childPath("regions", reg.Name) + ".endpoint"; r.doc.has(p) && !reg.Endpoint {
			r.errorf(p, "the standby cluster's region needs its endpoint: its clients write through it once it is promoted; remove endpoint: false")
		}
		reg.Endpoint = true
		for _, n := range reg.Nodes {
			lead = lead || n.Failover
		}
	}
	if !lead && r.skipped[s.Region] == 0 {
		r.errorf("standby_cluster.region", "no node of %s may lead the standby cluster: every one has failover: false or role backup; let one lead", s.Region)
	}
	for _, name := range r.order {
		ref := r.nodes[name]
		up, p := r.node(ref).Upstream, ref.path+".upstream"
		if up == "" || r.nodes[up] == nil || !r.doc.has(p) {
			continue
		}
		if inStandby, upInStandby := ref.region == s.Region, r.nodes[up].region == s.Region; inStandby != upInStandby {
			r.errorf(p, "%s and %s are in different clusters (%s holds the standby cluster): a node replicates from a node of its own cluster; the standby leader replicates from the primary cluster", name, up, s.Region)
		}
	}
}

// maxStandbyDCSMembers is how many etcd members a standby cluster may
// have: their addresses sit between the primary's etcd and the nodes.
const maxStandbyDCSMembers = 3

// otherRegion is a region other than the primary one, for examples.
func (r *resolver) otherRegion() string {
	for _, reg := range r.regions {
		if reg != r.primary {
			return reg
		}
	}
	return "dr"
}

// stretchedDCS reports whether the file spreads etcd over more than one
// valid region (dcs.regions), and whether dcs.regions is wrong (an error
// dcs reports); the DCS itself is resolved later.
func (r *resolver) stretchedDCS() (stretched, wrong bool) {
	if r.doc.broken("dcs.regions") {
		return false, true
	}
	if !r.doc.has("dcs.regions") {
		return false, false
	}
	seen := map[string]bool{}
	for _, reg := range r.f.DCS.Regions {
		if !slices.Contains(r.regions, reg) {
			return false, true
		}
		seen[reg] = true
	}
	return len(seen) > 1, len(seen) == 0
}

// dcsHome is the one region the etcd members run in when the DCS is not
// stretched, as the file says it.
func (r *resolver) dcsHome() string {
	if r.doc.has("dcs.region") {
		return r.f.DCS.Region
	}
	return r.primary
}

func (r *resolver) primaryHasNodes() bool {
	for _, name := range r.order {
		if r.nodes[name].region == r.primary {
			return true
		}
	}
	return false
}

// candidates counts the failover candidates in the primary region.
func (r *resolver) candidates() int {
	c := 0
	for _, name := range r.order {
		if ref := r.nodes[name]; ref.region == r.primary && r.node(ref).Failover {
			c++
		}
	}
	return c
}

// upstreams checks cascading replication: every upstream names another
// existing node, and following upstreams always ends at a node that
// replicates from the leader.
func (r *resolver) upstreams() {
	valid := map[string]string{} // node -> upstream, for cycle detection
	for _, name := range r.order {
		ref := r.nodes[name]
		up := r.node(ref).Upstream
		p := ref.path + ".upstream"
		if !r.doc.has(p) {
			continue
		}
		switch {
		case up == name:
			r.errorf(p, "a node cannot replicate from itself: remove upstream, or name another node")
		case r.nodes[up] == nil:
			r.errorf(p, "unknown node %q%s", up, suggest(up, sorted(r.order), "nodes"))
		default:
			valid[name] = up
		}
	}
	state := map[string]int{} // 0 unvisited, 1 on the current chain, 2 done
	for _, start := range r.order {
		var chain []string
		cur := start
		for state[cur] == 0 {
			state[cur] = 1
			chain = append(chain, cur)
			next, ok := valid[cur]
			if !ok {
				break
			}
			cur = next
		}
		if state[cur] == 1 && valid[chain[len(chain)-1]] == cur {
			cycle := chain[slices.Index(chain, cur):]
			// Report at the member that comes first in the file.
			first := 0
			for i, n := range cycle {
				if slices.Index(r.order, n) < slices.Index(r.order, cycle[first]) {
					first = i
				}
			}
			cycle = append(cycle[first:], cycle[:first]...)
			path := append(slices.Clone(cycle), cycle[0])
			r.errorf(r.nodes[cycle[0]].path+".upstream",
				"upstream cycle %s (each replicates from the next): remove one upstream so that the chain reaches the leader",
				strings.Join(path, " → "))
		}
		for _, n := range chain {
			state[n] = 2
		}
	}
}

func (r *resolver) dcs() {
	d := r.f.DCS
	r.t.DCS = DCS{Kind: DCSEtcd, Members: defaultDCSMembers, Region: r.primary}
	if r.doc.has("dcs.kind") {
		r.t.DCS.Kind = d.Kind
		if !slices.Contains(DCSKinds(), d.Kind) {
			r.errorf("dcs.kind", "unknown dcs kind %q%s", d.Kind, suggest(d.Kind, DCSKinds(), "valid kinds"))
		}
	}
	if r.doc.has("dcs.members") {
		m := d.Members
		r.t.DCS.Members = m
		switch {
		case m < 1 || m > maxDCSMembers:
			r.errorf("dcs.members", "etcd needs 1 to %d members, got %d", maxDCSMembers, m)
		case m%2 == 0:
			r.rep.warnf(r.doc.at("dcs.members"), "dcs.members",
				"an even member count adds no fault tolerance: %d members tolerate %s, as %d do; use %d or %d",
				m, plural((m-1)/2, "failure", "failures"), m-1, m-1, m+1)
		}
	}
	if r.doc.has("dcs.region") {
		r.t.DCS.Region = d.Region
		r.knownRegion("dcs.region", d.Region)
	}
	if r.doc.has("dcs.regions") {
		r.dcsRegions()
		return
	}
	r.t.DCS.Regions = nil
	for range max(r.t.DCS.Members, 0) {
		r.t.DCS.Regions = append(r.t.DCS.Regions, r.t.DCS.Region)
	}
}

// dcsRegions spreads the members over dcs.regions, one per region in
// turn, and warns where a region's loss takes the quorum with it.
func (r *resolver) dcsRegions() {
	d := r.f.DCS
	if r.doc.has("dcs.region") {
		r.errorf("dcs.regions", "dcs.region and dcs.regions both say where etcd runs: keep regions (one member per region in turn) and remove region")
		return
	}
	if len(d.Regions) == 0 {
		r.errorf("dcs.regions", "no regions: list the regions etcd's members are spread over, like [%s]", strings.Join(r.regions, ", "))
		return
	}
	ok := true
	for i, reg := range d.Regions {
		if !r.knownRegion(fmt.Sprintf("dcs.regions[%d]", i), reg) {
			ok = false
		}
		if j := slices.Index(d.Regions, reg); j < i {
			r.errorf(fmt.Sprintf("dcs.regions[%d]", i), "region %q listed twice (first at dcs.regions[%d]): members are spread over the list in turn, so list each region once", reg, j)
			ok = false
		}
	}
	if !r.doc.has("dcs.members") {
		r.t.DCS.Members = len(d.Regions)
	} else if r.t.DCS.Members < len(d.Regions) {
		r.errorf("dcs.members", "%d members cannot cover the %d regions of dcs.regions: raise members to at least %d, or list fewer regions", r.t.DCS.Members, len(d.Regions), len(d.Regions))
		ok = false
	}
	if !ok {
		return
	}
	r.t.DCS.Region = d.Regions[0]
	r.t.DCS.Regions = nil
	for i := range r.t.DCS.Members {
		r.t.DCS.Regions = append(r.t.DCS.Regions, d.Regions[i%len(d.Regions)])
	}
	quorum := r.t.DCS.Members/2 + 1
	for _, reg := range d.Regions {
		if left := r.t.DCS.Members - r.t.DCS.MembersIn(reg); left < quorum && len(d.Regions) > 1 {
			r.rep.warnf(r.doc.at("dcs.regions"), "dcs.regions",
				"losing %s takes the etcd quorum with it (%d of %d members left, %d needed): spread the members over at least three regions so that any one can be lost",
				reg, left, r.t.DCS.Members, quorum)
			break
		}
	}
}

func (r *resolver) patroni() {
	p := r.f.Patroni
	ttl, ok1 := r.duration("patroni.ttl", p.TTL, defaultTTL)
	loop, ok2 := r.duration("patroni.loop_wait", p.LoopWait, defaultLoopWait)
	retry, ok3 := r.duration("patroni.retry_timeout", p.RetryTimeout, defaultRetryTimeout)
	r.t.Patroni = Patroni{TTL: ttl, LoopWait: loop, RetryTimeout: retry}
	ok1 = ok1 && r.atLeast("patroni.ttl", "ttl", ttl, minTTL)
	ok2 = ok2 && r.atLeast("patroni.loop_wait", "loop_wait", loop, minLoopWait)
	ok3 = ok3 && r.atLeast("patroni.retry_timeout", "retry_timeout", retry, minRetryTimeout)
	r.retryOK = ok3
	if !ok1 || !ok2 || !ok3 {
		return
	}
	// Patroni takes whole seconds; the harness rounds each value up, so
	// the rule holds on the rounded values (1s + 2*9.5s fits 20s, but
	// 1s + 2*10s, what Patroni gets, does not).
	rounded := ceilSeconds(ttl) != ttl || ceilSeconds(loop) != loop || ceilSeconds(retry) != retry
	if rounded {
		ttl, loop, retry = ceilSeconds(ttl), ceilSeconds(loop), ceilSeconds(retry)
	}
	if need := loop + 2*retry; need > ttl {
		path := "patroni.ttl"
		switch {
		case r.doc.has("patroni.ttl"):
		case r.doc.has("patroni.retry_timeout"):
			path = "patroni.retry_timeout"
		case r.doc.has("patroni.loop_wait"):
			path = "patroni.loop_wait"
		}
		note := ""
		if rounded {
			note = " (Patroni takes whole seconds: replab rounds each value up)"
		}
		r.errorf(path, "loop_wait + 2*retry_timeout = %s + 2*%s = %s exceeds ttl %s%s, which Patroni 3.2+ refuses: raise ttl to %s or lower the others",
			loop, retry, need, ttl, note, need)
	}
}

// atLeast checks one of Patroni 3.2+'s lower bounds.
func (r *resolver) atLeast(path, key string, got, least time.Duration) bool {
	if got >= least {
		return true
	}
	r.errorf(path, "%s %s is below %s, the minimum Patroni 3.2+ accepts", key, got, least)
	return false
}

// duration parses a Go duration at path, or returns def when path is
// absent. It reports unparsable and negative values; ok is false then, and
// when the value was already reported as the wrong type.
func (r *resolver) duration(path string, text format.Duration, def time.Duration) (time.Duration, bool) {
	if !r.doc.has(path) {
		return def, !r.doc.broken(path)
	}
	d, err := time.ParseDuration(string(text))
	if err != nil {
		r.errorf(path, "invalid duration %q: want a number with a unit, like 20s or 80ms (units: ns, us, ms, s, m, h)", text)
		return def, false
	}
	if d < 0 {
		r.errorf(path, "must not be negative, got %s", d)
		return def, false
	}
	return d, true
}

// percent parses a percentage at path, or returns def when path is absent,
// and checks it is within 0% to 100%.
func (r *resolver) percent(path, what string, text format.Percent, def units.Percent) (units.Percent, bool) {
	if !r.doc.has(path) {
		return def, !r.doc.broken(path)
	}
	p, err := units.ParsePercent(string(text))
	if err != nil || math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
		r.errorf(path, "invalid %s %q: want a percentage from 0%% to 100%%, like 0.1%%", what, text)
		return def, false
	}
	if p < 0 || p > 100 {
		r.errorf(path, "%s %s is outside 0%%–100%%", what, p)
		return def, false
	}
	return p, true
}

func (r *resolver) replication() {
	rp := r.f.Replication
	mode := defaultMode
	modeOK := !r.doc.broken("replication.mode")
	if r.doc.has("replication.mode") {
		mode = ReplicationMode(rp.Mode)
		if !slices.Contains(ReplicationModes(), mode) {
			r.errorf("replication.mode", "unknown replication mode %q%s", rp.Mode, suggest(rp.Mode, strs(ReplicationModes()), "valid modes"))
			modeOK = false
		} else if !r.engineMode(mode) {
			modeOK = false
		}
	}
	n := 1
	if mode == Async {
		n = 0
	}
	explicit := r.doc.has("replication.sync_standbys")
	countOK := !r.doc.broken("replication.sync_standbys")
	if explicit {
		n = rp.SyncStandbys
		switch {
		case n < 0:
			r.errorf("replication.sync_standbys", "must not be negative, got %d", n)
			countOK = false
		case !modeOK:
		case mode == Async && n > 0:
			r.errorf("replication.sync_standbys", "async replication has no synchronous standbys: remove sync_standbys, or use mode: semi-sync")
			countOK = false
		case mode != Async && n == 0:
			r.errorf("replication.sync_standbys", "%s needs at least 1 synchronous standby: use mode: async for none", mode)
			countOK = false
		}
	}
	if explicit && countOK && modeOK {
		countOK = r.mariadbStandbys(mode, n)
	}
	r.t.Replication = Replication{Mode: mode, SyncStandbys: n}
	if modeOK && mode != Async && r.t.Engine.Kind != EngineMariaDB {
		r.remoteCandidatesNeedAsync(mode)
	}
	if !modeOK || !countOK || mode == Async || r.primary == "" {
		return
	}
	// The leader is one of the candidates; every synchronous standby must
	// be another, so that promoting it loses nothing.
	c := r.candidates()
	if c == 0 || n <= c+r.skipped[r.primary]-1 {
		if r.skipped[r.primary] == 0 {
			r.cascadingStandbys(mode, n)
		}
		return
	}
	if explicit {
		r.errorf("replication.sync_standbys", "%s at least %d failover candidates in %s, found %d%s: add candidates or lower sync_standbys",
			plural(n, "synchronous standby needs", "synchronous standbys need"), n+1, r.primary, c, r.backupNote())
		return
	}
	msg := fmt.Sprintf("%s waits for 1 synchronous standby by default, which needs at least 2 failover candidates in %s, found %d%s: add a candidate, or use mode: async",
		mode, r.primary, c, r.backupNote())
	switch {
	case r.doc.has("replication.mode"):
		r.errorf("replication.mode", "%s", msg)
	case r.doc.has("replication"):
		r.rep.errorf(r.doc.keyAt("replication"), "replication", "%s", msg)
	default:
		// Nothing about replication is written: point at the nodes.
		p := childPath("regions", r.primary)
		r.rep.errorf(r.doc.keyAt(p), p, "%s", msg)
	}
}

// remoteCandidatesNeedAsync warns about failover candidates outside the
// primary region in a synchronous mode: Patroni's synchronous_mode lets
// only a synchronous standby take over, every synchronous standby is in
// the primary region (nodes elsewhere are nosync), so when that region is
// lost the candidates elsewhere stay replicas.
func (r *resolver) remoteCandidatesNeedAsync(mode ReplicationMode) {
	for _, name := range r.order {
		ref := r.nodes[name]
		if ref.region == r.primary || !r.node(ref).Failover || r.node(ref).Standby {
			continue
		}
		at := "replication.mode"
		if !r.doc.has(at) {
			at = ref.path + ".failover"
		}
		r.rep.warnf(r.doc.at(at), at,
			"%s is a failover candidate in %s, but in %s mode Patroni promotes only a synchronous standby and those are all in %s: when %s is lost, %s stays a replica and nothing leads; use mode: async for a failover across regions",
			name, ref.region, mode, r.primary, r.primary, name)
		return
	}
}

// cascadingStandbys refuses candidates whose upstream leaves a leader too
// few synchronous standbys. Patroni picks synchronous standbys among the
// leader's own walsenders, so a candidate that replicates from another node
// (Patroni's replicatefrom) counts only while that node leads; up waits for
// sync_standbys of them and would wait forever.
func (r *resolver) cascadingStandbys(mode ReplicationMode, n int) {
	var cands []string
	for _, name := range r.order {
		ref := r.nodes[name]
		if ref.region != r.primary || !r.node(ref).Failover {
			continue
		}
		if up := r.node(ref).Upstream; up != "" && (up == name || r.nodes[up] == nil) {
			return // reported by upstreams
		}
		cands = append(cands, name)
	}
	for _, leader := range cands {
		direct := 0
		var cascading []string
		for _, name := range cands {
			if name == leader {
				continue
			}
			if up := r.node(r.nodes[name]).Upstream; up == "" || up == leader {
				direct++
			} else {
				cascading = append(cascading, name)
			}
		}
		if direct >= n || len(cascading) == 0 {
			continue
		}
		name := cascading[0]
		up := r.node(r.nodes[name]).Upstream
		r.errorf(r.nodes[name].path+".upstream",
			"failover candidate %s replicates from %s, so it is no synchronous standby while another node leads: with %s leading, %d of the %s %s waits for stream from the leader; remove upstream from the candidates, or lower sync_standbys",
			name, up, leader, direct, plural(n, "synchronous standby", "synchronous standbys"), mode)
		return
	}
}

func (r *resolver) network() {
	nw := r.f.Network
	t := &r.t.Network
	t.Backend = defaultBackend
	if r.doc.has("network.backend") {
		t.Backend = Backend(nw.Backend)
		if !slices.Contains(Backends(), t.Backend) {
			r.errorf("network.backend", "unknown backend %q%s", nw.Backend, suggest(nw.Backend, strs(Backends()), "valid backends"))
		}
	}
	var pctOK, absOK bool
	t.TolerancePct, pctOK = r.percent("network.tolerance.pct", "tolerance", nw.Tolerance.Pct, defaultTolerancePct)
	t.ToleranceAbs, absOK = r.duration("network.tolerance.abs", nw.Tolerance.Abs, defaultToleranceAbs)
	var checks []linkCheck

	type pair struct{ a, b string }
	declared := map[pair]string{} // unordered pair -> path of the link that declares it
	// A link whose regions are wrong was meant to declare some pair; saying
	// that pair is missing too would pile on.
	allNamed := true
	for i, l := range nw.Links {
		lp := fmt.Sprintf("network.links[%d]", i)
		if r.doc.broken(lp) {
			continue
		}
		link := Link{}
		named := false // Between holds two known, distinct regions
		bp := lp + ".between"
		switch {
		case r.missing(bp):
			r.rep.errorf(r.doc.at(lp), bp, "missing: name the two regions this link joins, like between: [us-east, eu-west]")
			allNamed = false
		case !r.doc.has(bp):
			allNamed = false
		case len(l.Between) != 2:
			r.errorf(bp, "want exactly two regions, got %d, like between: [us-east, eu-west]", len(l.Between))
			allNamed = false
		default:
			link.Between = [2]string{l.Between[0], l.Between[1]}
			known := true
			for j, name := range l.Between {
				if !slices.Contains(r.regions, name) && !r.doc.broken(fmt.Sprintf("%s[%d]", bp, j)) {
					r.errorf(fmt.Sprintf("%s[%d]", bp, j), "unknown region %q%s", name, suggest(name, r.regions, "regions"))
					known = false
				}
			}
			if !known {
				allNamed = false
				break
			}
			a, b := l.Between[0], l.Between[1]
			if a == b {
				r.errorf(bp, "a link joins two different regions; traffic inside %s stays on its LAN", a)
				break
			}
			key := pair{min(a, b), max(a, b)}
			if prev, dup := declared[key]; dup {
				r.errorf(bp, "duplicate link between %s and %s (first at %s, line %d): keep one", a, b, prev, r.doc.at(prev).line)
				break
			}
			declared[key] = lp
			named = true
		}
		rttPath := lp + ".rtt"
		rttOK := false
		if r.missing(rttPath) {
			r.rep.errorf(r.doc.at(lp), rttPath, "missing: add the round-trip time, like rtt: 80ms")
		} else {
			link.RTT, rttOK = r.duration(rttPath, l.RTT, 0)
			rttOK = rttOK && r.doc.has(rttPath)
		}
		var jitterOK bool
		link.Jitter, jitterOK = r.duration(lp+".jitter", l.Jitter, 0)
		if rttOK && jitterOK && link.Jitter > link.RTT/2 {
			r.errorf(lp+".jitter", "jitter %s is more than half the rtt (%s each way), which would need negative delays: lower it to at most %s",
				link.Jitter, link.RTT/2, link.RTT/2)
		}
		var lossOK, rateOK bool
		link.Loss, lossOK = r.percent(lp+".loss", "loss", l.Loss, 0)
		if lossOK && link.Loss == 100 {
			r.errorf(lp+".loss", "loss 100%% drops every packet: the two regions could never reach each other, and up would wait for their replicas until it gives up; keep loss below 100%% (replab chaos partition cuts regions apart during a run)")
		}
		link.Rate, rateOK = r.rate(lp+".rate", l.Rate)
		t.Links = append(t.Links, link)
		checks = append(checks, linkCheck{path: lp, link: link, named: named, rttOK: rttOK && jitterOK && link.Jitter <= link.RTT/2, rateOK: rateOK})
	}
	r.linkChecks(checks, pctOK && absOK)
	if len(r.regions) < 2 || r.doc.broken("network.links") || !allNamed {
		return
	}
	// Point at links:, else network:, else the regions that need links.
	at := r.doc.keyAt("network.links")
	if !r.doc.has("network.links") && !r.doc.has("network") {
		at = r.doc.keyAt("regions")
	}
	for i, a := range r.regions {
		for _, b := range r.regions[i+1:] {
			if _, ok := declared[pair{min(a, b), max(a, b)}]; ok {
				continue
			}
			r.rep.errorf(at, "network.links",
				"missing link between %s and %s: every pair of regions needs one; add to network.links: - {between: [%s, %s], rtt: 100ms}", a, b, a, b)
		}
	}
}

// linkCheck is a resolved link and which of its values are usable.
type linkCheck struct {
	path   string
	link   Link
	named  bool // Between holds two known, distinct regions
	rttOK  bool // rtt and jitter resolved, jitter at most rtt/2
	rateOK bool
}

// pingBytes is the size of one of up's RTT probes (ping's default 56 data
// bytes, ICMP and IPv4 headers) as a rate shapes it: the kernel backend's
// netem counts the Ethernet header too, the userspace agent the IP packet.
func pingBytes(b Backend) int {
	if b == BackendUserspace {
		return 84
	}
	return 98
}

// pingResolution is how finely up's RTT check can measure a round trip of
// rtt: ping prints three significant digits (1ms from 100ms up, 0.1ms from
// 10ms), and a ping between two containers on one host takes about 0.1ms
// with no delay at all.
func pingResolution(rtt time.Duration) time.Duration {
	if rtt >= 100*time.Millisecond {
		return time.Millisecond
	}
	return 100 * time.Microsecond
}

// linkChecks refuses links that validate one by one but that up cannot
// build or verify: a rate or a tolerance its RTT check cannot hold, and a
// round trip to the etcd region that Patroni's retry_timeout cannot wait
// for. Links with a value already reported are skipped.
func (r *resolver) linkChecks(checks []linkCheck, tolOK bool) {
	nw := &r.t.Network
	tolReported := false
	for _, c := range checks {
		l := c.link
		if !c.rttOK {
			continue
		}
		// up's RTT check (harness verifyWAN) allows the larger of the two
		// tolerances around the declared rtt.
		tol := max(time.Duration(float64(l.RTT)*float64(nw.TolerancePct)/100), nw.ToleranceAbs)
		if tolOK && c.rateOK && l.Rate > 0 {
			size := pingBytes(nw.Backend)
			bits := float64(2 * size * 8)
			extra := time.Duration(bits / float64(l.Rate) * float64(time.Second))
			if extra > tol {
				least := units.BitRate(math.Ceil(bits/tol.Seconds()/1000) * 1000)
				r.errorf(c.path+".rate", "rate %s adds %s to every round trip of up's RTT check (one %d-byte ping each way), more than its tolerance of %s around rtt %s: up would refuse the lab; raise rate to at least %s, or widen network.tolerance",
					l.Rate, extra.Round(time.Microsecond), size, tol, l.RTT, least)
			}
		}
		if tolOK && !tolReported {
			if res := pingResolution(l.RTT); tol < res {
				tolReported = true
				path := "network.tolerance"
				switch {
				case r.doc.has("network.tolerance.abs"):
					path = "network.tolerance.abs"
				case r.doc.has("network.tolerance.pct"):
					path = "network.tolerance.pct"
				}
				r.errorf(path, "tolerance allows %s around the rtt %s of %s, finer than up's RTT check can measure (%s at that rtt: ping's resolution, and the 0.1ms a ping between containers takes): up would refuse the lab; raise tolerance.abs to at least %s",
					tol, l.RTT, c.path, res, res)
			}
		}
		r.dcsLink(c)
	}
}

// dcsLink refuses a link to the etcd region whose round trip Patroni
// cannot wait for: a node across it gives up every call to etcd after
// retry_timeout (as the harness renders it, in whole seconds), so it never
// joins and up waits for it until it gives up.
func (r *resolver) dcsLink(c linkCheck) {
	a, b := c.link.Between[0], c.link.Between[1]
	dcsA, dcsB := slices.Contains(r.t.DCS.Regions, a), slices.Contains(r.t.DCS.Regions, b)
	if !c.named || !r.retryOK || (!dcsA && !dcsB) {
		return
	}
	dcs, far := a, b
	if !dcsA {
		dcs, far = b, a
	}
	retry := ceilSeconds(r.t.Patroni.RetryTimeout)
	worst := c.link.RTT + 2*c.link.Jitter
	if worst < retry {
		return
	}
	rt := fmt.Sprintf("rtt %s", c.link.RTT)
	if c.link.Jitter > 0 {
		rt = fmt.Sprintf("a round trip of up to %s (rtt %s + 2*jitter %s)", worst, c.link.RTT, c.link.Jitter)
	}
	r.errorf(c.path+".rtt", "%s between %s and %s, where etcd runs, is not below patroni.retry_timeout %s: Patroni on %s's nodes would give up every call to etcd before the answer arrives, so they would never join; lower rtt, or raise retry_timeout (and ttl to at least loop_wait + 2*retry_timeout)",
		rt, far, dcs, retry, far)
}

// ceilSeconds rounds d up to whole seconds, as the harness does when it
// writes Patroni's configuration (Patroni takes whole seconds).
func ceilSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}

var rateRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$`)

// maxRate is the fastest rate a link may declare: the kernel backend's HTB
// classes run at 100gbit (netem.kernelClassRate), so a faster netem rate
// would never shape, and the bps units would overflow BitRate long before.
const maxRate = units.BitRate(100e9)

// rate parses a tc-style rate with units.ParseBitRate; an absent rate is 0
// (unlimited). ok is false when the rate was reported. A zero rate is
// refused: netem reads 0 as "no limit", so rate: 0mbit would silently give
// the opposite of what it says; so is a negative one.
func (r *resolver) rate(path string, text format.Rate) (br units.BitRate, ok bool) {
	if !r.doc.has(path) {
		return 0, !r.doc.broken(path)
	}
	known := units.RateUnits()
	if t := strings.TrimSpace(string(text)); strings.HasPrefix(t, "-") {
		if m := rateRE.FindStringSubmatch(t[1:]); m != nil && slices.Contains(known, strings.ToLower(m[2])) {
			r.errorf(path, "rate %s is negative: want a positive rate, like 100mbit, or remove rate for an unlimited link", text)
			return 0, false
		}
	}
	m := rateRE.FindStringSubmatch(string(text))
	if m != nil {
		unit := strings.ToLower(m[2])
		perUnit, ok := units.RateUnitBits(unit)
		if !ok {
			r.errorf(path, "invalid rate %q: unknown unit %q%s", text, m[2], suggest(m[2], known, "units"))
			return 0, false
		}
		if v, err := strconv.ParseFloat(m[1], 64); err == nil {
			switch bps := v * perUnit; {
			case bps < 1:
				// BitRate counts whole bits per second: below 1bit it is 0.
				what := "is zero"
				if v > 0 {
					what = "rounds to zero (below 1bit)"
				}
				r.errorf(path, "rate %s %s, which netem reads as unlimited: want a positive rate, like 100mbit, or remove rate for an unlimited link", text, what)
				return 0, false
			case bps > float64(maxRate):
				r.errorf(path, "rate %s is above %s, the fastest rate replab shapes: lower it, or remove rate for an unlimited link", text, maxRate)
				return 0, false
			}
			if br, err := units.ParseBitRate(string(text)); err == nil {
				return br, true
			}
		}
	}
	r.errorf(path, "invalid rate %q: want a number and a unit (bit, kbit, mbit, gbit, or bps, kbps, mbps, gbps for bytes per second), like 100mbit", text)
	return 0, false
}

func (r *resolver) sla() {
	s := r.f.SLA
	out := &r.t.SLA
	if r.target("sla.failover_time", "max", "failover_time: {max: 30s}") {
		if d, ok := r.duration("sla.failover_time.max", s.FailoverTime.Max, 0); ok {
			if d == 0 {
				r.errorf("sla.failover_time.max", "impossible target: a failover always takes some time; want a positive duration, like 30s")
			} else {
				out.FailoverTimeMax = &d
				if ttl := r.t.Patroni.TTL; d < ttl {
					r.rep.warnf(r.doc.at("sla.failover_time.max"), "sla.failover_time.max",
						"%s is below patroni.ttl %s: a crashed leader's lock only expires after ttl, so failovers after a crash take longer", d, ttl)
				}
			}
		}
	}
	if r.target("sla.lost_writes", "max", "lost_writes: {max: 0}") {
		n := s.LostWrites.Max
		if n < 0 {
			r.errorf("sla.lost_writes.max", "impossible target: want 0 or more lost writes, got %d", n)
		} else {
			out.LostWritesMax = &n
			// With one candidate nobody else can be promoted: a crashed
			// leader comes back with every write it flushed.
			if n == 0 && r.t.Replication.Mode == Async && r.candidates() > 1 {
				r.rep.warnf(r.doc.at("sla.lost_writes.max"), "sla.lost_writes.max",
					"async replication can lose acknowledged writes when the leader crashes: expect this target to fail under leader loss, or use mode: semi-sync")
			}
		}
	}
	if r.target("sla.replication_lag", "p99", "replication_lag: {p99: 2s}") {
		if d, ok := r.duration("sla.replication_lag.p99", s.ReplicationLag.P99, 0); ok {
			out.ReplicationLagP99 = &d
		}
	}
	out.AllowInconclusive = s.AllowInconclusive
	if r.target("sla.availability", "min", "availability: {min: 99.9%}") {
		p := "sla.availability.min"
		v, err := units.ParsePercent(string(s.Availability.Min))
		switch {
		case err != nil || math.IsNaN(float64(v)):
			r.errorf(p, "invalid availability %q: want a percentage, like 99.9%%", s.Availability.Min)
		case v <= 0 || v > 100:
			r.errorf(p, "impossible target: availability must be above 0%% and at most 100%%, got %s", v)
		default:
			out.AvailabilityMin = &v
		}
	}
}

// target reports whether an SLA target is declared with its one key
// present, and reports a declared target without it.
func (r *resolver) target(path, key, example string) bool {
	if !r.doc.has(path) {
		return false
	}
	kp := childPath(path, key)
	if r.missing(kp) {
		r.rep.errorf(r.doc.keyAt(path), kp, "missing: declare the target, like %s", example)
		return false
	}
	return r.doc.has(kp)
}

// reservedNames says which names replab's own containers take. The harness
// (harness/engine.go newPlan, harness/lab.go) gives every lab member, node or
// not, one name used as its container name (replab-<lab id>-<name>), its
// host name, its DNS alias on the lab network and its key in the harness's
// tables; a node with one of these names would clash with replab's own
// container at up ("container name already in use").
const reservedNames = "`haproxy` and `haproxy-<region>` (the lab's endpoints), `etcd-1`..`etcd-N` and `dr-etcd-1`..`dr-etcd-N` (one per etcd member) are replab's own containers and host names in every lab"

// reservedNodeName reports whether a node name is one replab gives its own
// containers: haproxy, haproxy-<anything> (so that adding an endpoint
// never makes a valid topology invalid), or etcd-<number> (any number, so
// that raising dcs.members never does either).
func reservedNodeName(s string) bool {
	if s == "haproxy" || strings.HasPrefix(s, "haproxy-") {
		return true
	}
	n, ok := strings.CutPrefix(s, "etcd-")
	if !ok {
		n, ok = strings.CutPrefix(s, "dr-etcd-")
	}
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// validName reports whether s is 1 to max characters from a-z, 0-9 and -,
// not starting or ending with -: safe as a host, container and network name.
func validName(s string, max int) bool {
	if s == "" || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func nameRule(max int) string {
	return fmt.Sprintf("use 1 to %d characters from a-z, 0-9 and -, not starting or ending with -", max)
}

func isSpace(c rune) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// andList formats "a and b" or "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
