package harness

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/replab/replab/topologies"
)

// Ports used inside every container. Host ports are published on 127.0.0.1
// only and chosen by Docker.
const (
	portPostgres = 5432
	portPatroni  = 8008
	portEtcd     = 2379
	portEtcdPeer = 2380
	portRW       = 5000
	portRO       = 5001
	portStats    = 7000
)

// Paths inside the node image (see docs/image-contract.md).
const (
	patroniConfigPath = "/etc/replab/patroni.yml"
	haproxyConfigPath = "/etc/replab/haproxy.cfg"
	pgBinDir          = "/usr/lib/postgresql/15/bin"
	pgDataDir         = pgHome + "/data"
	// pgHome is a named volume per node: through Docker's storage driver
	// (worst on fuse-overlayfs, which puts a FUSE daemon in the write
	// path) initdb, base backups and WAL cost CPU the lab needs elsewhere,
	// and a volume outlives a container restart as the container's own
	// layer does.
	pgHome       = "/var/lib/postgresql"
	etcdHome     = "/var/lib/etcd"
	dcsNamespace = "/replab/"
)

// Credentials are generated per lab; nothing is shared between labs.
type Credentials struct {
	Superuser  string `json:"superuser"`
	SuperPass  string `json:"superuser_password"`
	Replicator string `json:"replicator"`
	ReplPass   string `json:"replicator_password"`
	Rewinder   string `json:"rewinder"`
	RewindPass string `json:"rewinder_password"`
	// Checker is HAProxy's health-check account on a MariaDB lab.
	Checker   string `json:"checker,omitempty"`
	CheckPass string `json:"checker_password,omitempty"`
	// App is the clients' account on a MariaDB lab: every privilege on
	// replab's database and, globally, only SLAVE MONITOR, so read_only
	// binds it. MariaDB
	// 10.11 lets an account with ALL ON *.* (READ_ONLY ADMIN) write on a
	// read-only node, which would make a demoted primary look fenced to
	// a check of @@read_only and still take the writer's rows.
	App     string `json:"app,omitempty"`
	AppPass string `json:"app_password,omitempty"`
}

// plan is the pure, address-resolved layout of a lab: which container gets
// which name, IP and command. It is computed before anything starts, so a
// bad topology fails before Docker is touched.
type plan struct {
	LabID   string
	Scope   string // Patroni cluster name
	Subnet  netip.Prefix
	Gateway netip.Addr
	Etcd    []member
	// StandbyEtcd is the standby cluster's own etcd (dr-etcd-N), empty
	// without one.
	StandbyEtcd []member
	Nodes       []member
	// Proxies are the endpoints, one per endpoint region, the primary
	// region's first (named haproxy; the others haproxy-<region>).
	Proxies []member
	// EtcdHeartbeat and EtcdElection are etcd's raft timings, from the
	// round trip between its members (etcdTimings).
	EtcdHeartbeat, EtcdElection time.Duration
	// PGTemplate is the node image's initdb template (see
	// nodeimage.Spec.PGTemplate); empty when the image has none.
	PGTemplate string
	// Engine is the topology's engine kind.
	Engine topologies.EngineKind
	// Manager is the PostgreSQL failover manager; "" on MariaDB.
	Manager topologies.ManagerKind
	// Coordinator is pg_auto_failover's monitor or repmgr's witness
	// (coordinator); empty under Patroni, whose coordinator is Etcd.
	Coordinator []member
}

type member struct {
	Name   string // container hostname and DNS alias
	Region string
	IP     netip.Addr
	Node   topologies.Node // zero for etcd and proxy
}

// maxProxies is how many endpoints fit below etcd's addresses.
const maxProxies = 8

// ProxyName is the container of the endpoint in region: haproxy in the
// primary region, haproxy-<region> elsewhere.
func proxyName(t *topologies.Topology, region string) string {
	if region == t.PrimaryRegion {
		return "haproxy"
	}
	return "haproxy-" + region
}

// newPlan assigns addresses: .2+ the proxies, .10+ etcd, .17+ the standby
// cluster's etcd, .20+ database nodes.
func newPlan(labID string, t *topologies.Topology, subnet netip.Prefix) (plan, error) {
	base := subnet.Masked().Addr()
	nth := func(i int) netip.Addr {
		a := base.As4()
		a[3] = byte(i)
		return netip.AddrFrom4(a)
	}
	if subnet.Bits() > 24 {
		return plan{}, fmt.Errorf("plan lab %s: subnet %s too small, want a /24 or larger", labID, subnet)
	}
	p := plan{LabID: labID, Scope: t.Name, Subnet: subnet, Gateway: nth(1), Engine: t.Engine.Kind, Manager: t.Manager}
	p.Coordinator = coordinator(t, func(i int) member { return member{IP: nth(i)} })
	endpoints := t.EndpointRegions()
	if len(endpoints) > maxProxies {
		return plan{}, fmt.Errorf("plan lab %s: %d regions with an endpoint, at most %d fit", labID, len(endpoints), maxProxies)
	}
	for i, r := range endpoints {
		p.Proxies = append(p.Proxies, member{Name: proxyName(t, r), Region: r, IP: nth(2 + i)})
	}
	dcsRegion := t.DCS.Region
	if dcsRegion == "" {
		dcsRegion = t.PrimaryRegion
	}
	for i := 0; i < t.DCS.Members; i++ {
		r := dcsRegion
		if i < len(t.DCS.Regions) {
			r = t.DCS.Regions[i]
		}
		p.Etcd = append(p.Etcd, member{Name: fmt.Sprintf("etcd-%d", i+1), Region: r, IP: nth(10 + i)})
	}
	p.EtcdHeartbeat, p.EtcdElection = etcdTimings(t)
	for i := range t.Standby.DCSMembers {
		p.StandbyEtcd = append(p.StandbyEtcd, member{Name: fmt.Sprintf("dr-etcd-%d", i+1), Region: t.Standby.Region, IP: nth(17 + i)})
	}
	nodes := t.Nodes()
	if len(nodes) > 200 {
		return plan{}, fmt.Errorf("plan lab %s: %d nodes do not fit a /24", labID, len(nodes))
	}
	for i, n := range nodes {
		p.Nodes = append(p.Nodes, member{Name: n.Name, Region: n.Region, IP: nth(20 + i), Node: n})
	}
	return p, nil
}

// etcdTimings are etcd's heartbeat interval and election timeout: 50ms and
// 500ms on a LAN; across regions, as etcd's tuning guide says, a heartbeat
// of about the worst round trip between members (RTT plus twice the
// jitter) and an election timeout of ten of them, or a follower would
// start elections while the leader's heartbeats are still on the wire.
// The price is slower detection of a dead etcd leader.
func etcdTimings(t *topologies.Topology) (heartbeat, election time.Duration) {
	heartbeat, election = 50*time.Millisecond, 500*time.Millisecond
	for i, a := range t.DCS.Regions {
		for _, b := range t.DCS.Regions[i+1:] {
			if l, ok := t.Link(a, b); ok && a != b {
				rtt := (l.RTT + 2*l.Jitter).Round(time.Millisecond)
				heartbeat = max(heartbeat, rtt)
				election = max(election, 10*rtt)
			}
		}
	}
	return heartbeat, election
}

// etcdHosts lists the etcd members' client addresses for a node in
// region: the members of its own region first, then the others in member
// order. With a DCS stretched over regions Patroni is told to keep to
// that order (etcdConfig), so each node talks to its own region's member.
func (p plan) etcdHosts(region string) []string {
	var near, far []member
	for _, e := range p.Etcd {
		if e.Region == region {
			near = append(near, e)
		} else {
			far = append(far, e)
		}
	}
	return hostPorts(append(near, far...))
}

// etcdConfig is a node's etcd3 section. With members in several regions
// use_proxies makes Patroni use the hosts as listed (its own region's
// member first, the next only when that one fails) instead of the member
// list etcd reports, which it shuffles: a node would otherwise send every
// call, the leader key's refresh included, to whichever member the shuffle
// put first, across the WAN as often as not.
func (p plan) etcdConfig(region string) map[string]any {
	c := map[string]any{"hosts": p.etcdHosts(region)}
	for _, e := range p.Etcd {
		if e.Region != p.Etcd[0].Region {
			c["use_proxies"] = true
			break
		}
	}
	return c
}

// etcdCommand is the etcd member's command line. Data lives on a named
// volume (etcdHome), not in the container's layer, where fsync goes
// through fuse-overlayfs; and not on a tmpfs, which a killed member would
// lose: restarted with an empty log while the raft leader remembers how
// far it had replicated to it, etcd panics ("tocommit is out of range"),
// so a region outage could not be healed.
func (p plan) etcdCommand(i int) []string {
	return p.etcdCommandOf(p.Etcd, i, "replab-"+p.LabID, p.EtcdHeartbeat, p.EtcdElection)
}

// standbyEtcdCommand is the command of the standby cluster's etcd member
// i: a cluster of its own, on one region's LAN.
func (p plan) standbyEtcdCommand(i int) []string {
	return p.etcdCommandOf(p.StandbyEtcd, i, "replab-"+p.LabID+"-dr", 50*time.Millisecond, 500*time.Millisecond)
}

func (p plan) etcdCommandOf(members []member, i int, token string, heartbeat, election time.Duration) []string {
	e := members[i]
	var initial []string
	for _, o := range members {
		initial = append(initial, fmt.Sprintf("%s=http://%s:%d", o.Name, o.IP, portEtcdPeer))
	}
	return []string{
		"etcd",
		"--name", e.Name,
		"--data-dir", etcdHome + "/data",
		"--listen-client-urls", fmt.Sprintf("http://0.0.0.0:%d", portEtcd),
		"--advertise-client-urls", fmt.Sprintf("http://%s:%d", e.IP, portEtcd),
		"--listen-peer-urls", fmt.Sprintf("http://0.0.0.0:%d", portEtcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://%s:%d", e.IP, portEtcdPeer),
		"--initial-cluster", strings.Join(initial, ","),
		"--initial-cluster-state", "new",
		"--initial-cluster-token", token,
		"--heartbeat-interval", strconv.FormatInt(heartbeat.Milliseconds(), 10),
		"--election-timeout", strconv.FormatInt(election.Milliseconds(), 10),
		// etcd 3.5's default, off in 3.4: a member cut off from the
		// others keeps raising its term; without a pre-vote it deposes
		// the leader when the cut heals, and the DCS answers nobody for
		// an election or more, long enough for Patroni to demote the
		// leader it just elected (seen on region-partition).
		"--pre-vote",
	}
}

// patroniNice is the niceness Patroni, and the PostgreSQL it starts, run
// at in a node. The userspace netem agent shares the node with them (and
// its container's share of the cores) and releases held packets when its
// timer fires: whenever it waits behind a bootstrapping PostgreSQL the
// wait is added to the link's delay. Running the database below the agent
// needs no capability (lowering one's own priority never does), where
// raising the agent above it would need CAP_SYS_NICE. It changes nothing
// between the nodes, which all run at the same niceness.
const patroniNice = 10

// HAProxyChecks is how often HAProxy asks each node's Patroni whether it
// leads (or replicates): a new leader is routed to within inter + a
// fastinter or two after Patroni promotes it. Scenarios report it with
// the failover time it is part of.
const HAProxyChecks = "inter 500ms fastinter 250ms fall 2 rise 1"

// nodeCommand is a database node's command line.
func nodeCommand() []string {
	return []string{"nice", "-n", strconv.Itoa(patroniNice), "patroni", patroniConfigPath}
}

// synchronousCommit maps a replication mode onto PostgreSQL. The modes
// differ in what the leader waits for before it acknowledges a commit:
//
//	async      leader waits for nobody          synchronous_commit=on (local flush only)
//	semi-sync  a standby has received the WAL   synchronous_commit=remote_write
//	sync       a standby has applied the WAL    synchronous_commit=remote_apply
//
// In semi-sync and sync Patroni's synchronous_mode names the standbys in
// synchronous_standby_names and only promotes one of them.
func synchronousCommit(m topologies.ReplicationMode) string {
	switch m {
	case topologies.SemiSync:
		return "remote_write"
	case topologies.Sync:
		return "remote_apply"
	}
	return "on"
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

type patroniFile struct {
	Scope     string            `yaml:"scope"`
	Namespace string            `yaml:"namespace"`
	Name      string            `yaml:"name"`
	RestAPI   map[string]string `yaml:"restapi"`
	Etcd3     map[string]any    `yaml:"etcd3"`
	Bootstrap map[string]any    `yaml:"bootstrap"`
	Postgres  map[string]any    `yaml:"postgresql"`
	Tags      map[string]any    `yaml:"tags"`
}

// pgParameters are the PostgreSQL parameters every node gets, whichever
// manager runs it: replab's own, then the topology's, which override
// them (validation refuses the ones replab and the managers own).
func pgParameters(t *topologies.Topology) map[string]any {
	params := map[string]any{
		"synchronous_commit":    synchronousCommit(t.Replication.Mode),
		"wal_level":             "replica",
		"hot_standby":           "on",
		"wal_log_hints":         "on",
		"max_wal_senders":       20,
		"max_replication_slots": 20,
		"wal_keep_size":         "256MB",
		"max_connections":       100,
		"shared_buffers":        "32MB",
		// Feedback keeps replay conflicts (cancelled queries on a
		// follower) out of baseline runs; chaos turns it off on purpose.
		"hot_standby_feedback":   "on",
		"track_commit_timestamp": "on",
	}
	// The topology's own come last: they override replab's defaults above
	// (validation refuses the ones replab and Patroni own).
	for _, p := range t.PostgreSQL.Parameters {
		params[p.Name] = p.Value
	}
	return params
}

// patroniConfig renders patroni.yml for one node. It is pure and
// golden-tested.
func patroniConfig(t *topologies.Topology, p plan, n member, c Credentials) ([]byte, error) {
	syncMode := t.Replication.Mode != topologies.Async
	params := pgParameters(t)
	dcs := map[string]any{
		"ttl":                     seconds(t.Patroni.TTL),
		"loop_wait":               seconds(t.Patroni.LoopWait),
		"retry_timeout":           seconds(t.Patroni.RetryTimeout),
		"maximum_lag_on_failover": 16 << 20,
		"synchronous_mode":        syncMode,
		"postgresql": map[string]any{
			"use_pg_rewind": true,
			"use_slots":     true,
			"parameters":    params,
		},
	}
	if syncMode {
		dcs["synchronous_node_count"] = t.Replication.SyncStandbys
	}
	scope, etcd3 := p.Scope, p.etcdConfig(n.Region)
	if n.Node.Standby {
		// The standby cluster: a scope and an etcd of its own, its
		// leader replicating from the primary cluster through the
		// primary region's endpoint (whose rw route follows the primary
		// cluster's leader), by base backup; async inside it.
		scope, etcd3 = p.standbyScope(), map[string]any{"hosts": hostPorts(p.StandbyEtcd)}
		dcs["synchronous_mode"] = false
		delete(dcs, "synchronous_node_count")
		dcs["standby_cluster"] = p.standbyClusterConfig(p.Proxies[0])
	}
	cidr := p.Subnet.Masked().String()
	hba := []string{
		"local all all trust",
		"host replication " + c.Replicator + " " + cidr + " scram-sha-256",
		"host all all " + cidr + " scram-sha-256",
	}
	cfg := patroniFile{
		Scope:     scope,
		Namespace: dcsNamespace,
		Name:      n.Name,
		RestAPI: map[string]string{
			"listen":          fmt.Sprintf("0.0.0.0:%d", portPatroni),
			"connect_address": fmt.Sprintf("%s:%d", n.IP, portPatroni),
		},
		Etcd3: etcd3,
		Bootstrap: map[string]any{
			"dcs": dcs,
			// no-sync: a lab's fresh cluster has nothing to lose yet, and
			// the fsync of initdb costs half a second of bring-up. These
			// options are nodeimage.Recipe().PGInitdb's, which the image's
			// template was made with (TestInitdbMatchesTheTemplate).
			"initdb": []any{map[string]string{"encoding": "UTF8"}, "data-checksums", "no-sync"},
			"pg_hba": hba,
		},
		Postgres: map[string]any{
			"listen":          fmt.Sprintf("0.0.0.0:%d", portPostgres),
			"connect_address": fmt.Sprintf("%s:%d", n.IP, portPostgres),
			"data_dir":        pgDataDir,
			"bin_dir":         pgBinDir,
			"pgpass":          "/tmp/pgpass",
			// A fast checkpoint: the default spread one makes a replica's
			// base backup of an idle leader wait seconds for nothing.
			"basebackup": []any{map[string]string{"checkpoint": "fast"}},
			"authentication": map[string]any{
				"superuser":   map[string]string{"username": c.Superuser, "password": c.SuperPass},
				"replication": map[string]string{"username": c.Replicator, "password": c.ReplPass},
				"rewind":      map[string]string{"username": c.Rewinder, "password": c.RewindPass},
			},
			"parameters": map[string]any{
				"unix_socket_directories": "/var/run/postgresql",
			},
		},
		Tags: map[string]any{
			"nofailover":    !n.Node.Failover,
			"noloadbalance": n.Node.NoLoadBalance,
			"clonefrom":     false,
			"nosync":        n.Node.NoSync,
		},
	}
	if p.PGTemplate != "" && !n.Node.Standby {
		// The standby cluster's nodes copy the primary's data instead.
		cfg.Bootstrap["method"] = templateMethod
		cfg.Bootstrap[templateMethod] = map[string]string{"command": templateBootstrapCommand(p.PGTemplate)}
		cfg.Postgres["create_replica_methods"] = []string{templateMethod, "basebackup"}
		cfg.Postgres[templateMethod] = map[string]string{"command": templateCloneCommand(p.PGTemplate, hba)}
	}
	if n.Node.Upstream != "" {
		for _, o := range p.Nodes {
			if o.Name == n.Node.Upstream {
				cfg.Tags["replicatefrom"] = o.Name
			}
		}
	}
	out, err := yaml.MarshalWithOptions(cfg, yaml.Indent(2))
	if err != nil {
		return nil, fmt.Errorf("render patroni config for %s: %w", n.Name, err)
	}
	return out, nil
}

// templateMethod names the custom bootstrap and replica method that unpack
// the image's initdb template (Patroni passes --datadir, and to a replica
// method --connstring, the leader's replication connection).
//
// The leader bootstraps from it instead of running initdb. A replica is
// cloned from it instead of taking a base backup of the leader, then
// streams from the leader from the template's checkpoint on: the leader
// started from the same bytes, so the template is the leader's data
// directory as of its first start, and the leader still has every WAL
// segment since then while its WAL position is below
// templateCloneLimit (half its wal_keep_size), on timeline 1, with the
// template's system identifier. The clone checks all three (IDENTIFY_SYSTEM
// over the replication connection) and otherwise fails, so that Patroni
// takes a base backup instead: after a failover, a long run or a reinit.
const (
	templateMethod     = "replab_template"
	templateCloneLimit = 128 << 20
	templateWALKeep    = "256MB"
)

// templateBootstrapCommand is the leader's custom bootstrap command. Patroni
// splits it with shlex: the script holds no single quote.
func templateBootstrapCommand(tpl string) string {
	script := `set -eu
for a do case "$a" in --datadir=*) d="${a#--datadir=}";; esac; done
mkdir -p "$d"
chmod 700 "$d"
tar -xzf ` + tpl + ` -C "$d"`
	return "sh -c '" + script + "' " + templateMethod
}

// templateCloneCommand is the replica method's command (see templateMethod).
// hba is bootstrap.pg_hba: Patroni appended it to the leader's pg_hba.conf
// (initdb's, which lets Patroni in over 127.0.0.1), and a base backup
// would have copied that file; the clone appends it to the template's.
func templateCloneCommand(tpl string, hba []string) string {
	var lines strings.Builder
	for _, h := range hba {
		lines.WriteString(` "` + h + `"`)
	}
	script := `set -eu
d= c=
for a do case "$a" in --datadir=*) d="${a#--datadir=}";; --connstring=*) c="${a#--connstring=}";; esac; done
id=$(` + pgBinDir + `/psql "$c replication=true" -XAtc IDENTIFY_SYSTEM -F " ") || exit 1
set -- $id
pos=$3
if [ "$2" != 1 ] || [ "${pos%%/*}" != 0 ] || [ $((0x${pos#*/})) -ge ` + strconv.Itoa(templateCloneLimit) + ` ]; then
  echo "` + templateMethod + `: the leader is at $pos on timeline $2, past what it keeps since the template: taking a base backup" >&2
  exit 1
fi
mkdir -p "$d"
chmod 700 "$d"
tar -xzf ` + tpl + ` -C "$d"
printf "%s\n"` + lines.String() + ` >> "$d/pg_hba.conf"
if [ "$(` + pgBinDir + `/pg_controldata "$d" | sed -n "s/^Database system identifier: *//p")" != "$1" ]; then
  echo "` + templateMethod + `: the leader is not a cluster made from the template: taking a base backup" >&2
  rm -rf "$d"
  exit 1
fi`
	return "sh -c '" + script + "' " + templateMethod
}

// haproxyConfig renders the endpoint: port 5000 goes to whichever member
// Patroni's REST API calls the primary, port 5001 round-robins over
// replicas (the canonical Patroni deployment). Checks run every 500ms and a
// member is down after two failures, so the endpoint follows a failover
// within about a second of Patroni. A node with the noloadbalance tag is
// left out of ro altogether: Patroni answers 503 to its /replica check
// anyway, but HAProxy counts a server up until its first checks fail, so
// listing it would send it reads for that while.
//
// A lab with one endpoint serves clients of every region, and its ro
// route balances over every replica. With endpoints in several regions,
// each is its region's: its ro route balances over the region's own
// replicas and lists the others as backup servers, used only when none of
// the region's is up; rw goes to the leader wherever it is.
func haproxyConfig(p plan, proxy member) []byte {
	var b strings.Builder
	global := ""
	if p.Engine == topologies.EngineMariaDB || p.Manager != topologies.ManagerPatroni {
		// The MariaDB check, and PostgreSQL's without Patroni's REST API,
		// are scripts HAProxy forks (mariadbCheckScript, pgCheckScript).
		global = "    external-check\n    insecure-fork-wanted\n"
	}
	fmt.Fprintf(&b, `global
    maxconn 2000
%s
defaults
    mode tcp
    log global
    retries 1
    timeout connect 1s
    timeout client 30m
    timeout server 30m
    timeout check 1s

listen stats
    mode http
    bind *:%d
    stats enable
    stats uri /

`, global, portStats)
	section := func(name string, port int, check string, nodes []member, backup func(member) bool) {
		switch {
		case p.Engine == topologies.EngineMariaDB:
			fmt.Fprintf(&b, "listen %s\n    bind *:%d\n    option external-check\n    external-check path \"/usr/bin:/bin\"\n    external-check command %s\n", name, port, mariadbCheckPath)
		case p.Manager != topologies.ManagerPatroni:
			fmt.Fprintf(&b, "listen %s\n    bind *:%d\n    option external-check\n    external-check path \"/usr/lib/postgresql/15/bin:/usr/bin:/bin\"\n    external-check command %s\n", name, port, pgCheckPath)
		default:
			fmt.Fprintf(&b, "listen %s\n    bind *:%d\n    option httpchk OPTIONS %s\n    http-check expect status 200\n", name, port, check)
		}
		if name == "ro" {
			b.WriteString("    balance roundrobin\n")
		}
		b.WriteString("    default-server " + HAProxyChecks + " on-marked-down shutdown-sessions\n")
		for _, n := range nodes {
			switch {
			case p.Engine == topologies.EngineMariaDB:
				fmt.Fprintf(&b, "    server %s %s:%d maxconn 200 check", n.Name, n.IP, portMariaDB)
			case p.Manager != topologies.ManagerPatroni:
				fmt.Fprintf(&b, "    server %s %s:%d maxconn 200 check", n.Name, n.IP, portPostgres)
			default:
				fmt.Fprintf(&b, "    server %s %s:%d maxconn 200 check port %d", n.Name, n.IP, portPostgres, portPatroni)
			}
			if backup(n) {
				b.WriteString(" backup")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	nodes := append([]member(nil), p.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	never := func(member) bool { return false }
	section("rw", portRW, "/primary", nodes, never)
	var balanced []member
	local := 0
	for _, n := range nodes {
		if !n.Node.NoLoadBalance {
			balanced = append(balanced, n)
			if n.Region == proxy.Region {
				local++
			}
		}
	}
	remote := never
	if len(p.Proxies) > 1 && local > 0 {
		remote = func(n member) bool { return n.Region != proxy.Region }
	}
	section("ro", portRO, "/replica", balanced, remote)
	return []byte(b.String())
}

// standbyScope is the standby cluster's Patroni scope.
func (p plan) standbyScope() string { return p.Scope + "-dr" }

// standbyClusterConfig is Patroni's standby_cluster section: replicate
// from the rw route of the endpoint proxy, by base backup.
func (p plan) standbyClusterConfig(proxy member) map[string]any {
	return map[string]any{
		"host":                   proxy.IP.String(),
		"port":                   portRW,
		"create_replica_methods": []string{"basebackup"},
	}
}

// hostPorts lists members' etcd client addresses.
func hostPorts(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s:%d", m.IP, portEtcd)
	}
	return out
}
