package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/replab/replab/netem"
)

// fakeIO is a queue whose packets come from a channel and whose verdicts
// are recorded with the time they were given.
type fakeIO struct {
	pkts   chan []packet
	mu     sync.Mutex
	given  []givenVerdict
	closed chan struct{}
	once   sync.Once
}

type givenVerdict struct {
	verdict
	at time.Time
}

func newFakeIO() *fakeIO {
	return &fakeIO{pkts: make(chan []packet, 100), closed: make(chan struct{})}
}

func (f *fakeIO) receive() ([]packet, error) {
	select {
	case p := <-f.pkts:
		return p, nil
	case <-f.closed:
		return nil, os.ErrClosed
	}
}

func (f *fakeIO) sendVerdicts(vs []verdict) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range vs {
		f.given = append(f.given, givenVerdict{v, time.Now()})
	}
	return nil
}

func (f *fakeIO) close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeIO) verdicts() []givenVerdict {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]givenVerdict(nil), f.given...)
}

func (f *fakeIO) waitVerdicts(t *testing.T, n int) []givenVerdict {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if v := f.verdicts(); len(v) >= n {
			return v
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("got %d verdicts, want %d", len(f.verdicts()), n)
	return nil
}

func TestQueueHoldsForDelay(t *testing.T) {
	io := newFakeIO()
	qu := mustQueue(t, netem.AgentQueue{Num: 5, Impairment: netem.Impairment{Delay: 30 * time.Millisecond}}, io, time.Now(), slog.Default())
	qu.start(1)
	sent := time.Now()
	io.pkts <- []packet{{ID: 1, Len: 100}, {ID: 2, Len: 100}}
	v := io.waitVerdicts(t, 2)
	for _, g := range v {
		if g.verdict.verdict != verdictAccept {
			t.Errorf("packet %d: verdict %d, want accept", g.id, g.verdict.verdict)
		}
		if held := g.at.Sub(sent); held < 30*time.Millisecond || held > 45*time.Millisecond {
			t.Errorf("packet %d held %v, want 30ms (+ scheduling)", g.id, held)
		}
	}
	if v[0].id != 1 || v[1].id != 2 {
		t.Errorf("released %d, %d; want 1, 2 in order", v[0].id, v[1].id)
	}
	qu.stop()
	if st := qu.status(); st.Received != 2 || st.Accepted != 2 || st.Held != 0 {
		t.Errorf("status %+v, want 2 received, 2 accepted, none held", st)
	}
}

func TestQueueStopReleasesHeld(t *testing.T) {
	io := newFakeIO()
	qu := mustQueue(t, netem.AgentQueue{Num: 5, Impairment: netem.Impairment{Delay: time.Hour}}, io, time.Now(), slog.Default())
	qu.start(1)
	io.pkts <- []packet{{ID: 1}, {ID: 2}, {ID: 3}}
	deadline := time.Now().Add(5 * time.Second)
	for qu.status().Received < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	qu.stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("stop took %v", took)
	}
	v := io.verdicts()
	if len(v) != 3 {
		t.Fatalf("%d verdicts after stop, want 3", len(v))
	}
	for _, g := range v {
		if g.verdict.verdict != verdictAccept {
			t.Errorf("packet %d dropped at stop, want accepted", g.id)
		}
	}
	select {
	case <-io.closed:
	default:
		t.Error("queue not unbound after stop")
	}
}

func TestQueueConfigUpdate(t *testing.T) {
	io := newFakeIO()
	qu := mustQueue(t, netem.AgentQueue{Num: 5, Impairment: netem.Impairment{Delay: time.Hour}}, io, time.Now(), slog.Default())
	qu.start(1)
	defer qu.stop()
	qu.update(netem.AgentQueue{Num: 5, Impairment: netem.Impairment{Loss: 100}}, 1)
	io.pkts <- []packet{{ID: 9}}
	v := io.waitVerdicts(t, 1)
	if v[0].verdict.verdict != verdictDrop {
		t.Errorf("after update to 100%% loss: verdict %d, want drop", v[0].verdict.verdict)
	}
	if st := qu.status(); st.Lost != 1 || st.Impairment.Loss != 100 {
		t.Errorf("status %+v, want 1 lost and the new impairment", st)
	}
}

func TestRunReloadAndStop(t *testing.T) {
	dir := t.TempDir()
	cfgPath, stPath := filepath.Join(dir, "agent.json"), filepath.Join(dir, "status.json")
	write := func(c netem.AgentConfig) string {
		b := c.Encode()
		if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return netem.Hash(b)
	}
	var mu sync.Mutex
	bound := map[uint16]*fakeIO{}
	open := func(num uint16, maxLen uint32) (queueIO, error) {
		mu.Lock()
		defer mu.Unlock()
		if maxLen != 2*netem.DefaultAgentLimit {
			t.Errorf("queue %d bound with length %d, want %d", num, maxLen, 2*netem.DefaultAgentLimit)
		}
		f := newFakeIO()
		bound[num] = f
		return f, nil
	}
	h1 := write(netem.AgentConfig{Seed: 4, Queues: []netem.AgentQueue{{Num: 1000, Impairment: netem.Impairment{Delay: time.Millisecond}}}})
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: cfgPath, StatusPath: stPath, Reload: reload, open: open})
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	// The test binary is not named replab-agent, so Check would call it
	// dead: read the status file directly.
	waitHash := func(want string) netem.AgentStatus {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if st, err := ReadStatus(stPath); err == nil && (st.ConfigSHA256 == want || st.FailedConfigSHA256 == want) {
				return st
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("status never reported config %.12s", want)
		return netem.AgentStatus{}
	}
	st := waitHash(h1)
	if st.PID != os.Getpid() || len(st.Queues) != 1 || st.Queues[0].Num != 1000 || st.Seed != 4 {
		t.Errorf("status %+v, want this pid, queue 1000, seed 4", st)
	}
	h2 := write(netem.AgentConfig{Seed: 4, Queues: []netem.AgentQueue{{Num: 1001, Impairment: netem.Impairment{Delay: time.Millisecond}}}})
	reload <- struct{}{}
	st = waitHash(h2)
	if len(st.Queues) != 1 || st.Queues[0].Num != 1001 {
		t.Errorf("after reload: queues %+v, want only 1001", st.Queues)
	}
	mu.Lock()
	select {
	case <-bound[1000].closed:
	default:
		t.Error("queue 1000 still bound after it left the config")
	}
	mu.Unlock()
	h3 := write(netem.AgentConfig{Queues: []netem.AgentQueue{{Num: 1, Impairment: netem.Impairment{Loss: 101}}}})
	reload <- struct{}{}
	st = waitHash(h3)
	if st.ConfigSHA256 != h2 || st.Error == "" {
		t.Errorf("bad config: status runs %.12s with error %q; want %.12s kept and an error", st.ConfigSHA256, st.Error, h2)
	}
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
	if _, err := os.Stat(stPath); !os.IsNotExist(err) {
		t.Errorf("status file left after a clean stop: %v", err)
	}
}

func mustQueue(t *testing.T, cfg netem.AgentQueue, io queueIO, base time.Time, log *slog.Logger) *queue {
	t.Helper()
	q, err := newQueue(cfg, io, base, log)
	if err != nil {
		t.Fatal(err)
	}
	return q
}
