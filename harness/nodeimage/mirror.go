package nodeimage

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
)

// MirrorEnv names the environment variable that overrides the Debian
// mirror read from apt's configuration (a URL such as
// http://mirror.example/debian).
const MirrorEnv = "REPLAB_DEBIAN_MIRROR"

// Files apt reads its sources from, relative to the file system root, in
// apt's own order: sources.list, then sources.list.d in lexical order.
const (
	aptSourcesList = "etc/apt/sources.list"
	aptSourcesDir  = "etc/apt/sources.list.d"
)

// Mirror returns the Debian archive URL debootstrap fetches suite from:
// $REPLAB_DEBIAN_MIRROR when set, otherwise the first URI in this machine's
// apt configuration (one-line .list files and deb822 .sources files) that
// serves the Debian archive for suite's family (suite, suite-updates,
// suite-backports; never a security archive). When no source names suite,
// the first non-security source whose path ends in /debian is used: a
// Debian archive serves every release. The error wraps ErrNoMirror and says
// how to fix it.
func Mirror(suite string) (string, error) {
	if v := strings.TrimSpace(os.Getenv(MirrorEnv)); v != "" {
		if err := checkMirrorURL(v); err != nil {
			return "", fmt.Errorf("read %s=%q: %w", MirrorEnv, v, err)
		}
		return strings.TrimRight(v, "/"), nil
	}
	return findMirror(os.DirFS("/"), suite)
}

// aptSource is one source entry: a one-line "deb" line or a deb822 stanza.
type aptSource struct {
	File    string // path relative to the file system root
	Line    int    // 1-based line the entry starts on
	Types   []string
	URIs    []string
	Suites  []string
	Enabled bool
}

// findMirror reads apt's sources from fsys (a file system root) and picks
// the mirror for suite.
func findMirror(fsys fs.FS, suite string) (string, error) {
	sources, files, err := readAptSources(fsys)
	if err != nil {
		return "", err
	}
	if uri, ok := pickMirror(sources, suite); ok {
		return uri, nil
	}
	read := "no apt sources found"
	if len(files) > 0 {
		read = "read /" + strings.Join(files, ", /")
	}
	return "", fmt.Errorf("%w for %s (%s): set %s to a Debian archive URL (for example http://<your-mirror>/debian) or add one to apt's sources",
		ErrNoMirror, suite, read, MirrorEnv)
}

// readAptSources parses sources.list and sources.list.d/*.list and
// *.sources below fsys in apt's order. Missing files are not errors;
// unreadable ones are.
func readAptSources(fsys fs.FS) (sources []aptSource, files []string, err error) {
	names := []string{aptSourcesList}
	entries, err := fs.ReadDir(fsys, aptSourcesDir)
	if err != nil && !isNotExist(err) {
		return nil, nil, fmt.Errorf("read apt sources /%s: %w", aptSourcesDir, err)
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources") {
			names = append(names, path.Join(aptSourcesDir, n))
		}
	}
	slices.Sort(names[1:])
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read apt sources /%s: %w", name, err)
		}
		files = append(files, name)
		if strings.HasSuffix(name, ".sources") {
			sources = append(sources, parseDeb822Sources(name, data)...)
		} else {
			sources = append(sources, parseOneLineSources(name, data)...)
		}
	}
	return sources, files, nil
}

// parseOneLineSources parses apt's one-line format:
//
//	deb [ option=value ... ] uri suite [component ...]
//
// Comments start at '#'. Lines it cannot read are skipped, as apt would
// reject them anyway.
func parseOneLineSources(name string, data []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		typ, rest := fields[0], fields[1:]
		if strings.HasPrefix(rest[0], "[") {
			// Options run to the field that closes the bracket.
			end := slices.IndexFunc(rest, func(f string) bool { return strings.HasSuffix(f, "]") })
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		if len(rest) < 2 {
			continue
		}
		out = append(out, aptSource{
			File: name, Line: n, Types: []string{typ},
			URIs: []string{rest[0]}, Suites: []string{rest[1]}, Enabled: true,
		})
	}
	return out
}

// parseDeb822Sources parses apt's deb822 format: stanzas of "Field: value"
// separated by blank lines; lines starting with white space continue the
// previous field; '#' lines are comments. Field names are case-insensitive.
func parseDeb822Sources(name string, data []byte) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	start, last := 0, ""
	flush := func() {
		if len(fields) > 0 {
			out = append(out, aptSource{
				File: name, Line: start,
				Types:   strings.Fields(fields["types"]),
				URIs:    strings.Fields(fields["uris"]),
				Suites:  strings.Fields(fields["suites"]),
				Enabled: !strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no"),
			})
		}
		fields, last = map[string]string{}, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if len(fields) == 0 {
				start = n
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// pickMirror returns the first binary ("deb"), enabled, non-security URI
// whose suite is in suite's family; failing that, the first such URI whose
// path ends in /debian.
func pickMirror(sources []aptSource, suite string) (string, bool) {
	var fallback string
	for _, s := range sources {
		if !s.Enabled || !slices.Contains(s.Types, "deb") {
			continue
		}
		for _, uri := range s.URIs {
			if checkMirrorURL(uri) != nil || isSecurityURI(uri) {
				continue
			}
			for _, su := range s.Suites {
				if isSecuritySuite(su) {
					continue
				}
				if su == suite || strings.HasPrefix(su, suite+"-") {
					return strings.TrimRight(uri, "/"), true
				}
				if fallback == "" && path.Base(strings.TrimRight(mustPath(uri), "/")) == "debian" {
					fallback = strings.TrimRight(uri, "/")
				}
			}
		}
	}
	return fallback, fallback != ""
}

func isSecuritySuite(suite string) bool {
	return strings.HasSuffix(suite, "-security") || strings.Contains(suite, "/updates")
}

func isSecurityURI(uri string) bool {
	return path.Base(strings.TrimRight(mustPath(uri), "/")) == "debian-security"
}

// mustPath returns uri's path, or "" when uri does not parse.
func mustPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Path
}

// checkMirrorURL accepts the URL schemes debootstrap fetches from.
func checkMirrorURL(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("parse mirror URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("parse mirror URL %q: no host", uri)
		}
	case "file":
		if u.Path == "" {
			return fmt.Errorf("parse mirror URL %q: no path", uri)
		}
	default:
		return fmt.Errorf("parse mirror URL %q: want http, https or file", uri)
	}
	return nil
}
