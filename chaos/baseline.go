package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// VerifyBaseline checks that no fault outlived its spec: every host runs,
// none is paused, none has a CPU quota, no host has a chain starting with
// ChainPrefix, and, when the cluster implements LinksBaseline, every
// host's qdiscs or netem rules and agent are the topology's baseline. It
// returns every leftover found, joined; suites call it after each lab's
// specs.
func VerifyBaseline(ctx context.Context, c Cluster) error {
	t, err := need[Topology](c, "Topology")
	if err != nil {
		return fmt.Errorf("verify baseline: %w", err)
	}
	cmd, err := need[Commands](c, "Commands")
	if err != nil {
		return fmt.Errorf("verify baseline: %w", err)
	}
	hs, err := t.Hosts(ctx)
	if err != nil {
		return fmt.Errorf("verify baseline: list hosts: %w", err)
	}
	var errs []error
	for _, h := range hs {
		st, err := t.HostState(ctx, h.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("verify baseline of %s: %w", h.Name, err))
			continue
		}
		switch {
		case !st.Running:
			errs = append(errs, fmt.Errorf("%s is not running (killed or stopped and never started)", h.Name))
		case st.Paused:
			errs = append(errs, fmt.Errorf("%s is paused", h.Name))
		}
		if st.CPUs != 0 {
			errs = append(errs, fmt.Errorf("%s has a CPU quota of %g cores", h.Name, st.CPUs))
		}
		if h.Role == RoleProxy || !st.Running || st.Paused {
			continue
		}
		rules, err := chaosRules(ctx, cmd, h.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("verify baseline of %s: %w", h.Name, err))
			continue
		}
		if len(rules) > 0 {
			errs = append(errs, fmt.Errorf("%s has chaos iptables rules left: %s", h.Name, strings.Join(rules, "; ")))
		}
	}
	if lb, ok := c.(LinksBaseline); ok {
		if err := lb.WANAtBaseline(ctx); err != nil {
			errs = append(errs, fmt.Errorf("netem not at baseline: %w", err))
		}
	}
	return errors.Join(errs...)
}

// chaosRules lists the lines of `iptables -S` that mention ChainPrefix.
func chaosRules(ctx context.Context, cmd Commands, host string) ([]string, error) {
	out, err := cmd.Run(ctx, Command{Host: host, User: "root", Argv: []string{"iptables", "-w", "-S"}})
	if err != nil {
		return nil, fmt.Errorf("list iptables rules: %w", err)
	}
	var found []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, ChainPrefix) {
			found = append(found, strings.TrimSpace(line))
		}
	}
	return found, nil
}

// ResetPlan turns the chaos lines of `iptables -S` into the argv lists that
// remove them: hooks first, then each chain flushed and deleted. It is pure.
func ResetPlan(lines []string) [][]string {
	var hooks, chains [][]string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch {
		case f[0] == "-N" && strings.HasPrefix(f[1], ChainPrefix):
			chains = append(chains, []string{"iptables", "-w", "-F", f[1]}, []string{"iptables", "-w", "-X", f[1]})
		case f[0] == "-A" && !strings.HasPrefix(f[1], ChainPrefix):
			hooks = append(hooks, append([]string{"iptables", "-w", "-D"}, f[1:]...))
		}
	}
	return append(hooks, chains...)
}

// Reset brings every host back to baseline without knowing which faults
// are active (`replab chaos heal`, or after a killed run): it thaws paused
// hosts, starts stopped ones, removes CPU quotas and deletes every chaos
// chain. It returns what it did, and the errors joined.
func Reset(ctx context.Context, c Cluster) ([]string, error) {
	t, err := need[Topology](c, "Topology")
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	proc, err := need[Processes](c, "Processes")
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	res, err := need[Resources](c, "Resources")
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	cmd, err := need[Commands](c, "Commands")
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	hs, err := t.Hosts(ctx)
	if err != nil {
		return nil, fmt.Errorf("reset: list hosts: %w", err)
	}
	var did []string
	var errs []error
	for _, h := range hs {
		st, err := t.HostState(ctx, h.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
			continue
		}
		if st.Paused {
			if err := proc.Unpause(ctx, h.Name); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
				continue
			}
			did = append(did, "unpaused "+h.Name)
		}
		if !st.Running {
			if err := c.Start(ctx, h.Name); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
				continue
			}
			did = append(did, "started "+h.Name)
		}
		if st.CPUs != 0 {
			if err := res.SetCPUs(ctx, h.Name, 0); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
			} else {
				did = append(did, "removed the CPU quota of "+h.Name)
			}
		}
		if h.Role == RoleProxy {
			continue
		}
		lines, err := chaosRules(ctx, cmd, h.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
			continue
		}
		if steps := ResetPlan(lines); len(steps) > 0 {
			if err := removeRules(ctx, cmd, h.Name, steps); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", h.Name, err))
			} else {
				did = append(did, fmt.Sprintf("removed %d chaos iptables rule(s) and chain(s) on %s", len(lines), h.Name))
			}
		}
	}
	return did, errors.Join(errs...)
}
