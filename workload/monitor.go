package workload

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/replab/replab/harness"

	"github.com/replab/replab/results"
)

// MonitorPeriod is how often the monitor polls the DCS leader key and each
// member's REST API: the resolution of the leader events it records.
const MonitorPeriod = 50 * time.Millisecond

// StartMonitor records the cluster's side of a failover on the run's
// clock: the DCS leader key disappearing (leader.key_gone), a new holder of
// the key (leader.changed), a member finishing promotion (leader.promoted,
// from its Patroni REST API) and timeline switches. Each event carries
// MonitorPeriod as its resolution. On a MariaDB lab it watches read_only
// instead (startMariaDBMonitor).
//
// The leader key is Patroni's etcd key, or pg_auto_failover's monitor
// assigning a node the primary's goal state. repmgr keeps none
// (harness.ErrNoLeaderKey): a node that turns writable is then promoted
// and leads at once, and leader.key_gone never happens.
func StartMonitor(ctx context.Context, lab *harness.Lab, rec *results.Recorder) *Workload {
	if isMariaDB(lab) {
		return startGroup(ctx, func(ctx context.Context) []*Workload { return startMariaDBMonitor(ctx, lab, rec) })
	}
	var (
		keyHolder = "?" // unknown until the first read
		leaders   = map[string]bool{}
		timeline  = 0
		mu        sync.Mutex
		noKey     = false
		led       = false // a leader was seen (noKey only)
	)
	return startPeriodic(ctx, MonitorPeriod, func(ctx context.Context) {
		holder, err := lab.LeaderKey(ctx)
		noKey = errors.Is(err, harness.ErrNoLeaderKey)
		if err == nil && holder != keyHolder {
			switch {
			case holder == "":
				rec.Event(results.Event{Kind: results.EventLeaderKeyGone, Node: keyHolder, Resolution: MonitorPeriod})
			case keyHolder != "?":
				rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: holder, Resolution: MonitorPeriod})
			default:
				rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: holder, Detail: "initial", Resolution: MonitorPeriod})
			}
			keyHolder = holder
		}
		var wg sync.WaitGroup
		for _, n := range lab.Topology().Nodes() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := lab.Patroni(ctx, n.Name)
				mu.Lock()
				defer mu.Unlock()
				isLeader := err == nil && st.Role == harness.RoleLeader && st.State == "running"
				if isLeader && !leaders[n.Name] {
					rec.Event(results.Event{Kind: results.EventPromoted, Node: n.Name, Detail: "timeline " + strconv.Itoa(st.Timeline), Resolution: MonitorPeriod})
					if noKey {
						detail := "no leader key: leads once writable"
						if !led {
							detail = "initial"
						}
						led = true
						rec.Event(results.Event{Kind: results.EventLeaderChanged, Node: n.Name, Detail: detail, Resolution: MonitorPeriod})
					}
				}
				if isLeader && st.Timeline > timeline {
					if timeline != 0 {
						rec.Event(results.Event{Kind: results.EventTimeline, Node: n.Name, Detail: strconv.Itoa(st.Timeline), Resolution: MonitorPeriod})
					}
					timeline = st.Timeline
				}
				if err == nil || ctx.Err() == nil {
					leaders[n.Name] = isLeader
				}
			}()
		}
		wg.Wait()
	}, nil)
}
