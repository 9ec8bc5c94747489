package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/replab/replab/netem"
)

// ReadStatus reads a status file written by Run.
func ReadStatus(path string) (netem.AgentStatus, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return netem.AgentStatus{}, fmt.Errorf("%w: no status file %s", ErrNotRunning, path)
		}
		return netem.AgentStatus{}, fmt.Errorf("read agent status: %w", err)
	}
	var st netem.AgentStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return netem.AgentStatus{}, fmt.Errorf("decode agent status %s: %w", path, err)
	}
	return st, nil
}

// Check reads the status file and reports whether the agent behind it is
// alive: its process exists and its heartbeat is at most maxAge old.
func Check(path string, maxAge time.Duration) (netem.AgentStatus, error) {
	st, err := ReadStatus(path)
	if err != nil {
		return st, err
	}
	if !processAlive(st.PID) || !isAgent(st.PID) {
		return st, fmt.Errorf("%w: pid %d in %s is gone", ErrNotRunning, st.PID, path)
	}
	if age := time.Since(st.Heartbeat); age > maxAge {
		return st, fmt.Errorf("%w: pid %d is alive but its heartbeat is %v old (more than %v): hung?", ErrNotRunning, st.PID, age.Round(time.Millisecond), maxAge)
	}
	return st, nil
}

// WaitConfig waits until the agent is alive and runs the config whose hash
// is want, or reports why not: the agent rejected it, died, or timed out.
func WaitConfig(ctx context.Context, path, want string, timeout time.Duration) (netem.AgentStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := Check(path, 3*HeartbeatInterval)
		switch {
		case err == nil && st.ConfigSHA256 == want:
			return st, nil
		case err == nil && st.FailedConfigSHA256 == want:
			return st, fmt.Errorf("agent rejected config %.12s: %s", want, st.Error)
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("it runs config %.12s", st.ConfigSHA256)
			}
			return st, fmt.Errorf("wait for agent to run config %.12s: timed out after %v: %w", want, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Reload asks the running agent to read configPath again (SIGHUP) and
// waits until it runs it.
func Reload(ctx context.Context, statusPath, configPath string, timeout time.Duration) error {
	st, err := Check(statusPath, 3*HeartbeatInterval)
	if err != nil {
		return fmt.Errorf("reload agent: %w", err)
	}
	data, err := os.ReadFile(configPath)
	if err != nil {
		return fmt.Errorf("reload agent: %w", err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload agent: signal pid %d: %w", st.PID, err)
	}
	if _, err := WaitConfig(ctx, statusPath, netem.Hash(data), timeout); err != nil {
		return fmt.Errorf("reload agent: %w", err)
	}
	return nil
}

// Stop asks the agent to exit (SIGTERM: it releases held packets and
// unbinds) and waits for it, killing it after timeout. No agent is not an
// error.
func Stop(ctx context.Context, statusPath string, timeout time.Duration) error {
	st, err := ReadStatus(statusPath)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		// An unreadable status file is stale: the agent writes it atomically.
		os.Remove(statusPath)
		return nil
	}
	if !processAlive(st.PID) || !isAgent(st.PID) {
		os.Remove(statusPath)
		return nil
	}
	if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop agent: signal pid %d: %w", st.PID, err)
	}
	deadline := time.Now().Add(timeout)
	for processAlive(st.PID) {
		if time.Now().After(deadline) {
			syscall.Kill(st.PID, syscall.SIGKILL)
			os.Remove(statusPath)
			return fmt.Errorf("stop agent: pid %d did not exit within %v; killed it (held packets were dropped)", st.PID, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop agent: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	os.Remove(statusPath)
	return nil
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name in parentheses, which may itself
	// contain ")".
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// isAgent reports whether pid runs replab-agent, so that a recycled pid is
// never signalled.
func isAgent(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(b), "\x00")
	return len(args) > 1 && strings.Contains(args[0], "replab-agent") && args[1] == "run"
}
