package experiment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// The read-your-writes session pinned to the synchronous standby: its
// process name and first key (far from every other key range).
const (
	SyncSessionProcess  = "session-sync"
	SyncSessionFirstKey = 2_100_000_000
)

// NewRunID returns a sortable, unique run id: UTC time plus 4 random hex
// digits.
func NewRunID() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// run is one experiment on a lab: its recorder on the run's clock, an
// injector that can apply every fault, and the workload (writer through
// the read-write endpoint, direct probes of every member, a
// read-your-writes session, monitor, lag sampler, heartbeat: see
// StartWorkload).
type run struct {
	id   string
	lab  *harness.Lab
	rec  *results.Recorder
	inj  *chaos.Injector
	stop func() // stops the workload; idempotent
}

// startRun prepares the workload tables and starts the workload. The
// caller defers r.stop and r.heal.
func startRun(ctx context.Context, lab *harness.Lab, experiment string, rate float64) (*run, error) {
	if err := lab.PrepareWorkload(ctx); err != nil {
		return nil, err
	}
	topo := lab.Topology()
	backend, _ := lab.NetemBackend()
	r := &run{id: NewRunID(), lab: lab}
	r.rec = results.NewRecorder(results.RunMeta{
		ID: r.id, Topology: topo.Name, Backend: backend, Started: time.Now(),
		Mode:   string(topo.Replication.Mode),
		Labels: map[string]string{"experiment": experiment, "lab": lab.ID()},
	})
	r.inj = chaos.NewInjector(ClusterOf(lab), r.rec)
	r.stop = StartWorkload(ctx, lab, r.rec, rate)
	return r, nil
}

// heal heals every fault still active, then reads every host back: no
// fault may outlive its experiment (chaos.VerifyBaseline).
func (r *run) heal(ctx context.Context) error {
	if err := r.inj.HealAll(ctx); err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := chaos.VerifyBaseline(vctx, ClusterOf(r.lab)); err != nil {
		return fmt.Errorf("after the experiment: %w", err)
	}
	return nil
}

// StartWorkload starts, on rec, everything a run measures with: the
// monitor (leader changes), the lag sampler (pg_stat_replication), the
// heartbeat (visibility lag), a writer through the read-write endpoint at
// rate writes per second (0: 100), direct probes of every member (without
// them split-brain cannot be judged) and a read-your-writes session (stale
// reads). With the userspace netem backend, stop also records how
// faithfully each link was held meanwhile (results.LinkFidelity). The
// tables must exist (Lab.PrepareWorkload). The workload
// outlives ctx's cancellation; the returned stop ends it, is idempotent
// and waits for the last operations.
func StartWorkload(ctx context.Context, lab *harness.Lab, rec *results.Recorder, rate float64) (stop func()) {
	// The userspace agents' counters before and after the workload: how
	// faithfully each link was held while it ran.
	before := lab.NetemCounters(ctx)
	runID := rec.History().Meta.ID // the history is still empty: cheap
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ws := []*harness.Workload{
		lab.StartMonitor(wctx, rec),
		lab.StartLagSampler(wctx, rec),
		lab.StartHeartbeat(wctx, rec),
		lab.StartWriter(wctx, rec, harness.WriterConfig{Rate: rate, Run: runID}),
	}
	probes := StartProbes(wctx, lab, rec, ProbeRequest{Period: ProbePeriod, Run: runID})
	ws = append(ws, lab.StartSession(wctx, rec, harness.SessionConfig{Run: runID}))
	if topo := lab.Topology(); topo.Replication.Mode != topologies.Async {
		// Reads pinned to the synchronous standby: what sync
		// (remote_apply) promises and semi-sync (remote_write) does not.
		ws = append(ws, lab.StartSession(wctx, rec, harness.SessionConfig{Run: runID, PinSync: true,
			Process: SyncSessionProcess, FirstKey: SyncSessionFirstKey}))
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			probes.Stop()
			for _, w := range slices.Backward(ws) {
				w.Stop()
			}
			if len(before) > 0 {
				rctx, rcancel := context.WithTimeout(wctx, 30*time.Second)
				rec.RecordNetem(lab.NetemFidelity(before, lab.NetemCounters(rctx)))
				rcancel()
			}
			cancel()
		})
	}
}

// write evaluates the history against the lab's SLA and writes
// OUTDIR/<run-id>/, joining cause, so a failed run can still be studied.
func (r *run) write(outDir string, cause error) (results.History, results.Verdict, string, error) {
	h := r.rec.History()
	v := results.Evaluate(h, Targets(r.lab.Topology()))
	dir := filepath.Join(outDir, r.id)
	if err := results.WriteRun(dir, h, v); err != nil {
		return h, v, dir, errors.Join(cause, err)
	}
	return h, v, dir, cause
}
