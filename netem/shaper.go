package netem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"
)

// Runner runs a command inside a node's network namespace (docker exec in
// practice, "ip netns exec" in tests) and returns its standard output. A
// failed command's error must carry its stderr: netem reads it to say what
// went wrong ("Specified qdisc kind is unknown", "Operation not
// permitted", "executable file not found").
type Runner interface {
	Run(ctx context.Context, argv []string) (stdout []byte, err error)
}

// Host is a node as the userspace backend needs it: a Runner that can also
// copy a file in (creating parent directories) and start a long-running
// command detached (docker exec -d). The kernel backend uses only Run.
type Host interface {
	Runner
	CopyFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	Start(ctx context.Context, argv []string) error
}

// Backend names how impairments are applied.
type Backend string

const (
	// Auto probes the node at the first Apply: Kernel where sch_netem
	// works, else Userspace.
	Auto Backend = "auto"
	// Kernel uses tc netem on the node's egress.
	Kernel Backend = "kernel"
	// Userspace uses iptables NFQUEUE rules on the node's INPUT path and
	// replab-agent, for kernels without sch_netem.
	Userspace Backend = "userspace"
)

// HoldsIngress reports whether the backend holds a Rule's packets when they
// arrive from the peers (userspace) rather than when they leave for them
// (kernel). See Plan; the userspace backend holds ICMP when it leaves, as
// the kernel backend does (see PlanUserspace).
func (b Backend) HoldsIngress() bool { return b == Userspace }

// Option configures a Shaper.
type Option func(*Shaper)

// WithDevice names the device the kernel backend shapes; default "eth0".
func WithDevice(dev string) Option { return func(s *Shaper) { s.dev = dev } }

// WithAgent names the replab-agent binary (on the machine running replab)
// that the userspace backend copies into nodes; see BuildAgent. Without it
// the userspace backend fails with ErrNoAgent.
func WithAgent(path string) Option { return func(s *Shaper) { s.agent = path } }

// WithAgentDir sets the directory inside the node that holds the agent, its
// config, status and log; default DefaultAgentDir. Reset removes it.
func WithAgentDir(dir string) Option { return func(s *Shaper) { s.agentDir = dir } }

// WithAgentPriority sets the scheduling priority the userspace agent asks
// for when it starts: a niceness (negative needs CAP_SYS_NICE in the node;
// refused, the agent runs on at its own and says so in its status) and an
// EEVDF time slice (Linux 6.12+, no capability; 0 for the kernel's
// default). Default: nice 0 and the default slice.
func WithAgentPriority(nice int, slice time.Duration) Option {
	return func(s *Shaper) { s.agentNice, s.agentSlice = nice, slice }
}

// WithFreshNode says the node has never been shaped (a container just
// created): the userspace backend's first Apply then writes the agent's
// config, starts it and installs the rules in one call on the node,
// instead of reading the node's state first and doing each step in a call
// of its own. Each call into a container is an exec, which costs the
// engine a good part of a CPU second on a small machine: bringing up a lab
// of nine hosts spent most of its WAN phase in them. Without the option,
// or after the first Apply, a Shaper reads the node before it changes it.
func WithFreshNode() Option { return func(s *Shaper) { s.fresh = true } }

// WithLogger sets the logger; default slog.Default(). Records carry the
// backend; add the run id and node with logger.With.
func WithLogger(l *slog.Logger) Option { return func(s *Shaper) { s.log = l } }

// DefaultAgentDir is where the agent lives inside a node.
const DefaultAgentDir = "/run/replab-netem"

// Shaper applies plans to one node. Its methods are safe for concurrent use
// and run one at a time.
type Shaper struct {
	host     Host
	dev      string
	agent    string
	agentDir string
	log      *slog.Logger
	// agentNice and agentSlice: see WithAgentPriority.
	agentNice  int
	agentSlice time.Duration
	fresh      bool // see WithFreshNode

	mu      sync.Mutex
	backend Backend
	reason  string
	impl    interface {
		apply(context.Context, Plan) error
		reset(context.Context) error
		alive(context.Context) error
		verify(context.Context, Plan) error
	}
}

// NewShaper returns a shaper for the node behind host. With Auto the
// backend is chosen by Probe at the first Apply.
func NewShaper(backend Backend, host Host, opts ...Option) *Shaper {
	s := &Shaper{host: host, dev: "eth0", agentDir: DefaultAgentDir, backend: backend, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Backend returns the backend in use: Auto until the first Apply resolved it.
func (s *Shaper) Backend() Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend
}

// Reason says why Auto chose the backend it did ("" before it chose).
func (s *Shaper) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

func (s *Shaper) resolve(ctx context.Context) error {
	if s.impl != nil {
		return nil
	}
	if s.backend == Auto {
		c, err := Probe(ctx, s.host)
		if err != nil {
			return err
		}
		s.backend, s.reason = c.Backend, c.Reason
		s.log.InfoContext(ctx, "netem backend chosen", "backend", c.Backend, "reason", c.Reason)
	}
	log := s.log.With("netem_backend", string(s.backend))
	switch s.backend {
	case Kernel:
		s.impl = &kernelShaper{run: s.host, dev: s.dev}
	case Userspace:
		s.impl = &userspaceShaper{host: s.host, dir: s.agentDir, binPath: s.agent, log: log, nice: s.agentNice, slice: s.agentSlice, fresh: s.fresh}
	default:
		return fmt.Errorf("%w: unknown netem backend %q: want kernel, userspace or auto", ErrInvalidPlan, s.backend)
	}
	return nil
}

// Prepare does ahead of time what the first Apply would do before it
// can impair anything: it resolves the backend and, for the userspace
// backend, copies the agent into the node. A fault whose begin and end
// stamps bound its Apply then spans milliseconds, not the seconds a copy
// through the container runtime takes. It changes no rule and starts
// nothing; Apply without it still works.
func (s *Shaper) Prepare(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.resolve(ctx); err != nil {
		return fmt.Errorf("prepare netem: %w", err)
	}
	if u, ok := s.impl.(*userspaceShaper); ok {
		if err := u.prepare(ctx); err != nil {
			return fmt.Errorf("prepare netem (userspace backend): %w", err)
		}
	}
	return nil
}

// Apply makes p the node's impairments, replacing the previous plan.
// Applying the plan this Shaper applied last is a no-op; a new Shaper's
// first Apply replaces whatever replab left on the node. A plan that only
// changes impairments (not peers) is changed in place, so traffic is never
// left unimpaired in between.
func (s *Shaper) Apply(ctx context.Context, p Plan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.resolve(ctx); err != nil {
		return fmt.Errorf("apply netem plan: %w", err)
	}
	if err := s.impl.apply(ctx, p); err != nil {
		return fmt.Errorf("apply netem plan (%s backend): %w", s.backend, err)
	}
	return nil
}

// Reset removes everything replab added to the node: the qdisc tree, or
// the firewall chain, the agent and its directory. What is already gone
// counts as removed, so Reset is safe on a fresh node and after a crash. It
// runs to the end even when ctx is cancelled (cleanup must not be skipped),
// and works with any backend, even before an Apply.
func (s *Shaper) Reset(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.impl != nil {
		return s.impl.reset(ctx)
	}
	// Never applied here: clean both backends' leftovers.
	k := &kernelShaper{run: s.host, dev: s.dev}
	u := &userspaceShaper{host: s.host, dir: s.agentDir, log: s.log}
	return errors.Join(k.reset(ctx), u.reset(ctx))
}

// Alive checks that the last plan applied is still in force: the qdisc
// tree is there, or the agent's heartbeat is fresh and it runs the plan's
// config. It returns an error wrapping ErrImpairmentLost when not: the
// harness must then report the impairment as lost, not carry on.
func (s *Shaper) Alive(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.impl == nil {
		return nil
	}
	return s.impl.alive(ctx)
}

// Verify checks, by reading the node, that it holds exactly plan p: for
// the kernel backend replab's root qdisc with one netem per peer group
// (or no tree when p impairs nothing); for the userspace backend each of
// replab's chains with p's rules and one jump to it (or no chain), and an
// agent running p's config (or none). Suites call it after each spec with
// the baseline plan: a degradation that outlived its fault, or a rule
// left by hand, is an error wrapping ErrPlanDiffers. A Shaper that never
// applied a plan has nothing to compare and checks nothing.
func (s *Shaper) Verify(ctx context.Context, p Plan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.impl == nil {
		return nil
	}
	if err := s.impl.verify(ctx, p); err != nil {
		return fmt.Errorf("verify netem plan (%s backend): %w", s.backend, err)
	}
	return nil
}

// AgentStatus returns the counters of the node's userspace agent (see
// AgentQueueStatus). ok is false when there is no agent to ask: the kernel
// backend, or a plan with no queue.
func (s *Shaper) AgentStatus(ctx context.Context) (st AgentStatus, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, isUser := s.impl.(*userspaceShaper)
	if !isUser || u.applied == nil || len(u.applied.Agent.Queues) == 0 {
		return AgentStatus{}, false, nil
	}
	st, err = u.status(ctx)
	if err != nil {
		return AgentStatus{}, false, fmt.Errorf("read agent status: %w", err)
	}
	return st, true, nil
}

// Choice is Probe's answer: the backend to use and why.
type Choice struct {
	Backend Backend
	Reason  string
}

// Probe chooses the backend for Auto by adding a netem qdisc on the
// node's loopback device and deleting it again: Kernel if that works,
// Userspace if the kernel lacks sch_netem or the node lacks tc. Other
// failures (no CAP_NET_ADMIN) are errors: neither backend would work.
func Probe(ctx context.Context, r Runner) (Choice, error) {
	add := Command{"tc", "qdisc", "add", "dev", "lo", "root", "handle", "ffe1:", "netem", "delay", "1ms"}
	_, err := r.Run(ctx, add)
	if err == nil {
		del := Command{"tc", "qdisc", "del", "dev", "lo", "root", "handle", "ffe1:"}
		if _, err := r.Run(context.WithoutCancel(ctx), del); err != nil && !isNotFound(err) {
			return Choice{}, fmt.Errorf("probe kernel netem: remove probe qdisc from lo: %w", commandError(del, err))
		}
		return Choice{Backend: Kernel, Reason: "sch_netem works: a probe netem qdisc was added to lo and removed"}, nil
	}
	cerr := commandError(add, err)
	switch {
	case errors.Is(cerr, ErrKernelNetemUnavailable):
		return Choice{Backend: Userspace, Reason: `this kernel lacks sch_netem (CONFIG_NET_SCH_NETEM): tc says "Specified qdisc kind is unknown"`}, nil
	case errors.Is(cerr, ErrToolMissing):
		return Choice{Backend: Userspace, Reason: "tc is not installed in the node"}, nil
	}
	return Choice{}, fmt.Errorf("probe kernel netem: %w", cerr)
}
