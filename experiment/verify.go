package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// VerifyRequest is a verification: catalog scenarios run one after
// another, each on a fresh lab of the topology, each judged against its
// SLA.
type VerifyRequest struct {
	Topology *topologies.Topology
	// Scenarios names the scenarios to run, in that order (empty: the
	// whole catalog). A name the catalog lacks is an error before anything
	// starts.
	Scenarios []string
	Seed      int64
	// OutDir receives verify-<id>/ with the index and one run directory
	// per scenario (default "results").
	OutDir string
	Log    *slog.Logger
}

// VerifyResult is what a verification wrote and found.
type VerifyResult struct {
	Dir   string
	Index results.Index
}

// Plan resolves the scenarios a verification runs, in order, and the ones
// the topology cannot run with why, without starting anything. Unknown
// names are an error naming the catalog.
func (req VerifyRequest) Plan() (run []Scenario, skipped map[string]string, err error) {
	all := Catalog()
	picked := all
	if len(req.Scenarios) > 0 {
		picked = nil
		var unknown []string
		for _, name := range req.Scenarios {
			i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == name })
			if i < 0 {
				unknown = append(unknown, name)
				continue
			}
			picked = append(picked, all[i])
		}
		if len(unknown) > 0 {
			var names []string
			for _, s := range all {
				names = append(names, s.Name)
			}
			return nil, nil, fmt.Errorf("verify: unknown scenario %s (scenarios: %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
		}
	}
	skipped = map[string]string{}
	for _, sc := range picked {
		t := *req.Topology
		if sc.Shape != nil {
			sc.Shape(&t)
		}
		if err := sc.Needs.Check(&t); err != nil {
			skipped[sc.Name] = err.Error()
			continue
		}
		run = append(run, sc)
	}
	return run, skipped, nil
}

// Verify runs every scenario of the plan, writes an index beside the
// runs and returns it. A scenario that fails to complete is recorded as
// an error and the next one runs; cancellation stops after the running
// scenario has healed and torn down. The error is nil unless the request
// was bad, the context was cancelled or the index could not be written:
// misses are in the index (Index.Pass, Index.Misses).
func Verify(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
	if req.Topology == nil {
		return VerifyResult{}, errors.New("verify: no topology")
	}
	if req.OutDir == "" {
		req.OutDir = "results"
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	run, skipped, err := req.Plan()
	if err != nil {
		return VerifyResult{}, err
	}
	started := time.Now()
	out := VerifyResult{Dir: filepath.Join(req.OutDir, "verify-"+NewRunID())}
	ix := results.Index{Topology: req.Topology.Name, Source: req.Topology.Source, Seed: req.Seed, Started: started.UTC()}
	order := req.Scenarios
	if len(order) == 0 {
		for _, s := range Catalog() {
			order = append(order, s.Name)
		}
	}
	byName := map[string]Scenario{}
	for _, s := range run {
		byName[s.Name] = s
	}
	var cancelled error
	for i, name := range order {
		sc, ok := byName[name]
		if !ok {
			if why, skip := skipped[name]; skip {
				log.Info("skipping scenario", "scenario", name, "why", why)
				ix.Entries = append(ix.Entries, results.IndexEntry{Scenario: name, Summary: summaryOf(name), Status: results.EntrySkipped, Reason: why})
			}
			continue
		}
		if cancelled != nil {
			ix.Entries = append(ix.Entries, results.IndexEntry{Scenario: name, Summary: sc.Summary, Status: results.EntrySkipped, Reason: "not run: the verification was cancelled"})
			continue
		}
		log.Info("running scenario", "scenario", name, "n", fmt.Sprintf("%d/%d", i+1, len(order)))
		begin := time.Now()
		res, err := Execute(ctx, Request{Scenario: sc, Topology: req.Topology, OutDir: out.Dir, Seed: req.Seed, Log: log,
			Labels: map[string]string{"verify": filepath.Base(out.Dir)}})
		e := results.IndexEntry{Scenario: name, Summary: sc.Summary, Took: time.Since(begin)}
		if res.Dir != "" {
			e.RunDir = filepath.Base(res.Dir)
			v := res.Verdict
			e.Verdict = &v
			e.Figures, e.Tables = res.History.Figures, res.History.Tables
		}
		switch {
		case err != nil:
			e.Status, e.Reason = results.EntryError, err.Error()
		case res.Verdict.Pass:
			e.Status = results.EntryPass
		default:
			e.Status = results.EntryFail
		}
		log.Info("scenario done", "scenario", name, "result", e.Status, "took", e.Took.Round(time.Second))
		ix.Entries = append(ix.Entries, e)
		if ctx.Err() != nil {
			cancelled = ctx.Err()
		}
	}
	ix.Took = time.Since(started)
	out.Index = ix
	if err := results.WriteIndex(out.Dir, ix); err != nil {
		return out, err
	}
	return out, cancelled
}

func summaryOf(name string) string {
	for _, s := range Catalog() {
		if s.Name == name {
			return s.Summary
		}
	}
	return ""
}
