package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/replab/replab/netem"
	"github.com/replab/replab/topologies"
)

// labState is what another replab process needs to reach a running lab
// (`replab status`, `replab down`, `replab chaos`): the resolved topology,
// the address plan and the per-lab credentials. It is written 0600 under the
// user's state directory and removed with the lab.
type labState struct {
	ID string `json:"id"`
	// Engine is the Docker engine the lab runs on (a REPLAB_DOCKER_HOSTS
	// entry); empty in state files written before labs had one, which
	// ran on the default engine.
	Engine   string               `json:"engine,omitempty"`
	Topology *topologies.Topology `json:"topology"`
	Subnet   string               `json:"subnet"`
	Image    string               `json:"image"`
	Creds    Credentials          `json:"credentials"`
	Backend  string               `json:"netem_backend,omitempty"`
	Reason   string               `json:"netem_reason,omitempty"`
	Agent    string               `json:"netem_agent,omitempty"`
}

// StateDir is where lab state files live: $REPLAB_STATE_DIR, else
// $XDG_STATE_HOME/replab, else ~/.local/state/replab.
func StateDir() string {
	if d := os.Getenv("REPLAB_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "replab")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "replab-state")
	}
	return filepath.Join(home, ".local", "state", "replab")
}

func statePath(id string) string { return filepath.Join(StateDir(), "labs", id+".json") }

func (l *Lab) state() labState {
	l.wan.mu.Lock()
	defer l.wan.mu.Unlock()
	return labState{ID: l.id, Engine: l.engine, Topology: l.topo, Subnet: l.plan.Subnet.String(), Image: l.image, Creds: l.creds,
		Backend: string(l.wan.backend), Reason: l.wan.reason, Agent: l.wan.agent}
}

func saveState(s labState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lab state: %w", err)
	}
	p := statePath(s.ID)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("save lab state: %w", err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("save lab state: %w", err)
	}
	return nil
}

func removeState(id string) { _ = os.Remove(statePath(id)) }

// stateEngine is the engine a lab's state file names: DefaultEngine() for
// a file without one, "" for one that cannot be read (whose lab GC then
// never counts as gone).
func stateEngine(id string) string {
	b, err := os.ReadFile(statePath(id))
	if err != nil {
		return ""
	}
	var s labState
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	if s.Engine == "" {
		return DefaultEngine()
	}
	return s.Engine
}

// stateIDs lists the lab ids that have a state file.
func stateIDs() []string {
	ents, err := os.ReadDir(filepath.Join(StateDir(), "labs"))
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			ids = append(ids, id)
		}
	}
	return ids
}

// ErrNoLab is returned by Attach when no running lab matches.
var ErrNoLab = errors.New("no running replab lab")

// Attach returns a handle on a lab started by another replab process (or
// kept with --keep), on whichever engine of REPLAB_DOCKER_HOSTS it runs.
// With an empty id it picks the only running lab, and fails with the list
// when there are several. The handle's Down removes the lab.
func Attach(ctx context.Context, id string) (*Lab, error) {
	engines, err := Engines()
	if err != nil {
		return nil, err
	}
	// Each lab's engine and containers; engines that do not answer are
	// reported only when no lab is found elsewhere.
	type hit struct {
		engine string
		c      container.Summary
	}
	labs := map[string]string{}
	var hits []hit
	var unreachable []error
	for _, engine := range engines {
		cli, err := ConnectEngine(ctx, engine)
		if err != nil {
			unreachable = append(unreachable, err)
			continue
		}
		found, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(id)})
		_ = cli.Close()
		if err != nil {
			return nil, fmt.Errorf("list replab containers on %s: %w", engine, err)
		}
		for _, c := range found {
			labs[c.Labels[LabelLab]] = engine
			hits = append(hits, hit{engine, c})
		}
	}
	if len(labs) == 0 {
		if len(unreachable) > 0 {
			return nil, errors.Join(append([]error{fmt.Errorf("%w on the engines that answered", ErrNoLab)}, unreachable...)...)
		}
		if id != "" {
			return nil, fmt.Errorf("%w with id %s (replab up starts one)", ErrNoLab, id)
		}
		return nil, fmt.Errorf("%w (replab up starts one)", ErrNoLab)
	}
	if len(labs) > 1 {
		var ids []string
		for k, e := range labs {
			ids = append(ids, k+" on "+e)
		}
		sort.Strings(ids)
		return nil, fmt.Errorf("attach lab: %d labs are running (%s): name one with --lab", len(ids), strings.Join(ids, ", "))
	}
	for k := range labs {
		id = k
	}
	engine := labs[id]
	b, err := os.ReadFile(statePath(id))
	if err != nil {
		return nil, fmt.Errorf("attach lab %s: read its state file: %w (a lab whose state is gone can only be removed: replab gc --all)", id, err)
	}
	var s labState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("attach lab %s: decode %s: %w", id, statePath(id), err)
	}
	subnet, err := netip.ParsePrefix(s.Subnet)
	if err != nil {
		return nil, fmt.Errorf("attach lab %s: subnet %q: %w", id, s.Subnet, err)
	}
	cli, err := ConnectEngine(ctx, engine)
	if err != nil {
		return nil, fmt.Errorf("attach lab %s: %w", id, err)
	}
	l := &Lab{id: id, engine: engine, topo: s.Topology, cli: cli, creds: s.Creds, image: s.Image, log: discardLogger(), http: newHTTPClient(), ports: map[string]map[int]int{}, ids: map[string]string{}}
	l.wan.backend, l.wan.reason, l.wan.agent = netem.Backend(s.Backend), s.Reason, s.Agent
	l.wan.shapers = map[string]*netem.Shaper{}
	if l.plan, err = newPlan(id, s.Topology, subnet); err != nil {
		_ = cli.Close()
		return nil, err
	}
	for _, h := range hits {
		if h.engine == engine && h.c.Labels[LabelLab] == id {
			l.ids[h.c.Labels[LabelNode]] = h.c.ID
		}
	}
	// A stopped (killed) container publishes no ports; Start re-reads them
	// when it runs again.
	for name := range l.ids {
		if err := l.refreshPorts(ctx, name); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("attach lab %s: %w", id, err)
		}
	}
	return l, nil
}
