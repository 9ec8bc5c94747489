package workload

import (
	"testing"
	"time"
)

func TestReadStrategyRoutes(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	leader500 := ReadStrategy{Kind: ReadLeaderAfterWrite, Window: ms(500)}
	for _, c := range []struct {
		name     string
		s        ReadStrategy
		sinceAck time.Duration
		commit   uint64
		replayed uint64
		want     readRoute
	}{
		{"none reads on a replica right after the write", ReadStrategy{Kind: ReadAnyReplica}, 0, 100, 0, routeReplica},
		{"leader inside its window", leader500, ms(499), 100, 0, routeLeader},
		{"a replica once the window is past", leader500, ms(500), 100, 0, routeReplica},
		{"the default window is 500ms", ReadStrategy{Kind: ReadLeaderAfterWrite}, ms(400), 100, 0, routeLeader},
		{"lsn asks a replica not known to have the write", ReadStrategy{Kind: ReadLSN}, 0, 100, 99, routeAskReplica},
		{"lsn asks a replica whose position is unknown", ReadStrategy{Kind: ReadLSN}, ms(5000), 100, 0, routeAskReplica},
		{"lsn reads on a replica seen at the write's position", ReadStrategy{Kind: ReadLSN}, 0, 100, 100, routeReplica},
		{"lsn without a commit position reads on the leader", ReadStrategy{Kind: ReadLSN}, ms(5000), 0, 500, routeLeader},
		{"sticky always reads on the leader", ReadStrategy{Kind: ReadSticky}, ms(5000), 100, 500, routeLeader},
	} {
		if got := c.s.route(c.sinceAck, c.commit, c.replayed); got != c.want {
			t.Errorf("%s: route = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestStrategySessionsAreDistinct(t *testing.T) {
	ss := StrategySessions(Strategies(0))
	procs, keys := map[string]bool{}, map[int64]bool{}
	for _, s := range ss {
		if s.Strategy == nil || procs[s.Process] || keys[s.FirstKey] {
			t.Fatalf("sessions share a process or a key range, or lack a strategy: %+v", ss)
		}
		procs[s.Process], keys[s.FirstKey] = true, true
		if s.FirstKey <= SyncSessionFirstKey {
			t.Errorf("%s starts at %d, inside the sync session's range", s.Process, s.FirstKey)
		}
	}
	if ss[1].Process != "ryw-leader-500ms" || ss[1].Strategy.Kind != ReadLeaderAfterWrite {
		t.Errorf("second session %s %+v, want the 500ms leader window", ss[1].Process, ss[1].Strategy)
	}
}
