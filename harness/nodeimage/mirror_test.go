package nodeimage

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// debianSources is the deb822 layout a stock Debian 12 machine (and this
// project's CI) has, with fake hosts.
const debianSources = `Types: deb
# http://snapshot.mirror.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`

func TestFindMirror(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"deb822 as on Debian 12": {
			files: map[string]string{"etc/apt/sources.list.d/debian.sources": debianSources},
			want:  "http://mirror.example/debian",
		},
		"security stanza first is skipped": {
			files: map[string]string{"etc/apt/sources.list.d/debian.sources": `Types: deb
URIs: http://security.example/debian-security/
Suites: bookworm-security
Components: main

Types: deb
URIs: https://mirror.example/debian/
Suites: bookworm
Components: main
`},
			want: "https://mirror.example/debian",
		},
		"one-line with options, comments and deb-src": {
			files: map[string]string{"etc/apt/sources.list": `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://mirror.example/debian bookworm main contrib # trailing comment
deb http://second.example/debian bookworm main
`},
			want: "http://mirror.example/debian",
		},
		"old security layout is skipped": {
			files: map[string]string{"etc/apt/sources.list": `deb http://security.example/ bookworm/updates main
deb [arch=amd64] http://mirror.example/debian bookworm-updates main
`},
			want: "http://mirror.example/debian",
		},
		"sources.list first, then sources.list.d in lexical order": {
			files: map[string]string{
				"etc/apt/sources.list":                    "# empty\n",
				"etc/apt/sources.list.d/zz.list":          "deb http://late.example/debian bookworm main\n",
				"etc/apt/sources.list.d/aa-vendor.list":   "deb https://vendor.example/apt cloud-sdk-bookworm main\n",
				"etc/apt/sources.list.d/debian.sources":   debianSources,
				"etc/apt/sources.list.d/old.list.disable": "deb http://disabled.example/debian bookworm main\n",
			},
			want: "http://mirror.example/debian",
		},
		"third-party repositories are not Debian": {
			files: map[string]string{
				"etc/apt/sources.list.d/node.sources": "Types: deb\nURIs: https://vendor.example/node_20.x\nSuites: nodistro\nComponents: main\n",
				"etc/apt/sources.list.d/x.list":       "deb https://vendor.example/apt cloud-sdk-bookworm main\ndeb http://mirror.example/debian bookworm main\n",
			},
			want: "http://mirror.example/debian",
		},
		"disabled stanza is skipped": {
			files: map[string]string{"etc/apt/sources.list.d/debian.sources": `Types: deb
URIs: http://off.example/debian
Suites: bookworm
Enabled: no

types: deb deb-src
uris: http://mirror.example/debian
suites: bookworm
`},
			want: "http://mirror.example/debian",
		},
		"multi-line Signed-By block does not confuse the parser": {
			files: map[string]string{"etc/apt/sources.list.d/debian.sources": `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD9K3
 -----END PGP PUBLIC KEY BLOCK-----
`},
			want: "http://mirror.example/debian",
		},
		"host on another release: a /debian archive serves bookworm too": {
			files: map[string]string{"etc/apt/sources.list.d/debian.sources": `Types: deb
URIs: http://mirror.example/debian-security
Suites: trixie-security

Types: deb
URIs: http://mirror.example/debian
Suites: trixie trixie-updates
`},
			want: "http://mirror.example/debian",
		},
		"a URI that names the suite wins over the /debian fallback": {
			files: map[string]string{"etc/apt/sources.list": `deb http://mirror.example/debian trixie main
deb http://snapshot.example/archive/debian/20250520T000000Z bookworm main
`},
			want: "http://snapshot.example/archive/debian/20250520T000000Z",
		},
		"unsupported schemes are skipped": {
			files: map[string]string{"etc/apt/sources.list": `deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb mirror+file:/etc/apt/mirrors.txt bookworm main
deb file:/srv/debian bookworm main
`},
			want: "file:/srv/debian",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := findMirror(mapFS(tc.files), "bookworm")
			if err != nil {
				t.Fatalf("findMirror: %v", err)
			}
			if got != tc.want {
				t.Errorf("findMirror = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindMirrorNone(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no apt configuration": {},
		"only security and third parties": {
			"etc/apt/sources.list": "deb http://mirror.example/debian-security bookworm-security main\ndeb https://vendor.example/apt stable main\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := findMirror(mapFS(files), "bookworm")
			if !errors.Is(err, ErrNoMirror) {
				t.Fatalf("findMirror error = %v, want ErrNoMirror", err)
			}
			if !strings.Contains(err.Error(), MirrorEnv) {
				t.Errorf("error %q does not name the fix (%s)", err, MirrorEnv)
			}
		})
	}
}

func TestMirrorEnvOverride(t *testing.T) {
	t.Setenv(MirrorEnv, "http://override.example/debian/")
	got, err := Mirror("bookworm")
	if err != nil || got != "http://override.example/debian" {
		t.Errorf("Mirror = %q, %v; want the override without its trailing slash", got, err)
	}
	t.Setenv(MirrorEnv, "override.example/debian")
	if _, err := Mirror("bookworm"); err == nil || !strings.Contains(err.Error(), MirrorEnv) {
		t.Errorf("Mirror with a URL without scheme = %v, want an error naming %s", err, MirrorEnv)
	}
}

func TestParseOneLineSourcesRecordsLines(t *testing.T) {
	got := parseOneLineSources("etc/apt/sources.list", []byte("\n# c\ndeb http://mirror.example/debian bookworm main\n"))
	if len(got) != 1 || got[0].Line != 3 || got[0].URIs[0] != "http://mirror.example/debian" || got[0].Suites[0] != "bookworm" {
		t.Errorf("parseOneLineSources = %+v", got)
	}
}

func TestParseDeb822SourcesStanzas(t *testing.T) {
	got := parseDeb822Sources("x.sources", []byte(debianSources))
	if len(got) != 2 {
		t.Fatalf("parsed %d stanzas, want 2: %+v", len(got), got)
	}
	if got[0].Line != 1 || got[1].Line != 8 {
		t.Errorf("stanza lines = %d, %d; want 1, 8", got[0].Line, got[1].Line)
	}
	if strings.Join(got[0].Suites, " ") != "bookworm bookworm-updates" || !got[0].Enabled {
		t.Errorf("first stanza = %+v", got[0])
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}
