package harness

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseEngines(t *testing.T) {
	const def = "unix:///var/run/docker.sock"
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"", []string{def}},
		{"  ", []string{def}},
		{"unix:///var/run/docker.sock", []string{def}},
		{"unix:///var/run/docker.sock, unix:///tmp/replab-d2/docker.sock", []string{def, "unix:///tmp/replab-d2/docker.sock"}},
		{"tcp://127.0.0.1:2375,tcp://build-2.example:2376", []string{"tcp://127.0.0.1:2375", "tcp://build-2.example:2376"}},
	} {
		got, err := ParseEngines(tc.list, def)
		if err != nil {
			t.Errorf("ParseEngines(%q): %v", tc.list, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseEngines(%q) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

// Every refusal wraps ErrEngineList and names the entry and the fix.
func TestParseEnginesRefuses(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string // substrings of the error
	}{
		{"unix:///a.sock,", []string{"entry 2", "empty", "remove the extra comma"}},
		{"/var/run/docker.sock", []string{"entry 1", "write unix:///var/run/docker.sock"}},
		{"unix://tmp/d2.sock", []string{"entry 1", "three slashes", "unix:///tmp/d2.sock"}},
		{"tcp://build-2", []string{"entry 1", "tcp://host:2375"}},
		{"unix:///a.sock,ssh://me@build-2", []string{"entry 2", "ssh://", "run replab on that machine"}},
		{"http//x", []string{"entry 1", "not a URL"}},
		{"fd://", []string{"entry 1", `scheme "fd"`, "unix:// or tcp://"}},
		{"unix:///a.sock, unix:///b.sock ,unix:///a.sock", []string{"entry 3", "repeats entry 1", "list each engine once"}},
	} {
		_, err := ParseEngines(tc.list, "unix:///var/run/docker.sock")
		if !errors.Is(err, ErrEngineList) {
			t.Errorf("ParseEngines(%q) = %v, want an error wrapping ErrEngineList", tc.list, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseEngines(%q) = %q, want it to say %q", tc.list, err, w)
			}
		}
	}
}

func TestEnginesFromEnvironment(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
	t.Setenv(EnvDockerHosts, "")
	if got, err := Engines(); err != nil || !slices.Equal(got, []string{"unix:///run/user/1000/docker.sock"}) {
		t.Errorf("Engines() with DOCKER_HOST only = %q, %v; want DOCKER_HOST alone", got, err)
	}
	t.Setenv(EnvDockerHosts, "unix:///a.sock,unix:///b.sock")
	if got, err := Engines(); err != nil || !slices.Equal(got, []string{"unix:///a.sock", "unix:///b.sock"}) {
		t.Errorf("Engines() = %q, %v; want the list, DOCKER_HOST ignored", got, err)
	}
	t.Setenv("DOCKER_HOST", "")
	t.Setenv(EnvDockerHosts, "")
	if got, _ := Engines(); !slices.Equal(got, []string{"unix:///var/run/docker.sock"}) {
		t.Errorf("Engines() with nothing set = %q, want Docker's default socket", got)
	}
}

// Processes 1..n get engines 1..n; with more processes than engines they
// wrap around, and processes p and p+n share an engine.
func TestEngineFor(t *testing.T) {
	engines := []string{"unix:///a.sock", "unix:///b.sock"}
	for p, want := range map[int]string{1: "unix:///a.sock", 2: "unix:///b.sock", 3: "unix:///a.sock", 4: "unix:///b.sock"} {
		if got, err := EngineFor(engines, p); err != nil || got != want {
			t.Errorf("EngineFor(process %d) = %q, %v; want %q", p, got, err, want)
		}
	}
	if got, _ := EngineFor(engines[:1], 7); got != "unix:///a.sock" {
		t.Errorf("EngineFor(one engine, process 7) = %q, want the only engine", got)
	}
	if _, err := EngineFor(engines, 0); err == nil {
		t.Error("EngineFor(process 0) must fail: processes count from 1")
	}
	if _, err := EngineFor(nil, 1); !errors.Is(err, ErrEngineList) {
		t.Errorf("EngineFor(no engines) = %v, want ErrEngineList", err)
	}
}

func TestRemoteEngineRefusedAtUp(t *testing.T) {
	for engine, local := range map[string]bool{
		"unix:///var/run/docker.sock": true,
		"tcp://127.0.0.1:2375":        true,
		"tcp://localhost:2375":        true,
		"tcp://[::1]:2375":            true,
		"tcp://10.0.0.5:2376":         false,
		"tcp://build-2.example:2376":  false,
	} {
		err := checkLocal(engine)
		if local && err != nil {
			t.Errorf("checkLocal(%s) = %v, want nil", engine, err)
		}
		if !local && (!errors.Is(err, ErrRemoteEngine) || !strings.Contains(err.Error(), engine) || !strings.Contains(err.Error(), "run replab on that machine")) {
			t.Errorf("checkLocal(%s) = %v, want ErrRemoteEngine naming it and the fix", engine, err)
		}
	}
}

func TestParseProcNetRoute(t *testing.T) {
	// /proc/net/route of a machine with a default route, its uplink, two
	// Docker bridges and a host route (little-endian hex, as on x86-64 and
	// arm64).
	const table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
		"br-d2\t0000D30A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"eth0\t0A0A0A0A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n" +
		"junk\tzz\n"
	got := parseProcNetRoute(table)
	want := []netip.Prefix{
		netip.MustParsePrefix("172.17.0.0/16"),
		netip.MustParsePrefix("10.211.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("10.10.10.10/32"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseProcNetRoute = %v, want %v (default route left out)", got, want)
	}
}

// The host's own networks are in what a lab subnet must avoid: at least
// one non-default route exists wherever a test runs.
func TestHostPrefixesReadsThisMachine(t *testing.T) {
	if len(hostPrefixes()) == 0 {
		t.Skip("no IPv4 route or address on this machine")
	}
	for _, p := range hostPrefixes() {
		if p.Bits() == 0 {
			t.Errorf("hostPrefixes has a default route %s: every subnet would overlap it", p)
		}
	}
}

func TestFlockExcludesAndWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.lock")
	ctx := context.Background()
	unlock, err := flock(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{}, 1)
	got := make(chan error, 1)
	go func() {
		u, err := flock(ctx, path, func() { waited <- struct{}{} })
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("a second locker was not told to wait")
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("second locker after unlock: %v", err)
	}
	unlock, err = flock(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := flock(cctx, path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("flock with a held lock and an ending context = %v, want DeadlineExceeded", err)
	}
}

func TestEngineLockPathsDiffer(t *testing.T) {
	a, b := engineLockPath("engine", "unix:///a.sock"), engineLockPath("engine", "unix:///b.sock")
	if a == b || engineLockPath("image", "unix:///a.sock") == a {
		t.Errorf("lock paths must differ per engine and per kind: %s %s", a, b)
	}
}

func TestLoadError(t *testing.T) {
	if err := loadError(strings.NewReader(`{"stream":"Loaded image: replab/node:abc\n"}`)); err != nil {
		t.Errorf("a successful load: %v", err)
	}
	err := loadError(strings.NewReader(`{"stream":"x"}{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}`))
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("a failed load = %v, want the engine's message", err)
	}
}

// A process holding an engine exclusively is told so when it asks again,
// rather than waiting for itself; once released the engine can be taken.
func TestExclusiveEngineHeldByThisProcess(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv(EnvDockerHosts, "unix:///a.sock,unix:///b.sock")
	o := &options{log: discardLogger(), exclusive: true, engine: "unix:///b.sock"}
	ctx := context.Background()
	e, err := resolveEngine(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if e.engine != "unix:///b.sock" || !slices.Equal(e.peers, []string{"unix:///a.sock", "unix:///b.sock"}) {
		t.Errorf("resolveEngine = %+v, want engine b and both as peers", e)
	}
	if _, err := resolveEngine(ctx, o); !errors.Is(err, ErrEngineHeld) {
		t.Errorf("a second exclusive lab on the same engine = %v, want ErrEngineHeld", err)
	}
	other, err := resolveEngine(ctx, &options{log: discardLogger(), exclusive: true, engine: "unix:///a.sock"})
	if err != nil {
		t.Fatalf("another engine must stay free: %v", err)
	}
	other.release()
	e.release()
	e.release() // twice is harmless
	again, err := resolveEngine(ctx, o)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.release()
	if e, err := resolveEngine(ctx, &options{log: discardLogger()}); err != nil || e.engine != "unix:///a.sock" {
		t.Errorf("default engine = %q, %v; want the first listed", e.engine, err)
	}
	if _, err := resolveEngine(ctx, &options{log: discardLogger(), engine: "tcp://10.1.2.3:2375"}); !errors.Is(err, ErrRemoteEngine) {
		t.Errorf("a remote engine = %v, want ErrRemoteEngine", err)
	}
}

// flockAny hands out each of its paths once and makes the next taker wait
// until one is released.
func TestFlockAnyHandsOutEachSlotOnce(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "0.lock"), filepath.Join(dir, "1.lock")}
	ctx := context.Background()
	a, err := flockAny(ctx, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := flockAny(ctx, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 3*lockPoll)
	defer cancel()
	waited := false
	if _, err := flockAny(short, paths, func() { waited = true }); err == nil || !waited {
		t.Fatalf("a third taker of two slots: err %v, waited %v; want it to wait and time out", err, waited)
	}
	a()
	c, err := flockAny(ctx, paths, nil)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	b()
	c()
}

func TestMachineLabs(t *testing.T) {
	t.Setenv(EnvMachineLabs, "")
	if n, err := MachineLabs(); err != nil || n < 1 || n != max(1, runtime.NumCPU()/CoresPerLab) {
		t.Errorf("default: %d, %v", n, err)
	}
	t.Setenv(EnvMachineLabs, "3")
	if n, err := MachineLabs(); err != nil || n != 3 {
		t.Errorf("3: %d, %v", n, err)
	}
	for _, bad := range []string{"0", "-1", "two"} {
		t.Setenv(EnvMachineLabs, bad)
		if _, err := MachineLabs(); err == nil || !strings.Contains(err.Error(), EnvMachineLabs) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, EnvMachineLabs)
		}
	}
}
