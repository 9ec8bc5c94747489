package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/experiment"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

func logger(cmd *cobra.Command) *slog.Logger {
	level := slog.LevelInfo
	if v, _ := cmd.Flags().GetBool("verbose"); v {
		level = slog.LevelDebug
	}
	return slog.New(newProgressHandler(cmd.ErrOrStderr(), level))
}

func newUpCmd() *cobra.Command {
	var file, engine string
	var keep bool
	c := &cobra.Command{
		Use:   "up [-f FILE] [--keep] [--engine URL]",
		Short: "Provision a lab and keep it running until Ctrl-C (or, with --keep, until replab down)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := loadTopology(file)
			if err != nil {
				return err
			}
			log := logger(cmd)
			opts := []harness.Option{harness.WithLogger(log)}
			eo, err := engineOption(engine)
			if err != nil {
				return err
			}
			opts = append(opts, eo...)
			if keep {
				opts = append(opts, harness.WithKeep())
			}
			log.Info("provisioning", "topology", t.Name, "source", t.Source)
			lab, err := harness.Up(cmd.Context(), t, opts...)
			if err != nil {
				return err
			}
			if err := printStatus(cmd, lab, false); err != nil {
				_ = lab.Down(cmd.Context())
				return err
			}
			if keep {
				fmt.Fprintf(cmd.OutOrStdout(), "\nlab %s is kept running: replab status, replab down\n", lab.ID())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nlab %s is up; press Ctrl-C to tear it down\n", lab.ID())
			<-cmd.Context().Done()
			log.Info("tearing down")
			return lab.Down(cmd.Context())
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "topology file or built-in name (default: the embedded "+topologies.DefaultName+")")
	c.Flags().BoolVar(&keep, "keep", false, "leave the lab running after the command returns")
	c.Flags().StringVar(&engine, "engine", "", engineHelp)
	return c
}

const engineHelp = "Docker engine to run the lab on, unix:///path or tcp://host:port (default: the first of $" + harness.EnvDockerHosts + ", else the local engine)"

// engineOption is the lab option for --engine: none when it is empty,
// bad input (exit 2, nothing started) when it is not an engine address.
func engineOption(engine string) ([]harness.Option, error) {
	if engine == "" {
		return nil, nil
	}
	if strings.Contains(engine, ",") {
		return nil, badInput{fmt.Errorf("--engine %q: one engine, not a list (%s lists several)", engine, harness.EnvDockerHosts)}
	}
	if err := harness.CheckEngine(engine); err != nil {
		return nil, badInput{fmt.Errorf("--engine %q: %w", engine, err)}
	}
	return []harness.Option{harness.WithEngine(engine)}, nil
}

func newStatusCmd() *cobra.Command {
	var asJSON bool
	var labID string
	c := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the members of the running lab: role, state, LSN and lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error { return printStatus(cmd, lab, asJSON) })
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	c.Flags().StringVar(&labID, "lab", "", "lab id (default: the only running lab)")
	return c
}

// netemJSON says how the WAN between regions is emulated.
type netemJSON struct {
	Backend string `json:"backend"` // kernel, userspace or none
	Reason  string `json:"reason"`
}

// statusJSON is the stable shape of `replab status --json`.
type statusJSON struct {
	Lab       string            `json:"lab"`
	Engine    string            `json:"engine"` // the Docker engine it runs on
	Topology  string            `json:"topology"`
	Image     string            `json:"image"`
	Netem     netemJSON         `json:"netem"`
	Members   []harness.Member  `json:"members"`
	Endpoints map[string]string `json:"endpoints"`
}

func printStatus(cmd *cobra.Command, lab *harness.Lab, asJSON bool) error {
	ms, err := lab.Members(cmd.Context())
	if err != nil {
		return err
	}
	eps := map[string]string{}
	for _, e := range []string{harness.EndpointRW, harness.EndpointRO} {
		if dsn, err := lab.DSN(e); err == nil {
			eps[e] = dsn
		}
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		backend, reason := lab.WAN().Backend()
		return enc.Encode(statusJSON{Lab: lab.ID(), Engine: lab.Engine(), Topology: lab.Topology().Name, Image: lab.Image(), Netem: netemJSON{backend, reason}, Members: ms, Endpoints: eps})
	}
	out := cmd.OutOrStdout()
	backend, reason := lab.WAN().Backend()
	fmt.Fprintf(out, "lab %s (%s) on %s, netem backend %s: %s\n", lab.ID(), lab.Topology().Name, lab.Engine(), backend, reason)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if lab.Topology().Engine.Kind == topologies.EngineMariaDB {
		printMariaDBMembers(tw, ms)
		_ = tw.Flush()
		fmt.Fprintf(out, "read-write: %s\nread-only:  %s\n", eps[harness.EndpointRW], eps[harness.EndpointRO])
		return nil
	}
	fmt.Fprintln(tw, "MEMBER\tREGION\tROLE\tSTATE\tSYNC\tTL\tLSN\tLAG")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.Name, m.Region, m.Role, m.State, dash(m.SyncState), m.Timeline, dash(m.LSN), bytesHuman(m.LagBytes))
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "read-write: %s\nread-only:  %s\n", eps[harness.EndpointRW], eps[harness.EndpointRO])
	return nil
}

// printMariaDBMembers is the members table of a MariaDB lab: GTID
// positions and the replica threads instead of LSNs and timelines.
func printMariaDBMembers(tw *tabwriter.Writer, ms []harness.Member) {
	fmt.Fprintln(tw, "MEMBER\tREGION\tROLE\tSTATE\tSEMI-SYNC\tGTID\tUPSTREAM\tIO\tSQL\tBEHIND")
	for _, m := range ms {
		st := m.MariaDB
		if st == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n", m.Name, m.Region, m.Role, m.State)
			continue
		}
		semi := "-"
		if !st.ReadOnly {
			semi = map[bool]string{true: "on", false: "off"}[st.SemiSync]
		}
		up, io, sqlT, behind := "-", "-", "-", "-"
		if r := st.Replica; r != nil {
			up, io, sqlT = r.Upstream, r.IORunning, r.SQLRunning
			if r.SecondsBehind >= 0 {
				behind = fmt.Sprintf("%ds", r.SecondsBehind)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Region, m.Role, m.State, semi, dash(st.GTID), up, io, sqlT, behind)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newDownCmd() *cobra.Command {
	var labID string
	c := &cobra.Command{
		Use:   "down",
		Short: "Remove the running lab: every container, network and rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error {
				start := time.Now()
				if err := lab.Down(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "lab %s removed in %s\n", lab.ID(), time.Since(start).Round(time.Millisecond))
				return nil
			})
		},
	}
	c.Flags().StringVar(&labID, "lab", "", "lab id (default: the only running lab)")
	return c
}

func newGCCmd() *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "gc [--all]",
		Short: "Remove what killed runs left on every engine: containers, networks and volumes labelled replab.lab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := harness.GC(cmd.Context(), harness.GCRequest{All: all})
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "removed %d lab(s), %d container(s), %d network(s), %d volume(s), %d stale state file(s)\n", len(rep.Labs), rep.Containers, rep.Networks, rep.Volumes, rep.StateFiles)
			for _, k := range rep.Kept {
				fmt.Fprintf(out, "kept lab %s on %s: its owner is running or it was kept with --keep (replab down --lab %s, or replab gc --all)\n", k, rep.LabEngines[k], k)
			}
			return err
		},
	}
	c.Flags().BoolVar(&all, "all", false, "also remove labs whose owner is alive and labs kept with --keep")
	return c
}

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check topology files; print every problem with file:line:col",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []error
			for _, f := range args {
				t, err := topologies.Read(f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, w := range t.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), w)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s: %d regions, %d nodes, %s)\n  shape: %s\n", f, t.Name, len(t.Regions), len(t.Nodes()), t.Replication.Mode, t.Shape())
			}
			if len(errs) > 0 {
				return badInput{errors.Join(errs...)}
			}
			return nil
		},
	}
}

func newLabCmd() *cobra.Command {
	var req experiment.LeaderKillRequest
	var file string
	var allow bool
	c := &cobra.Command{
		Use:   "lab [-f FILE]",
		Short: "The main job: provision, kill the leader under a write load, measure failover and lost writes, tear down",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := loadTopology(file)
			if err != nil {
				return err
			}
			if allow {
				t.SLA.AllowInconclusive = true
			}
			req.Topology = t
			req.Log = logger(cmd)
			req.Log.Info("leader-kill experiment", "topology", t.Name, "source", t.Source)
			res, err := experiment.LeaderKill(cmd.Context(), req)
			if res.Dir != "" {
				printSummary(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			if !res.Verdict.Pass {
				return errors.New("SLA not met (see the table above)")
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "topology file or built-in name (default: the embedded "+topologies.DefaultName+")")
	c.Flags().BoolVar(&req.Keep, "keep", false, "leave the lab running at the end")
	c.Flags().StringVar(&req.OutDir, "out", "results", "directory for results/<run-id>/")
	c.Flags().DurationVar(&req.Warmup, "warmup", 5*time.Second, "writer warm-up before the fault")
	c.Flags().Float64Var(&req.Rate, "rate", 100, "writes per second")
	c.Flags().BoolVar(&allow, "allow-inconclusive", false, allowInconclusiveHelp)
	return c
}

const allowInconclusiveHelp = "let checks without enough evidence pass instead of failing the run (as sla.allow_inconclusive: true does; the summary lists them)"

func printSummary(w io.Writer, res experiment.LeaderKillResult) {
	fmt.Fprintf(w, "\nleader-kill on lab %s: %s killed, %s took over", res.LabID, res.OldLeader, dash(res.NewLeader))
	if len(res.MostAdvanced) > 0 {
		fmt.Fprintf(w, " (most advanced followers: %s", strings.Join(res.MostAdvanced, ", "))
		if len(res.SyncStandbys) > 0 {
			fmt.Fprintf(w, "; synchronous standbys: %s", strings.Join(res.SyncStandbys, ", "))
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprint(w, results.RenderSummary(results.Summarize(res.History, res.Verdict)))
	if res.Rejoined {
		fmt.Fprintf(w, "old leader %s rejoined as a replica %s after it was started again\n", res.OldLeader, res.RejoinTime.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\nresults: %s (report.html has the plots)\n", res.Dir)
	_ = os.Stdout.Sync()
}

func newCheckCmd() *cobra.Command {
	var allow bool
	c := &cobra.Command{
		Use:   "check DIR",
		Short: "Re-run every checker on a saved run (results/<run-id>) offline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			saved, err := results.LoadResults(args[0])
			if err != nil {
				return badInput{err}
			}
			targets := saved.Verdict.Targets
			if allow {
				targets.AllowInconclusive = true
			}
			v, err := results.CheckDir(args[0], targets)
			if err != nil {
				return badInput{err}
			}
			same := reflect.DeepEqual(v, saved.Verdict)
			fmt.Fprintf(cmd.OutOrStdout(), "re-checked %s offline; verdict identical to the saved one: %v\n", args[0], same)
			fmt.Fprint(cmd.OutOrStdout(), v.Table())
			if !v.Pass {
				return errors.New("SLA not met")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&allow, "allow-inconclusive", false, allowInconclusiveHelp)
	return c
}

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Re-render results.json, summary.md and report.html of a saved run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := results.RenderDir(args[0]); err != nil {
				return badInput{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s/report.html\n", args[0])
			return nil
		},
	}
}

func newImagesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "Build replab's node image from Debian packages (no work when it exists)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			img, err := harness.EnsureImage(cmd.Context(), harness.ImageRequest{Log: logger(cmd)})
			if err != nil {
				return err
			}
			if img.Built {
				fmt.Fprintf(cmd.OutOrStdout(), "built %s in %s\n", img.Ref, img.BuildTime.Round(time.Second))
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is present\n", img.Ref)
			}
			return nil
		},
	}
}
