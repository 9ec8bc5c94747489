package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// Container roles, also the values of the replab.role label.
const (
	RoleEtcd  = "etcd"
	RoleNode  = "node"
	RoleProxy = "proxy"
)

// Host is one container of the lab as chaos and netem see it.
type Host struct {
	Name   string // node name, etcd-N, or haproxy
	Role   string // RoleEtcd, RoleMonitor, RoleWitness, RoleNode or RoleProxy
	Region string
	IP     string // address on the lab network, fixed for the lab's life
}

// Hosts lists every container of the lab: etcd members, database nodes and
// the proxies.
func (l *Lab) Hosts() []Host {
	var out []Host
	for _, e := range append(append([]member{}, l.plan.Etcd...), l.plan.StandbyEtcd...) {
		out = append(out, Host{Name: e.Name, Role: RoleEtcd, Region: e.Region, IP: e.IP.String()})
	}
	for _, c := range l.plan.Coordinator {
		out = append(out, Host{Name: c.Name, Role: c.Name, Region: c.Region, IP: c.IP.String()})
	}
	for _, n := range l.plan.Nodes {
		out = append(out, Host{Name: n.Name, Role: RoleNode, Region: n.Region, IP: n.IP.String()})
	}
	for _, p := range l.plan.Proxies {
		out = append(out, Host{Name: p.Name, Role: RoleProxy, Region: p.Region, IP: p.IP.String()})
	}
	return out
}

func (l *Lab) containerID(name string) (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	id, ok := l.ids[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownTarget, name)
	}
	return id, nil
}

// Kill sends a signal (e.g. "SIGKILL") to a container's init, which passes
// it to the whole process tree: the node dies at once, as on power loss.
// See Signal for how it is delivered.
func (l *Lab) Kill(ctx context.Context, name, signal string) error {
	_, err := l.Signal(ctx, name, signal)
	return err
}

// Stop stops a container gracefully: SIGTERM now, SIGKILL after grace. It
// returns once SIGTERM is delivered, so that a fault stamped around it is
// dated by the signal; the rest of the stop goes on in the background, and
// Start waits for it. Patroni releases the leader lock on the way down.
func (l *Lab) Stop(ctx context.Context, name string, grace time.Duration) error {
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	if _, err := l.Signal(ctx, name, "SIGTERM"); errors.Is(err, ErrNotRunning) {
		return nil // already stopped
	} else if err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	go l.stopAfter(id, grace)
	return nil
}

// Start starts a stopped or killed container again, with the same address,
// and re-reads its published ports (Docker picks new host ports).
func (l *Lab) Start(ctx context.Context, name string) error {
	if err := l.startContainer(ctx, name); err != nil {
		return err
	}
	return l.WAN().restarted(ctx, name)
}

// startContainer starts a stopped container once the engine has seen it
// stop, and reads its new published ports; its host is not shaped yet,
// and a node's Patroni waits at its gate.
func (l *Lab) startContainer(ctx context.Context, name string) error {
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	if err := l.waitStopped(ctx, id); err != nil {
		return fmt.Errorf("start %s: wait for it to stop first: %w", name, err)
	}
	if err := l.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return l.refreshPorts(ctx, name)
}

// Pause freezes every process of a container (cgroup freezer).
func (l *Lab) Pause(ctx context.Context, name string) error {
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	if err := l.cli.ContainerPause(ctx, id); err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	return nil
}

// Unpause thaws a paused container. Not paused is success.
func (l *Lab) Unpause(ctx context.Context, name string) error {
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	if err := l.cli.ContainerUnpause(ctx, id); err != nil && !strings.Contains(err.Error(), "is not paused") {
		return fmt.Errorf("unpause %s: %w", name, err)
	}
	return nil
}

// SetCPUs limits a container to a share of CPUs (0.2 = a fifth of one
// core); 0 removes the limit.
func (l *Lab) SetCPUs(ctx context.Context, name string, cpus float64) error {
	id, err := l.containerID(name)
	if err != nil {
		return err
	}
	res := container.Resources{CPUPeriod: 100000, CPUQuota: int64(cpus * 100000)}
	if cpus <= 0 {
		res.CPUQuota = -1
	}
	if _, err := l.cli.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: res}); err != nil {
		return fmt.Errorf("set cpu quota of %s: %w", name, err)
	}
	return nil
}

// ErrNotRunning is returned by Exec when the container is stopped or
// killed.
var ErrNotRunning = errors.New("container is not running")

// isNotRunning says whether Docker refused an exec because the container
// is stopped or killed.
func isNotRunning(err error) bool {
	return errdefs.IsConflict(err) && strings.Contains(err.Error(), "not running")
}

// ExecRequest is a command to run inside a container.
type ExecRequest struct {
	Cmd  []string
	User string // default: the container's user; "root" for netfilter work
}

// ExecResult is what an exec returned.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// Exec runs a command inside a container and waits for it. A non-zero exit
// is not an error; the caller reads ExitCode.
//
// A container killed through its pidfd (Signal) is dead before Docker has
// seen it die: an exec then fails to start (exit 126 or 127) instead of
// being refused. On such an exit Exec waits up to ExecDyingWait for the
// container to stop and, if it does, returns ErrNotRunning as for a
// stopped one.
func (l *Lab) Exec(ctx context.Context, name string, req ExecRequest) (ExecResult, error) {
	id, err := l.containerID(name)
	if err != nil {
		return ExecResult{}, err
	}
	res, err := execIn(ctx, l.cli, id, name, req)
	if err == nil && (res.ExitCode == 126 || res.ExitCode == 127) {
		wctx, cancel := context.WithTimeout(ctx, ExecDyingWait)
		defer cancel()
		if l.waitStopped(wctx, id) == nil {
			return ExecResult{}, fmt.Errorf("exec %q in %s: %w (it died as the command started)", strings.Join(req.Cmd, " "), name, ErrNotRunning)
		}
	}
	return res, err
}

// stoppedWithin says whether the named container is stopped, or stops
// within d: a command that failed in it may have failed because it was
// dying.
func (l *Lab) stoppedWithin(ctx context.Context, name string, d time.Duration) bool {
	id, err := l.containerID(name)
	if err != nil {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return l.waitStopped(wctx, id) == nil
}

// ExecDyingWait bounds how long Exec waits for a container whose exec
// could not start to be seen stopped: Docker notices a death in well under
// a second.
const ExecDyingWait = 5 * time.Second

// execIn runs req in container id (called name in errors) and waits.
func execIn(ctx context.Context, cli *client.Client, id, name string, req ExecRequest) (ExecResult, error) {
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: req.Cmd, User: req.User, AttachStdout: true, AttachStderr: true})
	if isNotRunning(err) {
		return ExecResult{}, fmt.Errorf("exec %q in %s: %w: %v", strings.Join(req.Cmd, " "), name, ErrNotRunning, err)
	}
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in %s: %w", strings.Join(req.Cmd, " "), name, err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in %s: %w", strings.Join(req.Cmd, " "), name, err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in %s: read output: %w", strings.Join(req.Cmd, " "), name, err)
	}
	insp, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in %s: %w", strings.Join(req.Cmd, " "), name, err)
	}
	return ExecResult{ExitCode: insp.ExitCode, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}
