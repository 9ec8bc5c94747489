package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/experiment"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/netem"
	"github.com/replab/replab/units"
)

// chaosFlags are the flags every fault subcommand shares; each fault's
// own flags are declared with it in newChaosCmd's table.
type chaosFlags struct {
	lab  string
	hold time.Duration
	seed uint64
}

const targetHelp = `TARGET is one of: leader, sync (a synchronous standby), follower (a seeded
choice, see --seed), etcd, leader-region, rest, region:NAME (its database
nodes), site:NAME (every container of the region: nodes, etcd, endpoint),
node:NAME or a plain host NAME.`

// faultCmd is one fault subcommand: its usage, its own flags, the checks
// those flags need before any lab is attached, and how it builds the fault
// from its selectors.
type faultCmd struct {
	use, short string
	args       cobra.PositionalArgs
	// defaultB is the second TARGET when only one is given ("" when the
	// fault takes one TARGET).
	defaultB string
	// flags declares the fault's own flags; nil for none.
	flags func(*pflag.FlagSet)
	// prepare checks and derives the fault's flag values before the lab
	// is attached; an error is bad input. nil for none.
	prepare func() error
	build   func(sel []chaos.Selector) chaos.Fault
}

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
	for _, fc := range faultCmds() {
		sub := &cobra.Command{
			Use:   fc.use,
			Short: fc.short,
			Long:  fc.short + ".\n\n" + targetHelp,
			Args:  badArgs(fc.args),
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) == 1 && fc.defaultB != "" {
					args = append(args, fc.defaultB)
				}
				if fc.prepare != nil {
					if err := fc.prepare(); err != nil {
						return badInput{err}
					}
				}
				return injectCmd(cmd, f, args, fc.build)
			},
		}
		sub.Flags().DurationVar(&f.hold, "for", 0, "heal after this long (default: stay until replab chaos heal)")
		sub.Flags().Uint64Var(&f.seed, "seed", 0, "seed for the 'follower' choice (default: from the clock, printed)")
		if fc.flags != nil {
			fc.flags(sub.Flags())
		}
		c.AddCommand(sub)
	}
	c.AddCommand(newChaosHealCmd(&f), newChaosRunCmd(&f), newChaosDegradeCmd(&f))
	return c
}

// faultCmds is the table of fault subcommands, each with its own flags.
func faultCmds() []faultCmd {
	one := func(mk func(chaos.Selector) chaos.Fault) func([]chaos.Selector) chaos.Fault {
		return func(s []chaos.Selector) chaos.Fault { return mk(s[0]) }
	}
	var (
		cpus   float64
		oneWay bool
		delay  time.Duration
		rate   string
		slow   netem.Impairment // from delay and rate, by prepare
	)
	return []faultCmd{
		{use: "kill TARGET", short: "SIGKILL the target's container (heal starts it)", args: cobra.ExactArgs(1), build: one(chaos.Kill)},
		{use: "stop TARGET", short: "Stop the target gracefully: Patroni releases the lock (heal starts it)", args: cobra.ExactArgs(1), build: one(chaos.Stop)},
		{use: "restart TARGET", short: "Stop the target gracefully and start it again", args: cobra.ExactArgs(1), build: one(chaos.Restart)},
		{use: "pause TARGET", short: "Freeze the target's container (heal thaws it)", args: cobra.ExactArgs(1), build: one(chaos.Pause)},
		{use: "crash TARGET", short: "SIGKILL PostgreSQL's postmaster while Patroni lives", args: cobra.ExactArgs(1), build: one(chaos.CrashPostgres)},
		{use: "isolate TARGET", short: "Cut the target off from every other host (iptables)", args: cobra.ExactArgs(1), build: one(chaos.Isolate)},
		{use: "cut-dcs TARGET", short: "Cut the target off from etcd only: a leader must demote", args: cobra.ExactArgs(1), build: one(chaos.CutFromDCS)},
		{
			use: "cpu TARGET", short: "Throttle the target's CPU quota (see --cpus)", args: cobra.ExactArgs(1),
			flags: func(fs *pflag.FlagSet) { fs.Float64Var(&cpus, "cpus", 0.1, "CPU quota in cores") },
			build: func(s []chaos.Selector) chaos.Fault { return chaos.ThrottleCPU(s[0], cpus) },
		},
		{
			use: "partition A [B]", short: "Partition A from B (default: from everyone else); --one-way drops only A to B", args: cobra.RangeArgs(1, 2),
			defaultB: "rest",
			flags:    func(fs *pflag.FlagSet) { fs.BoolVar(&oneWay, "one-way", false, "drop only what A sends to B") },
			build: func(s []chaos.Selector) chaos.Fault {
				if oneWay {
					return chaos.PartitionOneWay(s[0], s[1])
				}
				return chaos.Partition(s[0], s[1])
			},
		},
		{
			use: "slow A [B]", short: "Slow the links between the nodes of A and of B (default: every other node), both ways; see --delay and --rate", args: cobra.RangeArgs(1, 2),
			defaultB: "rest",
			flags: func(fs *pflag.FlagSet) {
				fs.DurationVar(&delay, "delay", 0, "more delay each way (e.g. 250ms)")
				fs.StringVar(&rate, "rate", "", "rate cap each way, tc units (e.g. 256kbit)")
			},
			prepare: func() error {
				slow = netem.Impairment{Delay: delay}
				if rate != "" {
					r, err := units.ParseBitRate(rate)
					if err != nil {
						return fmt.Errorf("slow: --rate: %w", err)
					}
					slow.Rate = r
				}
				if slow.IsZero() || delay < 0 {
					return errors.New("slow: give --delay (e.g. 250ms) and/or --rate (e.g. 256kbit)")
				}
				return nil
			},
			build: func(s []chaos.Selector) chaos.Fault { return chaos.SlowLinks(s[0], s[1], slow) },
		},
	}
}

func injectCmd(cmd *cobra.Command, f chaosFlags, args []string, build func([]chaos.Selector) chaos.Fault) error {
	return withLab(cmd, f.lab, func(lab *harness.Lab) error {
		seed := f.seed
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		c := experiment.ClusterOf(lab)
		hosts, err := c.Hosts(cmd.Context())
		if err != nil {
			return err
		}
		var sels []chaos.Selector
		for _, a := range args {
			s, err := chaos.ParseTarget(a, hosts, seed)
			var te *chaos.TargetError
			if errors.As(err, &te) {
				return badInput{err}
			}
			if err != nil {
				return err
			}
			sels = append(sels, s)
		}
		if slices.Contains(args, "follower") {
			fmt.Fprintf(cmd.OutOrStdout(), "seed %d (replay the same choice with --seed %d)\n", seed, seed)
		}
		a, err := chaos.NewInjector(c, nil).Inject(cmd.Context(), build(sels))
		if err != nil {
			return err
		}
		printInEffect(cmd, a, "")
		return holdAndHeal(cmd, f.hold, a)
	})
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
	healBegan := time.Now()
	if err := a.Heal(cmd.Context()); err != nil {
		return fmt.Errorf("%w (replab chaos heal resets every host)", err)
	}
	fmt.Fprintf(out, "%s: %s healed on %s (heal began %s after the fault's begin and took %s)\n", time.Now().Format("15:04:05.000"), a.Fault, a.Target,
		healBegan.Sub(a.Began).Round(time.Millisecond), time.Since(healBegan).Round(time.Millisecond))
	return nil
}

func newChaosHealCmd(f *chaosFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "heal [TARGET]",
		Short: "Bring every host back to baseline: thaw, start, remove CPU quotas and chaos iptables chains",
		Args:  badArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, f.lab, func(lab *harness.Lab) error {
				did, err := experiment.HealEverything(cmd.Context(), lab)
				out := cmd.OutOrStdout()
				for _, d := range did {
					fmt.Fprintln(out, d)
				}
				if err != nil {
					return err
				}
				if len(did) == 0 {
					fmt.Fprintln(out, "nothing to heal: every host is at baseline")
				} else {
					fmt.Fprintln(out, "every host is at baseline")
				}
				return nil
			})
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
			return withLab(cmd, f.lab, func(lab *harness.Lab) error {
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
				_, err := s.Run(cmd.Context(), chaos.NewInjector(experiment.ClusterOf(lab), nil))
				if cmd.Context().Err() != nil {
					fmt.Fprintln(out, "interrupted: every fault was healed")
				}
				return err
			})
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
			return withLab(cmd, f.lab, func(lab *harness.Lab) error {
				base, ok := lab.Topology().Link(args[0], args[1])
				if !ok {
					var links []string
					for _, l := range lab.Topology().Network.Links {
						links = append(links, l.Between[0]+" "+l.Between[1])
					}
					return badInput{fmt.Errorf("degrade: no link between %q and %q in this lab (links: %s)", args[0], args[1], strings.Join(links, ", "))}
				}
				imp := harness.LinkImpairment(base)
				imp.Blackhole = cut
				if cmd.Flags().Changed("rtt") {
					imp.Delay = rtt / 2
				}
				if cmd.Flags().Changed("jitter") {
					imp.Jitter = jitter
				}
				var err error
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
				a, err := inj.Inject(cmd.Context(), chaos.Degrade(args[0], args[1], imp))
				if err != nil {
					return err
				}
				printInEffect(cmd, a, fmt.Sprintf(" (each way: %s)", imp))
				return holdAndHeal(cmd, f.hold, a)
			})
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
