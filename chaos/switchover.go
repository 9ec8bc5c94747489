package chaos

import (
	"context"
	"fmt"
)

// Switchovers is what a planned switchover needs: the failover manager's
// own operation (Patroni's POST /switchover, pg_auto_failover's
// perform_promotion, repmgr's promote and rejoin). harness.Lab satisfies
// it.
type Switchovers interface {
	// Switchover hands leadership from leader to candidate (empty: the
	// manager picks) and returns once the manager reports the outcome;
	// sent is called as soon as the request is on its way.
	Switchover(ctx context.Context, leader, candidate string, sent func()) error
}

// Switchover is a planned switchover from whoever leads at inject to the
// host to selects (nil: the manager picks a healthy candidate; in
// synchronous mode only a synchronous standby qualifies). It is the
// operator's side of a failover: the old leader demotes itself in order,
// so it must lose no acknowledged write. Its begin stamp is taken before
// the request and its end when the request is written; Inject returns
// once the manager answered. Heal has nothing to undo: the old leader
// stays a replica.
func Switchover(to Selector) Fault { return switchoverFault{to: to} }

type switchoverFault struct{ to Selector }

func (switchoverFault) Name() string { return "switchover" }
func (f switchoverFault) String() string {
	if f.to == nil {
		return "switch over to any candidate"
	}
	return "switch over to " + f.to.String()
}

func (f switchoverFault) Inject(ctx context.Context, c Cluster) (string, Heal, error) {
	s, err := need[Switchovers](c, "Switchovers")
	if err != nil {
		return "", nil, fmt.Errorf("inject switchover: %w", err)
	}
	leader, err := c.LeaderName(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("inject switchover: resolve the leader: %w", err)
	}
	candidate := ""
	if f.to != nil {
		to, err := f.to.Resolve(ctx, c, []string{leader})
		if err != nil {
			return leader, nil, fmt.Errorf("inject switchover: %w", err)
		}
		candidate = to[0]
	}
	noteHow(ctx, "the manager's switchover request: begun within [begin, request sent]")
	markBegin(ctx)
	if err := s.Switchover(ctx, leader, candidate, func() { markEnd(ctx) }); err != nil {
		markEnd(ctx)
		return leader, nil, fmt.Errorf("inject switchover: %w", err)
	}
	return leader, func(context.Context) error { return nil }, nil
}
