package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/experiment"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/units"
)

// chaosFlags are shared by the fault subcommands.
type chaosFlags struct {
	lab    string
	hold   time.Duration
	seed   uint64
	cpus   float64
	oneWay bool
	delay  time.Duration
	rate   string
	slow   netem.Impairment // from delay and rate
}

const targetHelp = `TARGET is one of: leader, sync (a synchronous standby), follower (a seeded
choice, see --seed), etcd, leader-region, rest, region:NAME, node:NAME or a plain
host NAME.`

func newChaosCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "chaos",
		Short: "Inject a fault into the running lab, heal every fault, or run a seeded nemesis",
		Long: `Inject one fault into the running lab. Without --for the fault stays until
'replab chaos heal', which brings every host back to baseline (thaws, starts,
removes CPU quotas and iptables chains) whatever was injected.

` + targetHelp,
	}
	var f chaosFlags
	c.PersistentFlags().StringVar(&f.lab, "lab", "", "lab id (default: the only running lab)")
	type faultCmd struct {
		use, short string
		args       cobra.PositionalArgs
		build      func(sel []chaos.Selector) chaos.Fault
	}
	one := func(mk func(chaos.Selector) chaos.Fault) func([]chaos.Selector) chaos.Fault {
		return func(s []chaos.Selector) chaos.Fault { return mk(s[0]) }
	}
	cmds := []faultCmd{
		{"kill TARGET", "SIGKILL the target's container (heal starts it)", cobra.ExactArgs(1), one(chaos.Kill)},
		{"stop TARGET", "Stop the target gracefully: Patroni releases the lock (heal starts it)", cobra.ExactArgs(1), one(chaos.Stop)},
		{"restart TARGET", "Stop the target gracefully and start it again", cobra.ExactArgs(1), one(chaos.Restart)},
		{"pause TARGET", "Freeze the target's container (heal thaws it)", cobra.ExactArgs(1), one(chaos.Pause)},
		{"crash TARGET", "SIGKILL PostgreSQL's postmaster while Patroni lives", cobra.ExactArgs(1), one(chaos.CrashPostgres)},
		{"isolate TARGET", "Cut the target off from every other host (iptables)", cobra.ExactArgs(1), one(chaos.Isolate)},
		{"cut-dcs TARGET", "Cut the target off from etcd only: a leader must demote", cobra.ExactArgs(1), one(chaos.CutFromDCS)},
		{"cpu TARGET", "Throttle the target's CPU quota (see --cpus)", cobra.ExactArgs(1), func(s []chaos.Selector) chaos.Fault { return chaos.ThrottleCPU(s[0], f.cpus) }},
		{"partition A [B]", "Partition A from B (default: from everyone else); --one-way drops only A to B", cobra.RangeArgs(1, 2), func(s []chaos.Selector) chaos.Fault {
			if f.oneWay {
				return chaos.PartitionOneWay(s[0], s[1])
			}
			return chaos.Partition(s[0], s[1])
		}},
		{"slow A [B]", "Slow the links between the nodes of A and of B (default: every other node), both ways; see --delay and --rate", cobra.RangeArgs(1, 2), func(s []chaos.Selector) chaos.Fault {
			return chaos.SlowLinks(s[0], s[1], f.slow)
		}},
	}
	for _, fc := range cmds {
		sub := &cobra.Command{
			Use:   fc.use,
			Short: fc.short,
			Long:  fc.short + ".\n\n" + targetHelp,
			Args:  badArgs(fc.args),
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) == 1 && (strings.HasPrefix(fc.use, "partition") || strings.HasPrefix(fc.use, "slow")) {
					args = append(args, "rest")
				}
				if strings.HasPrefix(fc.use, "slow") {
					f.slow = netem.Impairment{Delay: f.delay}
					if f.rate != "" {
						r, err := units.ParseBitRate(f.rate)
						if err != nil {
							return badInput{fmt.Errorf("slow: --rate: %w", err)}
						}
						f.slow.Rate = r
					}
					if f.slow.IsZero() || f.delay < 0 {
						return badInput{errors.New("slow: give --delay (e.g. 250ms) and/or --rate (e.g. 256kbit)")}
					}
				}
				return injectCmd(cmd, f, args, fc.build)
			},
		}
		sub.Flags().DurationVar(&f.hold, "for", 0, "heal after this long (default: stay until replab chaos heal)")
		sub.Flags().Uint64Var(&f.seed, "seed", 0, "seed for the 'follower' choice (default: from the clock, printed)")
		switch {
		case strings.HasPrefix(fc.use, "cpu"):
			sub.Flags().Float64Var(&f.cpus, "cpus", 0.1, "CPU quota in cores")
		case strings.HasPrefix(fc.use, "partition"):
			sub.Flags().BoolVar(&f.oneWay, "one-way", false, "drop only what A sends to B")
		case strings.HasPrefix(fc.use, "slow"):
			sub.Flags().DurationVar(&f.delay, "delay", 0, "more delay each way (e.g. 250ms)")
			sub.Flags().StringVar(&f.rate, "rate", "", "rate cap each way, tc units (e.g. 256kbit)")
		}
		c.AddCommand(sub)
	}
	c.AddCommand(newChaosHealCmd(&f), newChaosRunCmd(&f), newChaosDegradeCmd(&f))
	return c
}

// badArgs marks wrong argument counts as bad input (exit 2).
func badArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return badInput{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
		}
		return nil
	}
}

// parseTarget turns a TARGET argument into a selector, checking node and
// region names against the lab.
func parseTarget(arg string, hosts []harness.Host, seed uint64) (chaos.Selector, error) {
	var names, regions []string
	for _, h := range hosts {
		names = append(names, h.Name)
		if h.Role == harness.RoleNode && !slices.Contains(regions, h.Region) {
			regions = append(regions, h.Region)
		}
	}
	switch arg {
	case "leader":
		return chaos.Leader, nil
	case "sync":
		return chaos.SyncStandby, nil
	case "follower":
		return chaos.AnyFollower(seed), nil
	case "etcd":
		return chaos.EtcdMembers, nil
	case "leader-region":
		return chaos.LeaderRegion, nil
	case "rest":
		return chaos.Rest, nil
	}
	if r, ok := strings.CutPrefix(arg, "region:"); ok {
		if !slices.Contains(regions, r) {
			return nil, badInput{fmt.Errorf("unknown region %q (regions: %s)", r, strings.Join(regions, ", "))}
		}
		return chaos.Region(r), nil
	}
	n, _ := strings.CutPrefix(arg, "node:")
	if !slices.Contains(names, n) {
		return nil, badInput{fmt.Errorf("unknown target %q: use leader, sync, follower, etcd, leader-region, rest, region:NAME (%s) or a host (%s)",
			arg, strings.Join(regions, ", "), strings.Join(names, ", "))}
	}
	return chaos.Node(n), nil
}

func injectCmd(cmd *cobra.Command, f chaosFlags, args []string, build func([]chaos.Selector) chaos.Fault) error {
	ctx := cmd.Context()
	lab, err := harness.Attach(ctx, f.lab)
	if err != nil {
		return err
	}
	defer lab.Close()
	seed := f.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var sels []chaos.Selector
	for _, a := range args {
		s, err := parseTarget(a, lab.Hosts(), seed)
		if err != nil {
			return err
		}
		sels = append(sels, s)
	}
	if slices.Contains(args, "follower") {
		fmt.Fprintf(cmd.OutOrStdout(), "seed %d (replay the same choice with --seed %d)\n", seed, seed)
	}
	fault := build(sels)
	inj := chaos.NewInjector(experiment.ClusterOf(lab), nil)
	a, err := inj.Inject(ctx, fault)
	if err != nil {
		return err
	}
	printInEffect(cmd, a, "")
	return holdAndHeal(cmd, f.hold, a)
}

// printInEffect prints when the fault began (its begin stamp, not when the
// inject call returned) and how long its inject took.
func printInEffect(cmd *cobra.Command, a *chaos.Active, extra string) {
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s in effect on %s%s (began then; inject took %s: %s)\n",
		a.Began.Format("15:04:05.000"), a.Fault, a.Target, extra, (a.InjectEnd - a.Injected).Round(time.Microsecond), a.How)
}

// holdAndHeal leaves a fault in place (hold 0) or heals it after hold, or
// on Ctrl-C.
func holdAndHeal(cmd *cobra.Command, hold time.Duration, a *chaos.Active) error {
	out := cmd.OutOrStdout()
	if hold <= 0 {
		fmt.Fprintln(out, "it stays until: replab chaos heal")
		return nil
	}
	// Held from the fault's begin stamp: --for 5s means five seconds in
	// effect, however long the inject call took to return.
	select {
	case <-cmd.Context().Done():
	case <-time.After(time.Until(a.Began.Add(hold))):
	}
	if err := a.Heal(cmd.Context()); err != nil {
		return fmt.Errorf("%w (replab chaos heal resets every host)", err)
	}
	fmt.Fprintf(out, "%s: %s healed on %s (held %s from its begin)\n", time.Now().Format("15:04:05.000"), a.Fault, a.Target, time.Since(a.Began).Round(time.Millisecond))
	return nil
}

func newChaosHealCmd(f *chaosFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "heal [TARGET]",
		Short: "Bring every host back to baseline: thaw, start, remove CPU quotas and chaos iptables chains",
		Args:  badArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			lab, err := harness.Attach(ctx, f.lab)
			if err != nil {
				return err
			}
			defer lab.Close()
			c := experiment.ClusterOf(lab)
			did, err := chaos.Reset(ctx, c)
			// Link overlays (degrade, slow) live in the process that made
			// them: put the baseline back on every host (without a WAN,
			// remove whatever netem rules and agents are left).
			if werr := lab.ResetWAN(ctx); werr != nil {
				err = errors.Join(err, fmt.Errorf("restore the netem baseline: %w", werr))
			} else if lab.Topology().Network.Links != nil {
				did = append(did, "WAN: baseline plan re-applied on every host")
			} else if b, _ := lab.NetemBackend(); b != "none" {
				did = append(did, "netem: every node's rules and agent removed (no WAN: the baseline is none)")
			}
			out := cmd.OutOrStdout()
			for _, d := range did {
				fmt.Fprintln(out, d)
			}
			if err != nil {
				return err
			}
			if err := chaos.VerifyBaseline(ctx, c); err != nil {
				return fmt.Errorf("heal: hosts still off baseline: %w", err)
			}
			if len(did) == 0 {
				fmt.Fprintln(out, "nothing to heal: every host is at baseline")
			} else {
				fmt.Fprintln(out, "every host is at baseline")
			}
			return nil
		},
	}
}

func newChaosRunCmd(f *chaosFlags) *cobra.Command {
	var s chaos.Schedule
	var faults string
	c := &cobra.Command{
		Use:   "run --seed N --duration D [--faults kill,pause,partition]",
		Short: "Run a seeded nemesis: random faults at random times, each held then healed",
		Args:  badArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if s.Duration <= 0 {
				return badInput{errors.New("run: --duration must be positive (e.g. --duration 2m)")}
			}
			if faults != "" {
				fs, err := chaos.FactoriesNamed(strings.Split(faults, ",")...)
				if err != nil {
					return badInput{err}
				}
				s.Faults = fs
			}
			if !cmd.Flags().Changed("seed") {
				s.Seed = time.Now().UnixNano()
			}
			if err := s.Check(); err != nil {
				return badInput{fmt.Errorf("run: %w", err)}
			}
			ctx := cmd.Context()
			lab, err := harness.Attach(ctx, f.lab)
			if err != nil {
				return err
			}
			defer lab.Close()
			if faults == "" {
				s.Faults = chaos.Factories()
				if len(lab.Topology().Network.Links) > 0 {
					s.Faults = append(s.Faults, chaos.WANFactories()...)
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seed %d (replay with --seed %d)\n", s.Seed, s.Seed)
			s.Log = slog.New(slog.NewTextHandler(out, nil))
			for _, st := range s.Plan() {
				fmt.Fprintf(out, "planned: %s\n", st)
			}
			_, err = s.Run(ctx, chaos.NewInjector(experiment.ClusterOf(lab), nil))
			if ctx.Err() != nil {
				fmt.Fprintln(out, "interrupted: every fault was healed")
			}
			return err
		},
	}
	c.Flags().Int64Var(&s.Seed, "seed", 0, "seed of the schedule (default: from the clock, printed)")
	c.Flags().DurationVar(&s.Duration, "duration", 0, "how long the nemesis runs")
	c.Flags().DurationVar(&s.MinGap, "min-gap", 5*time.Second, "shortest wait between two faults")
	c.Flags().DurationVar(&s.MaxGap, "max-gap", 15*time.Second, "longest wait between two faults")
	c.Flags().DurationVar(&s.Hold, "hold", 25*time.Second, "how long each fault is held (longer than Patroni's ttl to force failovers)")
	c.Flags().StringVar(&faults, "faults", "", "comma-separated faults to draw from (default: all the lab can take; kill, stop, pause, restart, crash, partition, isolate, cut-dcs, cpu, and degrade where there is a WAN)")
	return c
}

// newChaosDegradeCmd degrades the WAN link between two regions. Flags not
// given keep the topology's baseline for that link.
func newChaosDegradeCmd(f *chaosFlags) *cobra.Command {
	var (
		rtt, jitter time.Duration
		loss, rate  string
		cut         bool
	)
	c := &cobra.Command{
		Use:   "degrade REGION-A REGION-B [--rtt D] [--jitter D] [--loss P] [--rate R] [--cut]",
		Short: "Overlay more delay, loss, a lower rate or a cut on the WAN link between two regions",
		Long: "Overlay more delay, loss, a lower rate or a cut on the WAN link between two regions.\n" +
			"Flags not given keep the link's baseline from the topology; heal restores it.",
		Args: badArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lab, err := harness.Attach(ctx, f.lab)
			if err != nil {
				return err
			}
			defer lab.Close()
			base, ok := lab.Topology().Link(args[0], args[1])
			if !ok {
				var links []string
				for _, l := range lab.Topology().Network.Links {
					links = append(links, l.Between[0]+" "+l.Between[1])
				}
				return badInput{fmt.Errorf("degrade: no link between %q and %q in this lab (links: %s)", args[0], args[1], strings.Join(links, ", "))}
			}
			imp := netem.Impairment{Delay: base.RTT / 2, Jitter: base.Jitter, Loss: base.Loss, Rate: base.Rate, Blackhole: cut}
			if cmd.Flags().Changed("rtt") {
				imp.Delay = rtt / 2
			}
			if cmd.Flags().Changed("jitter") {
				imp.Jitter = jitter
			}
			if loss != "" {
				if imp.Loss, err = units.ParsePercent(loss); err != nil || imp.Loss < 0 || imp.Loss > 100 {
					return badInput{fmt.Errorf("degrade: --loss %q: want a percentage from 0 to 100, like 1%%", loss)}
				}
			}
			if rate != "" {
				if imp.Rate, err = units.ParseBitRate(rate); err != nil {
					return badInput{fmt.Errorf("degrade: --rate: %w", err)}
				}
			}
			inj := chaos.NewInjector(experiment.ClusterOf(lab), nil)
			a, err := inj.Inject(ctx, chaos.Degrade(args[0], args[1], imp))
			if err != nil {
				return err
			}
			printInEffect(cmd, a, fmt.Sprintf(" (each way: %s)", imp))
			return holdAndHeal(cmd, f.hold, a)
		},
	}
	c.Flags().DurationVar(&rtt, "rtt", 0, "new round-trip time of the link (each direction gets half)")
	c.Flags().DurationVar(&jitter, "jitter", 0, "new jitter per direction")
	c.Flags().StringVar(&loss, "loss", "", "loss per direction, like 1%")
	c.Flags().StringVar(&rate, "rate", "", "rate per direction, like 10mbit")
	c.Flags().BoolVar(&cut, "cut", false, "drop everything on the link")
	c.Flags().DurationVar(&f.hold, "for", 0, "heal after this long (default: stay until replab chaos heal)")
	return c
}
