package experiment

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/chaos"
	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
	"github.com/replab/replab/topologies"
	"github.com/replab/replab/workload"
)

// TestChaosIntegration brings up single-region and checks that partition,
// pause, cpu and cut-dcs take effect and heal back to baseline, on real
// containers. It measures how long the leader takes to demote once cut off
// from etcd, and whether it acknowledged any write after the new leader
// was elected.
func TestChaosIntegration(t *testing.T) {
	if os.Getenv("REPLAB_INTEGRATION") == "" {
		t.Skip("set REPLAB_INTEGRATION=1 (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli, err := harness.Connect(ctx)
	if err != nil {
		t.Skipf("docker unreachable: %v", err)
	}
	_ = cli.Close()

	topo, err := topologies.Builtin("single-region")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := harness.Up(ctx, topo, harness.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil))))
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	defer func() {
		if err := lab.Down(context.WithoutCancel(ctx)); err != nil {
			t.Errorf("down: %v", err)
		}
	}()
	c := ClusterOf(lab)
	rec := results.NewRecorder(results.RunMeta{ID: NewRunID(), Topology: topo.Name, Started: time.Now()})
	inj := chaos.NewInjector(c, rec)
	defer func() {
		if err := inj.HealAll(ctx); err != nil {
			t.Errorf("heal all: %v", err)
		}
	}()
	if err := workload.Prepare(ctx, lab); err != nil {
		t.Fatal(err)
	}

	followers := func() (leader string, fs []string) {
		t.Helper()
		ms, err := c.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			switch m.Role {
			case "leader":
				leader = m.Name
			case "replica":
				fs = append(fs, m.Name)
			}
		}
		slices.Sort(fs)
		if leader == "" || len(fs) < 2 {
			t.Fatalf("want a leader and two replicas, got %+v", ms)
		}
		return leader, fs
	}
	ip := map[string]string{}
	for _, h := range lab.Hosts() {
		ip[h.Name] = h.IP
	}
	// reach says whether from can open a TCP connection to to's Patroni port.
	reach := func(from, to string) bool {
		t.Helper()
		_, err := c.Run(ctx, chaos.Command{Host: from, User: "root", Argv: []string{"timeout", "1", "bash", "-c", "</dev/tcp/" + ip[to] + "/8008"}})
		return err == nil
	}
	baseline := func() {
		t.Helper()
		if err := chaos.VerifyBaseline(ctx, c); err != nil {
			t.Fatalf("baseline: %v", err)
		}
	}
	baseline()

	t.Run("partition", func(t *testing.T) {
		leader, fs := followers()
		if !reach(fs[0], fs[1]) {
			t.Fatalf("%s cannot reach %s before the partition", fs[0], fs[1])
		}
		a, err := inj.Inject(ctx, chaos.Partition(chaos.Node(fs[0]), chaos.Node(fs[1])))
		if err != nil {
			t.Fatal(err)
		}
		if reach(fs[0], fs[1]) || reach(fs[1], fs[0]) {
			t.Errorf("%s and %s still reach each other across a symmetric partition", fs[0], fs[1])
		}
		if !reach(fs[0], leader) {
			t.Errorf("the partition also cut %s from the leader %s", fs[0], leader)
		}
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		if !reach(fs[0], fs[1]) {
			t.Errorf("%s cannot reach %s after heal", fs[0], fs[1])
		}
		one, err := inj.Inject(ctx, chaos.PartitionOneWay(chaos.Node(fs[0]), chaos.Node(fs[1])))
		if err != nil {
			t.Fatal(err)
		}
		if reach(fs[0], fs[1]) {
			t.Errorf("%s still reaches %s across a one-way partition", fs[0], fs[1])
		}
		if err := one.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		baseline()
	})

	t.Run("pause", func(t *testing.T) {
		a, err := inj.Inject(ctx, chaos.Pause(chaos.AnyFollower(1)))
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.HostState(ctx, a.Target)
		if err != nil || !st.Paused {
			t.Errorf("%s after pause: %+v, %v; want paused", a.Target, st, err)
		}
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		baseline()
	})

	t.Run("cpu", func(t *testing.T) {
		a, err := inj.Inject(ctx, chaos.ThrottleCPU(chaos.AnyFollower(2), 0.1))
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.HostState(ctx, a.Target)
		if err != nil || math.Abs(st.CPUs-0.1) > 1e-9 {
			t.Errorf("%s after throttling: %+v, %v; want 0.1 CPU", a.Target, st, err)
		}
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		baseline()
	})

	t.Run("long-query", func(t *testing.T) {
		leader, _ := followers()
		a, err := inj.Inject(ctx, chaos.LongQuery(chaos.AnyFollower(4), time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ExecSQL(ctx, leader, "INSERT INTO replab_writes (id, process) VALUES (-1, 'long-query-test')"); err != nil {
			t.Fatal(err)
		}
		// stalled says whether the follower has received WAL it cannot replay.
		stalled := func() (bool, error) {
			conn, err := lab.Connect(ctx, a.Target)
			if err != nil {
				return false, err
			}
			defer conn.Close(ctx)
			var behind bool
			err = conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() < pg_last_wal_receive_lsn()").Scan(&behind)
			return behind, err
		}
		time.Sleep(time.Second)
		if behind, err := stalled(); err != nil || !behind {
			t.Errorf("replay on %s is not blocked by the long query (behind %v, %v)", a.Target, behind, err)
		}
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		if err := poll(ctx, 10*time.Second, "replay to catch up on "+a.Target, func() (bool, error) {
			behind, err := stalled()
			return err == nil && !behind, err
		}); err != nil {
			t.Error(err)
		}
		baseline()
	})

	t.Run("cut-dcs", func(t *testing.T) {
		wctx, stop := context.WithCancel(ctx)
		mon := workload.StartMonitor(wctx, lab, rec)
		probes := workload.StartProbes(wctx, lab, rec, workload.ProbeRequest{})
		writer := workload.StartWriter(wctx, lab, rec, workload.WriterConfig{Rate: 50})
		stopAll := func() { writer.Stop(); probes.Stop(); mon.Stop(); stop() }
		defer stopAll()
		time.Sleep(2 * time.Second)

		a, err := inj.Inject(ctx, chaos.CutFromDCS(chaos.Leader))
		if err != nil {
			t.Fatal(err)
		}
		old := a.Target
		injected := time.Now()
		// Patroni must demote within ttl + loop_wait + retry_timeout.
		limit := topo.Patroni.TTL + topo.Patroni.LoopWait + topo.Patroni.RetryTimeout
		var demoted time.Duration
		err = poll(ctx, limit+10*time.Second, old+" demoted", func() (bool, error) {
			ms, err := c.Members(ctx)
			if err != nil {
				return false, err
			}
			for _, m := range ms {
				if m.Name == old && m.Role != "leader" {
					demoted = time.Since(injected)
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("cut off from etcd: %v", err)
		}
		newLeader, err := WaitNewLeader(ctx, lab, old, limit+10*time.Second)
		if err != nil {
			t.Fatalf("no new leader after cutting %s from etcd: %v", old, err)
		}
		time.Sleep(2 * time.Second)
		stopAll()
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}

		h := rec.History()
		sb := results.SplitBrain(h)
		var changedAt time.Duration
		for _, e := range h.Events {
			if e.Kind == results.EventLeaderChanged && e.Node == newLeader && e.At > a.Injected {
				changedAt = e.At
				break
			}
		}
		var lastOldOK, acksAfter int
		var lastOld time.Duration
		for _, o := range h.Ops {
			if o.Kind == results.OpProbe && o.Target == old && o.Outcome == results.OK && o.Invoke >= a.Injected {
				lastOldOK++
				lastOld = o.Complete
				if changedAt > 0 && o.Complete > changedAt {
					acksAfter++
				}
			}
		}
		t.Logf("cut-dcs: %s cut off from etcd; demoted after %s (limit ttl+loop_wait+retry_timeout = %s); new leader %s elected at t+%s after the fault; "+
			"old leader acknowledged %d probe writes after the fault, the last at t+%s; %d after the election; split-brain windows %d (overlap %s), writes acknowledged by a former leader after an election %d",
			old, demoted.Round(time.Millisecond), limit, newLeader, (changedAt - a.Injected).Round(time.Millisecond),
			lastOldOK, (lastOld - a.Injected).Round(time.Millisecond), acksAfter, len(sb.Windows), sb.Overlap, len(sb.AfterElection))
		if demoted > limit {
			t.Errorf("%s demoted after %s, later than %s", old, demoted, limit)
		}
		if acksAfter > 0 || len(sb.Windows) > 0 {
			t.Errorf("split brain: %d writes acknowledged by %s after %s was elected; windows %+v", acksAfter, old, newLeader, sb.Windows)
		}
		if err := WaitStreaming(ctx, lab, old, 90*time.Second); err != nil {
			t.Errorf("%s did not rejoin after heal: %v", old, err)
		}
		baseline()
	})

	// A kill is signalled through the container's pidfd and returns before
	// Docker has seen the death: the kill's stamps span the signal alone,
	// and a command run in the dying host right after is "host down" (so
	// cleanup counts its rules as gone), never a failed exec.
	t.Run("kill", func(t *testing.T) {
		a, err := inj.Inject(ctx, chaos.Kill(chaos.AnyFollower(5)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(a.How, "pidfd") {
			t.Errorf("kill delivered by %q, want the pidfd path on a local engine", a.How)
		}
		if span := a.InjectEnd - a.Injected; span > 100*time.Millisecond {
			t.Errorf("kill stamped over %s: the stamps must bound the signal, not the teardown", span)
		}
		_, err = c.Run(ctx, chaos.Command{Host: a.Target, User: "root", Argv: []string{"true"}})
		if !errors.Is(err, chaos.ErrHostDown) {
			t.Errorf("exec in %s right after its kill: %v, want chaos.ErrHostDown", a.Target, err)
		}
		if err := a.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		if err := WaitStreaming(ctx, lab, a.Target, 90*time.Second); err != nil {
			t.Errorf("%s did not rejoin after its restart: %v", a.Target, err)
		}
		baseline()
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
