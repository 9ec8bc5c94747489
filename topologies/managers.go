package topologies

import (
	"fmt"
	"slices"
	"time"

	"github.com/replab/replab/topologies/internal/format"
)

// ManagerKind names the PostgreSQL failover manager.
type ManagerKind string

const (
	// ManagerPatroni is Patroni with etcd as its DCS (the default).
	ManagerPatroni ManagerKind = "patroni"
	// ManagerPGAutoFailover is pg_auto_failover: a monitor (a PostgreSQL
	// of its own) decides every role change; a keeper on each node
	// carries them out.
	ManagerPGAutoFailover ManagerKind = "pg_auto_failover"
	// ManagerRepmgr is repmgr: repmgrd on each node watches its upstream
	// and promotes a standby when the primary is lost, optionally asking
	// a witness first. No consensus store: nothing fences a former primary.
	ManagerRepmgr ManagerKind = "repmgr"
)

// ManagerKinds lists the valid managers, the default first.
func ManagerKinds() []ManagerKind {
	return []ManagerKind{ManagerPatroni, ManagerPGAutoFailover, ManagerRepmgr}
}

// PGAutoFailover is pg_auto_failover's settings: where the monitor runs,
// the monitor's health-check GUCs and the keeper's partition timeout.
type PGAutoFailover struct {
	// Region is the monitor's.
	Region                  string
	HealthCheckPeriod       time.Duration
	HealthCheckTimeout      time.Duration
	HealthCheckMaxRetries   int
	HealthCheckRetryDelay   time.Duration
	UnhealthyTimeout        time.Duration
	PrimaryDemoteTimeout    time.Duration
	NetworkPartitionTimeout time.Duration
}

// Repmgr is repmgr's settings.
type Repmgr struct {
	// Witness is the witness node's region; empty without one.
	Witness           string
	ReconnectAttempts int
	ReconnectInterval time.Duration
	MonitorInterval   time.Duration
}

// Manager's defaults: each manager's own, as its release documents them.
var (
	// PGAutoFailoverDefaults are pg_auto_failover 2.0's (its monitor's
	// pgautofailover.* GUCs and the keeper's timeout section); the
	// monitor's region is filled in by the resolver.
	PGAutoFailoverDefaults = PGAutoFailover{
		HealthCheckPeriod:       5 * time.Second,
		HealthCheckTimeout:      5 * time.Second,
		HealthCheckMaxRetries:   2,
		HealthCheckRetryDelay:   2 * time.Second,
		UnhealthyTimeout:        20 * time.Second,
		PrimaryDemoteTimeout:    30 * time.Second,
		NetworkPartitionTimeout: 20 * time.Second,
	}
	// RepmgrDefaults are repmgr 5.3's (repmgr.conf.sample), no witness.
	RepmgrDefaults = Repmgr{
		ReconnectAttempts: 6,
		ReconnectInterval: 10 * time.Second,
		MonitorInterval:   2 * time.Second,
	}
	// PatroniDefaults are Patroni's own (ttl 30, loop_wait 10,
	// retry_timeout 10), not replab's faster defaults for a patroni
	// block's absent keys: replab compare runs "at the manager's
	// defaults" with these.
	PatroniDefaults = Patroni{TTL: 30 * time.Second, LoopWait: 10 * time.Second, RetryTimeout: 10 * time.Second}
)

// manager resolves manager and the pg_auto_failover and repmgr blocks.
// Every block is validated whatever the manager, so that one file serves
// replab compare; the DCS exists only for Patroni.
func (r *resolver) manager() {
	r.t.Manager = ManagerPatroni
	if r.doc.has("manager") {
		r.t.Manager = ManagerKind(r.f.Manager)
		if !slices.Contains(ManagerKinds(), r.t.Manager) {
			r.errorf("manager", "unknown manager %q%s", r.f.Manager, suggest(r.f.Manager, strs(ManagerKinds()), "valid managers"))
			r.t.Manager = ManagerPatroni
		}
	}
	p := r.f.PGAutoFailover
	d := PGAutoFailoverDefaults
	a := PGAutoFailover{Region: r.primary}
	if r.doc.has("pg_auto_failover.region") {
		a.Region = p.Region
		r.knownRegion("pg_auto_failover.region", p.Region)
	}
	a.HealthCheckPeriod = r.positive("pg_auto_failover.health_check_period", p.HealthCheckPeriod, d.HealthCheckPeriod, time.Millisecond)
	a.HealthCheckTimeout = r.positive("pg_auto_failover.health_check_timeout", p.HealthCheckTimeout, d.HealthCheckTimeout, time.Millisecond)
	a.HealthCheckRetryDelay = r.positive("pg_auto_failover.health_check_retry_delay", p.HealthCheckRetryDelay, d.HealthCheckRetryDelay, time.Millisecond)
	a.UnhealthyTimeout = r.positive("pg_auto_failover.node_considered_unhealthy_timeout", p.UnhealthyTimeout, d.UnhealthyTimeout, time.Millisecond)
	a.PrimaryDemoteTimeout = r.positive("pg_auto_failover.primary_demote_timeout", p.PrimaryDemoteTimeout, d.PrimaryDemoteTimeout, time.Millisecond)
	a.NetworkPartitionTimeout = r.positive("pg_auto_failover.network_partition_timeout", p.NetworkPartitionTimeout, d.NetworkPartitionTimeout, time.Second)
	if a.PrimaryDemoteTimeout <= a.NetworkPartitionTimeout {
		path := "pg_auto_failover.primary_demote_timeout"
		if !r.doc.has(path) {
			path = "pg_auto_failover.network_partition_timeout"
		}
		r.errorf(path, "primary_demote_timeout %s must exceed network_partition_timeout %s: the monitor would let a new primary take writes before a primary cut off from everyone has demoted itself (split-brain); raise primary_demote_timeout or lower network_partition_timeout", a.PrimaryDemoteTimeout, a.NetworkPartitionTimeout)
	}
	a.HealthCheckMaxRetries = d.HealthCheckMaxRetries
	if path := "pg_auto_failover.health_check_max_retries"; r.doc.has(path) {
		// The monitor's GUC takes 1 to 100; it would not start otherwise.
		if n := p.HealthCheckMaxRetries; n < 1 || n > 100 {
			r.errorf(path, "%d is outside the 1 to 100 pgautofailover.health_check_max_retries takes: use 2 (its default), or 1 to fail over sooner", n)
		} else {
			a.HealthCheckMaxRetries = n
		}
	}
	r.t.PGAutoFailover = a

	m := r.f.Repmgr
	rd := RepmgrDefaults
	g := Repmgr{}
	if r.doc.has("repmgr.witness") {
		g.Witness = m.Witness
		r.knownRegion("repmgr.witness", m.Witness)
	}
	g.ReconnectInterval = r.positive("repmgr.reconnect_interval", m.ReconnectInterval, rd.ReconnectInterval, time.Second)
	g.MonitorInterval = r.positive("repmgr.monitor_interval", m.MonitorInterval, rd.MonitorInterval, time.Second)
	g.ReconnectAttempts = rd.ReconnectAttempts
	if r.doc.has("repmgr.reconnect_attempts") {
		g.ReconnectAttempts = r.count("repmgr.reconnect_attempts", m.ReconnectAttempts)
	}
	r.t.Repmgr = g
}

// positive resolves a duration that must be at least least; whole
// seconds when least is a second (the setting takes seconds).
func (r *resolver) positive(path string, text format.Duration, def, least time.Duration) time.Duration {
	d, ok := r.duration(path, text, def)
	if !ok {
		return def
	}
	switch {
	case d < least:
		r.errorf(path, "%s is below %s: use at least %s, or remove it for the default %s", d, least, least, def)
		return def
	case d > maxManagerSetting:
		r.errorf(path, "%s is above %s, the most the setting takes (a 32-bit count of milliseconds): use less, or remove it for the default %s", d, maxManagerSetting, def)
		return def
	case least == time.Second && d%time.Second != 0:
		r.errorf(path, "%s is not whole seconds: the setting takes seconds; use %s", d, ceilSeconds(d))
		return def
	}
	return d
}

// maxManagerSetting is the longest duration the managers' settings take:
// pg_auto_failover's GUCs count milliseconds in a 32-bit integer.
const maxManagerSetting = time.Duration(1<<31-1) * time.Millisecond

// count resolves a non-negative integer.
func (r *resolver) count(path string, n int) int {
	if n < 0 {
		r.errorf(path, "must not be negative, got %d", n)
		return 0
	}
	return n
}

// notPatroniOnly refuses what only Patroni's lab provisions when another
// manager runs: a standby cluster is a second Patroni cluster, and the
// image contract covers PostgreSQL with Patroni.
func (r *resolver) notPatroniOnly() {
	if r.t.Manager == ManagerPatroni {
		return
	}
	if r.doc.has("standby_cluster") {
		r.rep.errorf(r.doc.keyAt("standby_cluster"), "standby_cluster", "a standby cluster is a second Patroni cluster and manager is %s: remove standby_cluster, or use manager: patroni", r.t.Manager)
	}
	if r.doc.has("engine.image") {
		r.errorf("engine.image", "the image contract covers PostgreSQL with Patroni: manager %s runs on replab's own image only (it has pg_auto_failover 2.0 and repmgr 5.3); remove image, or use manager: patroni", r.t.Manager)
	}
}

// WithManager returns a copy of t run by manager kind: at the manager's
// own defaults when defaults is set, else at t's settings for it. The
// DCS is Patroni's: another manager runs without etcd.
func (t *Topology) WithManager(kind ManagerKind, defaults bool) (*Topology, error) {
	if !slices.Contains(ManagerKinds(), kind) {
		return nil, fmt.Errorf("select manager %q: unknown (valid: %v)", kind, ManagerKinds())
	}
	if t.Engine.Kind != EnginePostgres {
		return nil, fmt.Errorf("select manager %s: engine %s has no failover manager to choose", kind, t.Engine.Kind)
	}
	if kind != ManagerPatroni && t.Engine.Image != "" {
		return nil, fmt.Errorf("select manager %s: %s runs its own image (engine.image), which the image contract makes Patroni's", kind, t.Name)
	}
	if kind != ManagerPatroni && t.Standby.Region != "" {
		return nil, fmt.Errorf("select manager %s: %s has a standby cluster, which is Patroni's", kind, t.Name)
	}
	c := *t
	c.Manager = kind
	if defaults {
		c.Patroni = PatroniDefaults
		a := PGAutoFailoverDefaults
		a.Region = t.PGAutoFailover.Region
		c.PGAutoFailover = a
		g := RepmgrDefaults
		g.Witness = t.Repmgr.Witness
		c.Repmgr = g
	}
	if kind == ManagerPatroni && c.DCS.Members == 0 {
		c.DCS = t.patroniDCS
	}
	if kind != ManagerPatroni {
		c.DCS = DCS{}
	}
	return &c, nil
}

// ManagerSettings are the failover manager and the settings a failover
// time is made of, as key=value for reports: the keys are the topology
// file's paths.
func (t *Topology) ManagerSettings() map[string]string {
	s := map[string]string{"manager": string(t.Manager)}
	switch t.Manager {
	case ManagerPGAutoFailover:
		a := t.PGAutoFailover
		s["pg_auto_failover.region"] = a.Region
		s["pg_auto_failover.health_check_period"] = a.HealthCheckPeriod.String()
		s["pg_auto_failover.health_check_timeout"] = a.HealthCheckTimeout.String()
		s["pg_auto_failover.health_check_max_retries"] = fmt.Sprint(a.HealthCheckMaxRetries)
		s["pg_auto_failover.health_check_retry_delay"] = a.HealthCheckRetryDelay.String()
		s["pg_auto_failover.node_considered_unhealthy_timeout"] = a.UnhealthyTimeout.String()
		s["pg_auto_failover.primary_demote_timeout"] = a.PrimaryDemoteTimeout.String()
		s["pg_auto_failover.network_partition_timeout"] = a.NetworkPartitionTimeout.String()
	case ManagerRepmgr:
		g := t.Repmgr
		w := g.Witness
		if w == "" {
			w = "none"
		}
		s["repmgr.witness"] = w
		s["repmgr.reconnect_attempts"] = fmt.Sprint(g.ReconnectAttempts)
		s["repmgr.reconnect_interval"] = g.ReconnectInterval.String()
		s["repmgr.monitor_interval"] = g.MonitorInterval.String()
	case ManagerPatroni:
		s["patroni.ttl"] = t.Patroni.TTL.String()
		s["patroni.loop_wait"] = t.Patroni.LoopWait.String()
		s["patroni.retry_timeout"] = t.Patroni.RetryTimeout.String()
	default:
		return nil
	}
	return s
}
