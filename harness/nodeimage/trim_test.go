package nodeimage

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// writeTree creates files (content = path) and symlinks (value "->target")
// below dir.
func writeTree(t *testing.T, dir string, entries map[string]string) {
	t.Helper()
	for name, v := range entries {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case len(v) > 2 && v[:2] == "->":
			err = os.Symlink(v[2:], p)
		case v == "/":
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestTrimTreeWithTheBuiltinRecipe(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"usr/share/doc/bash/copyright":                       "x",
		"usr/share/doc/bash/README.gz":                       "x",
		"usr/share/doc/libfoo":                               "->bash",
		"usr/share/man/man1/ls.1.gz":                         "x",
		"usr/share/locale/de/LC_MESSAGES/psql-15.mo":         "x",
		"usr/share/locale/locale.alias":                      "x",
		"usr/share/i18n/SUPPORTED":                           "x",
		"usr/share/i18n/charmaps/UTF-8.gz":                   "x",
		"usr/share/zoneinfo/UTC":                             "x",
		"usr/lib/locale/C.utf8/LC_CTYPE":                     "x",
		"usr/lib/postgresql/15/bin/postgres":                 "x",
		"usr/lib/postgresql/15/lib/llvmjit.so":               "x",
		"usr/lib/postgresql/15/lib/bitcode/postgres/a.bc":    "x",
		"usr/lib/postgresql/15/lib/plpgsql.so":               "x",
		"usr/lib/x86_64-linux-gnu/libLLVM-14.so.1":           "x",
		"usr/lib/x86_64-linux-gnu/libz3.so.4":                "x",
		"usr/lib/x86_64-linux-gnu/libpq.so.5":                "x",
		"var/lib/postgresql/15/main/PG_VERSION":              "15",
		"var/lib/postgresql/.profile":                        "x",
		"etc/postgresql/15/main/postgresql.conf":             "x",
		"etc/postgresql-common/createcluster.conf":           "x",
		"var/lib/apt/lists/mirror_dists_bookworm_InRelease":  "x",
		"var/lib/apt/lists/partial/":                         "/",
		"var/cache/apt/archives/bash_5.2_amd64.deb":          "x",
		"var/cache/apt/pkgcache.bin":                         "x",
		"var/log/dpkg.log":                                   "x",
		"etc/resolv.conf":                                    "nameserver 10.0.0.1",
		"etc/hostname":                                       "buildhost",
		"etc/hosts":                                          "127.0.0.1 localhost",
		"var/run":                                            "->/run",
		"usr/share/postgresql/15/man/man1/psql.1.gz":         "x",
		"usr/share/postgresql/15/timezonesets/Default":       "x",
		"usr/lib/python3/dist-packages/patroni/__init__.py":  "x",
		"usr/lib/python3/dist-packages/patroni/__pycache__/": "/",
	})
	s := Recipe()
	if err := trimTree(dir, s.Trim, s.Keep); err != nil {
		t.Fatalf("trimTree: %v", err)
	}
	want := []string{
		"/etc/hosts",
		"/etc/postgresql-common/createcluster.conf",
		"/usr/lib/locale/C.utf8/LC_CTYPE",
		"/usr/lib/postgresql/15/bin/postgres",
		"/usr/lib/postgresql/15/lib/plpgsql.so",
		"/usr/lib/python3/dist-packages/patroni/__init__.py",
		"/usr/lib/x86_64-linux-gnu/libpq.so.5",
		"/usr/share/doc/bash/copyright",
		"/usr/share/i18n/SUPPORTED",
		"/usr/share/locale/locale.alias",
		"/usr/share/postgresql/15/timezonesets/Default",
		"/usr/share/zoneinfo/UTC",
		"/var/lib/postgresql/.profile",
		"/var/run",
	}
	if got := listTree(t, dir); !slices.Equal(got, want) {
		t.Errorf("after trim:\n got %q\nwant %q", got, want)
	}
	for _, d := range []string{"var/lib/postgresql/15", "etc/postgresql/15", "var/lib/apt/lists/partial", "usr/lib/python3/dist-packages/patroni/__pycache__"} {
		if info, err := os.Stat(filepath.Join(dir, d)); err != nil || !info.IsDir() {
			t.Errorf("directory %s should remain: %v", d, err)
		}
	}
}

func TestTrimTreeNeverLeavesTheTree(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"precious/file": "keep me"})
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"escape":          "->" + filepath.Join(outside, "precious"),
		"relative-escape": "->../../" + filepath.Base(outside) + "/precious",
		"var/run":         "->" + outside,
	})
	err := trimTree(dir, []string{"/escape/*", "/relative-escape/*", "/var/run/precious", "/var/run/*/file"}, nil)
	t.Logf("trimTree: %v", err) // errors are fine; escaping is not
	if _, err := os.Stat(filepath.Join(outside, "precious", "file")); err != nil {
		t.Fatalf("trim removed a file outside the tree: %v", err)
	}
	// A literal glob that names a symlink removes the link, not its target.
	if err := trimTree(dir, []string{"/escape"}, nil); err != nil {
		t.Fatalf("trimTree: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "escape")); !os.IsNotExist(err) {
		t.Errorf("symlink /escape still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious", "file")); err != nil {
		t.Fatalf("removing a symlink removed its target: %v", err)
	}
}

func TestEnsureDirs(t *testing.T) {
	dir := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	writeTree(t, dir, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\npostgres:x:" + strconv.Itoa(uid) + ":" + strconv.Itoa(gid) + ":PostgreSQL:/var/lib/postgresql:/bin/bash\n",
		"etc/group":  "root:x:0:\npostgres:x:" + strconv.Itoa(gid) + ":\n",
		"run/":       "/",
	})
	if err := ensureDirs(dir, Recipe().Dirs); err != nil {
		t.Fatalf("ensureDirs: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "run", "postgresql"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fs.ModeDir | fs.ModeSetgid | 0o775; info.Mode() != want {
		t.Errorf("mode = %v, want %v", info.Mode(), want)
	}
	err = ensureDirs(dir, []Dir{{Path: "/x", User: "nobody", Group: "postgres", Mode: 0o755}})
	if err == nil || !strings.Contains(err.Error(), "user nobody is not in the image's /etc/passwd") {
		t.Errorf("unknown user: err = %v", err)
	}
}

func TestLookupID(t *testing.T) {
	passwd := []byte("root:x:0:0::/root:/bin/sh\npostgres:x:102:104::/var/lib/postgresql:/bin/bash\npostgresx:x:5:5::/:/bin/sh\n")
	if id, ok := lookupID(passwd, "postgres"); !ok || id != 102 {
		t.Errorf("lookupID(postgres) = %d, %v", id, ok)
	}
	if _, ok := lookupID(passwd, "etcd"); ok {
		t.Errorf("lookupID(etcd) found a user that is not there")
	}
}
