package experiment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/workload"
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
// workload.Start).
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
	if err := workload.Prepare(ctx, lab); err != nil {
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
	p := workload.Steady
	p.WriteRate = rate
	r.stop = workload.Start(ctx, lab, r.rec, p)
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
