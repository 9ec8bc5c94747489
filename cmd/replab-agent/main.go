// Command replab-agent is the userspace netem backend's agent: it runs in a
// lab node's network namespace, holds the packets that iptables NFQUEUE
// rules send it for their configured delay, and drops or paces them.
// netem.Shaper copies it into nodes and drives it through these
// subcommands; it can also be run by hand:
//
//	replab-agent run    -config agent.json -status status.json [-log agent.log] [-nice -10] [-slice 500us]
//	replab-agent status -status status.json [-max-age 3s] [-wait-config SHA256 -timeout 5s] [-log agent.log]
//	replab-agent reload -status status.json -config agent.json [-timeout 5s]
//	replab-agent stop   -status status.json [-timeout 5s] [-purge DIR]
//
// run needs CAP_NET_ADMIN. SIGHUP reloads the config; SIGTERM releases every
// held packet and exits 0. status prints the heartbeat as JSON and exits 1
// when the agent is not alive. Build it static: CGO_ENABLED=0 go build
// ./cmd/replab-agent (netem.BuildAgent does).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/replab/replab/netem/agent"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = run(args)
	case "status":
		err = status(args)
	case "reload":
		err = reload(args)
	case "stop":
		err = stop(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "replab-agent %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: replab-agent run|status|reload|stop [flags]; replab-agent CMD -h for flags")
	os.Exit(2)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	config := fs.String("config", "", "agent config (JSON netem.AgentConfig), required")
	statusPath := fs.String("status", "", "heartbeat file, required")
	logPath := fs.String("log", "", "log file (default stderr)")
	nice := fs.Int("nice", 0, "niceness to run at (negative needs CAP_SYS_NICE); 0 leaves it")
	slice := fs.Duration("slice", 0, "EEVDF time slice to ask for (Linux 6.12+), e.g. 500us; 0 leaves it")
	fs.Parse(args)
	if *config == "" || *statusPath == "" {
		return fmt.Errorf("-config and -status are required")
	}
	var w io.Writer = os.Stderr
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		defer f.Close()
		w = f
	}
	log := slog.New(slog.NewTextHandler(w, nil)).With("netem_backend", "userspace")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reloads := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reloads <- struct{}{}:
			default:
			}
		}
	}()
	err := agent.Run(ctx, agent.Options{ConfigPath: *config, StatusPath: *statusPath, Reload: reloads, Log: log,
		Priority: agent.Priority{Nice: *nice, Slice: *slice}})
	if err != nil {
		log.Error("replab-agent failed", "err", err)
	}
	return err
}

func status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	statusPath := fs.String("status", "", "heartbeat file, required")
	maxAge := fs.Duration("max-age", 3*agent.HeartbeatInterval, "oldest acceptable heartbeat")
	want := fs.String("wait-config", "", "wait until the agent runs the config with this SHA-256")
	timeout := fs.Duration("timeout", 5*time.Second, "how long -wait-config waits")
	logPath := fs.String("log", "", "agent log, whose tail is printed when the agent is not alive")
	fs.Parse(args)
	var st any
	var err error
	if *want != "" {
		st, err = agent.WaitConfig(context.Background(), *statusPath, *want, *timeout)
	} else {
		st, err = agent.Check(*statusPath, *maxAge)
	}
	if err != nil {
		if tail := logTail(*logPath, 20); tail != "" {
			err = fmt.Errorf("%w\nlast lines of %s:\n%s", err, *logPath, tail)
		}
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(st)
}

func reload(args []string) error {
	fs := flag.NewFlagSet("reload", flag.ExitOnError)
	statusPath := fs.String("status", "", "heartbeat file, required")
	config := fs.String("config", "", "the agent's config file, required")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the agent to run it")
	fs.Parse(args)
	return agent.Reload(context.Background(), *statusPath, *config, *timeout)
}

func stop(args []string) error {
	fs := flag.NewFlagSet("stop", flag.ExitOnError)
	statusPath := fs.String("status", "", "heartbeat file, required")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait before SIGKILL")
	purge := fs.String("purge", "", "directory to remove afterwards (the agent's own)")
	fs.Parse(args)
	err := agent.Stop(context.Background(), *statusPath, *timeout)
	if *purge != "" {
		if rerr := os.RemoveAll(*purge); rerr != nil && err == nil {
			err = fmt.Errorf("purge %s: %w", *purge, rerr)
		}
	}
	return err
}

func logTail(path string, n int) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
