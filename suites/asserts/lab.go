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
	"github.com/replab/replab/workload"
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
// and starts the writer, per-member probes, a read-your-writes session, the
// monitor, the lag sampler and the heartbeat on a new recorder
// (workload.Start).
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
	backend, _ := lab.NetemBackend()
	r.Rec = results.NewRecorder(results.RunMeta{
		ID: r.ID, Topology: t.Name, Backend: backend, Started: time.Now(),
		Mode: string(t.Replication.Mode), Labels: map[string]string{"suite": CurrentSpecReport().LeafNodeText, "lab": lab.ID()},
	})
	cluster := experiment.ClusterOf(lab)
	r.Inj = chaos.NewInjector(cluster, r.Rec)
	// No fault outlives its spec: heal what is still active, then read
	// every host back (running, thawed, no CPU quota, no chaos rules, the
	// baseline WAN plan in force) before the lab goes.
	DeferCleanup(func(ctx SpecContext) {
		Expect(r.Inj.HealAll(ctx)).To(Succeed())
		Expect(chaos.VerifyBaseline(ctx, cluster)).To(Succeed(), "a fault outlived its spec")
	}, NodeTimeout(time.Minute))

	Expect(workload.Prepare(ctx, lab)).To(Succeed())
	r.stop = []func(){workload.Start(ctx, lab, r.Rec, workload.Steady)}
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
	Eventually(ctx, func() int { return r.Rec.AckedWrites(0) }).
		WithPolling(100 * time.Millisecond).Should(BeNumerically(">=", n))
}

// SyncStandbys returns the replicas the leader's pg_stat_replication calls
// synchronous right now.
func (r *Run) SyncStandbys(ctx context.Context) []string {
	GinkgoHelper()
	ms, err := r.Lab.Members(ctx)
	Expect(err).NotTo(HaveOccurred())
	return harness.SyncStandbys(ms)
}

// MostAdvancedFollowers returns the replicas that have received the most WAL
// right now. Called just after the leader died, these positions are final:
// they are what Patroni compares.
func (r *Run) MostAdvancedFollowers(ctx context.Context) []string {
	GinkgoHelper()
	ms, err := r.Lab.Members(ctx)
	Expect(err).NotTo(HaveOccurred())
	out := harness.MostAdvanced(ms)
	Expect(out).NotTo(BeEmpty(), "no replica reported a received LSN: %+v", ms)
	return out
}

// NewLeaderElected waits for a running leader other than old and returns it.
func (r *Run) NewLeaderElected(ctx context.Context, old string) string {
	GinkgoHelper()
	name, err := experiment.WaitNewLeader(ctx, r.Lab, old, FailoverTimeout)
	Expect(err).NotTo(HaveOccurred())
	return name
}

// WritesResume waits for an acknowledged write invoked after the given
// moment (on the run's clock).
func (r *Run) WritesResume(ctx context.Context, after time.Duration) {
	GinkgoHelper()
	Expect(experiment.WaitWriteAfter(ctx, r.Rec, after, FailoverTimeout)).To(Succeed(), "no write was acknowledged after the fault")
}

// Streaming waits until the named member is a replica streaming from its
// upstream.
func (r *Run) Streaming(ctx context.Context, name string, timeout time.Duration) {
	GinkgoHelper()
	Expect(experiment.WaitStreaming(ctx, r.Lab, name, timeout)).To(Succeed())
	r.Rec.Event(results.Event{Kind: results.EventStreaming, Node: name, Resolution: experiment.PollPeriod})
}

// Finish stops the workload, reads every write back from the leader,
// evaluates the SLA and writes the run directory; it returns the history.
func (r *Run) Finish(ctx context.Context) results.History {
	GinkgoHelper()
	r.StopWorkload()
	_, err := workload.ReadBack(ctx, r.Lab, r.Rec)
	Expect(err).NotTo(HaveOccurred())
	h := r.Rec.History()
	v := results.Evaluate(h, experiment.Targets(r.Topology))
	Expect(results.WriteRun(r.Dir, h, v)).To(Succeed())
	AddReportEntry("results", r.Dir)
	AddReportEntry("verdict", v.Table())
	return h
}
