package netem

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Kernel tree constants. The root handle is how Reset recognises a tree
// replab made: it only ever deletes an htb root with this handle.
const (
	kernelRootHandle = "1:"
	// KernelNetemLimit is the netem queue length in packets. tc's default
	// (1000) caps a delayed link at 1000 packets per delay (12 MB/s at 1500
	// bytes and 100 ms); 100000 removes that cap for any lab link.
	KernelNetemLimit = 100000
	// kernelClassRate is the HTB class rate: high enough never to shape;
	// netem's own rate does the shaping when a Rate is declared.
	kernelClassRate = "100gbit"
	// kernelQuantum avoids HTB's "quantum is big" warning at that rate.
	kernelQuantum = "60000"
)

// PlanKernel returns the tc commands that install p on device dev (in the
// node's network namespace, egress), in order, for a device without a root
// qdisc of replab's. The empty plan gives no commands.
//
// The tree, for a plan with two impaired groups and one blackhole:
//
//	dev eth0 (egress)
//	root qdisc 1: htb ── no default class: unmatched traffic leaves unshaped
//	 │
//	 ├─ u32 filters, most specific prefix first (prio 1, 2, ...):
//	 │    ip dst 10.9.0.5/32  ──▶ flowid 1:3               (blackhole)
//	 │    ip dst 10.1.0.0/24  ──▶ flowid 1:1
//	 │    ip dst 10.2.0.0/24  ──▶ flowid 1:2
//	 │
//	 ├─ class 1:1 htb rate 100gbit
//	 │    └─ qdisc 10: netem limit 100000 delay 40ms
//	 ├─ class 1:2 htb rate 100gbit
//	 │    └─ qdisc 11: netem limit 100000 delay 100ms 5ms loss random 0.5% rate 100mbit
//	 └─ class 1:3 htb rate 100gbit                          (all blackholes)
//	      └─ qdisc 12: netem limit 100000 loss random 100%
//
// One class and one netem child per impairment group (see Rule: peers with
// the same impairment and no rate share one), one more for all blackholes
// (netem drops, so no tc action module is needed), one filter per peer
// prefix.
// HTB never shapes (its rate is far above any veth); netem's limit is
// KernelNetemLimit so throughput is not capped at limit/delay, except in
// front of a rate, where it bounds the backlog (see netemLimit).
func PlanKernel(p Plan, dev string) ([]Command, error) {
	c, err := compile(p)
	if err != nil {
		return nil, err
	}
	return kernelTree(c, dev).commands(), nil
}

// ktree is a compiled kernel plan, kept in parts so that a change of
// impairments alone can be applied in place with "tc qdisc change".
type ktree struct {
	dev     string
	root    Command
	classes []Command
	netems  [][]string // netem arguments per group, after "netem"
	filters []Command
}

func kernelTree(c compiled, dev string) ktree {
	t := ktree{dev: dev}
	if len(c.Matches) == 0 {
		return t
	}
	t.root = Command{"tc", "qdisc", "add", "dev", dev, "root", "handle", kernelRootHandle, "htb"}
	ims := make([]Impairment, 0, len(c.Groups)+1)
	for _, g := range c.Groups {
		ims = append(ims, g.Impairment)
	}
	// Blackholes share one more class whose netem drops everything: a
	// u32 "action drop" would need act_gact, which some kernels lack.
	cut := -1
	if slices.ContainsFunc(c.Matches, func(m match) bool { return m.Group < 0 }) {
		cut = len(ims)
		ims = append(ims, Impairment{Loss: 100})
	}
	for i, im := range ims {
		t.classes = append(t.classes, Command{"tc", "class", "add", "dev", dev, "parent", kernelRootHandle,
			"classid", classID(i), "htb", "rate", kernelClassRate, "ceil", kernelClassRate, "quantum", kernelQuantum})
		t.netems = append(t.netems, netemArgs(im))
	}
	for i, m := range c.Matches {
		proto, sel := "ip", "ip"
		if !m.Prefix.Addr().Is4() {
			proto, sel = "ipv6", "ip6"
		}
		g := m.Group
		if g < 0 {
			g = cut
		}
		t.filters = append(t.filters, Command{"tc", "filter", "add", "dev", dev, "parent", kernelRootHandle, "protocol", proto,
			"prio", fmt.Sprint(i + 1), "u32", "match", sel, "dst", m.Prefix.String(), "flowid", classID(g)})
	}
	return t
}

func classID(group int) string     { return fmt.Sprintf("1:%x", group+1) }
func netemHandle(group int) string { return fmt.Sprintf("%x:", group+0x10) }

func (t ktree) netemCommand(verb string, group int) Command {
	return append(Command{"tc", "qdisc", verb, "dev", t.dev, "parent", classID(group), "handle", netemHandle(group), "netem"}, t.netems[group]...)
}

func (t ktree) commands() []Command {
	if t.root == nil {
		return nil
	}
	out := []Command{t.root}
	for i := range t.classes {
		out = append(out, t.classes[i], t.netemCommand("add", i))
	}
	return append(out, t.filters...)
}

// sameShape reports whether u differs from t only in netem parameters that
// "tc qdisc change" can set: same classes, same filters, and each group's
// rate present in both or neither (netem keeps an old rate when the change
// omits it).
func (t ktree) sameShape(u ktree) bool {
	if t.root == nil || !slices.Equal(t.root, u.root) || len(t.netems) != len(u.netems) ||
		!slices.EqualFunc(t.classes, u.classes, slices.Equal) || !slices.EqualFunc(t.filters, u.filters, slices.Equal) {
		return false
	}
	for i := range t.netems {
		if slices.Contains(t.netems[i], "rate") != slices.Contains(u.netems[i], "rate") {
			return false
		}
	}
	return true
}

// netemLimit is the netem queue length for im, in packets: KernelNetemLimit
// without a rate; with one, what the link carries over its delay, jitter
// and MaxRateBacklog in full-size (1500-byte) packets, at least
// minRateLimit: netem counts every held packet against its limit, those
// still "in flight" over the delay too, so the bound on the backlog is
// approximate where the agent's is exact.
func netemLimit(im Impairment) int {
	if im.Rate == 0 {
		return KernelNetemLimit
	}
	span := im.Delay + im.Jitter + MaxRateBacklog
	n := int(math.Ceil(float64(im.Rate) / 8 * span.Seconds() / 1500))
	return max(n, minRateLimit)
}

// minRateLimit keeps a slow link's netem queue from dropping every burst.
const minRateLimit = 10

func netemArgs(im Impairment) []string {
	args := []string{"limit", fmt.Sprint(netemLimit(im))}
	if im.Delay != 0 || im.Jitter != 0 {
		args = append(args, "delay", tcTime(im.Delay))
		if im.Jitter != 0 {
			args = append(args, tcTime(im.Jitter))
		}
	}
	if im.Loss != 0 {
		args = append(args, "loss", "random", im.Loss.String())
	}
	if im.Rate != 0 {
		args = append(args, "rate", im.Rate.String())
	}
	return args
}

// tcTime formats d in a unit tc parses exactly ("40ms", "1500us").
func tcTime(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return fmt.Sprintf("%dus", d.Round(time.Microsecond)/time.Microsecond)
}

// kernelShaper applies plans with tc on one device.
type kernelShaper struct {
	run     Runner
	dev     string
	applied *ktree // nil: nothing known to be applied by this shaper
}

func (k *kernelShaper) apply(ctx context.Context, p Plan) error {
	c, err := compile(p)
	if err != nil {
		return err
	}
	want := kernelTree(c, k.dev)
	if want.root == nil {
		if err := k.reset(ctx); err != nil {
			return err
		}
		k.applied = &want
		return nil
	}
	if k.applied != nil && k.applied.sameShape(want) {
		for i := range want.netems {
			if slices.Equal(k.applied.netems[i], want.netems[i]) {
				continue
			}
			if err := k.exec(ctx, want.netemCommand("change", i)); err != nil {
				k.applied = nil // unknown state: the next Apply rebuilds
				return fmt.Errorf("change netem of group %d on %s: %w", i, k.dev, err)
			}
		}
		k.applied = &want
		return nil
	}
	if err := k.removeTree(ctx); err != nil {
		return err
	}
	k.applied = nil
	for _, cmd := range want.commands() {
		if err := k.exec(ctx, cmd); err != nil {
			undo := k.removeTree(context.WithoutCancel(ctx))
			return errors.Join(fmt.Errorf("install qdisc tree on %s: %w", k.dev, err), undo)
		}
	}
	k.applied = &want
	return nil
}

func (k *kernelShaper) reset(ctx context.Context) error {
	if err := k.removeTree(ctx); err != nil {
		return err
	}
	k.applied = nil
	return nil
}

// removeTree deletes the root qdisc if it is replab's; anything else on the
// device is left alone. A missing device counts as removed.
func (k *kernelShaper) removeTree(ctx context.Context) error {
	ours, err := k.ours(ctx)
	if err != nil || !ours {
		return err
	}
	del := Command{"tc", "qdisc", "del", "dev", k.dev, "root", "handle", kernelRootHandle}
	if err := k.exec(ctx, del); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove qdisc tree on %s: %w", k.dev, err)
	}
	return nil
}

// ours reports whether dev's root qdisc is replab's htb.
func (k *kernelShaper) ours(ctx context.Context) (bool, error) {
	show := Command{"tc", "qdisc", "show", "dev", k.dev, "root"}
	out, err := k.run.Run(ctx, show)
	if err != nil {
		if isNotFound(err) && !errors.Is(commandError(show, err), ErrToolMissing) {
			return false, nil
		}
		return false, fmt.Errorf("inspect qdiscs on %s: %w", k.dev, commandError(show, err))
	}
	return isReplabRoot(string(out)), nil
}

func isReplabRoot(show string) bool {
	for line := range strings.Lines(show) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "qdisc" && f[1] == "htb" && f[2] == kernelRootHandle && f[3] == "root" {
			return true
		}
	}
	return false
}

func (k *kernelShaper) alive(ctx context.Context) error {
	if k.applied == nil || k.applied.root == nil {
		return nil
	}
	ours, err := k.ours(ctx)
	if err != nil {
		return err
	}
	if !ours {
		return fmt.Errorf("%w: the qdisc tree on %s is gone (removed by someone else, or the container restarted); apply the plan again", ErrImpairmentLost, k.dev)
	}
	return nil
}

func (k *kernelShaper) verify(ctx context.Context, p Plan) error {
	c, err := compile(p)
	if err != nil {
		return err
	}
	want := kernelTree(c, k.dev)
	show := Command{"tc", "qdisc", "show", "dev", k.dev}
	out, err := k.run.Run(ctx, show)
	if err != nil {
		return fmt.Errorf("inspect qdiscs on %s: %w", k.dev, commandError(show, err))
	}
	ours := isReplabRoot(string(out))
	if want.root == nil {
		if ours {
			return fmt.Errorf("%w: %s has replab's qdisc tree, the plan has none", ErrPlanDiffers, k.dev)
		}
		return nil
	}
	if !ours {
		return fmt.Errorf("%w: replab's qdisc tree on %s is gone", ErrImpairmentLost, k.dev)
	}
	handles := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "qdisc" && f[1] == "netem" {
			handles[f[2]] = true
		}
	}
	for i := range want.netems {
		if !handles[netemHandle(i)] {
			return fmt.Errorf("%w: netem %s of peer group %d missing on %s", ErrPlanDiffers, netemHandle(i), i, k.dev)
		}
	}
	if len(handles) != len(want.netems) {
		return fmt.Errorf("%w: %d netem qdiscs on %s, the plan has %d", ErrPlanDiffers, len(handles), k.dev, len(want.netems))
	}
	// tc prints netem parameters in its own units and roundings; the
	// delays are checked through the tree this shaper installed last.
	if k.applied == nil || !k.applied.sameShape(want) || !slices.EqualFunc(k.applied.netems, want.netems, slices.Equal) {
		return fmt.Errorf("%w: the impairments applied last on %s are not the plan's", ErrPlanDiffers, k.dev)
	}
	return nil
}

func (k *kernelShaper) exec(ctx context.Context, c Command) error {
	if _, err := k.run.Run(ctx, c); err != nil {
		return commandError(c, err)
	}
	return nil
}
