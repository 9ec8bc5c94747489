package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/replab/replab/netem"
	"golang.org/x/sys/unix"
)

// HeartbeatInterval is how often the agent rewrites its status file.
const HeartbeatInterval = time.Second

// Options configure Run.
type Options struct {
	// ConfigPath is the JSON netem.AgentConfig to run; read at start and on
	// every Reload.
	ConfigPath string
	// StatusPath is where the heartbeat (netem.AgentStatus) is written;
	// Run removes it on a clean exit.
	StatusPath string
	// Reload receives a value when the config file should be read again
	// (SIGHUP in cmd/replab-agent).
	Reload <-chan struct{}
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Priority is applied at start; what the kernel refuses is logged and
	// reported in the status, and the agent runs on without it.
	Priority Priority
	// open binds a queue; nil means the real netlink socket. For tests.
	open func(num uint16, maxLen uint32) (queueIO, error)
}

type agent struct {
	o       Options
	log     *slog.Logger
	base    time.Time
	started time.Time
	binHash string
	prioErr string
	seed    int64
	cfgHash string
	queues  map[uint16]*queue
	// failed is the hash of the last config that could not be applied.
	failedHash, failedErr string
}

// Run binds the configured queues and holds, drops and paces their packets
// until ctx is done; then it releases every held packet, unbinds and
// returns nil. A config that cannot be applied at start is an error; one
// that fails on Reload is reported in the status and the previous config
// stays in force.
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.open == nil {
		o.open = func(num uint16, maxLen uint32) (queueIO, error) { return openQueue(num, maxLen) }
	}
	a := &agent{o: o, log: o.Log, base: time.Now(), started: time.Now(), queues: map[uint16]*queue{}}
	if st, err := ReadStatus(o.StatusPath); err == nil && st.PID != os.Getpid() && processAlive(st.PID) && isAgent(st.PID) {
		return fmt.Errorf("start agent: another replab-agent (pid %d) runs with status file %s; stop it first (replab-agent stop)", st.PID, o.StatusPath)
	}
	if exe, err := os.Executable(); err == nil {
		if b, err := os.ReadFile(exe); err == nil {
			a.binHash = netem.Hash(b)
		}
	}
	// A socket asking for receive timestamps makes the kernel stamp every
	// packet it receives (a global switch, cheap), and the queues then
	// count holds from the stamp: see queue.
	if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			a.log.Warn("no receive timestamps: holds count from when the agent reads a packet", "err", err)
		}
		defer unix.Close(fd)
	}
	if err := raisePriority(o.Priority); err != nil {
		a.prioErr = err.Error()
		a.log.Warn("running at a lower scheduling priority than asked: releases may be late on a busy machine", "nice", o.Priority.Nice, "slice", o.Priority.Slice, "err", err)
	}
	if err := a.load(); err != nil {
		a.stopAll()
		return err
	}
	a.writeStatus()
	nice, slice := currentPriority()
	a.log.Info("replab-agent running", "pid", os.Getpid(), "queues", len(a.queues), "seed", a.seed, "config_sha256", a.cfgHash, "nice", nice, "slice", slice)
	tick := time.NewTicker(HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			a.stopAll()
			os.Remove(o.StatusPath)
			a.log.Info("replab-agent stopped")
			return nil
		case <-o.Reload:
			if err := a.load(); err != nil {
				a.log.Error("reload failed; previous config stays in force", "err", err)
			} else {
				a.log.Info("config reloaded", "queues", len(a.queues), "seed", a.seed, "config_sha256", a.cfgHash)
			}
			a.writeStatus()
		case <-tick.C:
			a.writeStatus()
		}
	}
}

// load reads the config file and makes the running queues match it:
// new queues are bound, changed ones updated in place (held packets keep
// their release times), removed ones drained and unbound.
func (a *agent) load() error {
	data, err := os.ReadFile(a.o.ConfigPath)
	if err != nil {
		return a.fail("", fmt.Errorf("read config: %w", err))
	}
	hash := netem.Hash(data)
	var cfg netem.AgentConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return a.fail(hash, fmt.Errorf("decode config %s: %w", a.o.ConfigPath, err))
	}
	if err := cfg.Validate(); err != nil {
		return a.fail(hash, fmt.Errorf("config %s: %w", a.o.ConfigPath, err))
	}
	var opened []*queue
	for _, qc := range cfg.Queues {
		if _, ok := a.queues[qc.Num]; ok {
			continue
		}
		limit := qc.Limit
		if limit <= 0 {
			limit = netem.DefaultAgentLimit
		}
		io, err := a.o.open(qc.Num, uint32(min(2*limit, 1<<22)))
		var q *queue
		if err == nil {
			if q, err = newQueue(qc, io, a.base, a.log); err != nil {
				io.close()
			}
		}
		if err != nil {
			for _, q := range opened {
				delete(a.queues, q.num)
			}
			stopQueues(opened)
			return a.fail(hash, err)
		}
		q.start(cfg.Seed)
		a.queues[qc.Num] = q
		opened = append(opened, q)
	}
	var gone []*queue
	for num, q := range a.queues {
		i := slices.IndexFunc(cfg.Queues, func(qc netem.AgentQueue) bool { return qc.Num == num })
		switch {
		case i < 0:
			gone = append(gone, q)
			delete(a.queues, num)
		case !slices.Contains(opened, q):
			q.update(cfg.Queues[i], cfg.Seed)
		}
	}
	stopQueues(gone)
	a.seed, a.cfgHash = cfg.Seed, hash
	a.failedHash, a.failedErr = "", ""
	return nil
}

func (a *agent) fail(hash string, err error) error {
	a.failedHash, a.failedErr = hash, err.Error()
	return err
}

func (a *agent) stopAll() {
	var all []*queue
	for num, q := range a.queues {
		all = append(all, q)
		delete(a.queues, num)
	}
	stopQueues(all)
}

// stopQueues stops queues in parallel: each drains for drainGrace.
func stopQueues(qs []*queue) {
	var wg sync.WaitGroup
	for _, q := range qs {
		wg.Go(q.stop)
	}
	wg.Wait()
}

func (a *agent) writeStatus() {
	st := netem.AgentStatus{
		PID: os.Getpid(), BinarySHA256: a.binHash, ConfigSHA256: a.cfgHash, Seed: a.seed,
		Started: a.started, Heartbeat: time.Now(),
		FailedConfigSHA256: a.failedHash, Error: a.failedErr,
		Queues:        []netem.AgentQueueStatus{},
		PriorityError: a.prioErr,
	}
	nice, slice := currentPriority()
	st.Nice, st.SliceUS = nice, float64(slice)/1e3
	for _, q := range a.queues {
		st.Queues = append(st.Queues, q.status())
	}
	slices.SortFunc(st.Queues, func(x, y netem.AgentQueueStatus) int { return int(x.Num) - int(y.Num) })
	if err := writeStatusFile(a.o.StatusPath, st); err != nil {
		a.log.Error("write status", "err", err)
	}
}

func writeStatusFile(path string, st netem.AgentStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ErrNotRunning is returned by status checks when no live agent owns the
// status file.
var ErrNotRunning = errors.New("replab-agent is not running")
