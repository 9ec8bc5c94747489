package chaos

import (
	"errors"
	"testing"
)

var targetHosts = []Host{
	{Name: "etcd-1", Role: RoleEtcd, Region: "us-east"},
	{Name: "use-1", Role: RoleNode, Region: "us-east"},
	{Name: "euw-1", Role: RoleNode, Region: "eu-west"},
	{Name: "haproxy", Role: RoleProxy, Region: "us-east"},
}

func TestParseTarget(t *testing.T) {
	for arg, want := range map[string]string{
		"leader":         Leader.String(),
		"sync":           SyncStandby.String(),
		"follower":       AnyFollower(7).String(),
		"etcd":           EtcdMembers.String(),
		"leader-region":  LeaderRegion.String(),
		"rest":           Rest.String(),
		"region:eu-west": Region("eu-west").String(),
		"site:us-east":   Site("us-east").String(),
		"node:use-1":     Node("use-1").String(),
		"use-1":          Node("use-1").String(),
		"etcd-1":         Node("etcd-1").String(),
		"haproxy":        Node("haproxy").String(),
	} {
		s, err := ParseTarget(arg, targetHosts, 7)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", arg, err)
			continue
		}
		if s.String() != want {
			t.Errorf("ParseTarget(%q) = %s, want %s", arg, s, want)
		}
	}
}

func TestParseTargetUnknown(t *testing.T) {
	for arg, msg := range map[string]string{
		// etcd's region holds no database node: not a region to select.
		"region:ap-southeast": `unknown region "ap-southeast" (regions: us-east, eu-west)`,
		"site:ap-southeast":   `unknown region "ap-southeast" (regions: us-east, eu-west)`,
		"use-9":               `unknown target "use-9": use leader, sync, follower, etcd, coordinator, leader-region, rest, region:NAME or site:NAME (us-east, eu-west) or a host (etcd-1, use-1, euw-1, haproxy)`,
		"node:use-9":          `unknown target "node:use-9": use leader, sync, follower, etcd, coordinator, leader-region, rest, region:NAME or site:NAME (us-east, eu-west) or a host (etcd-1, use-1, euw-1, haproxy)`,
		"":                    `unknown target "": use leader, sync, follower, etcd, coordinator, leader-region, rest, region:NAME or site:NAME (us-east, eu-west) or a host (etcd-1, use-1, euw-1, haproxy)`,
	} {
		s, err := ParseTarget(arg, targetHosts, 7)
		var te *TargetError
		if !errors.As(err, &te) {
			t.Errorf("ParseTarget(%q) = %v, %v; want a *TargetError", arg, s, err)
			continue
		}
		if te.Arg != arg || err.Error() != msg {
			t.Errorf("ParseTarget(%q): %q, want %q", arg, err, msg)
		}
	}
}
