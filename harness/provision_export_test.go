package harness

import (
	"fmt"
	"net/netip"

	"github.com/replab/replab/topologies"
)

// ByHandMember is one container of a lab set up without replab's
// orchestration (the provisioning bench's floor): what replab would run in
// it, and where.
type ByHandMember struct {
	Name string
	IP   netip.Addr
	Cmd  []string
	// Config is the node's patroni.yml, rendered as replab renders it; nil
	// for etcd members.
	Config []byte
}

// ByHandSetup is the whole by-hand lab of a topology on a subnet.
type ByHandSetup struct {
	Etcd  []ByHandMember
	Nodes []ByHandMember
	Creds Credentials
	// Paths and tmpfs inside the image that replab uses too.
	ConfigPath, DataHome, EtcdDataDir string
	PostgresPort                      int
}

// ByHand renders, with replab's own generators, the commands and Patroni
// configs of a lab of t on subnet: the provisioning bench starts them with
// plain Docker API calls, so the floor it measures is the same image and
// the same config without replab's orchestration.
func ByHand(labID string, t *topologies.Topology, subnet netip.Prefix) (ByHandSetup, error) {
	p, err := newPlan(labID, t, subnet)
	if err != nil {
		return ByHandSetup{}, err
	}
	creds, err := newCredentials()
	if err != nil {
		return ByHandSetup{}, err
	}
	s := ByHandSetup{Creds: creds, ConfigPath: patroniConfigPath, DataHome: pgHome, EtcdDataDir: "/var/lib/etcd", PostgresPort: portPostgres}
	for i, e := range p.Etcd {
		s.Etcd = append(s.Etcd, ByHandMember{Name: e.Name, IP: e.IP, Cmd: p.etcdCommand(i)})
	}
	for _, n := range p.Nodes {
		cfg, err := patroniConfig(t, p, n, creds)
		if err != nil {
			return ByHandSetup{}, fmt.Errorf("render by-hand config of %s: %w", n.Name, err)
		}
		s.Nodes = append(s.Nodes, ByHandMember{Name: n.Name, IP: n.IP, Cmd: nodeCommand(), Config: cfg})
	}
	return s, nil
}
