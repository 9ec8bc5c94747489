package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"golang.org/x/sys/unix"
)

// Signal delivery, and why it does not go through Docker's kill API alone:
// for SIGKILL the daemon returns only once the container is torn down
// (task deleted, logs drained, network and mounts released), half a second
// after the processes died. A fault stamped around that call is dated by
// its uncertainty, not by the death. So where the engine shares this
// machine's kernel and replab may signal its processes, the signal goes
// straight to the container's init through a pidfd, which cannot hit a
// recycled pid:
//
//	inspect → pid ─ pidfd_open(pid) ─ /proc/pid/cgroup names the container? ─ pidfd_send_signal
//	                                   └ no (remote engine, VM, other pid namespace): Docker's kill API
//
// The init (docker-init, as every lab container runs with --init) dies of
// SIGKILL and the kernel kills the rest of its pid namespace with it.

// Signal delivers a signal ("SIGKILL", "SIGTERM") to a container's init
// and returns as soon as it is delivered, saying how it was delivered.
// Without a usable pidfd it falls back to Docker's kill API, whose call
// for SIGKILL lasts until the container is torn down.
func (l *Lab) Signal(ctx context.Context, name, sig string) (how string, err error) {
	send, release, how, err := l.PrepareSignal(ctx, name, sig)
	if err != nil {
		return "", err
	}
	defer release()
	return how, send()
}

// PrepareSignal does everything delivering sig to a container's init
// takes except the delivery: it resolves the container, opens a pidfd on
// its init and checks it belongs to the container. send then costs one
// system call, so a caller can stamp it tightly (and kill a whole region
// at once). release frees the pidfd; call it after send, or instead.
func (l *Lab) PrepareSignal(ctx context.Context, name, sig string) (send func() error, release func(), how string, err error) {
	id, err := l.containerID(name)
	if err != nil {
		return nil, nil, "", err
	}
	s := unix.SignalNum(sig)
	if s == 0 {
		return nil, nil, "", fmt.Errorf("signal %s: unknown signal %q", name, sig)
	}
	fd, perr := openInit(ctx, l, id)
	if perr == nil {
		send = func() error {
			if err := unix.PidfdSendSignal(fd, s, nil, 0); err != nil {
				return fmt.Errorf("signal %s with %s through its pidfd: %w", name, sig, err)
			}
			return nil
		}
		return send, func() { unix.Close(fd) }, "pidfd signal to the container's init", nil
	}
	if errors.Is(perr, ErrNotRunning) {
		return nil, nil, "", fmt.Errorf("signal %s with %s: %w", name, sig, perr)
	}
	send = func() error {
		if err := l.cli.ContainerKill(ctx, id, sig); err != nil {
			return fmt.Errorf("signal %s with %s: %w", name, sig, err)
		}
		return nil
	}
	return send, func() {}, "Docker kill API (no pidfd: " + perr.Error() + "); its call outlasts the signal", nil
}

// openInit opens a pidfd on container id's init, after making sure the
// pid is that container's on this kernel.
func openInit(ctx context.Context, l *Lab, id string) (int, error) {
	insp, err := l.cli.ContainerInspect(ctx, id)
	if err != nil {
		return -1, fmt.Errorf("inspect: %w", err)
	}
	if insp.State == nil || !insp.State.Running || insp.State.Pid <= 0 {
		return -1, ErrNotRunning
	}
	pid := insp.State.Pid
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("read cgroup of pid %d: %w", pid, err)
	}
	if !strings.Contains(string(cg), id) {
		unix.Close(fd)
		return -1, fmt.Errorf("pid %d is not in container %.12s's cgroup here (engine on another kernel?)", pid, id)
	}
	// Signal 0 through the pidfd proves the process read above is still
	// the one the pidfd holds: a pid cannot be recycled while it lives.
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("pidfd of pid %d: %w", pid, err)
	}
	return fd, nil
}

// waitStopped waits until Docker sees container id stopped: after a
// signal sent by pidfd the daemon may still be tearing it down, and a
// start in that window would be a no-op.
func (l *Lab) waitStopped(ctx context.Context, id string) error {
	wc, ec := l.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-wc:
		return nil
	case err := <-ec:
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopAfter sends SIGKILL to container id unless it stops by itself
// within grace: the second half of a graceful stop, run in the
// background so that Stop can return once SIGTERM is delivered.
func (l *Lab) stopAfter(id string, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if l.waitStopped(ctx, id) == nil {
		return
	}
	kctx, kcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer kcancel()
	_ = l.cli.ContainerKill(kctx, id, "SIGKILL")
}
