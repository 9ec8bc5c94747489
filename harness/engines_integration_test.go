package harness

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/replab/replab/harness/nodeimage"
	"github.com/replab/replab/topologies"
)

// secondEngine returns an engine other than the first for the test: the
// second of REPLAB_DOCKER_HOSTS when it lists one, else a dockerd the test
// starts with scripts/dockerd2 (root and /usr/sbin/dockerd needed) and
// stops at cleanup. REPLAB_DOCKER_HOSTS is set to both for the test.
func secondEngine(t *testing.T) (first, second string) {
	t.Helper()
	engines, err := Engines()
	if err != nil {
		t.Fatal(err)
	}
	if len(engines) >= 2 {
		return engines[0], engines[1]
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "dockerd2"))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case os.Geteuid() != 0:
		t.Skipf("%s lists one engine, and starting a second (scripts/dockerd2) needs root", EnvDockerHosts)
	case !fileExists("/usr/sbin/dockerd") && !onPath("dockerd"):
		t.Skipf("%s lists one engine, and there is no dockerd here to start a second one with", EnvDockerHosts)
	case !fileExists(script):
		t.Skipf("%s lists one engine, and %s is missing", EnvDockerHosts, script)
	}
	// A second engine already running (scripts/dockerd2 status answers) is
	// someone else's: use it and leave it running.
	if out, err := exec.Command(script, "status").Output(); err == nil {
		second = strings.TrimSpace(string(out))
	} else {
		out, err := exec.Command(script, "start").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("start a second dockerd: %v\n%s", err, ee.Stderr)
			}
			t.Fatalf("start a second dockerd: %v", err)
		}
		second = strings.TrimSpace(string(out))
		t.Cleanup(func() {
			if out, err := exec.Command(script, "stop").CombinedOutput(); err != nil {
				t.Errorf("stop the second dockerd: %v\n%s", err, out)
			}
		})
	}
	t.Setenv(EnvDockerHosts, engines[0]+","+second)
	return engines[0], second
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func onPath(name string) bool { _, err := exec.LookPath(name); return err == nil }

// TestLabOnSecondEngine brings the default lab up on the second engine
// and checks every path of it goes there: the image is loaded into that
// engine from the first, the containers run there and none on the first,
// Attach and GC find the lab there, a signal goes through a pidfd (both
// engines share this kernel), and Down leaves that engine empty.
func TestLabOnSecondEngine(t *testing.T) {
	if os.Getenv("REPLAB_INTEGRATION") == "" {
		t.Skip("set REPLAB_INTEGRATION=1 (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if _, err := Connect(ctx); err != nil {
		t.Skipf("docker unreachable: %v", err)
	}
	first, second := secondEngine(t)
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, nil))
	if _, err := EnsureImage(ctx, ImageRequest{Log: log}); errors.Is(err, nodeimage.ErrCannotBuild) {
		t.Skipf("node image: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}

	// Kept, so that GC (which removes the labs of the process it runs in)
	// leaves it up.
	lab, err := Up(ctx, topologies.Default(), WithEngine(second), WithExclusiveEngine(), WithKeep(), WithLogger(log))
	if err != nil {
		t.Fatalf("up on %s: %v", second, err)
	}
	defer func() {
		if lab != nil {
			_ = lab.Down(context.WithoutCancel(ctx))
		}
	}()
	if lab.Engine() != second {
		t.Errorf("lab.Engine() = %s, want %s", lab.Engine(), second)
	}
	c1, c2 := engineClient(t, first), engineClient(t, second)
	if n := countLab(ctx, t, c2, lab.ID()); n != 7 {
		t.Errorf("%d containers of lab %s on %s, want 7", n, lab.ID(), second)
	}
	if n := countLab(ctx, t, c1, lab.ID()); n != 0 {
		t.Errorf("%d containers of lab %s on the first engine %s, want none", n, lab.ID(), first)
	}

	att, err := Attach(ctx, lab.ID())
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if att.Engine() != second {
		t.Errorf("Attach found the lab on %s, want %s", att.Engine(), second)
	}
	ms, err := att.Members(ctx)
	att.Close()
	if err != nil || len(ms) != 3 {
		t.Errorf("members through the attached handle: %d, %v", len(ms), err)
	}

	_, release, how, err := lab.PrepareSignal(ctx, lab.plan.Nodes[0].Name, "SIGKILL")
	if err != nil {
		t.Fatalf("prepare a signal: %v", err)
	}
	release()
	if !strings.HasPrefix(how, "pidfd") {
		t.Errorf("a signal to a container of the second engine goes by %q, want a pidfd (one kernel)", how)
	}

	rep, err := GC(ctx, GCRequest{})
	if err != nil {
		t.Fatalf("gc: %v", err)
	}
	if !slices.Contains(rep.Kept, lab.ID()) || rep.LabEngines[lab.ID()] != second {
		t.Errorf("gc saw lab %s on %q (kept: %v), want it kept on %s", lab.ID(), rep.LabEngines[lab.ID()], rep.Kept, second)
	}
	if _, err := os.Stat(statePath(lab.ID())); err != nil {
		t.Errorf("gc removed the state file of a live lab on the second engine: %v", err)
	}

	if err := lab.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left, err := labObjects(ctx, c2, lab.ID()); err != nil || len(left) > 0 {
		t.Errorf("left on %s after Down: %v %v", second, left, err)
	}
	lab = nil
}

func engineClient(t *testing.T, engine string) *client.Client {
	t.Helper()
	cli, err := ConnectEngine(context.Background(), engine)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func countLab(ctx context.Context, t *testing.T, cli *client.Client, id string) int {
	t.Helper()
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(id)})
	if err != nil {
		t.Fatal(err)
	}
	return len(ctrs)
}
