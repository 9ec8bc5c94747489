package nodeimage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// RecipeVersion is part of every recipe hash. Bump it whenever the build
// steps change in a way the Spec's fields do not capture (a new fix-up after
// debootstrap, a different tar layout), so that machines rebuild.
const RecipeVersion = 1

// Repository is the image repository replab's node images are tagged in.
const Repository = "replab/node"

// LatestTag is moved to the most recently built image of the built-in
// recipe, for people who want to `docker run` it by hand. The harness never runs it: it runs the
// tag that carries the recipe hash.
const LatestTag = Repository + ":latest"

// Label keys set on every image Ensure builds.
const (
	// LabelImage carries LabelImageValue: "this is a replab node image".
	LabelImage = "replab.image"
	// LabelImageValue is the value of LabelImage.
	LabelImageValue = "node"
	// LabelRecipe carries the full hex sha256 of the recipe.
	LabelRecipe = "replab.recipe"
	// LabelPGTemplate carries the path of the image's initdb template
	// (Spec.PGTemplate), when it has one. A user image may carry it too:
	// the harness bootstraps from the template of any image that names
	// one (docs/image-contract.md).
	LabelPGTemplate = "replab.pgtemplate"
)

// tagHexLen is how many hex digits of the recipe hash the tag carries.
const tagHexLen = 12

// Spec is a node image recipe: everything that decides what ends up in the
// image. Its hash names the image (Tag), so changing any field builds a new
// image and nothing outside the Spec (mirror, machine, time) does.
type Spec struct {
	// Version is RecipeVersion for the built-in recipe.
	Version int
	// Suite is the Debian release debootstrap installs ("bookworm").
	Suite string
	// Variant is debootstrap's --variant ("minbase": no apt-recommended
	// extras, no init system).
	Variant string
	// Packages are installed on top of the variant with their dependencies
	// (debootstrap --include). Order does not matter.
	Packages []string
	// Trim lists globs (absolute paths inside the image, path.Match syntax)
	// removed after debootstrap. Order does not matter.
	Trim []string
	// Keep lists globs that Trim spares even when a Trim glob matches them
	// or one of their parents (licence files, locale.alias).
	Keep []string
	// Dirs are created (or fixed up) after trimming, with owner and mode.
	Dirs []Dir
	// Alternatives are pinned with update-alternatives --set.
	Alternatives []Alternative
	// Env is the image's environment (Docker ENV), in order.
	Env []string
	// PGTemplate, when set, is a freshly initialised PostgreSQL cluster the
	// build stores in the image: initdb (PGBinDir's) runs once, as
	// postgres, with PGInitdb, and the data directory is kept as a gzip'd
	// tar at PGTemplate (see LabelPGTemplate). A lab then unpacks it
	// instead of running initdb (a second or more on 2 vCPUs) and clones
	// replicas from it instead of taking base backups. PGInitdb must be the
	// options Patroni's bootstrap would give initdb, or the template is not
	// the cluster Patroni would have made.
	PGTemplate string
	PGBinDir   string
	PGInitdb   []string
	// Patches edit packaged files after debootstrap (Patch), in order; a
	// patched Python module is compiled again.
	Patches []Patch
}

// Dir is a directory the image must contain with a given owner and mode.
type Dir struct {
	Path  string // absolute path inside the image; no symlinked parents
	User  string // owner, a name from the image's /etc/passwd
	Group string // group, a name from the image's /etc/group
	Mode  fs.FileMode
}

// Alternative pins a Debian alternative (update-alternatives --set Name Path).
type Alternative struct {
	Name string
	Path string
}

// Recipe returns replab's built-in node image recipe: Debian bookworm with
// PostgreSQL 15, Patroni 3.0, pg_auto_failover 2.0, repmgr 5.3, etcd 3.4,
// HAProxy 2.6, MariaDB 10.11 and the network tools
// the harness uses, trimmed of documentation, translations, apt caches,
// Debian's pre-created cluster and PostgreSQL's LLVM JIT (150 MB that a
// failover lab does not need; PostgreSQL disables JIT quietly without it).
// It returns a fresh value on every call.
func Recipe() Spec {
	return Spec{
		Version: RecipeVersion,
		Suite:   "bookworm",
		Variant: "minbase",
		Packages: []string{
			"postgresql-15",   // server, client and contrib; /usr/lib/postgresql/15/bin
			"patroni",         // 3.0.2; pulls python3-psycopg2 and python3-etcd
			"etcd-server",     // /usr/bin/etcd 3.4
			"etcd-client",     // /usr/bin/etcdctl
			"haproxy",         // 2.6, the lab's read/write endpoints
			"iproute2",        // ip, tc, ss
			"iptables",        // NFQUEUE target for the userspace netem backend
			"procps",          // ps, pkill, pgrep
			"iputils-ping",    // RTT probes
			"ca-certificates", // TLS to anything outside the lab
			"curl",            // health checks against Patroni's REST API
			// MariaDB 10.11 for engine kind mariadb: mariadbd and
			// mariadb-install-db, and the mariadb client HAProxy's check
			// runs. Their -server and -client packages add Galera, Perl
			// and rsync, which a lab does not use.
			"mariadb-server-core",
			"mariadb-client-core",
			// The other PostgreSQL failover managers a topology may
			// choose instead of Patroni (topologies.Manager):
			// pg_auto_failover 2.0 (extension and pg_autoctl) and
			// repmgr 5.3 (repmgr, repmgrd).
			"postgresql-15-auto-failover",
			"pg-auto-failover-cli",
			"postgresql-15-repmgr",
		},
		Trim: []string{
			"/usr/share/doc/*",
			"/usr/share/doc-base/*",
			"/usr/share/man/*",
			"/usr/share/info/*",
			"/usr/share/lintian/*",
			"/usr/share/locale/*",
			"/usr/share/i18n/*",
			"/usr/share/postgresql/*/man",
			// PostgreSQL's LLVM JIT and the libraries only it needs.
			"/usr/lib/postgresql/*/lib/bitcode",
			"/usr/lib/postgresql/*/lib/llvmjit.so",
			"/usr/lib/postgresql/*/lib/llvmjit_types.bc",
			"/usr/lib/*/libLLVM-*.so*",
			"/usr/lib/*/libz3.so*",
			// Debian's cluster: Patroni creates its own data directory.
			"/var/lib/postgresql/*/main",
			"/etc/postgresql/*/main",
			// apt and dpkg leftovers.
			"/var/cache/apt/*.bin",
			"/var/cache/apt/archives/*.deb",
			"/var/cache/apt/archives/partial/*",
			"/var/lib/apt/lists/*",
			"/var/cache/debconf/*-old",
			"/var/lib/dpkg/*-old",
			"/var/log/*.log",
			"/var/log/apt/*",
			// The build machine's names; Docker supplies its own.
			"/etc/hostname",
			"/etc/resolv.conf",
		},
		Keep: []string{
			"/usr/share/doc/*/copyright",
			"/usr/share/locale/locale.alias",
			"/usr/share/i18n/SUPPORTED",
			"/var/lib/apt/lists/partial",
		},
		Dirs: []Dir{
			{Path: "/run/postgresql", User: "postgres", Group: "postgres", Mode: fs.ModeSetgid | 0o775},
		},
		Alternatives: []Alternative{
			{Name: "iptables", Path: "/usr/sbin/iptables-nft"},
			{Name: "ip6tables", Path: "/usr/sbin/ip6tables-nft"},
		},
		Env: []string{
			"LANG=C.UTF-8",
			"PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		},
		PGTemplate: "/usr/share/replab/pgdata-15.tar.gz",
		PGBinDir:   "/usr/lib/postgresql/15/bin",
		// What Patroni runs for harness's bootstrap.initdb (encoding UTF8,
		// data-checksums, no-sync) and superuser postgres, in the locale
		// of LANG above. Patroni's --pwfile is left out: its post-bootstrap
		// sets the superuser's password on either path.
		PGInitdb: []string{"--encoding=UTF8", "--data-checksums", "--no-sync", "--username=postgres"},
		Patches:  []Patch{patroniEtcd3LeaderKey},
	}
}

// Tag returns the tag of the built-in recipe's image,
// "replab/node:<first 12 hex digits of its hash>".
func Tag() string { return Recipe().Tag() }

// Canonical returns the text the recipe hash is computed over: one field a
// line, packages, trim and keep globs sorted and de-duplicated, so that
// reordering a list does not change the image. `replab images` prints it.
func (s Spec) Canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replab node image recipe\nversion %d\nsuite %s\nvariant %s\n", s.Version, s.Suite, s.Variant)
	for _, p := range sortedUnique(s.Packages) {
		fmt.Fprintf(&b, "package %s\n", p)
	}
	for _, g := range sortedUnique(s.Trim) {
		fmt.Fprintf(&b, "trim %s\n", g)
	}
	for _, g := range sortedUnique(s.Keep) {
		fmt.Fprintf(&b, "keep %s\n", g)
	}
	for _, d := range s.Dirs {
		fmt.Fprintf(&b, "dir %s %s:%s %#o\n", d.Path, d.User, d.Group, unixMode(d.Mode))
	}
	for _, a := range s.Alternatives {
		fmt.Fprintf(&b, "alternative %s %s\n", a.Name, a.Path)
	}
	for _, e := range s.Env {
		fmt.Fprintf(&b, "env %s\n", e)
	}
	if s.PGTemplate != "" {
		fmt.Fprintf(&b, "pgtemplate %s %s %s\n", s.PGTemplate, s.PGBinDir, strings.Join(s.PGInitdb, " "))
	}
	for _, p := range s.Patches {
		b.WriteString(p.canonical() + "\n")
	}
	return b.String()
}

// Hash returns the full hex sha256 of Canonical. It is stored in the
// image's LabelRecipe label.
func (s Spec) Hash() string {
	sum := sha256.Sum256([]byte(s.Canonical()))
	return hex.EncodeToString(sum[:])
}

// Tag returns "replab/node:<first 12 hex digits of Hash>".
func (s Spec) Tag() string { return Repository + ":" + s.Hash()[:tagHexLen] }

// IsZero reports whether s is the zero Spec, which EnsureRequest reads as
// "the built-in Recipe".
func (s Spec) IsZero() bool {
	return s.Version == 0 && s.Suite == "" && s.Variant == "" && len(s.Packages) == 0 &&
		len(s.Trim) == 0 && len(s.Keep) == 0 && len(s.Dirs) == 0 && len(s.Alternatives) == 0 && len(s.Env) == 0 &&
		s.PGTemplate == "" && s.PGBinDir == "" && len(s.PGInitdb) == 0 && len(s.Patches) == 0
}

// Validate returns every problem with s at once, joined. A Spec that passes
// is safe to build: every path stays inside the image tree.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !isDebianName(s.Suite) {
		bad("suite %q: want a Debian release name such as bookworm", s.Suite)
	}
	if !isDebianName(s.Variant) {
		bad("variant %q: want a debootstrap variant such as minbase", s.Variant)
	}
	if len(s.Packages) == 0 {
		bad("packages: want at least one")
	}
	for _, p := range s.Packages {
		if !isDebianName(p) {
			bad("package %q: not a Debian package name", p)
		}
	}
	for _, list := range []struct {
		name  string
		globs []string
	}{{"trim", s.Trim}, {"keep", s.Keep}} {
		for _, g := range list.globs {
			if err := checkImagePath(g); err != nil {
				bad("%s %q: %w", list.name, g, err)
				continue
			}
			if _, err := path.Match(g, ""); err != nil {
				bad("%s %q: %w", list.name, g, err)
			}
		}
	}
	for _, d := range s.Dirs {
		if err := checkImagePath(d.Path); err != nil {
			bad("dir %q: %w", d.Path, err)
		}
		if d.User == "" || d.Group == "" {
			bad("dir %q: want a user and a group", d.Path)
		}
	}
	for _, a := range s.Alternatives {
		if !isDebianName(a.Name) {
			bad("alternative %q: not an alternative name", a.Name)
		}
		if err := checkImagePath(a.Path); err != nil {
			bad("alternative %s %q: %w", a.Name, a.Path, err)
		}
	}
	for _, e := range s.Env {
		if name, value, ok := strings.Cut(e, "="); !ok || !isEnvName(name) || strings.ContainsAny(value, " \t\n\"'\\$") {
			bad("env %q: want NAME=value, the value without spaces, quotes, backslashes or $", e)
		}
	}
	if s.PGTemplate != "" {
		if err := checkImagePath(s.PGTemplate); err != nil {
			bad("pg template %q: %w", s.PGTemplate, err)
		}
		if err := checkImagePath(s.PGBinDir); err != nil {
			bad("pg bin dir %q: %w", s.PGBinDir, err)
		}
		for _, a := range s.PGInitdb {
			if !strings.HasPrefix(a, "--") || strings.ContainsAny(a, " \t\n\"'\\$") {
				bad("initdb option %q: want --name or --name=value without spaces, quotes, backslashes or $", a)
			}
		}
	}
	for _, p := range s.Patches {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate node image recipe: %w", err)
	}
	return nil
}

// checkImagePath accepts clean absolute paths other than "/".
func checkImagePath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return errors.New("want an absolute path inside the image")
	case p == "/" || path.Clean(p) != p:
		return errors.New("want a clean path below /")
	case strings.Contains(p, "\n"):
		return errors.New("want one line")
	}
	return nil
}

// unixMode returns m as the octal mode chmod(2) takes.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// isDebianName accepts Debian package, suite and variant names:
// [a-z0-9][a-z0-9+.-]+.
func isDebianName(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '+' || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// isEnvName accepts [A-Za-z_][A-Za-z0-9_]*.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
