package harness_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/topologies"
)

// The provisioning benches bring labs up and down b.N times with a warm
// image. Every figure is seconds since the bring-up started, averaged over
// the iterations; each iteration is also logged (go test -v shows them).
// Run them with `make bench-provision`; REPLAB_BENCH_LOG=1 adds replab's
// own progress log on stderr.

// benchLogger is replab's progress log for the benches: on stderr when
// REPLAB_BENCH_LOG is set, else discarded.
func benchLogger() *slog.Logger {
	if os.Getenv("REPLAB_BENCH_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// benchSetup connects to Docker and makes sure the node image is there,
// outside the timed part.
func benchSetup(b *testing.B) (*client.Client, string) {
	b.Helper()
	ctx := context.Background()
	cli, err := harness.Connect(ctx)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { _ = cli.Close() })
	img, err := harness.EnsureImage(ctx, harness.ImageRequest{})
	if err != nil {
		b.Fatal(err)
	}
	return cli, img.Ref
}

// sums accumulates named figures over the iterations and reports their
// means in the order they were first added.
type sums struct {
	order []string
	sum   map[string]float64
	n     int
}

func (s *sums) add(unit string, d time.Duration) {
	if s.sum == nil {
		s.sum = map[string]float64{}
	}
	if _, ok := s.sum[unit]; !ok {
		s.order = append(s.order, unit)
	}
	s.sum[unit] += d.Seconds()
}

// addPhases adds what the nodes' logs said, each unit prefixed.
func (s *sums) addPhases(prefix string, ph patroniPhases) {
	s.add(prefix+"patroni_started_s", ph.patroniStarted)
	s.add(prefix+"initdb_s", ph.initdb)
	s.add(prefix+"initialized_s", ph.initialized)
	s.add(prefix+"clone_s", ph.clone)
	s.add(prefix+"replica_streaming_s", ph.replicaStream)
}

func (s *sums) mean(unit string) float64 { return s.sum[unit] / float64(s.n) }

func (s *sums) report(b *testing.B) {
	for _, u := range s.order {
		b.ReportMetric(s.mean(u), u)
	}
}

// upTimed brings topo up with replab, reads its phases and what the
// nodes' logs say, and takes it down again.
func upTimed(b *testing.B, cli *client.Client, topo *topologies.Topology) (harness.Timings, patroniPhases, time.Duration) {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	lab, err := harness.Up(ctx, topo, harness.WithLogger(benchLogger()))
	if err != nil {
		b.Fatal(err)
	}
	t := lab.Timings()
	ph, err := readPhases(ctx, cli, lab.ID(), t0)
	if err != nil {
		b.Error(err)
	}
	start := time.Now()
	if err := lab.Down(ctx); err != nil {
		b.Fatal(err)
	}
	return t, ph, time.Since(start)
}

// BenchmarkProvision alternates, in one run, a by-hand setup of the default
// topology (its Patroni config and commands as replab renders them, one
// etcd member, containers started with plain Docker API calls, nothing
// else) and harness.Up of the same topology, and reports for each the time
// until every replica streams, replab's phases, and the ratio of the two
// streaming times (replab over by-hand, of the means). Alternating keeps a
// machine whose speed wanders from favouring either.
func BenchmarkProvision(b *testing.B) {
	cli, img := benchSetup(b)
	topo := topologies.Default()
	var s sums
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hand, err := byHandRun(b, cli, img, topo)
		if err != nil {
			b.Fatal(err)
		}
		t, ph, down := upTimed(b, cli, topo)
		s.n++
		s.add("byhand_containers_s", hand.containers)
		s.add("byhand_leader_s", hand.leader)
		s.add("byhand_streaming_s", hand.streaming)
		s.add("network_s", t.Network)
		s.add("containers_s", t.Containers)
		s.add("etcd_s", t.Etcd)
		s.add("leader_s", t.Leader)
		s.add("streaming_s", t.Streaming)
		s.add("endpoints_s", t.Endpoints)
		s.add("down_s", down)
		s.addPhases("", ph)
		s.addPhases("byhand_", hand.phases)
		b.Logf("iteration %d: by-hand streaming %.2fs (containers %.2fs, leader %.2fs; %s); replab streaming %.2fs (network %.2fs, containers %.2fs, etcd %.2fs, leader %.2fs, endpoints %.2fs; %s); ratio %.2f",
			i+1, hand.streaming.Seconds(), hand.containers.Seconds(), hand.leader.Seconds(), hand.phases,
			t.Streaming.Seconds(), t.Network.Seconds(), t.Containers.Seconds(), t.Etcd.Seconds(), t.Leader.Seconds(), t.Endpoints.Seconds(), ph,
			t.Streaming.Seconds()/hand.streaming.Seconds())
	}
	b.StopTimer()
	s.report(b)
	b.ReportMetric(s.mean("streaming_s")/s.mean("byhand_streaming_s"), "ratio")
}

// BenchmarkProvisionThreeRegion alternates harness.Up of three-region and
// of the default topology and reports three-region's phases (WAN applied,
// etcd quorum, leader, streaming, RTTs verified: Up returned), the default
// lab's time until Up returned, and the ratio of the two (three-region over
// default, of the means).
func BenchmarkProvisionThreeRegion(b *testing.B) {
	cli, _ := benchSetup(b)
	three, err := topologies.Builtin("three-region")
	if err != nil {
		b.Fatal(err)
	}
	def := topologies.Default()
	var s sums
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, ph, _ := upTimed(b, cli, three)
		d, _, _ := upTimed(b, cli, def)
		s.n++
		s.add("containers_s", t.Containers)
		s.add("wan_s", t.WAN)
		s.add("etcd_s", t.Etcd)
		s.add("leader_s", t.Leader)
		s.add("streaming_s", t.Streaming)
		s.add("rtt_verified_s", t.Total)
		s.addPhases("", ph)
		s.add("default_streaming_s", d.Streaming)
		s.add("default_ready_s", d.Total)
		b.Logf("iteration %d: three-region containers %.2fs, WAN %.2fs, etcd %.2fs, leader %.2fs, streaming %.2fs, RTT verified %.2fs (%s); default streaming %.2fs, ready %.2fs; ratio %.2f",
			i+1, t.Containers.Seconds(), t.WAN.Seconds(), t.Etcd.Seconds(), t.Leader.Seconds(), t.Streaming.Seconds(), t.Total.Seconds(), ph,
			d.Streaming.Seconds(), d.Total.Seconds(), t.Total.Seconds()/d.Total.Seconds())
	}
	b.StopTimer()
	s.report(b)
	b.ReportMetric(s.mean("rtt_verified_s")/s.mean("default_ready_s"), "ratio")
}

// byHand is one by-hand bring-up's phases, from before its network was
// created.
type byHand struct {
	phases     patroniPhases
	containers time.Duration // every container started
	leader     time.Duration // a node accepts writes
	streaming  time.Duration // every replica streams, the synchronous standbys in place (leader's pg_stat_replication), as Up's Streaming
}

// byHandPoll is the by-hand readiness poll period, replab's own.
const byHandPoll = 50 * time.Millisecond

// byHandRun sets topo up with one etcd member and plain Docker API calls,
// waits until every replica streams, and removes everything.
func byHandRun(b *testing.B, cli *client.Client, img string, topo *topologies.Topology) (res byHand, err error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t := *topo
	t.DCS.Members = 1
	id := "byhand-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	labels := map[string]string{harness.LabelLab: id, harness.LabelOwnerPID: strconv.Itoa(os.Getpid())}
	var created []string
	var vols []string
	var netID string
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		err = errors.Join(err, byHandRemove(cctx, cli, created, vols, netID))
	}()

	start := time.Now()
	netID, subnet, err := byHandNetwork(ctx, cli, id, labels)
	if err != nil {
		return res, err
	}
	setup, err := harness.ByHand(id, &t, subnet)
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	run := func(m harness.ByHandMember, etcd bool) error {
		cfg := &container.Config{Image: img, Hostname: m.Name, Cmd: m.Cmd, Labels: labels, Env: []string{"LANG=C.UTF-8"}}
		init := true
		hc := &container.HostConfig{Init: &init, ShmSize: 64 << 20}
		if etcd {
			hc.Tmpfs = map[string]string{setup.EtcdDataDir: "rw,size=256m"}
		} else {
			cfg.User = "postgres"
			vol := id + "-" + m.Name
			if _, err := cli.VolumeCreate(gctx, volume.CreateOptions{Name: vol, Labels: labels}); err != nil {
				return fmt.Errorf("create volume %s: %w", vol, err)
			}
			mu.Lock()
			vols = append(vols, vol)
			mu.Unlock()
			hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: setup.DataHome}}
		}
		nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			id: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: m.IP.String()}, Aliases: []string{m.Name}},
		}}
		c, err := cli.ContainerCreate(gctx, cfg, hc, nc, nil, id+"-"+m.Name)
		if err != nil {
			return fmt.Errorf("create container %s: %w", m.Name, err)
		}
		mu.Lock()
		created = append(created, c.ID)
		mu.Unlock()
		if m.Config != nil {
			if err := cli.CopyToContainer(gctx, c.ID, "/", tarOf(setup.ConfigPath, m.Config), container.CopyToContainerOptions{}); err != nil {
				return fmt.Errorf("copy config into %s: %w", m.Name, err)
			}
		}
		if err := cli.ContainerStart(gctx, c.ID, container.StartOptions{}); err != nil {
			return fmt.Errorf("start container %s: %w", m.Name, err)
		}
		return nil
	}
	for _, m := range setup.Etcd {
		g.Go(func() error { return run(m, true) })
	}
	for _, m := range setup.Nodes {
		g.Go(func() error { return run(m, false) })
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.containers = time.Since(start)

	// Poll the nodes straight on their lab addresses (the host routes to
	// the bridge): what a person would do, and cheaper than published ports.
	want, wantSync := len(setup.Nodes)-1, t.Replication.SyncStandbys
	for {
		for _, n := range setup.Nodes {
			streaming, syncs, ok := byHandLeader(ctx, setup, n.IP)
			if !ok {
				continue
			}
			if res.leader == 0 {
				res.leader = time.Since(start)
			}
			if streaming >= want && syncs >= wantSync {
				res.streaming = time.Since(start)
				res.phases, err = readPhases(ctx, cli, id, start)
				return res, err
			}
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("by-hand lab %s: replicas not streaming: %w", id, ctx.Err())
		case <-time.After(byHandPoll):
		}
	}
}

// byHandLeader reports, when the node at ip is a writable leader, how many
// replicas stream from it and how many of those are synchronous.
func byHandLeader(ctx context.Context, s harness.ByHandSetup, ip netip.Addr) (streaming, syncs int, ok bool) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	dsn := fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable&connect_timeout=2", s.Creds.Superuser, s.Creds.SuperPass, netip.AddrPortFrom(ip, uint16(s.PostgresPort)))
	c, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return 0, 0, false
	}
	defer c.Close(context.WithoutCancel(ctx))
	var writable bool
	if err := c.QueryRow(cctx, `SELECT NOT pg_is_in_recovery()`).Scan(&writable); err != nil || !writable {
		return 0, 0, false
	}
	if err := c.QueryRow(cctx, `SELECT count(*) FILTER (WHERE state = 'streaming'), count(*) FILTER (WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')) FROM pg_stat_replication`).Scan(&streaming, &syncs); err != nil {
		return 0, 0, false
	}
	return streaming, syncs, true
}

// byHandNetwork creates a bridge network on the first /24 of 172.28.0.0/16
// the engine accepts (replab's labs use 172.29-31).
func byHandNetwork(ctx context.Context, cli *client.Client, name string, labels map[string]string) (string, netip.Prefix, error) {
	var lastErr error
	for third := 0; third < 256; third++ {
		p := netip.MustParsePrefix(fmt.Sprintf("172.28.%d.0/24", third))
		_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge", Labels: labels,
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: p.String(), Gateway: p.Addr().Next().String()}}},
		})
		if err == nil {
			return name, p, nil
		}
		lastErr = err
	}
	return "", netip.Prefix{}, fmt.Errorf("create network %s: %w", name, lastErr)
}

// byHandRemove removes the by-hand lab's containers, volumes and network.
func byHandRemove(ctx context.Context, cli *client.Client, ids, vols []string, netID string) error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, v := range vols {
		if err := cli.VolumeRemove(ctx, v, true); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v, err))
		}
	}
	if netID != "" {
		if err := cli.NetworkRemove(ctx, netID); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", netID, err))
		}
	}
	return errors.Join(errs...)
}

// tarOf is a tar stream holding one file, mode 0644, at path p.
func tarOf(p string, data []byte) *bytes.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p[1:], Mode: 0o644, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	return bytes.NewReader(buf.Bytes())
}

// patroniPhases is what the nodes' own logs say of a bring-up, in seconds
// since it started: when the last Patroni started, how long the new
// cluster's initialisation took (initdb, or the custom bootstrap), when the
// leader initialised the cluster, how long the replicas' clones took (mean)
// and when the last replica started streaming.
type patroniPhases struct {
	patroniStarted time.Duration // last node's first log line
	initdb         time.Duration // "trying to bootstrap a new cluster" -> "postmaster pid" on the leader
	initialized    time.Duration // "initialized a new cluster"
	clone          time.Duration // mean "trying to bootstrap from leader" -> "replica has been created"
	replicaStream  time.Duration // last "started streaming WAL"
}

func (p patroniPhases) String() string {
	return fmt.Sprintf("logs: Patroni started %.2fs, initdb took %.2fs, initialised %.2fs, clones took %.2fs, last replica streaming %.2fs",
		p.patroniStarted.Seconds(), p.initdb.Seconds(), p.initialized.Seconds(), p.clone.Seconds(), p.replicaStream.Seconds())
}

// readPhases reads the phases from the logs of the containers with the
// given label (replab.lab=ID), stamped by Docker.
func readPhases(ctx context.Context, cli *client.Client, labID string, t0 time.Time) (patroniPhases, error) {
	var ph patroniPhases
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", harness.LabelLab+"="+labID))})
	if err != nil {
		return ph, fmt.Errorf("list containers of %s: %w", labID, err)
	}
	var clones []time.Duration
	for _, c := range ctrs {
		if strings.Contains(c.Command, "etcd") || strings.Contains(c.Command, "haproxy") {
			continue
		}
		rc, err := cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true})
		if err != nil {
			return ph, fmt.Errorf("read logs of %s: %w", c.ID, err)
		}
		var buf bytes.Buffer
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
		rc.Close()
		if err != nil {
			return ph, fmt.Errorf("read logs of %s: %w", c.ID, err)
		}
		var first, bootstrap, cloneStart time.Time
		for line := range strings.Lines(buf.String()) {
			stamp, text, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, stamp)
			if err != nil {
				continue
			}
			since := at.Sub(t0)
			switch {
			case first.IsZero():
				first = at
				ph.patroniStarted = max(ph.patroniStarted, since)
			}
			switch {
			case strings.Contains(text, "trying to bootstrap a new cluster"):
				bootstrap = at
			case strings.Contains(text, "postmaster pid=") && !bootstrap.IsZero() && ph.initdb == 0:
				ph.initdb = at.Sub(bootstrap)
			case strings.Contains(text, "initialized a new cluster"):
				ph.initialized = since
			case strings.Contains(text, "trying to bootstrap from leader"):
				cloneStart = at
			case strings.Contains(text, "replica has been created using") && !cloneStart.IsZero():
				clones = append(clones, at.Sub(cloneStart))
			case strings.Contains(text, "started streaming WAL"):
				ph.replicaStream = max(ph.replicaStream, since)
			}
		}
	}
	for _, d := range clones {
		ph.clone += d / time.Duration(len(clones))
	}
	return ph, nil
}
