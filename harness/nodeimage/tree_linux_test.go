//go:build linux

package nodeimage

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseMountPoints(t *testing.T) {
	info := []byte(`22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
98 22 0:5 / /tmp/replab-node-abc-1/root/proc rw,nosuid - proc proc rw
99 22 0:6 / /tmp/replab-node-abc-1/root/sys rw - sysfs sysfs rw
100 99 0:7 / /tmp/replab-node-abc-1/root/sys/fs/cgroup rw - cgroup2 cgroup rw
101 22 0:8 / /tmp/with\040space/root/proc rw - proc proc rw
102 22 0:9 / /tmp/replab-node-abc-10/root/proc rw - proc proc rw
`)
	points := parseMountPoints(info)
	if !slices.Contains(points, "/tmp/with space/root/proc") {
		t.Errorf("octal escape not decoded: %q", points)
	}
	got := mountsUnder(points, "/tmp/replab-node-abc-1")
	want := []string{
		"/tmp/replab-node-abc-1/root/sys/fs/cgroup",
		"/tmp/replab-node-abc-1/root/proc",
		"/tmp/replab-node-abc-1/root/sys",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mountsUnder = %q, want %q (deepest first, not the -10 sibling)", got, want)
	}
}

func TestWriteTarRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"usr/bin/tool":        "#!/bin/sh\n",
		"usr/sbin/iptables":   "->/etc/alternatives/iptables",
		"etc/alternatives/x":  "->/usr/sbin/x",
		"var/empty/":          "/",
		"usr/lib/libfoo.so.1": "ELF",
	})
	if err := os.Chmod(filepath.Join(dir, "usr/bin/tool"), fs.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "usr/bin/tool"), filepath.Join(dir, "usr/bin/tool-hardlink")); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(context.Background(), dir, pw)) }()
	hdrs := map[string]*tar.Header{}
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		hdrs[h.Name] = h
	}
	tool := hdrs["usr/bin/tool"]
	if tool == nil || tool.Typeflag != tar.TypeReg || tool.Mode&0o7777 != 0o4755 || tool.Size != int64(len("#!/bin/sh\n")) {
		t.Errorf("usr/bin/tool header = %+v", tool)
	}
	if tool != nil && (tool.Uid != os.Getuid() || tool.Gid != os.Getgid()) {
		t.Errorf("owner = %d:%d, want %d:%d", tool.Uid, tool.Gid, os.Getuid(), os.Getgid())
	}
	if h := hdrs["usr/bin/tool-hardlink"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/tool" {
		t.Errorf("hard link header = %+v", h)
	}
	if h := hdrs["usr/sbin/iptables"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/alternatives/iptables" {
		t.Errorf("symlink header = %+v", h)
	}
	if h := hdrs["var/empty/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("directory header = %+v", h)
	}
	if _, ok := hdrs["./"]; ok {
		t.Errorf("the tree root itself should not be an entry")
	}
}

func TestWriteTarStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := writeTar(ctx, dir, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("writeTar on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestRemoveTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "replab-node-test-1")
	writeTree(t, dir, map[string]string{"root/usr/bin/x": "x", "root/var/run": "->/run"})
	if err := removeTree(dir); err != nil {
		t.Fatalf("removeTree: %v", err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
	if _, err := os.Stat("/run"); err != nil {
		t.Errorf("/run gone?! %v", err)
	}
	if err := removeTree(dir); err != nil {
		t.Errorf("removeTree of a missing tree = %v, want nil", err)
	}
}
