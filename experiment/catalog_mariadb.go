package experiment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
)

// Promoter is who promotes a replica when a MariaDB primary is declared
// dead: replab's runbook (*harness.Lab) by default, or a failover manager
// that reports the same steps. Its steps become the run's failover.step
// events.
type Promoter interface {
	PromoteMariaDB(ctx context.Context, old string) (harness.MariaDBPromotion, error)
}

// MariaDB has no failover manager in this lab (harness.PromoteMariaDB):
// the scenario detects the dead primary and promotes, as a runbook does,
// and records each step on the run's clock (results.EventFailoverStep)
// so that the report lists them under the failover's phases.

// MariaDB failure detection: the primary is declared dead after
// DetectFailures checks in a row failed, DetectInterval apart, each
// bounded by DetectTimeout (Orchestrator's rule in spirit: more than one
// failed look before acting).
const (
	DetectFailures = 3
	DetectInterval = 500 * time.Millisecond
	DetectTimeout  = time.Second
)

// mariadbFailover is a step that detects that the primary struck by fault
// is dead, then promotes the replica that received the most of its
// binlog and repoints the others; the run's Leader is the new primary.
func mariadbFailover(fault string) Step {
	return Step{Text: "detect the dead primary and promote the most advanced replica (replab's runbook)", do: func(ctx context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		old := a.Target
		begin := r.Rec.Now()
		if err := detectDead(ctx, r, old); err != nil {
			return err
		}
		r.Rec.EventSpan(results.Event{Kind: results.EventFailoverStep, Node: old,
			Detail: fmt.Sprintf("detect: %d failed checks in a row, %s apart", DetectFailures, DetectInterval)}, begin, r.Rec.Now())
		start := r.Rec.Now()
		p, err := r.Promoter.PromoteMariaDB(ctx, old)
		for _, s := range p.Steps {
			detail := s.Name
			if s.Detail != "" {
				detail += ": " + s.Detail
			}
			r.Rec.EventSpan(results.Event{Kind: results.EventFailoverStep, Node: p.New, Detail: detail}, start+s.Begin, start+s.Begin+s.Took)
		}
		if err != nil {
			return err
		}
		r.Leader, r.promotedAt = p.New, p.Received[p.New]
		r.figure("promoted", p.New+" (received "+p.Received[p.New]+")")
		return nil
	}}
}

// MeasureErrant names the count of transactions the old primary came
// back with that the new one never received.
const MeasureErrant = "errant transactions on the old primary"

// mariadbRejoin is a step that rejoins the primary struck by fault, now
// running again, to the new primary, or leaves it out and counts its
// errant transactions (harness.RejoinMariaDB).
func mariadbRejoin(fault string) Step {
	return Step{Text: "rejoin the old primary, or count what it holds that the new one lacks", do: func(ctx context.Context, r *Run) error {
		a, err := r.Fault(fault)
		if err != nil {
			return err
		}
		begin := r.Rec.Now()
		rj, err := r.Lab.RejoinMariaDB(ctx, a.Target, r.Leader, r.promotedAt)
		r.Rec.EventSpan(results.Event{Kind: results.EventFailoverStep, Node: a.Target, Detail: "rejoin: " + rj.String()}, begin, r.Rec.Now())
		if err != nil {
			return err
		}
		r.figure(MeasureErrant, strconv.FormatInt(rj.Errant, 10))
		r.figure("old primary", rj.String())
		return nil
	}}
}

// detectDead returns once DetectFailures checks of node in a row failed.
func detectDead(ctx context.Context, r *Run, node string) error {
	db, err := r.Lab.SQL(node)
	if err != nil {
		return err
	}
	defer db.Close()
	for failed := 0; failed < DetectFailures; {
		cctx, cancel := context.WithTimeout(ctx, DetectTimeout)
		err := db.PingContext(cctx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("detect %s dead: %w", node, ctx.Err())
		}
		if err != nil {
			failed++
		} else {
			failed = 0
		}
		if failed < DetectFailures {
			select {
			case <-ctx.Done():
				return fmt.Errorf("detect %s dead: %w", node, ctx.Err())
			case <-time.After(DetectInterval):
			}
		}
	}
	return nil
}

// MariaDBRPOScenario is RPOScenario on a MariaDB lab: the primary cut from
// its replicas, then killed, then replab's failover. In async it loses
// what the replicas had not received; with semi-sync's AFTER_SYNC it
// loses no acknowledged write; AFTER_COMMIT acknowledges after the
// replica does too, but other sessions could already read the rows.
func MariaDBRPOScenario(mode topologies.ReplicationMode) Scenario {
	const fault = "cut"
	sc := Scenario{
		Name:    "rpo-cut-mariadb",
		Summary: "MariaDB: cut the primary from its replicas for 2s, SIGKILL it, promote the most advanced replica: acknowledged writes lost, per mode",
		Needs:   Needs{Candidates: 2, Engines: []topologies.EngineKind{topologies.EngineMariaDB}},
		Steps: append(separateAndKill(fault, func(*Run) chaos.Fault { return chaos.Partition(chaos.Leader, chaos.Followers) }, "primary"),
			mariadbFailover("kill"),
			Await(WritesAfter("kill"), WaitTimeout, ""),
			Heal("kill"),
			mariadbRejoin("kill"),
		),
	}
	if mode != "" {
		sc.Name += "-" + string(mode)
		sc.Shape = func(t *topologies.Topology) { t.Replication.Mode = mode }
	}
	return sc
}
