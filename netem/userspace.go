package netem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Firewall constants of the userspace backend. Everything replab adds to a
// node's firewall is two chains in the mangle table and one jump to each,
// from INPUT and OUTPUT, so undo removes exactly that.
const (
	// Chain holds the rules for packets arriving from peers (INPUT).
	Chain = "REPLAB-NETEM"
	// ChainOut holds the rules for ICMP leaving for peers (OUTPUT).
	ChainOut = "REPLAB-NETEM-OUT"
	// fwTable is mangle, not filter: a packet whose queue verdict is
	// ACCEPT continues at the next table, so filter-table rules (a chaos
	// partition, the node's own firewall) still apply to it.
	fwTable = "mangle"
	// QueueBase is the first NFQUEUE number; group i uses QueueBase+i.
	QueueBase uint16 = 1000
)

// chainSpec is one of replab's chains and the jump that feeds it. Loopback
// is never impaired, whatever the peers.
type chainSpec struct {
	name, hook string
	jump       []string
}

var chains = []chainSpec{
	{Chain, "INPUT", []string{"!", "-i", "lo", "-m", "comment", "--comment", "replab-netem", "-j", Chain}},
	{ChainOut, "OUTPUT", []string{"!", "-o", "lo", "-m", "comment", "--comment", "replab-netem", "-j", ChainOut}},
}

// FirewallRule is one rule of one of replab's chains: Tool is iptables or
// ip6tables, Chain is Chain or ChainOut, Args the match and target.
type FirewallRule struct {
	Tool  string
	Chain string
	Args  []string
}

// UserspacePlan is a plan compiled for the userspace backend: the firewall
// rules of replab's chains, in order, and the agent's config. Blackholes
// are plain DROP rules; every other group goes to its NFQUEUE with
// --queue-bypass, so traffic flows (unimpaired) whenever no agent is bound.
type UserspacePlan struct {
	Rules []FirewallRule
	Agent AgentConfig
}

// PlanUserspace compiles p for the userspace backend. Packets are held
// where they ARRIVE (mangle INPUT): each Rule's Peers are matched as
// sources. The path of a packet from a peer:
//
//	peer ──wire──▶ eth0 ─▶ PREROUTING ─▶ routing ─▶ mangle INPUT
//	                                                   │ -j REPLAB-NETEM
//	                       ┌───────────────────────────┤
//	                       │ -s blackholed -j DROP      │ -s peers ! -p icmp -j NFQUEUE
//	                       ▼                            │   --queue-num 1000+g --queue-bypass
//	                     (gone)                         ▼
//	               kernel queue 1000+g ──netlink──▶ replab-agent
//	                                                 holds delay±jitter,
//	                                                 drops loss, paces rate
//	                                                    │ verdict ACCEPT
//	                                                    ▼
//	                                     filter INPUT ─▶ socket
//
// Holding at the receiver, not the sender, keeps TCP's send path free:
// TCP Small Queues counts a sender's packets held in its own OUTPUT hook
// against the socket, so the sender stalls until they are released and a
// bulk stream crawls at a small fraction of what the link carries when the
// same packets are held on arrival.
//
// ICMP is the exception: it is held when it LEAVES for the peers (mangle
// OUTPUT, REPLAB-NETEM-OUT, -d peers -p icmp), like the kernel backend.
// The kernel stamps a packet's receive time at the device, before INPUT;
// held on arrival, an echo reply would carry a stamp from before its delay
// and ping (which reports that stamp) would show half the RTT. ICMP has no
// TSQ to starve, and each direction is still held once, by its sender.
func PlanUserspace(p Plan) (UserspacePlan, error) {
	c, err := compile(p)
	if err != nil {
		return UserspacePlan{}, err
	}
	return userspacePlan(c), nil
}

func userspacePlan(c compiled) UserspacePlan {
	up := UserspacePlan{Agent: AgentConfig{Seed: c.Seed, Queues: []AgentQueue{}}}
	for _, g := range c.Groups {
		up.Agent.Queues = append(up.Agent.Queues, AgentQueue{
			Num:        QueueBase + uint16(g.Index),
			Links:      g.Links,
			Impairment: g.Impairment,
		})
	}
	var out []FirewallRule
	for _, m := range c.Matches {
		tool, icmp := "iptables", "icmp"
		if !m.Prefix.Addr().Is4() {
			tool, icmp = "ip6tables", "ipv6-icmp"
		}
		comment := []string{"-m", "comment", "--comment", commentWord(m.Link)}
		if m.Group < 0 {
			up.Rules = append(up.Rules, FirewallRule{tool, Chain, slices.Concat([]string{"-s", m.Prefix.String()}, comment, []string{"-j", "DROP"})})
			continue
		}
		queue := []string{"-j", "NFQUEUE", "--queue-num", fmt.Sprint(QueueBase + uint16(m.Group)), "--queue-bypass"}
		up.Rules = append(up.Rules, FirewallRule{tool, Chain, slices.Concat([]string{"-s", m.Prefix.String(), "!", "-p", icmp}, comment, queue)})
		out = append(out, FirewallRule{tool, ChainOut, slices.Concat([]string{"-d", m.Prefix.String(), "-p", icmp}, comment, queue)})
	}
	up.Rules = append(up.Rules, out...)
	return up
}

var notCommentWord = regexp.MustCompile(`[^A-Za-z0-9._:>/+-]+`)

// commentWord makes a link name safe as one iptables comment word, so that
// "iptables -S" prints it unquoted.
func commentWord(s string) string {
	s = notCommentWord.ReplaceAllString(s, "_")
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "replab"
	}
	return s
}

// Commands returns the commands that install the plan's rules on a node
// without any of replab's rules: per tool and chain, create the chain,
// fill it, and jump to it. The agent is started separately (see Shaper).
func (u UserspacePlan) Commands() []Command {
	var out []Command
	for _, tool := range []string{"iptables", "ip6tables"} {
		for _, ch := range chains {
			rules := u.rulesOf(tool, ch.name)
			if len(rules) == 0 {
				continue
			}
			out = append(out, fw(tool, "-N", ch.name))
			for _, r := range rules {
				out = append(out, fw(tool, append([]string{"-A", ch.name}, r.Args...)...))
			}
			out = append(out, fw(tool, append([]string{"-I", ch.hook, "1"}, ch.jump...)...))
		}
	}
	return out
}

func (u UserspacePlan) rulesOf(tool, chain string) []FirewallRule {
	var out []FirewallRule
	for _, r := range u.Rules {
		if r.Tool == tool && r.Chain == chain {
			out = append(out, r)
		}
	}
	return out
}

func fw(tool string, args ...string) Command {
	return append(Command{tool, "-w", "-t", fwTable}, args...)
}

// Agent file names inside the node's AgentDir.
const (
	agentBinName    = "replab-agent"
	agentConfigName = "agent.json"
	agentStatusName = "status.json"
	agentLogName    = "agent.log"
)

// userspaceShaper applies plans with iptables and the agent.
type userspaceShaper struct {
	host     Host
	dir      string        // in the node
	binPath  string        // agent binary on this machine
	nice     int           // the agent's -nice
	slice    time.Duration // the agent's -slice
	log      *slog.Logger
	binOnce  sync.Once
	bin      []byte
	binErr   error
	applied  *UserspacePlan
	cfgBytes []byte
	// copied is the hash of the agent binary prepare put in the node,
	// so that starting the agent need not copy it again.
	copied string
	// fresh: the node has never been shaped (WithFreshNode), until the
	// first apply.
	fresh bool
}

// prepare copies the agent binary into the node, once.
func (s *userspaceShaper) prepare(ctx context.Context) error {
	bin, err := s.binary()
	if err != nil {
		return err
	}
	if s.copied == Hash(bin) {
		return nil
	}
	if err := s.host.CopyFile(ctx, s.in(agentBinName), bin, 0o755); err != nil {
		return fmt.Errorf("copy agent binary into node: %w", err)
	}
	s.copied = Hash(bin)
	return nil
}

func (s *userspaceShaper) in(name string) string { return path.Join(s.dir, name) }

func (s *userspaceShaper) apply(ctx context.Context, p Plan) error {
	c, err := compile(p)
	if err != nil {
		return err
	}
	up := userspacePlan(c)
	cfg := up.Agent.Encode()
	if s.applied != nil && bytes.Equal(cfg, s.cfgBytes) && slices.EqualFunc(up.Rules, s.applied.Rules, func(a, b FirewallRule) bool {
		return a.Tool == b.Tool && a.Chain == b.Chain && slices.Equal(a.Args, b.Args)
	}) {
		return nil
	}
	if s.fresh && s.applied == nil && len(up.Agent.Queues) > 0 {
		if err := s.applyFresh(ctx, up, cfg); err != nil {
			return err
		}
		s.fresh = false
		s.applied, s.cfgBytes = &up, cfg
		s.log.DebugContext(ctx, "netem plan applied to a fresh node", "rules", len(up.Rules), "queues", len(up.Agent.Queues), "seed", up.Agent.Seed, "config_sha256", Hash(cfg))
		return nil
	}
	s.fresh = false
	tools := []string{"iptables", "ip6tables"}
	if s.applied != nil {
		tools = usedTools(s.applied.Rules, up.Rules)
	}
	s.applied = nil // until we know better
	retiring := false
	// Make before break. The agent first runs the new queues AND the old
	// ones the plan drops, so that every rule, old or new, feeds a bound
	// queue while the chain is rewritten; then the dropped queues go. An
	// agent with no queues left stops after the rules that fed it.
	if len(up.Agent.Queues) > 0 {
		st, statusErr := s.status(ctx)
		during := up.Agent
		if statusErr == nil {
			during = withRetiring(up.Agent, st)
		}
		if err := s.startOrReload(ctx, during.Encode(), st, statusErr); err != nil {
			return err
		}
		retiring = len(during.Queues) != len(up.Agent.Queues)
	}
	for _, tool := range tools {
		if err := s.syncTable(ctx, tool, up); err != nil {
			return err
		}
	}
	switch {
	case len(up.Agent.Queues) == 0:
		if err := s.stopAgent(ctx, false); err != nil {
			return err
		}
	case retiring:
		if err := s.reload(ctx, cfg); err != nil {
			return fmt.Errorf("retire the queues the plan dropped: %w", err)
		}
	}
	s.applied, s.cfgBytes = &up, cfg
	s.log.DebugContext(ctx, "netem plan applied", "rules", len(up.Rules), "queues", len(up.Agent.Queues), "seed", up.Agent.Seed, "config_sha256", Hash(cfg))
	return nil
}

func usedTools(a, b []FirewallRule) []string {
	var out []string
	for _, tool := range []string{"iptables", "ip6tables"} {
		if slices.ContainsFunc(a, func(r FirewallRule) bool { return r.Tool == tool }) ||
			slices.ContainsFunc(b, func(r FirewallRule) bool { return r.Tool == tool }) {
			out = append(out, tool)
		}
	}
	return out
}

// chainState is what "iptables -S" says about one of replab's chains.
type chainState struct {
	exists bool
	rules  int
	lines  [][]string // args after "-A CHAIN" of each rule, quotes removed
	jumps  [][]string // args after "-A HOOK" of every jump to the chain
}

// holds reports whether the chain holds exactly want, in order, with one
// jump to it: then there is nothing to change.
func (c *chainState) holds(want []FirewallRule) bool {
	return c.exists && len(c.jumps) == 1 && slices.EqualFunc(c.lines, want, func(l []string, r FirewallRule) bool { return slices.Equal(l, r.Args) })
}

// readTable reads tool's mangle table: the state of each of replab's
// chains, by name.
func (s *userspaceShaper) readTable(ctx context.Context, tool string) (map[string]*chainState, error) {
	cmd := fw(tool, "-S")
	out, err := s.host.Run(ctx, cmd)
	if err != nil {
		return nil, commandError(cmd, err)
	}
	st := map[string]*chainState{}
	for _, ch := range chains {
		st[ch.name] = &chainState{}
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, ch := range chains {
			c := st[ch.name]
			switch {
			case len(f) == 2 && f[0] == "-N" && f[1] == ch.name:
				c.exists = true
			case f[0] == "-A" && f[1] == ch.name:
				c.rules++
				args := slices.Clone(f[2:])
				for i, a := range args {
					args[i] = strings.Trim(a, `"`)
				}
				c.lines = append(c.lines, args)
			case f[0] == "-A" && f[1] == ch.hook && slices.Contains(f, ch.name):
				c.jumps = append(c.jumps, f[2:])
			}
		}
	}
	return st, nil
}

// syncTable makes tool's chains hold exactly the plan's rules. In each
// chain new rules are inserted above the old ones before the old ones are
// deleted, so a packet always meets either the old rule or the new one,
// never none. A chain that already holds the plan's rules (a plan that
// only changes impairments: a degradation, its heal) is left alone.
func (s *userspaceShaper) syncTable(ctx context.Context, tool string, up UserspacePlan) error {
	table, err := s.readTable(ctx, tool)
	if err != nil {
		if len(up.rulesOf(tool, Chain))+len(up.rulesOf(tool, ChainOut)) == 0 {
			// No ip6tables, or no IPv6 mangle table, in the node: nothing
			// of ours can be there either.
			s.log.DebugContext(ctx, "cannot read firewall; nothing to remove", "tool", tool, "err", err)
			return nil
		}
		return fmt.Errorf("read %s rules: %w", tool, err)
	}
	var cmds []Command
	for _, ch := range chains {
		want, st := up.rulesOf(tool, ch.name), table[ch.name]
		if len(want) == 0 {
			if err := s.removeChain(ctx, tool, ch, st); err != nil {
				return err
			}
			continue
		}
		if st.holds(want) {
			continue
		}
		if !st.exists {
			cmds = append(cmds, fw(tool, "-N", ch.name))
		}
		for i, r := range want {
			cmds = append(cmds, fw(tool, append([]string{"-I", ch.name, fmt.Sprint(i + 1)}, r.Args...)...))
		}
		for range st.rules {
			cmds = append(cmds, fw(tool, "-D", ch.name, fmt.Sprint(len(want)+1)))
		}
		if len(st.jumps) == 0 {
			cmds = append(cmds, fw(tool, append([]string{"-I", ch.hook, "1"}, ch.jump...)...))
		}
	}
	if err := runInOrder(ctx, s.host, cmds); err != nil {
		return fmt.Errorf("install %s rules: %w", tool, err)
	}
	return nil
}

// runInOrder runs cmds one after the other in one call on the host (a
// shell runs them, and stops at the first that fails). On a container
// every call is an exec, which costs the engine a good part of a CPU
// second on a small machine where each iptables command costs
// milliseconds: a host's rules go in with one exec instead of one per
// rule (docs/provisioning.md has the figures).
func runInOrder(ctx context.Context, h Runner, cmds []Command) error {
	switch len(cmds) {
	case 0:
		return nil
	case 1:
		if _, err := h.Run(ctx, cmds[0]); err != nil {
			return commandError(cmds[0], err)
		}
		return nil
	}
	words := make([]string, len(cmds))
	for i, c := range cmds {
		words[i] = c.String()
	}
	script := Command{"sh", "-c", strings.Join(words, " && ")}
	if _, err := h.Run(ctx, script); err != nil {
		return commandError(script, err)
	}
	return nil
}

func (s *userspaceShaper) removeChain(ctx context.Context, tool string, ch chainSpec, st *chainState) error {
	var cmds []Command
	for _, j := range st.jumps {
		cmds = append(cmds, fw(tool, append([]string{"-D", ch.hook}, j...)...))
	}
	if st.exists {
		cmds = append(cmds, fw(tool, "-F", ch.name), fw(tool, "-X", ch.name))
	}
	var errs []error
	for _, c := range cmds {
		if _, err := s.host.Run(ctx, c); err != nil && !isNotFound(err) {
			errs = append(errs, commandError(c, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove %s chain %s: %w", tool, ch.name, err)
	}
	return nil
}

func (s *userspaceShaper) binary() ([]byte, error) {
	s.binOnce.Do(func() {
		if s.binPath == "" {
			s.binErr = fmt.Errorf("%w: the userspace backend needs the agent: pass netem.WithAgent(path), path from netem.BuildAgent or $%s", ErrNoAgent, AgentEnv)
			return
		}
		s.bin, s.binErr = os.ReadFile(s.binPath)
		if s.binErr != nil {
			s.binErr = fmt.Errorf("%w: read agent binary: %w", ErrNoAgent, s.binErr)
		}
	})
	return s.bin, s.binErr
}

// withRetiring returns cfg plus the queues the running agent has and cfg
// drops, with their current impairments.
func withRetiring(cfg AgentConfig, st AgentStatus) AgentConfig {
	out := cfg
	out.Queues = slices.Clone(cfg.Queues)
	for _, q := range st.Queues {
		if !slices.ContainsFunc(cfg.Queues, func(n AgentQueue) bool { return n.Num == q.Num }) {
			out.Queues = append(out.Queues, AgentQueue{Num: q.Num, Links: q.Links, Impairment: q.Impairment})
		}
	}
	return out
}

// startOrReload makes the node's agent run cfg: reload a running agent of
// the same build, else (re)start one, and wait until its heartbeat reports
// cfg's hash. st and statusErr are what the agent's status said.
func (s *userspaceShaper) startOrReload(ctx context.Context, cfg []byte, st AgentStatus, statusErr error) error {
	bin, err := s.binary()
	if err != nil {
		return err
	}
	if statusErr == nil && st.BinarySHA256 == Hash(bin) {
		return s.reload(ctx, cfg)
	}
	if statusErr == nil {
		s.log.InfoContext(ctx, "replacing replab-agent of another build", "pid", st.PID)
		if err := s.stopAgent(ctx, false); err != nil {
			return err
		}
	}
	if s.copied != Hash(bin) {
		if err := s.host.CopyFile(ctx, s.in(agentBinName), bin, 0o755); err != nil {
			return fmt.Errorf("copy agent binary into node: %w", err)
		}
		s.copied = Hash(bin)
	}
	if err := s.host.CopyFile(ctx, s.in(agentConfigName), cfg, 0o644); err != nil {
		return fmt.Errorf("copy agent config into node: %w", err)
	}
	run := []string{s.in(agentBinName), "run", "-config", s.in(agentConfigName), "-status", s.in(agentStatusName), "-log", s.in(agentLogName)}
	if s.nice != 0 {
		run = append(run, "-nice", strconv.Itoa(s.nice))
	}
	if s.slice > 0 {
		run = append(run, "-slice", s.slice.String())
	}
	if err := s.host.Start(ctx, run); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	wait := Command{s.in(agentBinName), "status", "-status", s.in(agentStatusName), "-log", s.in(agentLogName), "-wait-config", Hash(cfg), "-timeout", "5s"}
	if _, err := s.host.Run(ctx, wait); err != nil {
		// Say why: the agent's own last words are in its log.
		logTail, _ := s.host.Run(context.WithoutCancel(ctx), []string{"tail", "-n", "20", s.in(agentLogName)})
		return fmt.Errorf("start agent: it did not come up: %w; agent log:\n%s", commandError(wait, err), logTail)
	}
	s.log.InfoContext(ctx, "replab-agent started", "dir", s.dir)
	return nil
}

// applyFresh applies up to a node that has never been shaped, in one call
// after the agent's binary is in: write the config, start the agent, wait
// until its heartbeat reports the config, and install the rules with
// Commands (the chains do not exist yet). The agent is started in the
// background of that call's shell, with its output to its log, so it
// outlives the call as a detached start does.
func (s *userspaceShaper) applyFresh(ctx context.Context, up UserspacePlan, cfg []byte) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	run := Command{s.in(agentBinName), "run", "-config", s.in(agentConfigName), "-status", s.in(agentStatusName), "-log", s.in(agentLogName)}
	if s.nice != 0 {
		run = append(run, "-nice", strconv.Itoa(s.nice))
	}
	if s.slice > 0 {
		run = append(run, "-slice", s.slice.String())
	}
	wait := Command{s.in(agentBinName), "status", "-status", s.in(agentStatusName), "-log", s.in(agentLogName), "-wait-config", Hash(cfg), "-timeout", "5s"}
	lines := []string{
		"set -e",
		Command{"printf", "%s", string(cfg)}.String() + " > " + Command{s.in(agentConfigName)}.String(),
		run.String() + " </dev/null >/dev/null 2>&1 &",
		wait.String(),
	}
	for _, c := range up.Commands() {
		lines = append(lines, c.String())
	}
	script := Command{"sh", "-c", strings.Join(lines, "\n")}
	if _, err := s.host.Run(ctx, script); err != nil {
		logTail, _ := s.host.Run(context.WithoutCancel(ctx), []string{"tail", "-n", "20", s.in(agentLogName)})
		return fmt.Errorf("start agent and install rules on a fresh node: %w; agent log:\n%s", commandError(script, err), logTail)
	}
	s.log.InfoContext(ctx, "replab-agent started", "dir", s.dir)
	return nil
}

// reload hands the running agent a new config and waits until it runs it.
func (s *userspaceShaper) reload(ctx context.Context, cfg []byte) error {
	if err := s.host.CopyFile(ctx, s.in(agentConfigName), cfg, 0o644); err != nil {
		return fmt.Errorf("copy agent config into node: %w", err)
	}
	reload := Command{s.in(agentBinName), "reload", "-status", s.in(agentStatusName), "-config", s.in(agentConfigName), "-timeout", "5s"}
	if _, err := s.host.Run(ctx, reload); err != nil {
		return fmt.Errorf("reload agent: %w", commandError(reload, err))
	}
	return nil
}

// status runs "replab-agent status" in the node.
func (s *userspaceShaper) status(ctx context.Context) (AgentStatus, error) {
	cmd := Command{s.in(agentBinName), "status", "-status", s.in(agentStatusName), "-max-age", "3s"}
	out, err := s.host.Run(ctx, cmd)
	if err != nil {
		return AgentStatus{}, err
	}
	var st AgentStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return AgentStatus{}, fmt.Errorf("decode agent status %q: %w", out, err)
	}
	return st, nil
}

// stopAgent stops the agent (it releases every held packet first); purge
// also removes AgentDir. An agent that is not there is stopped.
func (s *userspaceShaper) stopAgent(ctx context.Context, purge bool) error {
	cmd := Command{s.in(agentBinName), "stop", "-status", s.in(agentStatusName), "-timeout", "5s"}
	if purge {
		cmd = append(cmd, "-purge", s.dir)
	}
	if _, err := s.host.Run(ctx, cmd); err != nil && !isNotFound(err) {
		return fmt.Errorf("stop agent: %w", commandError(cmd, err))
	}
	return nil
}

func (s *userspaceShaper) reset(ctx context.Context) error {
	var errs []error
	for _, tool := range []string{"iptables", "ip6tables"} {
		table, err := s.readTable(ctx, tool)
		if err != nil {
			// iptables must be readable if it is installed; ip6tables may
			// lack its tables where IPv6 is off, and then holds nothing.
			if tool == "iptables" && !errors.Is(err, ErrToolMissing) && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("read %s rules: %w", tool, err))
			}
			continue
		}
		for _, ch := range chains {
			errs = append(errs, s.removeChain(ctx, tool, ch, table[ch.name]))
		}
	}
	errs = append(errs, s.stopAgent(ctx, true))
	s.applied, s.cfgBytes, s.copied = nil, nil, ""
	return errors.Join(errs...)
}

func (s *userspaceShaper) verify(ctx context.Context, p Plan) error {
	c, err := compile(p)
	if err != nil {
		return err
	}
	up := userspacePlan(c)
	var errs []error
	for _, tool := range []string{"iptables", "ip6tables"} {
		table, err := s.readTable(ctx, tool)
		if err != nil {
			if len(up.rulesOf(tool, Chain))+len(up.rulesOf(tool, ChainOut)) > 0 {
				errs = append(errs, fmt.Errorf("read %s rules: %w", tool, err))
			}
			continue
		}
		for _, ch := range chains {
			want, st := len(up.rulesOf(tool, ch.name)), table[ch.name]
			switch {
			case want == 0 && (st.exists || len(st.jumps) > 0):
				errs = append(errs, fmt.Errorf("%w: %s chain %s is there (%d rules), the plan has none", ErrPlanDiffers, tool, ch.name, st.rules))
			case want > 0 && st.rules != want:
				errs = append(errs, fmt.Errorf("%w: %s chain %s holds %d rules, the plan %d", ErrPlanDiffers, tool, ch.name, st.rules, want))
			case want > 0 && len(st.jumps) != 1:
				errs = append(errs, fmt.Errorf("%w: %d jumps from %s to %s %s, want 1", ErrPlanDiffers, len(st.jumps), ch.hook, tool, ch.name))
			}
		}
	}
	st, statusErr := s.status(ctx)
	switch {
	case len(up.Agent.Queues) == 0 && statusErr == nil:
		errs = append(errs, fmt.Errorf("%w: replab-agent (pid %d) runs, the plan needs none", ErrPlanDiffers, st.PID))
	case len(up.Agent.Queues) > 0 && statusErr != nil:
		errs = append(errs, fmt.Errorf("%w: replab-agent is not running: %v", ErrImpairmentLost, statusErr))
	case len(up.Agent.Queues) > 0 && st.ConfigSHA256 != Hash(up.Agent.Encode()):
		errs = append(errs, fmt.Errorf("%w: replab-agent (pid %d) runs config %.12s, the plan's is %.12s", ErrPlanDiffers, st.PID, st.ConfigSHA256, Hash(up.Agent.Encode())))
	}
	return errors.Join(errs...)
}

func (s *userspaceShaper) alive(ctx context.Context) error {
	if s.applied == nil || len(s.applied.Agent.Queues) == 0 {
		return nil
	}
	st, err := s.status(ctx)
	if err != nil {
		return fmt.Errorf("%w: replab-agent is not running (%v); its queues let traffic through unimpaired (queue-bypass); apply the plan again and discard results since the last good check", ErrImpairmentLost, err)
	}
	if want := Hash(s.cfgBytes); st.ConfigSHA256 != want {
		return fmt.Errorf("%w: replab-agent (pid %d) runs config %.12s, want %.12s", ErrImpairmentLost, st.PID, st.ConfigSHA256, want)
	}
	return nil
}
