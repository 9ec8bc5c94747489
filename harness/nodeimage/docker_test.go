package nodeimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// testLabel marks every image and container these tests create.
const testLabel = "replab.test=nodeimage"

// dockerForTest returns a client to a reachable engine, or skips.
func dockerForTest(t *testing.T) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Docker; skipped with -short")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("no Docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Skipf("Docker is not reachable: %v", err)
	}
	return cli
}

// countingDocker counts the calls Ensure makes.
type countingDocker struct {
	DockerAPI
	calls int
}

func (c *countingDocker) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error) {
	c.calls++
	return c.DockerAPI.ImageInspect(ctx, ref, opts...)
}

func (c *countingDocker) ImageImport(ctx context.Context, src image.ImportSource, ref string, opts image.ImportOptions) (io.ReadCloser, error) {
	c.calls++
	return c.DockerAPI.ImageImport(ctx, src, ref, opts)
}

func (c *countingDocker) ImageTag(ctx context.Context, src, dst string) error {
	c.calls++
	return c.DockerAPI.ImageTag(ctx, src, dst)
}

// TestEnsureExistingImageIsNoopAgainstDocker imports a one-file image under
// a test recipe's tag, with its labels, and checks that Ensure makes one
// Docker call and builds nothing.
func TestEnsureExistingImageIsNoopAgainstDocker(t *testing.T) {
	cli := dockerForTest(t)
	ctx := context.Background()
	spec := Recipe()
	spec.Packages = append(spec.Packages, "replab-nodeimage-test") // a tag no real build has
	tag := spec.Tag()

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "marker", Mode: 0o644, Size: 2})
	_, _ = tw.Write([]byte("ok"))
	_ = tw.Close()
	changes := append(importChanges(spec, spec.Hash()), "LABEL "+testLabel)
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, tag, image.ImportOptions{Changes: changes})
	if err != nil {
		t.Fatalf("import test image: %v", err)
	}
	id, err := readImportResult(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("import test image: %v", err)
	}
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove test image %s: %v", tag, err)
		}
	})

	counted := &countingDocker{DockerAPI: cli}
	var progress []string
	img, err := Ensure(ctx, EnsureRequest{Docker: counted, Recipe: spec, Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if img.Ref != tag || img.ID != id || img.Built {
		t.Errorf("Ensure = %+v, want ref %s id %s not built", img, tag, id)
	}
	if counted.calls != 1 || len(progress) != 0 {
		t.Errorf("Ensure on an existing image made %d Docker calls and said %q; want 1 call, silence", counted.calls, progress)
	}

	// The same image named as a user image; and a user image that is missing.
	if img, err := Ensure(ctx, EnsureRequest{Docker: cli, Image: tag}); err != nil || img.ID != id {
		t.Errorf("Ensure(user image %s) = %+v, %v", tag, img, err)
	}
	if _, err := Ensure(ctx, EnsureRequest{Docker: cli, Image: "replab/nodeimage-test:missing"}); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("Ensure(missing user image) = %v, want ErrImageNotFound", err)
	}
}

// TestBuildNodeImage builds the built-in recipe's image if it is missing
// (about a minute, needs root and debootstrap) and checks that the tools
// the harness runs work in a container. Opt in with REPLAB_IMAGE_BUILD_TEST=1.
func TestBuildNodeImage(t *testing.T) {
	if os.Getenv("REPLAB_IMAGE_BUILD_TEST") != "1" {
		t.Skip("set REPLAB_IMAGE_BUILD_TEST=1 to build the node image (about a minute)")
	}
	cli := dockerForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	img, err := Ensure(ctx, EnsureRequest{Docker: cli, Progress: func(s string) {
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), s)
	}})
	if errors.Is(err, ErrCannotBuild) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	insp, err := cli.ImageInspect(ctx, img.Ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", img.Ref, err)
	}
	t.Logf("image %s (%s): %d MB, built now: %v in %s", img.Ref, img.ID, insp.Size/1_000_000, img.Built, img.BuildTime.Round(time.Second))
	if insp.Config.Labels[LabelRecipe] != Recipe().Hash() || insp.Config.Labels[LabelImage] != LabelImageValue {
		t.Errorf("labels = %v", insp.Config.Labels)
	}

	out := runInImage(ctx, t, cli, img.Ref, `set -e
patroni --version
etcd --version | head -1
etcdctl version | head -1
haproxy -v | head -1
postgres --version
/usr/lib/postgresql/15/bin/postgres --version
iptables -V
tc -V
ip -V
ps --version
pkill --version
ping -V
test "$(stat -c %U:%G /run/postgresql)" = postgres:postgres
id postgres
echo LANG=$LANG
iptables -t mangle -A INPUT -j NFQUEUE --queue-num 0 --queue-bypass
iptables -t mangle -S INPUT
iptables -t mangle -D INPUT -j NFQUEUE --queue-num 0 --queue-bypass
su postgres -s /bin/sh -c 'initdb -D /tmp/pgtest >/dev/null && echo initdb ok'
mariadbd --version
mariadb --version
mariadb-install-db --datadir=/tmp/mdbtest --user=root --skip-test-db --auth-root-authentication-method=normal >/dev/null && echo install-db ok
`)
	for _, want := range []string{"patroni 3.", "etcd Version: 3.4", "HAProxy version 2.", "postgres (PostgreSQL) 15.",
		"(nf_tables)", "iproute2", "-j NFQUEUE --queue-num 0 --queue-bypass", "LANG=C.UTF-8", "initdb ok",
		"Ver 10.11.", "-MariaDB", "install-db ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q", want)
		}
	}
}

// runInImage runs script with sh in a fresh container (Docker's init,
// NET_ADMIN, labelled) and returns its output; the container is removed.
func runInImage(ctx context.Context, t *testing.T, cli *client.Client, ref, script string) string {
	t.Helper()
	init := true
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Cmd: []string{"sh", "-c", script}, Labels: map[string]string{"replab.test": "nodeimage"}},
		&container.HostConfig{Init: &init, CapAdd: []string{"NET_ADMIN"}}, nil, nil, "")
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove container %s: %v", created.ID, err)
		}
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	var code int64
	select {
	case res := <-waitC:
		code = res.StatusCode
	case err := <-errC:
		t.Fatalf("wait for container: %v", err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("container logs: %v", err)
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		t.Fatalf("read container logs: %v", err)
	}
	out := stdout.String() + stderr.String()
	t.Logf("container output (exit %d):\n%s", code, out)
	if code != 0 {
		t.Errorf("script exited %d", code)
	}
	return out
}

// smallRecipe is a quick recipe (minbase and iproute2, about half a minute)
// for the build tests that are about the machinery, not the contents.
func smallRecipe() Spec {
	s := Recipe()
	s.Packages = []string{"iproute2"}
	s.Dirs, s.Alternatives = nil, nil
	s.Env = []string{"LANG=C.UTF-8", "REPLAB_TEST=nodeimage"}
	return s
}

// TestConcurrentEnsureBuildsOnce starts two Ensure calls for a missing
// image at once: one builds, the other waits on the lock and then finds the
// image. Opt in with REPLAB_IMAGE_BUILD_TEST=1.
func TestConcurrentEnsureBuildsOnce(t *testing.T) {
	if os.Getenv("REPLAB_IMAGE_BUILD_TEST") != "1" {
		t.Skip("set REPLAB_IMAGE_BUILD_TEST=1 to run builds (about half a minute)")
	}
	cli := dockerForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	spec, cache := smallRecipe(), t.TempDir()
	removeImage(t, cli, spec.Tag())
	t.Cleanup(func() { removeImage(t, cli, spec.Tag()) })

	type result struct {
		img      Image
		err      error
		progress []string
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			var r result
			r.img, r.err = Ensure(ctx, EnsureRequest{Docker: cli, Recipe: spec, CacheDir: cache,
				Progress: func(s string) { r.progress = append(r.progress, s) }})
			results <- r
		}()
	}
	a, b := <-results, <-results
	if errors.Is(a.err, ErrCannotBuild) || errors.Is(b.err, ErrCannotBuild) {
		t.Skip(errors.Join(a.err, b.err))
	}
	if a.err != nil || b.err != nil {
		t.Fatalf("Ensure: %v / %v", a.err, b.err)
	}
	if a.img.Built == b.img.Built || a.img.ID != b.img.ID {
		t.Errorf("want one build and one wait for the same image, got %+v and %+v", a.img, b.img)
	}
	waiter := a
	if a.img.Built {
		waiter = b
	}
	if !slices.ContainsFunc(waiter.progress, func(s string) bool { return strings.Contains(s, "waiting for it") }) {
		t.Errorf("the waiting call did not say it waits: %q", waiter.progress)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "replab-node-*-*"))
	if len(left) != 0 {
		t.Errorf("build trees left behind: %q", left)
	}
}

// TestCancelledBuildLeavesNothing cancels a build in the middle of
// debootstrap and checks that the tree is gone and nothing stays mounted.
func TestCancelledBuildLeavesNothing(t *testing.T) {
	if os.Getenv("REPLAB_IMAGE_BUILD_TEST") != "1" {
		t.Skip("set REPLAB_IMAGE_BUILD_TEST=1 to run builds")
	}
	cli := dockerForTest(t)
	spec, cache := smallRecipe(), t.TempDir()
	spec.Env = append(spec.Env, "REPLAB_TEST_CANCEL=1") // a tag of its own
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Ensure(ctx, EnsureRequest{Docker: cli, Recipe: spec, CacheDir: cache, Progress: func(s string) {
		t.Log(s)
		if strings.Contains(s, "unpacking") {
			cancel()
		}
	}})
	if errors.Is(err, ErrCannotBuild) {
		t.Skip(err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ensure after cancel = %v, want context.Canceled", err)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "replab-node-*-*"))
	if len(left) != 0 {
		t.Errorf("build trees left behind: %q", left)
	}
	if info, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(info), cache) {
		t.Errorf("mounts left below %s", cache)
	}
	if _, err := cli.ImageInspect(context.Background(), spec.Tag()); !cerrdefs.IsNotFound(err) {
		t.Errorf("a cancelled build left image %s: %v", spec.Tag(), err)
	}
}

func removeImage(t *testing.T, cli *client.Client, ref string) {
	t.Helper()
	if _, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("remove image %s: %v", ref, err)
	}
}
