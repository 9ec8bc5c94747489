package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/replab/replab/harness"
)

func poll(ctx context.Context, timeout time.Duration, what string, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(PollPeriod):
		}
	}
}

// PollPeriod is how often the Wait functions poll: the resolution of what
// they observe.
const PollPeriod = 100 * time.Millisecond

// WaitNewLeader waits up to timeout for a running leader other than old
// and returns its name.
func WaitNewLeader(ctx context.Context, lab *harness.Lab, old string, timeout time.Duration) (string, error) {
	var name string
	err := poll(ctx, timeout, "a new leader", func() (bool, error) {
		m, err := lab.Leader(ctx)
		if err != nil || m.Name == old || m.State != "running" {
			return false, err
		}
		name = m.Name
		return true, nil
	})
	return name, err
}

// WaitStreaming waits up to timeout until the named member is a replica
// streaming from its upstream.
func WaitStreaming(ctx context.Context, lab *harness.Lab, name string, timeout time.Duration) error {
	return poll(ctx, timeout, name+" streaming again", func() (bool, error) {
		ms, err := lab.Members(ctx)
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			if m.Name == name {
				return m.Role == harness.RoleReplica && m.State == "streaming", nil
			}
		}
		return false, nil
	})
}
