package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/replab/replab/netem"
)

// The capabilities below split what faults need from a lab by fault
// family. A Cluster may implement any of them; a fault asks for the one it
// needs when it is injected and fails with ErrUnsupported (leaving nothing
// behind) when the cluster lacks it. experiment.ClusterOf(lab) implements
// all of them; a bare *harness.Lab only the base Cluster (kill and start).

// Processes stops, freezes and thaws a host's container.
type Processes interface {
	// Stop stops a container gracefully: SIGTERM, then SIGKILL after grace.
	Stop(ctx context.Context, name string, grace time.Duration) error
	// Pause freezes every process of a container (cgroup freezer).
	Pause(ctx context.Context, name string) error
	// Unpause thaws a paused container; not paused is success.
	Unpause(ctx context.Context, name string) error
}

// Command is a program to run inside a host.
type Command struct {
	Host string
	// User runs the program: "root" for netfilter work, "postgres" to
	// signal the database.
	User string
	Argv []string
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("exit status %d: %s", e.Code, e.Stderr)
}

// Commands runs programs inside hosts: iptables as root for partitions,
// kill as postgres for a PostgreSQL-only crash.
type Commands interface {
	// Run runs c and returns its standard output. A non-zero exit is an
	// error wrapping *ExitError.
	Run(ctx context.Context, c Command) (stdout string, err error)
}

// Resources limits a host's container.
type Resources interface {
	// SetCPUs limits a container to a share of CPUs (0.1 = a tenth of one
	// core); 0 removes the limit.
	SetCPUs(ctx context.Context, name string, cpus float64) error
}

// SQL runs statements on one database node, not through an endpoint.
type SQL interface {
	// ExecSQL runs sql on node and returns when it completes or ctx ends
	// (which cancels the statement).
	ExecSQL(ctx context.Context, node, sql string) error
}

// Host roles, as in Host.Role.
const (
	RoleNode  = "node"
	RoleEtcd  = "etcd"
	RoleProxy = "proxy"
	// RoleMonitor is pg_auto_failover's monitor, RoleWitness repmgr's
	// witness: with etcd, the coordinators a leader can be cut from.
	RoleMonitor = "monitor"
	RoleWitness = "witness"
)

// Host is one container of the lab.
type Host struct {
	Name   string
	Role   string // RoleNode, RoleEtcd, RoleMonitor, RoleWitness or RoleProxy
	Region string
	IP     string
}

// Member is a database node's role as Patroni and its upstream see it now.
type Member struct {
	Name   string
	Region string
	// Role is "leader", "replica" or "unknown" (unreachable).
	Role string
	// SyncState is the upstream's view: sync, potential, async, quorum or "".
	SyncState string
}

// HostState is a host's container state, for baseline checks and resets.
type HostState struct {
	Running bool
	Paused  bool
	// CPUs is the CPU quota in cores; 0 means unlimited.
	CPUs float64
}

// Topology says what the lab holds and who plays which role now.
type Topology interface {
	// Hosts lists every container: database nodes, etcd members, proxy.
	Hosts(ctx context.Context) ([]Host, error)
	// Members lists the database nodes with their current role.
	Members(ctx context.Context) ([]Member, error)
	// HostState inspects one host's container.
	HostState(ctx context.Context, name string) (HostState, error)
}

// ErrUnsupported is returned when a fault needs a capability the cluster
// does not implement (wrap a lab with experiment.ClusterOf).
var ErrUnsupported = errors.New("cluster does not support this fault")

// Links is what link degradation needs: an overlay on the emulated WAN
// between two regions, nil restoring the topology's baseline.
// experiment.Cluster satisfies it with harness.WAN's SetLink.
type Links interface {
	SetLink(ctx context.Context, regionA, regionB string, imp *netem.Impairment) error
}

// NodeLinks is what slowing the links between nodes of one region needs:
// an overlay on the traffic between two database nodes, both directions,
// nil removing it. experiment.Cluster satisfies it with harness.WAN's
// SetNodeLinks.
type NodeLinks interface {
	// SetNodeLinks sets imp (nil: removes the overlay) on every pair at
	// once: the links change together, not one pair after another.
	SetNodeLinks(ctx context.Context, pairs [][2]string, imp *netem.Impairment) error
}

// LinksBaseline is what a cluster with an emulated WAN implements so that
// VerifyBaseline also reads every host's netem state back against the
// topology's baseline. experiment.Cluster satisfies it with harness.WAN's
// AtBaseline.
type LinksBaseline interface {
	WANAtBaseline(ctx context.Context) error
}

// ErrHostDown is what a Commands implementation wraps when the host's
// container is not running. Its network namespace died with it, and every
// rule replab put there, so cleanup counts it as done.
var ErrHostDown = errors.New("host is not running")

// need returns c as capability T, or ErrUnsupported naming what is missing.
func need[T any](c Cluster, what string) (T, error) {
	v, ok := c.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: it lacks %s (use experiment.ClusterOf(lab))", ErrUnsupported, what)
	}
	return v, nil
}
