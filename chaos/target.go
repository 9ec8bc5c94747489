package chaos

import (
	"fmt"
	"slices"
	"strings"
)

// TargetError is a TARGET argument that names no selector, region or host
// of the lab: the caller's input is wrong (the CLI exits 2). It lists what
// the lab offers, so the message names the fix.
type TargetError struct {
	Arg     string   // the argument as given
	Regions []string // regions with database nodes, in host order
	Hosts   []string // every host, in host order
}

func (e *TargetError) Error() string {
	if r, ok := strings.CutPrefix(e.Arg, "region:"); ok {
		return fmt.Sprintf("unknown region %q (regions: %s)", r, strings.Join(e.Regions, ", "))
	}
	if r, ok := strings.CutPrefix(e.Arg, "site:"); ok {
		return fmt.Sprintf("unknown region %q (regions: %s)", r, strings.Join(e.Regions, ", "))
	}
	return fmt.Sprintf("unknown target %q: use leader, sync, follower, etcd, coordinator, leader-region, rest, region:NAME or site:NAME (%s) or a host (%s)",
		e.Arg, strings.Join(e.Regions, ", "), strings.Join(e.Hosts, ", "))
}

// ParseTarget turns the target grammar into a selector: leader, sync,
// follower (AnyFollower(seed)), etcd, coordinator (etcd, monitor or
// witness), leader-region, rest, region:NAME
// (its database nodes), site:NAME (every container of the region),
// node:NAME or a plain host NAME. Region and host names are checked
// against hosts (the lab's, now) so a typo fails before anything is
// injected; the roles (leader, sync, ...) resolve at inject time. An
// unknown name is a *TargetError.
func ParseTarget(arg string, hosts []Host, seed uint64) (Selector, error) {
	switch arg {
	case "leader":
		return Leader, nil
	case "sync":
		return SyncStandby, nil
	case "follower":
		return AnyFollower(seed), nil
	case "etcd":
		return EtcdMembers, nil
	case "coordinator", "dcs":
		return Coordinator, nil
	case "leader-region":
		return LeaderRegion, nil
	case "rest":
		return Rest, nil
	}
	var names, regions []string
	for _, h := range hosts {
		names = append(names, h.Name)
		if h.Role == RoleNode && !slices.Contains(regions, h.Region) {
			regions = append(regions, h.Region)
		}
	}
	if r, ok := strings.CutPrefix(arg, "region:"); ok {
		if !slices.Contains(regions, r) {
			return nil, &TargetError{Arg: arg, Regions: regions, Hosts: names}
		}
		return Region(r), nil
	}
	if r, ok := strings.CutPrefix(arg, "site:"); ok {
		if !slices.Contains(regions, r) {
			return nil, &TargetError{Arg: arg, Regions: regions, Hosts: names}
		}
		return Site(r), nil
	}
	n, _ := strings.CutPrefix(arg, "node:")
	if !slices.Contains(names, n) {
		return nil, &TargetError{Arg: arg, Regions: regions, Hosts: names}
	}
	return Node(n), nil
}
