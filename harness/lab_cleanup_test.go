package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/replab/replab/harness/nodeimage"
	"github.com/replab/replab/internal/clock"
	"github.com/replab/replab/topologies"
)

var errInjected = errors.New("injected failure")

// TestFailedUpLeavesNothing fails Up part-way and checks that nothing
// labelled with the lab's id (or named after it) is left: no container,
// volume or network. For every N it fails once after N of the default
// lab's containers run, and once while N are still being created (as a
// name conflict does: the engine completes the creates whose requests
// Up abandoned after its cleanup listed the lab's containers); and it
// cancels Up's context, as Ctrl-C does, while containers are being
// created.
func TestFailedUpLeavesNothing(t *testing.T) {
	if os.Getenv("REPLAB_INTEGRATION") == "" {
		t.Skip("set REPLAB_INTEGRATION=1 (make test sets it)")
	}
	ctx := context.Background()
	cli, err := Connect(ctx)
	if err != nil {
		t.Skipf("docker unreachable: %v", err)
	}
	defer cli.Close()
	if _, err := EnsureImage(ctx, ImageRequest{}); errors.Is(err, nodeimage.ErrCannotBuild) {
		t.Skipf("node image: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	topo := topologies.Default()
	p, err := newPlan("test", topo, netip.MustParsePrefix("172.29.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	total := len(p.Etcd) + len(p.Nodes) + 1 // and HAProxy

	type failure struct {
		name string
		// after is how many container starts go ahead; the next fails.
		// With wait it fails once they run, otherwise at once, while
		// they are being created. With cancel the context is cancelled
		// instead.
		after  int
		wait   bool
		cancel bool
	}
	var cases []failure
	for n := 0; n <= total; n++ {
		cases = append(cases, failure{name: fmt.Sprintf("after-%d-running", n), after: n, wait: true})
		if n > 0 && n < total {
			cases = append(cases, failure{name: fmt.Sprintf("while-%d-creating", n), after: n})
		}
	}
	cases = append(cases, failure{name: "cancel-while-3-creating", after: 3, cancel: true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			var (
				once   sync.Once
				labID  string
				ticket atomic.Int32
			)
			hook := func(hctx context.Context, id, member string) error {
				once.Do(func() { labID = id })
				if int(ticket.Add(1)) <= c.after {
					return nil
				}
				if !c.wait {
					// Fail once the engine is creating the others, as a
					// create refused by the engine does.
					if err := waitCreating(hctx, cli, id); err != nil {
						return err
					}
					if c.cancel {
						cancel()
						return hctx.Err()
					}
					return fmt.Errorf("%s: %w", member, errInjected)
				}
				if err := waitRunning(hctx, cli, id, c.after); err != nil {
					return err
				}
				return fmt.Errorf("%s: %w", member, errInjected)
			}
			opts := []Option{
				WithLogger(slog.New(slog.NewTextHandler(testLogWriter{t}, nil))),
				func(o *options) { o.beforeStart = hook },
			}
			if c.after == total {
				// Every container started: fail in the readiness wait.
				opts = append(opts, WithReadyTimeout(time.Millisecond))
			}
			start := time.Now()
			lab, err := Up(uctx, topo, opts...)
			took := time.Since(start)
			if err == nil {
				_ = lab.Down(ctx)
				t.Fatal("Up succeeded, want the injected failure")
			}
			if strings.Contains(err.Error(), "clean up after failed provisioning") {
				t.Errorf("cleanup failed: %v", err)
			}
			if labID == "" {
				t.Fatalf("the hook never ran: %v", err)
			}
			left := leftovers(t, cli, labID)
			if len(left) > 0 {
				t.Errorf("lab %s left %s after: %v", labID, strings.Join(left, ", "), err)
			}
			t.Logf("lab %s: Up failed and cleaned up in %s: %v", labID, took.Round(time.Millisecond), err)
		})
	}
}

// waitRunning returns once n containers of the lab run.
func waitRunning(ctx context.Context, cli *client.Client, labID string, n int) error {
	f := labFilter(labID)
	f.Add("status", "running")
	for {
		ctrs, err := cli.ContainerList(ctx, container.ListOptions{Filters: f})
		if err != nil {
			return fmt.Errorf("list containers of lab %s: %w", labID, err)
		}
		if len(ctrs) >= n {
			return nil
		}
		if err := clock.Sleep(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("wait for %d containers of lab %s: %w", n, labID, err)
		}
	}
}

// waitCreating returns once the engine holds the first container or data
// volume of the lab, so that the other creates are under way.
func waitCreating(ctx context.Context, cli *client.Client, labID string) error {
	for {
		ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(labID)})
		if err != nil {
			return fmt.Errorf("list containers of lab %s: %w", labID, err)
		}
		if len(ctrs) > 0 {
			return nil
		}
		if err := clock.Sleep(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("wait for a container of lab %s: %w", labID, err)
		}
	}
}

// leftovers lists, independently of removeLab, what carries the lab's
// label or name.
func leftovers(t *testing.T, cli *client.Client, labID string) []string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	var left []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			left = append(left, s)
		}
	}
	byLabel := filters.NewArgs(filters.Arg("label", LabelLab+"="+labID))
	byName := filters.NewArgs(filters.Arg("name", "replab-"+labID))
	for _, f := range []filters.Args{byLabel, byName} {
		ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ctrs {
			add("container " + firstName(c.Names) + " (" + c.State + ")")
		}
		nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nets {
			add("network " + n.Name)
		}
	}
	vols, err := labVolumes(ctx, cli, labID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		add("volume " + v)
	}
	return left
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
