package asserts

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/experiment"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// Timeouts used by the helpers. Patroni's TTL bounds a failover; the rest
// is slack for a busy two-core CI machine.
const (
	ProvisionTimeout = 3 * time.Minute
	FailoverTimeout  = 90 * time.Second
	RejoinTimeout    = 90 * time.Second
)

// Run is one spec's lab, recorder and injector, with the workloads running.
type Run struct {
	Lab      *harness.Lab
	Rec      *results.Recorder
	Inj      *chaos.Injector
	Dir      string // results/<run-id>/
	ID       string
	stop     []func()
	Topology *topologies.Topology
}

// Logger writes slog records to GinkgoWriter, so they show only for
// failing specs (or with -v).
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ResultsRoot is where runs are written: $REPLAB_RESULTS, else results/ at
// the module root.
func ResultsRoot() string {
	if d := os.Getenv("REPLAB_RESULTS"); d != "" {
		return d
	}
	return filepath.Join("..", "results")
}

// Provision brings up a built-in topology, registers its teardown (and the
// healing of every fault) with DeferCleanup, prepares the workload tables
// and starts the writer, the monitor and the lag sampler on a new recorder.
func Provision(ctx context.Context, name string) *Run {
	GinkgoHelper()
	t, err := topologies.Builtin(name)
	Expect(err).NotTo(HaveOccurred(), "load built-in topology %s", name)
	lab, err := harness.Up(ctx, t, harness.WithLogger(Logger()))
	Expect(err).NotTo(HaveOccurred(), "provision %s", name)
	DeferCleanup(func(ctx SpecContext) {
		Expect(lab.Down(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	GinkgoWriter.Printf("lab %s ready: %+v\n", lab.ID(), lab.Timings())

	r := &Run{Lab: lab, Topology: t, ID: experiment.NewRunID()}
	r.Dir = filepath.Join(ResultsRoot(), r.ID)
	r.Rec = results.NewRecorder(results.RunMeta{
		ID: r.ID, Topology: t.Name, Backend: "none", Started: time.Now(),
		Mode: string(t.Replication.Mode), Labels: map[string]string{"suite": CurrentSpecReport().LeafNodeText, "lab": lab.ID()},
	})
	r.Inj = chaos.NewInjector(lab, r.Rec)
	DeferCleanup(func(ctx SpecContext) {
		Expect(r.Inj.HealAll(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))

	Expect(lab.PrepareWorkload(ctx)).To(Succeed())
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	mon := lab.StartMonitor(wctx, r.Rec)
	lag := lab.StartLagSampler(wctx, r.Rec)
	w := lab.StartWriter(wctx, r.Rec, harness.WriterConfig{Rate: 100})
	r.stop = []func(){w.Stop, lag.Stop, mon.Stop, cancel}
	DeferCleanup(r.StopWorkload)
	return r
}

// StopWorkload stops the writer, sampler and monitor; safe to call twice.
func (r *Run) StopWorkload() {
	for _, f := range r.stop {
		f()
	}
	r.stop = nil
}

// WritesAcknowledged waits until at least n writes were acknowledged since
// the run started.
func (r *Run) WritesAcknowledged(ctx context.Context, n int) {
	GinkgoHelper()
	Eventually(ctx, func() int {
		c := 0
		for _, op := range r.Rec.History().Ops {
			if op.Kind == results.OpWrite && op.Outcome == results.OK {
				c++
			}
		}
		return c
	}).WithPolling(100 * time.Millisecond).Should(BeNumerically(">=", n))
}

// SyncStandbys returns the replicas the leader's pg_stat_replication calls
// synchronous right now.
func (r *Run) SyncStandbys(ctx context.Context) []string {
	GinkgoHelper()
	ms, err := r.Lab.Members(ctx)
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, m := range ms {
		if m.Role == harness.RoleReplica && (m.SyncState == "sync" || m.SyncState == "quorum") {
			out = append(out, m.Name)
		}
	}
	return out
}

// MostAdvancedFollowers returns the replicas that have received the most WAL
// right now. Called just after the leader died, these positions are final:
// they are what Patroni compares.
func (r *Run) MostAdvancedFollowers(ctx context.Context) []string {
	GinkgoHelper()
	ms, err := r.Lab.Members(ctx)
	Expect(err).NotTo(HaveOccurred())
	var best uint64
	var out []string
	for _, m := range ms {
		if m.Role != harness.RoleReplica {
			continue
		}
		switch v := harness.ParseLSN(m.ReceivedLSN); {
		case v > best:
			best, out = v, []string{m.Name}
		case v == best:
			out = append(out, m.Name)
		}
	}
	Expect(out).NotTo(BeEmpty(), "no replica reported a received LSN: %+v", ms)
	return out
}

// NewLeaderElected waits for a leader other than old and returns it.
func (r *Run) NewLeaderElected(ctx context.Context, old string) string {
	GinkgoHelper()
	var name string
	Eventually(ctx, func(g Gomega) {
		m, err := r.Lab.Leader(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m.Name).NotTo(Equal(old))
		g.Expect(m.State).To(Equal("running"))
		name = m.Name
	}).WithTimeout(FailoverTimeout).WithPolling(100 * time.Millisecond).Should(Succeed())
	return name
}

// WritesResume waits for an acknowledged write invoked after the given
// moment (on the run's clock).
func (r *Run) WritesResume(ctx context.Context, after time.Duration) {
	GinkgoHelper()
	Eventually(ctx, func() bool {
		for _, op := range r.Rec.History().Ops {
			if op.Kind == results.OpWrite && op.Outcome == results.OK && op.Invoke >= after {
				return true
			}
		}
		return false
	}).WithTimeout(FailoverTimeout).WithPolling(100*time.Millisecond).Should(BeTrue(), "no write was acknowledged after the fault")
}

// Streaming waits until the named member is a replica streaming from
// upstream (the leader when upstream is empty).
func (r *Run) Streaming(ctx context.Context, name string, timeout time.Duration) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		ms, err := r.Lab.Members(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		for _, m := range ms {
			if m.Name == name {
				g.Expect(m.Role).To(Equal(harness.RoleReplica), "%s role", name)
				g.Expect(m.State).To(Equal("streaming"), "%s state", name)
				return
			}
		}
		g.Expect(name).To(BeEmpty(), "member %s not in the lab", name)
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// Finish stops the workload, reads every write back from the leader,
// evaluates the SLA and writes the run directory; it returns the history.
func (r *Run) Finish(ctx context.Context) results.History {
	GinkgoHelper()
	r.StopWorkload()
	_, err := r.Lab.ReadBack(ctx, r.Rec)
	Expect(err).NotTo(HaveOccurred())
	h := r.Rec.History()
	v := results.Evaluate(h, experiment.Targets(r.Topology))
	Expect(results.WriteRun(r.Dir, h, v)).To(Succeed())
	AddReportEntry("results", r.Dir)
	AddReportEntry("verdict", v.Table())
	return h
}
