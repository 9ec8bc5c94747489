package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MariaDB has no failover manager here (Orchestrator is not in Debian), so
// replab promotes a replica itself, as a runbook, and Orchestrator's rule,
// do: the replica that has received the most of the dead primary's binlog
// takes over, after it has applied all of it; the others follow it by
// GTID. Each step is timed, so that a run can show them as phases.

// PromotionStep is one timed step of PromoteMariaDB.
type PromotionStep struct {
	Name  string        `json:"name"`
	Begin time.Duration `json:"begin_ns"` // since the promotion began
	Took  time.Duration `json:"took_ns"`
	// Detail says what the step found or did ("mdb-2 received 0-1-812").
	Detail string `json:"detail,omitempty"`
}

// MariaDBPromotion is what PromoteMariaDB did.
type MariaDBPromotion struct {
	// Old is the primary given up on; New the replica promoted.
	Old, New string
	// Received is the Gtid_IO_Pos of every node that answered as a
	// replica when the choice was made ("" when it had received nothing).
	Received map[string]string
	Steps    []PromotionStep
}

// The promotion's steps, in order.
const (
	StepChoose   = "choose the replica that received the most"
	StepApply    = "apply what it received"
	StepDetach   = "stop its replication"
	StepWritable = "make it the primary"
	StepRepoint  = "repoint the other replicas"
)

// GTIDSeq is the sequence number of a GTID position's domain 0
// ("0-1-57" → 57); -1 when the position has none. replab's labs write in
// domain 0 only.
func GTIDSeq(pos string) int64 {
	for g := range strings.SplitSeq(pos, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 || parts[0] != "0" {
			continue
		}
		if n, err := strconv.ParseInt(parts[2], 10, 64); err == nil {
			return n
		}
	}
	return -1
}

// mostAdvanced picks, among candidates in order, the one whose received
// position is furthest; the first on a tie. "" when none has a position.
func mostAdvanced(candidates []string, received map[string]string) string {
	best, seq := "", int64(-2)
	for _, c := range candidates {
		if s := GTIDSeq(received[c]); s > seq {
			best, seq = c, s
		}
	}
	return best
}

// ErrNoCandidate is returned by PromoteMariaDB when no failover candidate
// answers as a replica.
var ErrNoCandidate = errors.New("no failover candidate answers as a replica")

// PromoteMariaDB gives up on the primary old and promotes the failover
// candidate that received the most of its binlog (Gtid_IO_Pos), once it
// has applied what it received; every other reachable replica is
// repointed at it by GTID. old is not touched: a primary that comes back
// starts read-only, and rejoining it is a separate step.
func (l *Lab) PromoteMariaDB(ctx context.Context, old string) (MariaDBPromotion, error) {
	p := MariaDBPromotion{Old: old, Received: map[string]string{}}
	if !l.isMariaDB() {
		return p, errors.New("promote: not a MariaDB lab")
	}
	begin := time.Now()
	step := func(name string, f func() (string, error)) error {
		at := time.Since(begin)
		detail, err := f()
		p.Steps = append(p.Steps, PromotionStep{Name: name, Begin: at, Took: time.Since(begin) - at, Detail: detail})
		if err != nil {
			return fmt.Errorf("promote: %s: %w", name, err)
		}
		return nil
	}
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()
	var candidates []string
	if err := step(StepChoose, func() (string, error) {
		for _, n := range l.plan.Nodes {
			if n.Name == old {
				continue
			}
			db, err := l.SQL(n.Name)
			if err != nil {
				return "", err
			}
			dbs[n.Name] = db
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, ok, err := ReadReplicaStatus(qctx, db)
			cancel()
			if err != nil || !ok {
				continue // unreachable, or not a replica: not a candidate
			}
			p.Received[n.Name] = st.GTIDIO
			if n.Node.Failover {
				candidates = append(candidates, n.Name)
			}
		}
		p.New = mostAdvanced(candidates, p.Received)
		if p.New == "" {
			return "", ErrNoCandidate
		}
		return fmt.Sprintf("%s received %s", p.New, dash(p.Received[p.New])), nil
	}); err != nil {
		return p, err
	}
	db := dbs[p.New]
	if err := step(StepApply, func() (string, error) {
		// MASTER_GTID_WAIT returns 0 once the position is applied, -1 on
		// its timeout.
		var r sql.NullInt64
		if err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, 30)", p.Received[p.New]).Scan(&r); err != nil {
			return "", err
		}
		if !r.Valid || r.Int64 != 0 {
			return "", fmt.Errorf("%s did not apply %s within 30s", p.New, p.Received[p.New])
		}
		return "applied " + dash(p.Received[p.New]), nil
	}); err != nil {
		return p, err
	}
	if err := step(StepDetach, func() (string, error) {
		for _, s := range []string{"STOP SLAVE", "RESET SLAVE ALL"} {
			if _, err := db.ExecContext(ctx, s); err != nil {
				return "", fmt.Errorf("%s: %w", s, err)
			}
		}
		return "", nil
	}); err != nil {
		return p, err
	}
	if err := step(StepWritable, func() (string, error) { return "", l.makePrimary(ctx, db) }); err != nil {
		return p, err
	}
	if err := step(StepRepoint, func() (string, error) {
		var moved []string
		for _, n := range l.plan.Nodes {
			if _, replica := p.Received[n.Name]; n.Name == p.New || !replica {
				continue // the new primary, or a node the choice found no replica
			}
			if n.Node.Upstream != "" && n.Node.Upstream != old {
				continue // cascades from a live replica: unchanged
			}
			if err := l.attachReplica(ctx, dbs[n.Name], p.New); err != nil {
				return strings.Join(moved, ", "), fmt.Errorf("%s: %w", n.Name, err)
			}
			moved = append(moved, n.Name)
		}
		return strings.Join(moved, ", "), nil
	}); err != nil {
		return p, err
	}
	return p, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
