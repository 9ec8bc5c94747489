package nodeimage

import (
	"path"
	"slices"
	"strings"
	"testing"
)

// builtinHash pins the built-in recipe's hash. If you changed the recipe on
// purpose, update it: every machine will build the new image once.
const builtinHash = "4071dcf283f02badb80f40f15a29d804e90265590db998e0fa2604ee9c3bd1ed"

func TestRecipeHashIsPinned(t *testing.T) {
	got := Recipe().Hash()
	if got != builtinHash {
		t.Errorf("Recipe().Hash() = %s, want %s (update builtinHash if the recipe changed on purpose)\ncanonical form:\n%s",
			got, builtinHash, Recipe().Canonical())
	}
	if want := Repository + ":" + builtinHash[:12]; Tag() != want {
		t.Errorf("Tag() = %s, want %s", Tag(), want)
	}
}

func TestRecipeHashIsStable(t *testing.T) {
	a, b := Recipe(), Recipe()
	if a.Hash() != b.Hash() || a.Tag() != b.Tag() {
		t.Fatalf("two Recipe() values hash differently: %s vs %s", a.Hash(), b.Hash())
	}
	if len(a.Hash()) != 64 {
		t.Errorf("Hash() = %q, want 64 hex digits", a.Hash())
	}
	if !strings.HasPrefix(a.Tag(), "replab/node:") || len(a.Tag()) != len("replab/node:")+12 {
		t.Errorf("Tag() = %q, want replab/node:<12 hex>", a.Tag())
	}
	// Reordering or repeating list entries is the same recipe.
	b.Packages = slices.Clone(b.Packages)
	slices.Reverse(b.Packages)
	b.Packages = append(b.Packages, b.Packages[0])
	b.Trim = slices.Clone(b.Trim)
	slices.Reverse(b.Trim)
	if a.Hash() != b.Hash() {
		t.Errorf("reordered packages and trim globs changed the hash")
	}
}

func TestRecipeHashChangesWithTheRecipe(t *testing.T) {
	base := Recipe().Hash()
	for name, change := range map[string]func(*Spec){
		"package added":   func(s *Spec) { s.Packages = append(s.Packages, "pgbouncer") },
		"package removed": func(s *Spec) { s.Packages = s.Packages[1:] },
		"suite":           func(s *Spec) { s.Suite = "trixie" },
		"version":         func(s *Spec) { s.Version++ },
		"trim":            func(s *Spec) { s.Trim = append(s.Trim, "/usr/share/zoneinfo/right") },
		"keep":            func(s *Spec) { s.Keep = s.Keep[1:] },
		"env":             func(s *Spec) { s.Env = append(s.Env, "PGTZ=UTC") },
		"dir mode":        func(s *Spec) { s.Dirs[0].Mode = 0o755 },
		"alternative":     func(s *Spec) { s.Alternatives[0].Path = "/usr/sbin/iptables-legacy" },
		"pg template":     func(s *Spec) { s.PGTemplate = "" },
		"initdb options":  func(s *Spec) { s.PGInitdb = s.PGInitdb[1:] },
	} {
		t.Run(name, func(t *testing.T) {
			s := Recipe()
			change(&s)
			if s.Hash() == base {
				t.Errorf("hash unchanged after %s", name)
			}
		})
	}
}

func TestRecipeValidate(t *testing.T) {
	if err := Recipe().Validate(); err != nil {
		t.Fatalf("built-in recipe: %v", err)
	}
	if !(Spec{}).IsZero() || Recipe().IsZero() {
		t.Errorf("IsZero: want true for Spec{}, false for Recipe()")
	}
	for name, tc := range map[string]struct {
		change func(*Spec)
		want   string
	}{
		"no packages":       {func(s *Spec) { s.Packages = nil }, "packages: want at least one"},
		"bad package":       {func(s *Spec) { s.Packages = append(s.Packages, "Foo Bar") }, `package "Foo Bar"`},
		"relative trim":     {func(s *Spec) { s.Trim = append(s.Trim, "usr/share/doc") }, "absolute path"},
		"trim of the root":  {func(s *Spec) { s.Trim = append(s.Trim, "/") }, "clean path below /"},
		"escaping trim":     {func(s *Spec) { s.Trim = append(s.Trim, "/usr/../etc") }, "clean path"},
		"bad glob":          {func(s *Spec) { s.Keep = append(s.Keep, "/usr/[") }, "syntax error in pattern"},
		"dir without owner": {func(s *Spec) { s.Dirs[0].User = "" }, "want a user and a group"},
		"env with space":    {func(s *Spec) { s.Env = append(s.Env, "A=b c") }, `env "A=b c"`},
		"bad suite":         {func(s *Spec) { s.Suite = "" }, "suite"},
	} {
		t.Run(name, func(t *testing.T) {
			s := Recipe()
			tc.change(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTrimListCoversTheBrief(t *testing.T) {
	s := Recipe()
	for _, g := range []string{
		"/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*",
		"/var/lib/apt/lists/*", "/var/cache/apt/archives/*.deb",
		"/var/lib/postgresql/*/main", "/etc/postgresql/*/main",
	} {
		if !slices.Contains(s.Trim, g) {
			t.Errorf("Trim lacks %s", g)
		}
	}
	for _, must := range []string{"postgresql-15", "patroni", "etcd-server", "etcd-client", "haproxy", "iproute2", "iptables", "procps", "ca-certificates", "mariadb-server-core", "mariadb-client-core"} {
		if !slices.Contains(s.Packages, must) {
			t.Errorf("Packages lack %s", must)
		}
	}
	// Nothing the harness runs may be trimmed.
	for _, needed := range []string{
		"/usr/lib/postgresql/15/bin/postgres", "/usr/bin/patroni", "/usr/bin/etcd", "/usr/bin/etcdctl",
		"/usr/sbin/haproxy", "/usr/sbin/iptables", "/usr/sbin/tc", "/usr/bin/ps", "/usr/lib/locale/C.utf8/LC_CTYPE",
		"/usr/share/zoneinfo/UTC", "/usr/share/postgresql/15/timezonesets/Default",
		"/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb", "/usr/share/mysql/mysql_system_tables.sql",
		"/usr/share/mysql/english/errmsg.sys", "/usr/sbin/useradd",
	} {
		for _, g := range s.Trim {
			if covers(g, needed) {
				t.Errorf("trim glob %s removes %s", g, needed)
			}
		}
	}
}

// covers reports whether glob matches p or one of p's parents.
func covers(glob, p string) bool {
	for q := p; q != "/"; q = q[:max(strings.LastIndex(q, "/"), 1)] {
		if ok, _ := path.Match(glob, q); ok {
			return true
		}
	}
	return false
}
