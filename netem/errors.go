package netem

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors for the branches callers are expected to take. Each is
// wrapped with what failed and the fix.
var (
	// ErrKernelNetemUnavailable: the node's kernel has no sch_netem
	// (CONFIG_NET_SCH_NETEM unset: WSL2, minikube, some CI sandboxes).
	// Use the userspace backend, or auto.
	ErrKernelNetemUnavailable = errors.New("kernel netem unavailable")
	// ErrPermission: the node lacks CAP_NET_ADMIN. Start its container with
	// --cap-add NET_ADMIN (never --privileged).
	ErrPermission = errors.New("operation not permitted")
	// ErrToolMissing: a binary netem runs in the node (tc, iptables) is not
	// installed in the node image.
	ErrToolMissing = errors.New("tool missing in node")
	// ErrNoAgent: the userspace backend was asked to apply a plan but was
	// given no agent binary (see WithAgent and BuildAgent).
	ErrNoAgent = errors.New("no replab-agent binary")
	// ErrImpairmentLost: the impairment is no longer in force, e.g. the
	// userspace agent died and its queues now let traffic through
	// unimpaired (queue-bypass). Results measured since then are not
	// results of the declared network.
	ErrImpairmentLost = errors.New("impairment lost")
	// ErrPlanDiffers: the node holds something other than the plan it was
	// checked against (see Shaper.Verify): a degradation not healed, rules
	// added or removed by hand, an agent running another config.
	ErrPlanDiffers = errors.New("node does not hold the plan")
)

// Command is one argv run in the node's network namespace.
type Command []string

// String renders the command for a shell, quoting words that need it.
func (c Command) String() string {
	out := make([]string, len(c))
	for i, w := range c {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\$`!*?;&|<>()[]{}#~") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}

// commandError turns a failed command into an error that says what failed
// and the fix, recognising the failures users actually hit: a missing
// binary, a missing capability, a kernel without sch_netem.
func commandError(c Command, err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	tool := ""
	if len(c) > 0 {
		tool = c[0]
	}
	switch {
	case strings.Contains(msg, "Specified qdisc kind is unknown"):
		return fmt.Errorf("%w: this kernel lacks sch_netem (CONFIG_NET_SCH_NETEM): %q failed: %v; use backend: userspace or auto", ErrKernelNetemUnavailable, c.String(), err)
	case isMissingExecutable(low, tool):
		return fmt.Errorf("%w: %s is not installed in the node (%v); add it to the node image (Debian packages iproute2 for tc, iptables for iptables)", ErrToolMissing, tool, err)
	case strings.Contains(low, "cannot find device"):
		return fmt.Errorf("run %q: %w; the node has no such network device: name the right one with netem.WithDevice", c.String(), err)
	case strings.Contains(low, "operation not permitted") || strings.Contains(low, "permission denied"):
		return fmt.Errorf("%w: %q: %v; the node needs CAP_NET_ADMIN: start its container with --cap-add NET_ADMIN", ErrPermission, c.String(), err)
	}
	return fmt.Errorf("run %q: %w", c.String(), err)
}

func isMissingExecutable(low, tool string) bool {
	if tool == "" {
		return false
	}
	for _, s := range []string{"executable file not found", "command not found", `exec of "` + tool + `" failed`} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

// isNotFound reports whether err says the thing to remove was not there,
// which cleanup treats as success.
func isNotFound(err error) bool {
	low := strings.ToLower(err.Error())
	for _, s := range []string{
		"no such file or directory",
		"cannot find device",
		"cannot delete qdisc with handle of zero",
		"no chain/target/match by that name",
		"does a matching rule exist",
		"executable file not found",
		"not found",
	} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}
