package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/testcontainers/testcontainers-go"
	"golang.org/x/sync/errgroup"

	"github.com/replab/replab/topologies"
)

// Lab is a running deployment of one topology. Its methods are safe for
// concurrent use. A Lab from Up owns its containers; Down removes them.
type Lab struct {
	id     string
	engine string // the Docker engine every call of the lab goes to
	topo   *topologies.Topology
	cli    *client.Client
	plan   plan
	creds  Credentials
	image  string
	log    *slog.Logger

	// ports maps a container name (etcd-1, lab-1, haproxy) to its published
	// host ports by container port.
	ports map[string]map[int]int
	// ids maps a container name to its Docker id.
	ids map[string]string

	http *http.Client
	wan  netemState

	mu sync.RWMutex // guards ports and ids

	// status keeps the connections sqlStatus asks nodes through.
	status statusConns

	timings Timings
	// heldGates are the nodes whose Patroni starts only once a leader
	// accepts writes (WAN.bootstrapGates); waitReady opens them.
	heldGates []string
	downOnce  sync.Once
	downErr   error
	// releaseEngine ends the lab's hold on its engine (WithExclusiveEngine);
	// a no-op without one.
	releaseEngine func()
}

// Timings are the provisioning phases, each measured on one monotonic clock
// from the start of Up (resolution: Go's monotonic clock, nanoseconds; the
// readiness phases are polled every 50ms, so they carry up to 50ms).
type Timings struct {
	Image      time.Duration `json:"image"`       // image present (built if missing)
	Network    time.Duration `json:"network"`     // lab network created
	Containers time.Duration `json:"containers"`  // every container started
	WAN        time.Duration `json:"wan"`         // WAN applied, Patroni released
	Etcd       time.Duration `json:"etcd"`        // etcd answers with a quorum (pg_auto_failover: the monitor answers; repmgr: a node does)
	Leader     time.Duration `json:"leader"`      // a leader accepts writes
	Streaming  time.Duration `json:"streaming"`   // every replica streams
	Endpoints  time.Duration `json:"endpoints"`   // HAProxy rw and ro answer
	Total      time.Duration `json:"total"`       // Up returned
	PollPeriod time.Duration `json:"poll_period"` // resolution of the readiness phases
}

type options struct {
	log          *slog.Logger
	readyTimeout time.Duration
	keep         bool
	image        string
	engine       string
	exclusive    bool
	// beforeStart, when set, runs before each container is created; an
	// error from it fails that container's start. Tests use it to fail Up
	// part-way.
	beforeStart func(ctx context.Context, labID, member string) error
}

// Option configures Up.
type Option func(*options)

// WithLogger sends progress and diagnostics to l (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithReadyTimeout bounds how long Up waits for the cluster to become ready
// after the containers started (default 120s).
func WithReadyTimeout(d time.Duration) Option { return func(o *options) { o.readyTimeout = d } }

// WithKeep marks the lab as kept: it outlives this process, and `replab gc`
// leaves it alone unless asked for --all.
func WithKeep() Option { return func(o *options) { o.keep = true } }

// WithImage runs the lab on an image that already exists locally instead of
// the topology's or replab's own.
func WithImage(ref string) Option { return func(o *options) { o.image = ref } }

// WithEngine runs the lab on engine, a DOCKER_HOST-style URL (default:
// the first engine of REPLAB_DOCKER_HOSTS). Every Docker call of the lab,
// from Up to Down, goes there.
func WithEngine(engine string) Option { return func(o *options) { o.engine = engine } }

// WithExclusiveEngine makes the lab the only one on its engine among labs
// brought up with this option on this machine: Up waits until the engine
// is free and the lab holds it until Down. Labs that measure time (a
// failover's duration, a WAN's RTT) take it so that no other lab competes
// for the engine's CPU while they measure. The hold is a lock file per
// engine, so it spans processes (ginkgo -p) and ends with the process
// that held it.
func WithExclusiveEngine() Option { return func(o *options) { o.exclusive = true } }

const readyPoll = 50 * time.Millisecond

// cleanupTimeout bounds removing a lab, in Down and after a failed Up. It
// runs on a context detached from the caller's, so that Ctrl-C (which
// cancels the caller's) still removes everything.
const cleanupTimeout = 60 * time.Second

// Up provisions the topology and returns when it is ready: one member holds
// the leader lock, every replica streams from its upstream, the synchronous
// standbys the topology asks for are in place, and both endpoints answer.
// On any error, or when ctx is cancelled, everything Up created is removed
// before it returns.
func Up(ctx context.Context, t *topologies.Topology, opts ...Option) (lab *Lab, err error) {
	if t == nil {
		return nil, errors.New("provision lab: nil topology")
	}
	o := options{log: slog.New(slog.DiscardHandler), readyTimeout: 120 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	// The engine is taken before the clock starts: waiting for another
	// lab to leave it is not part of provisioning this one.
	eng, err := resolveEngine(ctx, &o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cli, err := ConnectEngine(ctx, eng.engine)
	if err != nil {
		eng.release()
		return nil, err
	}
	l := &Lab{
		id:            newLabID(),
		engine:        eng.engine,
		topo:          t,
		cli:           cli,
		log:           o.log,
		ports:         map[string]map[int]int{},
		ids:           map[string]string{},
		http:          newHTTPClient(),
		releaseEngine: eng.release,
	}
	l.log = l.log.With("lab", l.id, "engine", eng.engine)
	l.timings.PollPeriod = readyPoll
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			l.log.Info("removing what provisioning created", "error", err)
			if rerr := removeLab(cctx, cli, l.id); rerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after failed provisioning: %w", rerr))
			}
			removeState(l.id)
			_ = cli.Close()
			eng.release()
			lab = nil
		}
	}()

	img, err := ensureNodeImage(ctx, ensureImageRequest{cli: cli, engine: eng.engine, peers: eng.peers, override: o.image, topo: t, log: l.log})
	if err != nil {
		return nil, err
	}
	l.image = img.Ref
	l.timings.Image = time.Since(start)

	if t.Engine.Kind == topologies.EngineMariaDB {
		l.creds, err = mariadbCredentials()
	} else {
		l.creds, err = newCredentials()
	}
	if err != nil {
		return nil, err
	}
	owner := strconv.Itoa(os.Getpid())
	if o.keep {
		owner = ownerKept
	}
	labels := map[string]string{
		LabelLab:      l.id,
		LabelTopology: t.Name,
		LabelOwnerPID: owner,
		LabelCreated:  time.Now().UTC().Format(time.RFC3339),
	}
	l.log.Info("creating lab network")
	netName, subnet, err := createNetwork(ctx, cli, l.id, labels, l.log)
	if err != nil {
		return nil, err
	}
	l.timings.Network = time.Since(start)
	if l.plan, err = newPlan(l.id, t, subnet); err != nil {
		return nil, err
	}
	l.plan.PGTemplate = img.PGTemplate
	if err := saveState(l.state()); err != nil {
		return nil, err
	}

	l.log.Info("starting containers", "etcd", len(l.plan.Etcd), "nodes", len(l.plan.Nodes), "image", l.image)
	proxy, err := l.startAll(ctx, netName, labels, o.beforeStart)
	if err != nil {
		return nil, err
	}
	// Runs before the cleanup above (defers run last in, first out): a
	// container still being created would escape it.
	defer func() {
		if err != nil {
			_ = proxy.wait()
		}
	}()
	if l.WAN().hasLinks() {
		// The WAN shapes HAProxy too, before any node's Patroni starts.
		if err := proxy.wait(); err != nil {
			return nil, err
		}
		l.timings.Containers = proxy.at.Sub(start)
	}
	if err := l.WAN().apply(ctx); err != nil {
		return nil, err
	}
	if l.WAN().hasLinks() && l.isPatroni() {
		ectx, ecancel := context.WithTimeout(ctx, o.readyTimeout)
		err := l.waitEtcdDecided(ectx)
		ecancel()
		if err != nil {
			return nil, l.explain(ctx, err)
		}
		var now []string
		now, l.heldGates = l.WAN().bootstrapGates()
		if err := l.WAN().openGates(ctx, now); err != nil {
			return nil, err
		}
	}
	l.timings.WAN = time.Since(start)
	if err := saveState(l.state()); err != nil {
		return nil, err
	}

	rctx, cancel := context.WithTimeout(ctx, o.readyTimeout)
	defer cancel()
	if err := l.waitReady(rctx, start, proxy); err != nil {
		return nil, l.explain(ctx, err)
	}
	if err := l.WAN().verify(ctx); err != nil {
		return nil, err
	}
	l.timings.Total = time.Since(start)
	l.log.Info("lab ready", "total", l.timings.Total.Round(time.Millisecond), "leader", l.timings.Leader.Round(time.Millisecond), "streaming", l.timings.Streaming.Round(time.Millisecond))
	return l, nil
}

func newLabID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate credentials: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func newCredentials() (Credentials, error) {
	c := Credentials{Superuser: "postgres", Replicator: "replicator", Rewinder: "rewinder"}
	for _, p := range []*string{&c.SuperPass, &c.ReplPass, &c.RewindPass} {
		s, err := randomSecret()
		if err != nil {
			return Credentials{}, err
		}
		*p = s
	}
	return c, nil
}

// createNetwork makes the lab's bridge network on the first free /24 in
// 172.29.0.0/16-172.31.0.0/16. A fixed subnet lets every container keep its
// address across kill and restart, which HAProxy, Patroni and netem plans
// rely on.
//
// Free means unknown to the engine and to this machine's kernel (see
// hostPrefixes): engines sharing a kernel do not know each other's
// networks. Picking and creating run under a lock file held by every
// replab process on this machine, so that two labs starting on two
// engines at once cannot both pick a /24 before either's bridge exists.
func createNetwork(ctx context.Context, cli *client.Client, labID string, labels map[string]string, log *slog.Logger) (string, netip.Prefix, error) {
	unlock, err := flock(ctx, filepath.Join(os.TempDir(), "replab-subnet.lock"), func() {
		log.Info("waiting for another replab process to create its network")
	})
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("create network replab-%s: %w", labID, err)
	}
	defer unlock()
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("list networks: %w", err)
	}
	used := hostPrefixes()
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				used = append(used, p)
			}
		}
	}
	name := "replab-" + labID
	var lastErr error
	for second := 29; second <= 31; second++ {
		for third := 0; third < 256; third++ {
			cand := netip.MustParsePrefix(fmt.Sprintf("172.%d.%d.0/24", second, third))
			if overlaps(cand, used) {
				continue
			}
			gw := cand.Addr().Next()
			_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
				Driver: "bridge",
				Labels: labels,
				IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: cand.String(), Gateway: gw.String()}}},
			})
			if err == nil {
				return name, cand, nil
			}
			lastErr = err
			used = append(used, cand) // taken by a concurrent lab; try the next
			if ctx.Err() != nil {
				return "", netip.Prefix{}, fmt.Errorf("create network %s: %w", name, ctx.Err())
			}
		}
	}
	return "", netip.Prefix{}, fmt.Errorf("create network %s: no free /24 in 172.29-31.x.0: %w", name, lastErr)
}

func overlaps(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}

// containerSpec is what startAll needs to run one container.
type containerSpec struct {
	m        member
	role     string
	cmd      []string
	user     string
	env      []string // added to the image's environment
	ports    []int
	files    []testcontainers.ContainerFile
	tmpfs    map[string]string
	netAdmin bool
	// volume, when set, is where the member's named volume (replab-<lab
	// id>-<name>-data) is mounted: its data outlives a kill and restart
	// and bypasses the storage driver.
	volume string
}

func (l *Lab) specs() ([]containerSpec, error) {
	var out []containerSpec
	for i, e := range l.plan.Etcd {
		out = append(out, containerSpec{
			m: e, role: "etcd", cmd: l.plan.etcdCommand(i), ports: []int{portEtcd},
			volume: etcdHome, netAdmin: true,
		})
	}
	for i, e := range l.plan.StandbyEtcd {
		out = append(out, containerSpec{
			m: e, role: "etcd", cmd: l.plan.standbyEtcdCommand(i), ports: []int{portEtcd},
			volume: etcdHome, netAdmin: true,
		})
	}
	for i, n := range l.plan.Nodes {
		if l.isMariaDB() {
			out = append(out, l.mariadbNodeSpec(n, i+1))
			continue
		}
		if !l.isPatroni() {
			out = append(out, l.managedNodeSpec(n, i+1))
			continue
		}
		cfg, err := patroniConfig(l.topo, l.plan, n, l.creds)
		if err != nil {
			return nil, err
		}
		cmd := nodeCommand()
		var tmpfs map[string]string
		if l.WAN().hasLinks() {
			cmd = gated(cmd)
			tmpfs = map[string]string{gateDir: "rw,mode=1777,size=1m"}
		}
		out = append(out, containerSpec{
			m: n, role: "node", cmd: cmd, user: "postgres", tmpfs: tmpfs,
			ports:    []int{portPostgres, portPatroni},
			files:    []testcontainers.ContainerFile{{Reader: bytes.NewReader(cfg), ContainerFilePath: patroniConfigPath, FileMode: 0o644}},
			netAdmin: true, volume: pgHome,
		})
	}
	for _, c := range l.plan.Coordinator {
		out = append(out, l.coordinatorSpec(c))
	}
	// HAProxy needs NET_ADMIN only when there is a WAN to shape: its
	// health checks to replicas abroad cross it too.
	for _, p := range l.plan.Proxies {
		files := []testcontainers.ContainerFile{{Reader: bytes.NewReader(haproxyConfig(l.plan, p)), ContainerFilePath: haproxyConfigPath, FileMode: 0o644}}
		switch {
		case l.isMariaDB():
			files = append(files, l.mariadbProxyFiles()...)
		case !l.isPatroni():
			files = append(files,
				testcontainers.ContainerFile{Reader: bytes.NewReader(pgCheckScript()), ContainerFilePath: pgCheckPath, FileMode: 0o755},
				testcontainers.ContainerFile{Reader: bytes.NewReader(pgCheckPassFile(l.creds)), ContainerFilePath: pgCheckPass, FileMode: 0o600})
		}
		out = append(out, containerSpec{
			m: p, role: "proxy", cmd: []string{"haproxy", "-W", "-db", "-f", haproxyConfigPath},
			ports:    []int{portRW, portRO, portStats},
			files:    files,
			netAdmin: l.WAN().hasLinks(),
		})
	}
	return out, nil
}

// startAll starts the containers in two waves and returns once the first
// has started: etcd and the database nodes at once (they retry until their
// peers answer, so there is nothing to gain from ordering them), then
// HAProxy in the background. The engine starts containers largely one
// after another (about a second each on 2 vCPUs with fuse-overlayfs), and
// HAProxy is needed only for the last phase, its endpoints: started with
// the others it delays the nodes, and Patroni's bootstrap, by its own
// start (docs/provisioning.md). Callers wait for the second wave with
// its wait method before they need HAProxy.
func (l *Lab) startAll(ctx context.Context, netName string, labels map[string]string, beforeStart func(context.Context, string, string) error) (*wave, error) {
	specs, err := l.specs()
	if err != nil {
		return nil, err
	}
	var first, second []containerSpec
	for _, s := range specs {
		if s.role == "proxy" {
			second = append(second, s)
		} else {
			first = append(first, s)
		}
	}
	if err := l.startWave(ctx, netName, labels, beforeStart, first); err != nil {
		return nil, err
	}
	w := &wave{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = l.startWave(ctx, netName, labels, beforeStart, second)
		w.at = time.Now()
	}()
	return w, nil
}

// wave is a set of containers starting in the background.
type wave struct {
	done chan struct{}
	err  error
	at   time.Time // when it ended
}

// wait returns once every container of the wave has started, or one of
// them failed to.
func (w *wave) wait() error {
	<-w.done
	return w.err
}

// started reports, without waiting, whether the wave is over, and how.
func (w *wave) started() (bool, error) {
	select {
	case <-w.done:
		return true, w.err
	default:
		return false, nil
	}
}

// startWave starts specs at once and returns when all have started.
func (l *Lab) startWave(ctx context.Context, netName string, labels map[string]string, beforeStart func(context.Context, string, string) error, specs []containerSpec) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range specs {
		g.Go(func() error {
			if beforeStart != nil {
				if err := beforeStart(gctx, l.id, s.m.Name); err != nil {
					return fmt.Errorf("start %s %s: %w", s.role, s.m.Name, err)
				}
			}
			id, ports, err := l.run(gctx, netName, labels, s)
			if err != nil {
				return err
			}
			mu.Lock()
			l.ids[s.m.Name] = id
			l.ports[s.m.Name] = ports
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func (l *Lab) containerName(member string) string { return "replab-" + l.id + "-" + member }

func (l *Lab) run(ctx context.Context, netName string, labels map[string]string, s containerSpec) (string, map[int]int, error) {
	lbl := map[string]string{LabelRole: s.role, LabelRegion: s.m.Region, LabelNode: s.m.Name}
	for k, v := range labels {
		lbl[k] = v
	}
	var vol string
	if s.volume != "" {
		vol = l.containerName(s.m.Name) + "-data"
		if _, err := l.cli.VolumeCreate(ctx, volume.CreateOptions{Name: vol, Labels: lbl}); err != nil {
			return "", nil, fmt.Errorf("create data volume of %s: %w", s.m.Name, err)
		}
	}
	var exposed []string
	for _, p := range s.ports {
		exposed = append(exposed, fmt.Sprintf("127.0.0.1::%d/tcp", p))
	}
	ip := s.m.IP.String()
	req := testcontainers.ContainerRequest{
		Image:          l.image,
		Name:           l.containerName(s.m.Name),
		Cmd:            s.cmd,
		Labels:         lbl,
		ExposedPorts:   exposed,
		Files:          s.files,
		Networks:       []string{netName},
		NetworkAliases: map[string][]string{netName: {s.m.Name}},
		ConfigModifier: func(c *container.Config) {
			c.Hostname = s.m.Name
			c.User = s.user
			c.Env = append(append(c.Env, "LANG=C.UTF-8"), s.env...)
		},
		HostConfigModifier: func(h *container.HostConfig) {
			init := true
			h.Init = &init
			h.Privileged = false
			if s.netAdmin {
				h.CapAdd = append(h.CapAdd, "NET_ADMIN")
			}
			h.Tmpfs = s.tmpfs
			if vol != "" {
				h.Mounts = append(h.Mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: s.volume})
			}
			h.ShmSize = 64 << 20
		},
		EndpointSettingsModifier: func(es map[string]*network.EndpointSettings) {
			if e, ok := es[netName]; ok {
				e.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
			}
		},
	}
	dc, err := l.runContainer(ctx, req)
	if err != nil {
		return "", nil, fmt.Errorf("start %s %s: %w", s.role, s.m.Name, err)
	}
	insp, err := dc.Inspect(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("inspect %s: %w", s.m.Name, err)
	}
	ports := publishedPorts(*insp)
	for _, p := range s.ports {
		if ports[p] == 0 {
			return "", nil, fmt.Errorf("start %s: port %d not published on 127.0.0.1", s.m.Name, p)
		}
	}
	return dc.GetContainerID(), ports, nil
}

// runContainer creates and starts a container through testcontainers-go
// on the lab's engine. testcontainers resolves one Docker host per process
// (DOCKER_HOST and its own settings, read once), and labs of one process
// may run on different engines at once, so the container goes through a
// provider of the lab's own whose client talks to the lab's engine. The
// provider's own default client is closed unused; the default host it
// resolved would only serve Ryuk, which replab disables.
func (l *Lab) runContainer(ctx context.Context, req testcontainers.ContainerRequest) (*testcontainers.DockerContainer, error) {
	prov, err := l.provider()
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	c, err := prov.CreateContainer(ctx, req)
	if err != nil {
		return nil, err
	}
	dc, ok := c.(*testcontainers.DockerContainer)
	if !ok {
		return nil, fmt.Errorf("create container %s: testcontainers returned a %T", req.Name, c)
	}
	if err := dc.Start(ctx); err != nil {
		return nil, err
	}
	return dc, nil
}

// provider returns a testcontainers provider bound to the lab's engine.
// testcontainers panics when it finds no default Docker host at all;
// that is returned as an error naming the fix.
func (l *Lab) provider() (prov *testcontainers.DockerProvider, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start testcontainers provider for %s: it found no default Docker engine (%v): set DOCKER_HOST to any engine that answers", l.engine, r)
		}
	}()
	prov, err = testcontainers.NewDockerProvider(testcontainers.WithLogger(silentLogger{}), testcontainers.WithDefaultBridgeNetwork(testcontainers.Bridge))
	if err != nil {
		return nil, fmt.Errorf("start testcontainers provider: %w", err)
	}
	cli, err := newEngineClient(l.engine)
	if err != nil {
		_ = prov.Close()
		return nil, fmt.Errorf("start testcontainers provider for %s: %w", l.engine, err)
	}
	_ = prov.Close()
	prov.SetClient(cli)
	return prov, nil
}

// silentLogger keeps testcontainers' emoji progress out of replab's output;
// replab logs its own progress through slog.
type silentLogger struct{}

func (silentLogger) Printf(string, ...any) {}

// ID is the lab's short random id, also the value of its replab.lab label.
func (l *Lab) ID() string { return l.id }

// Topology is the topology the lab runs.
func (l *Lab) Topology() *topologies.Topology { return l.topo }

// Timings returns the provisioning phases.
func (l *Lab) Timings() Timings { return l.timings }

// Engine is the Docker engine the lab runs on (a DOCKER_HOST-style URL).
func (l *Lab) Engine() string { return l.engine }

// Image is the node image reference the lab runs on.
func (l *Lab) Image() string { return l.image }

// Close releases the Docker client without touching the lab (for handles
// from Attach that only looked).
func (l *Lab) Close() {
	l.status.closeAll()
	_ = l.cli.Close()
}

// Down removes every container, volume and network of the lab. It is idempotent and
// treats not-found as success; it runs even when ctx is already cancelled
// (bounded by cleanupTimeout), so it can sit in a deferred cleanup.
func (l *Lab) Down(ctx context.Context) error {
	l.downOnce.Do(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		start := time.Now()
		l.downErr = removeLab(cctx, l.cli, l.id)
		if l.downErr == nil {
			removeState(l.id)
		}
		l.log.Info("lab removed", "took", time.Since(start).Round(time.Millisecond))
		l.status.closeAll()
		_ = l.cli.Close()
		if l.releaseEngine != nil {
			l.releaseEngine()
		}
	})
	return l.downErr
}
