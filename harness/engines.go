package harness

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"
)

// EnvDockerHosts names the environment variable that lists the Docker
// engines labs may run on: DOCKER_HOST-style URLs separated by commas,
// for example
//
//	REPLAB_DOCKER_HOSTS=unix:///var/run/docker.sock,unix:///tmp/replab-d2/docker.sock
//
// A lab lives on one engine, and every Docker call made for it (container
// create through testcontainers-go included) goes to that engine. Unset,
// the list is the one engine DOCKER_HOST names, else Docker's default
// socket.
const EnvDockerHosts = "REPLAB_DOCKER_HOSTS"

// ErrEngineList wraps every problem with REPLAB_DOCKER_HOSTS; the message
// names the entry and how to fix it.
var ErrEngineList = errors.New("bad " + EnvDockerHosts)

// ErrRemoteEngine is returned by Up for an engine on another machine.
// replab reaches a lab's containers through ports the engine publishes on
// 127.0.0.1 of the machine it runs on, which no other machine can reach.
var ErrRemoteEngine = errors.New("engine is on another machine: replab reaches a lab through ports the engine publishes on its own 127.0.0.1")

// DefaultEngine is the engine a lab runs on when REPLAB_DOCKER_HOSTS is
// unset: DOCKER_HOST, else Docker's default socket.
func DefaultEngine() string {
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// Engines returns the engines REPLAB_DOCKER_HOSTS lists, or the default
// engine alone when it is unset or blank.
func Engines() ([]string, error) {
	return ParseEngines(os.Getenv(EnvDockerHosts), DefaultEngine())
}

// ParseEngines parses a REPLAB_DOCKER_HOSTS value. A blank list means the
// fallback engine alone. Each entry must be a unix:// socket with an
// absolute path or a tcp://host:port address, listed once; errors wrap
// ErrEngineList and name the entry and the fix.
func ParseEngines(list, fallback string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return []string{fallback}, nil
	}
	var out []string
	seen := map[string]int{}
	for i, raw := range strings.Split(list, ",") {
		n := i + 1
		e := strings.TrimSpace(raw)
		if err := CheckEngine(e); err != nil {
			return nil, fmt.Errorf("%w: entry %d (%q): %w", ErrEngineList, n, raw, err)
		}
		if first, dup := seen[e]; dup {
			return nil, fmt.Errorf("%w: entry %d (%s) repeats entry %d: two labs would share that engine while each believes it has its own; list each engine once", ErrEngineList, n, e, first)
		}
		seen[e] = n
		out = append(out, e)
	}
	return out, nil
}

// CheckEngine says what is wrong with one engine address (an entry of
// REPLAB_DOCKER_HOSTS, or --engine), and how to write it.
func CheckEngine(e string) error {
	if e == "" {
		return errors.New("empty: remove the extra comma")
	}
	if strings.HasPrefix(e, "/") {
		return fmt.Errorf("a path without a scheme: write unix://%s", e)
	}
	u, err := url.Parse(e)
	if err != nil || u.Scheme == "" {
		return errors.New("not a URL: write unix:///path/to/docker.sock or tcp://host:2375")
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("a unix socket needs an absolute path and three slashes: unix:///%s", strings.TrimLeft(u.Host+u.Path, "/"))
		}
	case "tcp":
		if u.Port() == "" || u.Hostname() == "" {
			return errors.New("a tcp engine needs a host and a port: tcp://host:2375 (2376 with TLS)")
		}
	case "ssh":
		return errors.New("ssh:// engines are not supported (the Docker API client replab uses has no ssh transport): run replab on that machine, where its engine is unix:///var/run/docker.sock")
	default:
		return fmt.Errorf("scheme %q not supported: use unix:// or tcp://", u.Scheme)
	}
	return nil
}

// EngineFor picks the engine of a parallel test process: process p
// (1-based, as GinkgoParallelProcess counts) gets entry (p-1) mod
// len(engines), so with as many processes as engines each has its own,
// and with more, processes p and p+len(engines) share one.
func EngineFor(engines []string, process int) (string, error) {
	if len(engines) == 0 {
		return "", fmt.Errorf("%w: no engines listed", ErrEngineList)
	}
	if process < 1 {
		return "", fmt.Errorf("pick engine: process %d: processes count from 1", process)
	}
	return engines[(process-1)%len(engines)], nil
}

// engineIsLocal reports whether an engine runs on this machine, judged
// from its URL: a unix socket does (or is forwarded, which the URL cannot
// tell), a tcp address does when its host is a loopback address.
func engineIsLocal(engine string) bool {
	u, err := url.Parse(engine)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		a, err := netip.ParseAddr(h)
		return err == nil && a.IsLoopback()
	}
	return false
}

// checkLocal refuses an engine whose published ports this machine cannot
// reach (see ErrRemoteEngine).
func checkLocal(engine string) error {
	if engineIsLocal(engine) {
		return nil
	}
	return fmt.Errorf("provision lab on %s: %w; run replab on that machine (its engine is then unix:///var/run/docker.sock), or drop it from %s", engine, ErrRemoteEngine, EnvDockerHosts)
}

// ConnectEngine returns a Docker API client for one engine after checking
// it answers. TLS settings come from the environment (DOCKER_CERT_PATH,
// DOCKER_TLS_VERIFY) and apply to every tcp engine alike.
func ConnectEngine(ctx context.Context, engine string) (*client.Client, error) {
	disableRyuk()
	cli, err := newEngineClient(engine)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDockerUnavailable, engine, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: is Docker running? Start it (systemctl start docker, or open Docker Desktop), check `docker -H %s info` works, or drop it from %s: %v", ErrDockerUnavailable, engine, engine, EnvDockerHosts, err)
	}
	return cli, nil
}

// newEngineClient makes a client for engine without calling it.
func newEngineClient(engine string) (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithHost(engine), client.WithAPIVersionNegotiation())
}

// engineLockPath is the lock file of one engine: a hash of its URL, in the
// machine's temporary directory, so every replab process here finds it
// whatever its state directory.
func engineLockPath(kind, engine string) string {
	sum := sha256.Sum256([]byte(engine))
	return filepath.Join(os.TempDir(), "replab-"+kind+"-"+hex.EncodeToString(sum[:6])+".lock")
}

// lockPoll is how often a wait for a lock file retries.
const lockPoll = 200 * time.Millisecond

// flock takes an exclusive lock on path, calling waiting once if another
// process holds it, and returns the unlock function. The kernel drops a
// lock when its holder dies, so a killed process never blocks the next.
// The file stays: deleting lock files races with the next locker.
func flock(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	return flockAny(ctx, []string{path}, waiting)
}

// flockAny takes an exclusive lock on the first of paths that is free,
// waiting (and calling waiting once) while every one is held.
func flockAny(ctx context.Context, paths []string, waiting func()) (unlock func(), err error) {
	files := make([]*os.File, len(paths))
	closeAll := func(keep int) {
		for i, f := range files {
			if f != nil && i != keep {
				_ = f.Close()
			}
		}
	}
	for i, path := range paths {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			closeAll(-1)
			return nil, fmt.Errorf("open lock %s: %w", path, err)
		}
		files[i] = f
	}
	told := false
	for {
		for i, f := range files {
			err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil {
				closeAll(i)
				return func() {
					_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
					_ = f.Close()
				}, nil
			}
			if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
				closeAll(-1)
				return nil, fmt.Errorf("lock %s: %w", paths[i], err)
			}
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			closeAll(-1)
			return nil, fmt.Errorf("wait for lock %s: %w", strings.Join(paths, ", "), ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// EnvMachineLabs caps how many labs taken with WithExclusiveEngine run at
// once on this machine, whatever their engines: engines on one machine
// share its cores, and a lab that measures time must not compete for
// them. Unset, it is the machine's cores divided by CoresPerLab, at least
// one.
const EnvMachineLabs = "REPLAB_MACHINE_LABS"

// CoresPerLab is how many cores a measuring lab is given to itself when
// EnvMachineLabs is unset. Two labs at once on 2 cores, each on its own
// engine, delayed streaming from 16-23 s to over 2 min and made the
// suites' leader lookups time out (README: Labs on several Docker
// engines).
const CoresPerLab = 4

// MachineLabs is how many measuring labs may run at once here
// (EnvMachineLabs, else the cores divided by CoresPerLab, at least one).
func MachineLabs() (int, error) {
	v := os.Getenv(EnvMachineLabs)
	if v == "" {
		return max(1, runtime.NumCPU()/CoresPerLab), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a whole number of labs, 1 or more (unset: %d, this machine's %d cores / %d)", EnvMachineLabs, v, max(1, runtime.NumCPU()/CoresPerLab), runtime.NumCPU(), CoresPerLab)
	}
	return n, nil
}

// machineSlot takes one of the machine's MachineLabs slots for a lab. A
// process that already holds one shares it: its own labs contend only
// with each other, and waiting for itself would never end.
func machineSlot(ctx context.Context, log *slog.Logger) (release func(), err error) {
	n, err := MachineLabs()
	if err != nil {
		return nil, err
	}
	slotMu.Lock()
	defer slotMu.Unlock()
	if slotHolds == 0 {
		paths := make([]string, n)
		for i := range paths {
			paths[i] = engineLockPath("machine", strconv.Itoa(i))
		}
		unlock, err := flockAny(ctx, paths, func() {
			log.Info("waiting for a lab elsewhere on this machine to end", "machine_labs", n, "set", EnvMachineLabs)
		})
		if err != nil {
			return nil, err
		}
		slotUnlock = unlock
	}
	slotHolds++
	var once sync.Once
	return func() {
		once.Do(func() {
			slotMu.Lock()
			defer slotMu.Unlock()
			if slotHolds--; slotHolds == 0 {
				slotUnlock()
			}
		})
	}, nil
}

// HoldMachineSlot takes one of the machine's MachineLabs slots for the
// calling process until release: its labs then share it and never wait
// for one. A test process that runs several labs in turn takes it once, so
// that processes take turns as a whole instead of each lab waiting,
// inside its own timeout, for another process's lab to end.
func HoldMachineSlot(ctx context.Context, log *slog.Logger) (release func(), err error) {
	if log == nil {
		log = discardLogger()
	}
	return machineSlot(ctx, log)
}

// The machine slot this process holds, shared by its labs.
var (
	slotMu     sync.Mutex
	slotHolds  int
	slotUnlock func()
)

// hostPrefixes lists the IPv4 networks this machine's kernel already
// routes or holds an address in. Engines on one machine share its kernel,
// but each knows only its own networks: a lab subnet must avoid all of
// these, or two labs on two engines take the same /24 and one never
// reaches its own containers. The default route is left out.
func hostPrefixes() []netip.Prefix {
	var out []netip.Prefix
	if b, err := os.ReadFile("/proc/net/route"); err == nil {
		out = append(out, parseProcNetRoute(string(b))...)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				out = append(out, p.Masked())
			}
		}
	}
	return out
}

// parseProcNetRoute reads the destinations of /proc/net/route: address
// and mask columns in hex after a header line. Default routes (mask 0) and
// malformed lines are skipped.
func parseProcNetRoute(s string) []netip.Prefix {
	var out []netip.Prefix
	for i, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 {
			continue
		}
		dst, ok1 := procAddr(f[1])
		mask, ok2 := procAddr(f[7])
		if !ok1 || !ok2 {
			continue
		}
		bits, _ := net.IPMask(mask[:]).Size()
		if bits == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(dst), bits).Masked())
	}
	return out
}

// procAddr decodes an IPv4 address as /proc/net/route writes it: the
// network-order bytes read as one native-endian word, in 8 hex digits.
func procAddr(h string) ([4]byte, bool) {
	var a [4]byte
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || len(h) != 8 {
		return a, false
	}
	binary.NativeEndian.PutUint32(a[:], uint32(v))
	return a, true
}

// labEngine is what Up resolved about the engine a lab goes to.
type labEngine struct {
	engine  string
	peers   []string // every listed engine, to copy a missing image from
	release func()   // ends the exclusive hold; a no-op without one
}

// resolveEngine picks the lab's engine (WithEngine, else the first
// listed), refuses one on another machine, and with WithExclusiveEngine
// waits for and takes the engine's lock.
func resolveEngine(ctx context.Context, o *options) (labEngine, error) {
	engines, err := Engines()
	if err != nil {
		return labEngine{}, err
	}
	e := labEngine{engine: o.engine, peers: engines, release: func() {}}
	if e.engine == "" {
		e.engine = engines[0]
	}
	if err := checkLocal(e.engine); err != nil {
		return labEngine{}, err
	}
	if o.exclusive {
		// A process that already holds the engine would wait for itself.
		heldMu.Lock()
		if held[e.engine] {
			heldMu.Unlock()
			return labEngine{}, fmt.Errorf("provision lab on %s: %w", e.engine, ErrEngineHeld)
		}
		held[e.engine] = true
		heldMu.Unlock()
		forget := func() {
			heldMu.Lock()
			delete(held, e.engine)
			heldMu.Unlock()
		}
		unlock, err := flock(ctx, engineLockPath("engine", e.engine), func() {
			o.log.Info("waiting for another lab on this engine to end", "engine", e.engine)
		})
		if err != nil {
			forget()
			return labEngine{}, fmt.Errorf("provision lab on %s: %w", e.engine, err)
		}
		slot, err := machineSlot(ctx, o.log)
		if err != nil {
			unlock()
			forget()
			return labEngine{}, fmt.Errorf("provision lab on %s: %w", e.engine, err)
		}
		var once sync.Once
		e.release = func() {
			once.Do(func() {
				slot()
				unlock()
				forget()
			})
		}
	}
	return e, nil
}

// ErrEngineHeld is returned by Up with WithExclusiveEngine when a lab of
// the same process already holds the engine: the second lab would wait
// for the first, which its own process keeps up.
var ErrEngineHeld = errors.New("a lab of this process already holds the engine exclusively: take the lab down first, or run the second without WithExclusiveEngine")

// held names the engines labs of this process hold exclusively.
var (
	heldMu sync.Mutex
	held   = map[string]bool{}
)
