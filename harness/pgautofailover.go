package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replab/replab/topologies"
)

// pgafFormation is the formation every pg_auto_failover lab's nodes join.
const pgafFormation = "default"

// pgafNodeEnv maps the topology onto one node's pg_autoctl create
// postgres options:
//
//	failover candidate     --candidate-priority 50 (pg_autoctl's default), else 0: never promoted
//	async                  --replication-quorum false on every node
//	semi-sync, sync        --replication-quorum true on the candidates (false on nosync nodes)
//
// and its keeper's timeout.network_partition_timeout. The formation's
// number_sync_standbys is set on the monitor (pgafSyncStandbys).
func pgafNodeEnv(t *topologies.Topology, p plan, n member) []string {
	role := "other"
	if n.Name == p.Nodes[0].Name {
		role = "first"
	}
	priority := 0
	if n.Node.Failover {
		priority = 50
	}
	quorum := t.Replication.Mode != topologies.Async && !n.Node.NoSync
	return []string{
		"ROLE=" + role,
		"MONITOR_IP=" + p.Coordinator[0].IP.String(),
		"CANDIDATE_PRIORITY=" + strconv.Itoa(priority),
		"REPLICATION_QUORUM=" + strconv.FormatBool(quorum),
		"NETWORK_PARTITION_TIMEOUT=" + strconv.Itoa(seconds(t.PGAutoFailover.NetworkPartitionTimeout)),
	}
}

// pgafMonitorEnv is the monitor's: its health-check settings, in the
// milliseconds the pgautofailover GUCs take.
func pgafMonitorEnv(t *topologies.Topology, monitor member) []string {
	a := t.PGAutoFailover
	settings := []string{
		fmt.Sprintf("pgautofailover.health_check_period = %d", a.HealthCheckPeriod.Milliseconds()),
		fmt.Sprintf("pgautofailover.health_check_timeout = %d", a.HealthCheckTimeout.Milliseconds()),
		fmt.Sprintf("pgautofailover.health_check_max_retries = %d", a.HealthCheckMaxRetries),
		fmt.Sprintf("pgautofailover.health_check_retry_delay = %d", a.HealthCheckRetryDelay.Milliseconds()),
		fmt.Sprintf("pgautofailover.node_considered_unhealthy_timeout = %d", a.UnhealthyTimeout.Milliseconds()),
		fmt.Sprintf("pgautofailover.primary_demote_timeout = %d", a.PrimaryDemoteTimeout.Milliseconds()),
	}
	return []string{"MONITOR_IP=" + monitor.IP.String(), "MONITOR_SETTINGS=" + strings.Join(settings, "\n")}
}

// pgafSyncStandbys is the formation's number_sync_standbys: in sync mode
// the topology's sync_standbys, so that the primary keeps waiting for
// that many standbys when they are lost; 0 otherwise, with which
// pg_auto_failover drops synchronous replication (the primary's
// wait_primary state) when no quorum standby is left: semi-sync.
func pgafSyncStandbys(t *topologies.Topology) int {
	if t.Replication.Mode == topologies.Sync {
		return t.Replication.SyncStandbys
	}
	return 0
}

// pgafPrimaryGoals are the goal states in which the monitor holds a node
// as the primary; a failover takes them from the old primary before it
// gives one to the new.
var pgafPrimaryGoals = []string{"single", "wait_primary", "primary", "join_primary", "apply_settings"}

// monitorPrimary is pg_auto_failover's leader key: the node the monitor
// has assigned a primary's goal state; "" while none has one (the
// monitor has begun a failover and not yet chosen).
func (l *Lab) monitorPrimary(ctx context.Context) (string, error) {
	var names []string
	err := l.onMonitor(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT nodename FROM pgautofailover.node WHERE formationid = $1 AND goalstate::text = ANY($2) ORDER BY nodeid", pgafFormation, pgafPrimaryGoals)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the monitor's primary: %w", err)
	}
	switch len(names) {
	case 0:
		return "", nil
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("read the monitor's primary: %d nodes hold a primary's goal state (%s)", len(names), strings.Join(names, ", "))
}

// onMonitor runs f on a kept connection to the monitor's pg_auto_failover
// database, opened again after an error.
func (l *Lab) onMonitor(ctx context.Context, f func(context.Context, *pgx.Conn) error) error {
	return l.onKept(ctx, RoleMonitor, func() (string, error) {
		dsn, err := l.DSN(RoleMonitor)
		return strings.Replace(dsn, "/postgres?", "/pg_auto_failover?", 1), err
	}, f)
}

// pgafSettle is the monitor's part of readiness: every node's reported
// state is its goal state, a primary's or a secondary's; then the
// formation's number_sync_standbys is set (once) and settled on. It
// returns what is still missing.
func (l *Lab) pgafSettle(ctx context.Context) ([]string, error) {
	var states []string
	var nss int
	err := l.onMonitor(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT nodename || ' ' || reportedstate || ' -> ' || goalstate FROM pgautofailover.node WHERE formationid = $1 AND (reportedstate <> goalstate OR goalstate NOT IN ('primary', 'secondary')) ORDER BY nodeid", pgafFormation)
		if err != nil {
			return err
		}
		if states, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return c.QueryRow(ctx, "SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = $1", pgafFormation).Scan(&nss)
	})
	switch {
	case err != nil:
		return []string{"monitor: " + err.Error()}, nil
	case len(states) > 0:
		return []string{"monitor: " + strings.Join(states, ", ")}, nil
	case nss != pgafSyncStandbys(l.topo):
		if err := l.setPGAFSyncStandbys(ctx); err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("monitor: number_sync_standbys %d being set", pgafSyncStandbys(l.topo))}, nil
	}
	return nil, nil
}

// setPGAFSyncStandbys applies pgafSyncStandbys once the nodes have
// joined: the monitor refuses more than the formation's quorum
// standbys, and raises 0 to 1 by itself when a second one joins.
func (l *Lab) setPGAFSyncStandbys(ctx context.Context) error {
	n := pgafSyncStandbys(l.topo)
	return l.onMonitor(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pgautofailover.set_formation_number_sync_standbys($1, $2)", pgafFormation, n)
		if err != nil {
			return fmt.Errorf("set number_sync_standbys %d: %w", n, err)
		}
		return nil
	})
}

// pgafSwitchover asks the monitor for a planned switchover, as pg_autoctl
// perform switchover and perform promotion do: perform_promotion names
// the candidate, perform_failover lets the monitor choose. The monitor
// answers once it has assigned the new goal states; the nodes carry them
// out after, so it returns then and callers wait for the new leader.
func (l *Lab) pgafSwitchover(ctx context.Context, leader, candidate string, sent func()) error {
	err := l.onMonitor(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		if candidate == "" {
			_, err = c.Exec(ctx, "SELECT pgautofailover.perform_failover($1, 0)", pgafFormation)
		} else {
			_, err = c.Exec(ctx, "SELECT pgautofailover.perform_promotion($1, $2)", pgafFormation, candidate)
		}
		return err
	})
	if sent != nil {
		sent()
	}
	if err != nil {
		return fmt.Errorf("switchover %s→%s: the monitor refused: %w", leader, orAny(candidate), err)
	}
	return nil
}
