package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Selector resolves its targets when a fault is injected: "the leader"
// means whoever leads at that moment.
type Selector interface {
	// Resolve names the selected hosts. except holds what the other side of
	// a partition selected; only Rest uses it.
	Resolve(ctx context.Context, c Cluster, except []string) ([]string, error)
	String() string
}

// ErrNoTarget is returned when a selector matches no host now (no
// synchronous standby, no follower, an empty region).
var ErrNoTarget = errors.New("no host matches the selector")

type leaderSelector struct{}

func (leaderSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	name, err := c.LeaderName(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolve the leader: %w", err)
	}
	return []string{name}, nil
}
func (leaderSelector) String() string { return "the leader" }

// Leader selects whoever leads when the fault is injected.
var Leader Selector = leaderSelector{}

type syncSelector struct{}

func (syncSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	ms, err := members(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Role == "replica" && m.SyncState == "sync" {
			return []string{m.Name}, nil
		}
	}
	return nil, fmt.Errorf("resolve a synchronous standby: %w (none is in sync state now: replication is async, or the standbys are still catching up)", ErrNoTarget)
}
func (syncSelector) String() string { return "a synchronous standby" }

// SyncStandby selects a standby the leader replicates to synchronously now
// (the first by name when there are several).
var SyncStandby Selector = syncSelector{}

type followerSelector struct{ seed uint64 }

// replicas lists the members that are replicas now, in the order members
// reports them; none is ErrNoTarget, said as what.
func replicas(ctx context.Context, c Cluster, what string) ([]string, error) {
	ms, err := members(ctx, c)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range ms {
		if m.Role == "replica" {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("resolve %s: %w (no member is a replica now)", what, ErrNoTarget)
	}
	return names, nil
}

func (f followerSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	names, err := replicas(ctx, c, "a follower")
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(f.seed, 0x5eed))
	return []string{names[r.IntN(len(names))]}, nil
}
func (f followerSelector) String() string { return fmt.Sprintf("a follower (seed %d)", f.seed) }

// AnyFollower selects one replica, chosen from those present at inject
// time (sorted by name) with a generator seeded by seed: the same seed and
// the same followers give the same choice.
func AnyFollower(seed uint64) Selector { return followerSelector{seed: seed} }

type followersSelector struct{}

func (followersSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	return replicas(ctx, c, "the followers")
}
func (followersSelector) String() string { return "every follower" }

// Followers selects every replica present at inject time: Partition(Leader,
// Followers) keeps the leader's WAL from reaching anyone while it still
// holds its lock and serves clients.
var Followers Selector = followersSelector{}

type nodeSelector string

func (n nodeSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	t, ok := c.(Topology)
	if !ok {
		return []string{string(n)}, nil
	}
	hs, err := t.Hosts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	var names []string
	for _, h := range hs {
		if h.Name == string(n) {
			return []string{h.Name}, nil
		}
		names = append(names, h.Name)
	}
	return nil, fmt.Errorf("resolve node %q: %w (hosts: %s)", string(n), ErrNoTarget, strings.Join(names, ", "))
}
func (n nodeSelector) String() string { return "node " + string(n) }

// Node selects one host by name (a database node, an etcd member or the
// proxy).
func Node(name string) Selector { return nodeSelector(name) }

type regionSelector string

func (r regionSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	return regionNodes(ctx, c, string(r))
}
func (r regionSelector) String() string { return "region " + string(r) }

// Region selects every database node of a region (not its etcd members:
// select those with EtcdMembers).
func Region(name string) Selector { return regionSelector(name) }

type siteSelector string

func (s siteSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	hs, err := hosts(ctx, c)
	if err != nil {
		return nil, err
	}
	var out, regions []string
	for _, h := range hs {
		if h.Region == string(s) {
			out = append(out, h.Name)
		}
		if !slices.Contains(regions, h.Region) {
			regions = append(regions, h.Region)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve site %q: %w (regions: %s)", string(s), ErrNoTarget, strings.Join(regions, ", "))
	}
	return out, nil
}
func (s siteSelector) String() string { return "every container of region " + string(s) }

// Site selects every host of a region: its database nodes, its etcd
// members and its endpoint. A region outage takes all of them.
func Site(region string) Selector { return siteSelector(region) }

type leaderRegionSelector struct{}

func (leaderRegionSelector) Resolve(ctx context.Context, c Cluster, _ []string) ([]string, error) {
	leader, err := c.LeaderName(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolve the leader's region: %w", err)
	}
	hs, err := hosts(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if h.Name == leader {
			return regionNodes(ctx, c, h.Region)
		}
	}
	return nil, fmt.Errorf("resolve the leader's region: leader %s: %w", leader, ErrNoTarget)
}
func (leaderRegionSelector) String() string { return "the leader's region" }

// LeaderRegion selects every database node of the region the leader is in
// at inject time.
var LeaderRegion Selector = leaderRegionSelector{}

// hostsSelector selects the hosts keep accepts: the roles a fault may
// aim at as a group (the etcd members, the coordinator, the rest of a
// partition). except is what the other side of a partition selected.
type hostsSelector struct {
	what string // String, and the error's subject
	hint string // added to ErrNoTarget's message
	keep func(h Host, except []string) bool
}

func (s *hostsSelector) Resolve(ctx context.Context, c Cluster, except []string) ([]string, error) {
	hs, err := hosts(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range hs {
		if s.keep(h, except) {
			out = append(out, h.Name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %s: %w%s", s.what, ErrNoTarget, s.hint)
	}
	return out, nil
}
func (s *hostsSelector) String() string { return s.what }

// EtcdMembers selects every member of the DCS.
var EtcdMembers Selector = &hostsSelector{what: "the etcd members", keep: func(h Host, _ []string) bool { return h.Role == RoleEtcd }}

// Coordinator selects what decides or witnesses who leads: the etcd
// members under Patroni, pg_auto_failover's monitor, repmgr's witness.
var Coordinator Selector = &hostsSelector{
	what: "the coordinator",
	hint: " (no etcd, monitor or witness: a repmgr lab without repmgr.witness has none)",
	keep: func(h Host, _ []string) bool {
		return h.Role == RoleEtcd || h.Role == RoleMonitor || h.Role == RoleWitness
	},
}

// Peers selects every database node and coordinator (etcd, monitor,
// witness) the other side of a partition did not, but not the proxies:
// Partition(Leader, Peers) cuts the leader from the cluster and leaves it
// its clients, who see whether it goes on taking writes.
var Peers Selector = &hostsSelector{what: "the peers", keep: func(h Host, except []string) bool {
	return h.Role != RoleProxy && !slices.Contains(except, h.Name)
}}

// Rest selects every host (nodes, etcd, proxy) the other side of a
// partition did not: Partition(Node("a"), Rest) isolates a.
var Rest Selector = &hostsSelector{what: "the rest", keep: func(h Host, except []string) bool {
	return !slices.Contains(except, h.Name)
}}

// resolveOne resolves s and requires a single target.
func resolveOne(ctx context.Context, c Cluster, s Selector) (string, error) {
	names, err := s.Resolve(ctx, c, nil)
	if err != nil {
		return "", err
	}
	if len(names) != 1 {
		return "", fmt.Errorf("resolve %s: want one host, got %d (%s)", s, len(names), strings.Join(names, ", "))
	}
	return names[0], nil
}

func hosts(ctx context.Context, c Cluster) ([]Host, error) {
	t, err := need[Topology](c, "Topology")
	if err != nil {
		return nil, err
	}
	hs, err := t.Hosts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	return hs, nil
}

func members(ctx context.Context, c Cluster) ([]Member, error) {
	t, err := need[Topology](c, "Topology")
	if err != nil {
		return nil, err
	}
	ms, err := t.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return ms, nil
}

func regionNodes(ctx context.Context, c Cluster, region string) ([]string, error) {
	hs, err := hosts(ctx, c)
	if err != nil {
		return nil, err
	}
	var out, regions []string
	for _, h := range hs {
		if h.Role != RoleNode {
			continue
		}
		if h.Region == region {
			out = append(out, h.Name)
		}
		if !slices.Contains(regions, h.Region) {
			regions = append(regions, h.Region)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve region %q: %w (regions: %s)", region, ErrNoTarget, strings.Join(regions, ", "))
	}
	return out, nil
}
