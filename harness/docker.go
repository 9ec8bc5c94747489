package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/replab/replab/internal/clock"
)

// Labels put on every container and network replab creates. LabelLab is the
// key `replab gc` and the before-stop checks look for.
const (
	LabelLab      = "replab.lab"
	LabelTopology = "replab.topology"
	LabelRole     = "replab.role" // etcd, node, proxy
	LabelNode     = "replab.node"
	LabelRegion   = "replab.region"
	LabelOwnerPID = "replab.pid"
	LabelCreated  = "replab.created"
)

// ErrDockerUnavailable is returned when the Docker engine cannot be reached.
var ErrDockerUnavailable = errors.New("docker engine not reachable")

var ryukOnce sync.Once

// disableRyuk turns off testcontainers' reaper from code: its image must be
// pulled from a registry, which a machine without registry access cannot
// do, and replab does its own cleanup (labels, Down, gc). The
// setting is read once by testcontainers, so this runs before any
// testcontainers call.
func disableRyuk() {
	ryukOnce.Do(func() { _ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") })
}

// Connect returns a Docker API client for the first engine of
// REPLAB_DOCKER_HOSTS (DOCKER_HOST, or the default socket, when unset)
// after checking it answers.
func Connect(ctx context.Context) (*client.Client, error) {
	engines, err := Engines()
	if err != nil {
		return nil, err
	}
	return ConnectEngine(ctx, engines[0])
}

func labFilter(labID string) filters.Args {
	if labID == "" {
		return filters.NewArgs(filters.Arg("label", LabelLab))
	}
	return filters.NewArgs(filters.Arg("label", LabelLab+"="+labID))
}

// Bounds of removeLab's waits. A container's removal is a synchronous call
// that the engine may still be finishing (it answers "removal in progress"):
// it is retried at removePoll until the container is gone or the context
// ends. A volume stays "in use" while a container mounts it, and a network
// keeps "active endpoints" likewise: that is retried for inUseWait only,
// because the user may be a container created after the container pass,
// which only the next pass removes.
const (
	removePoll = 100 * time.Millisecond
	inUseWait  = 3 * time.Second
	// removeRounds bounds how often removeLab starts over because
	// something labelled with the lab appeared while it was removing.
	removeRounds = 5
)

// removeLab removes every container, volume and network labelled with the
// lab id, in that order: containers first, waiting until each is really
// gone, since a volume cannot go while a container mounts it and a network
// cannot go while a container is attached to it. Not-found is success, so
// it is safe to call twice and after a partial Up.
//
// A container create whose request was cancelled (Ctrl-C, or a sibling's
// failure in Up) can still complete in the engine after the list was
// taken, so removeLab lists again after each pass and starts over until a
// pass finds nothing, at most removeRounds times.
func removeLab(ctx context.Context, cli *client.Client, labID string) error {
	var errs []error
	for round := 1; ; round++ {
		errs = errs[:0]
		errs = append(errs, removeContainers(ctx, cli, labID)...)
		errs = append(errs, removeVolumes(ctx, cli, labID)...)
		errs = append(errs, removeNetworks(ctx, cli, labID)...)
		left, err := labObjects(ctx, cli, labID)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(left) == 0 {
			return errors.Join(errs...)
		}
		if round == removeRounds || ctx.Err() != nil {
			return errors.Join(append(errs, fmt.Errorf("remove lab %s: still present after %d passes: %s", labID, round, strings.Join(left, ", ")))...)
		}
	}
}

// labObjects names what is left of a lab: its containers, volumes and
// networks.
func labObjects(ctx context.Context, cli *client.Client, labID string) ([]string, error) {
	var left []string
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(labID)})
	if err != nil {
		return nil, fmt.Errorf("list containers of lab %s: %w", labID, err)
	}
	for _, c := range ctrs {
		left = append(left, "container "+firstName(c.Names))
	}
	vols, err := labVolumes(ctx, cli, labID)
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		left = append(left, "volume "+v)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: labFilter(labID)})
	if err != nil {
		return nil, fmt.Errorf("list networks of lab %s: %w", labID, err)
	}
	for _, n := range nets {
		left = append(left, "network "+n.Name)
	}
	return left, nil
}

// removeContainers force-removes the lab's containers in parallel and
// returns once each is gone (inspect says not found).
func removeContainers(ctx context.Context, cli *client.Client, labID string) []error {
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(labID)})
	if err != nil {
		return []error{fmt.Errorf("list containers of lab %s: %w", labID, err)}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range ctrs {
		wg.Add(1)
		go func(id, name string) {
			defer wg.Done()
			if err := removeContainer(ctx, cli, id, name); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(c.ID, firstName(c.Names))
	}
	wg.Wait()
	return errs
}

// removeContainer removes one container and waits until the engine no
// longer knows it. A conflict means its removal is already under way (a
// concurrent Down, gc or kill); the wait covers it.
func removeContainer(ctx context.Context, cli *client.Client, id, name string) error {
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	for {
		_, err := cli.ContainerInspect(ctx, id)
		if errdefs.IsNotFound(err) {
			return nil
		}
		if err == nil && ctx.Err() == nil {
			// Still there: removal in progress, or a conflict that was
			// not one; asking again is harmless either way.
			err = cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
				return fmt.Errorf("remove container %s: %w", name, err)
			}
		}
		if err := clock.Sleep(ctx, removePoll); err != nil {
			return fmt.Errorf("wait for container %s to be removed: %w", name, err)
		}
	}
}

// labVolumes names the lab's volumes: those labelled with it, and those
// named after it (a data volume the engine made for a container create that
// completed after its request was cancelled carries no labels).
func labVolumes(ctx context.Context, cli *client.Client, labID string) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	args := []filters.Args{labFilter(labID)}
	if labID != "" {
		args = append(args, volumeNameFilter(labID))
	}
	for _, f := range args {
		vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			return nil, fmt.Errorf("list volumes of lab %s: %w", labID, err)
		}
		for _, v := range vols.Volumes {
			// The name filter matches substrings; keep only the lab's prefix.
			if v.Labels[LabelLab] == labID || strings.HasPrefix(v.Name, "replab-"+labID+"-") {
				if !seen[v.Name] {
					seen[v.Name] = true
					names = append(names, v.Name)
				}
			}
		}
	}
	return names, nil
}

func volumeNameFilter(labID string) filters.Args {
	return filters.NewArgs(filters.Arg("name", "replab-"+labID+"-"))
}

// removeVolumes removes the lab's volumes, retrying while the engine says
// one is in use.
func removeVolumes(ctx context.Context, cli *client.Client, labID string) []error {
	vols, err := labVolumes(ctx, cli, labID)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, v := range vols {
		if err := retryConflict(ctx, func() error { return cli.VolumeRemove(ctx, v, true) }); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v, err))
		}
	}
	return errs
}

// removeNetworks removes the lab's networks, retrying while the engine
// still counts an endpoint on one.
func removeNetworks(ctx context.Context, cli *client.Client, labID string) []error {
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: labFilter(labID)})
	if err != nil {
		return []error{fmt.Errorf("list networks of lab %s: %w", labID, err)}
	}
	var errs []error
	for _, n := range nets {
		if err := retryConflict(ctx, func() error { return cli.NetworkRemove(ctx, n.ID) }); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errs
}

// retryConflict calls remove until it succeeds, says not found, fails with
// something other than a conflict ("in use", "active endpoints"), or
// inUseWait or ctx ends; it returns the last conflict then.
func retryConflict(ctx context.Context, remove func() error) error {
	ctx, cancel := context.WithTimeout(ctx, inUseWait)
	defer cancel()
	for {
		err := remove()
		switch {
		case err == nil, errdefs.IsNotFound(err):
			return nil
		case !isInUse(err):
			return err
		}
		if serr := clock.Sleep(ctx, removePoll); serr != nil {
			return err
		}
	}
}

// isInUse reports whether the engine refused a removal because something
// still uses the object. Engines answer a volume in use with 409 Conflict;
// a network with active endpoints with 403 Forbidden (API 1.41) or 409.
func isInUse(err error) bool {
	if errdefs.IsConflict(err) {
		return true
	}
	msg := err.Error()
	return errdefs.IsForbidden(err) && (strings.Contains(msg, "active endpoints") || strings.Contains(msg, "in use"))
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	n := names[0]
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	return n
}

// GCReport says what GC found and removed.
type GCReport struct {
	Labs       []string // lab ids removed
	Containers int
	Networks   int
	Volumes    int
	Kept       []string // labs left alone because their owner is alive
	// KeptOwners is the owning process id (the replab.pid label) of each
	// lab in Kept.
	KeptOwners map[string]string
	// Owners is the owner label of every lab found, removed or kept.
	Owners map[string]string
	// LabEngines is the engine each lab found runs on.
	LabEngines map[string]string
	StateFiles int // state files of labs that no longer exist
}

// GCRequest selects what GC removes.
type GCRequest struct {
	// All removes every replab lab, even one whose owning process is alive
	// (a lab kept with --keep has no live owner and is always removed).
	All bool
	// Engines to collect on (default: Engines(), every engine listed).
	Engines []string
}

// GC removes what killed runs left behind on every engine: every
// container, network and volume labelled replab.lab whose owning process
// is gone (or all of them with All). It also removes the state files of
// labs that no longer exist. An unreachable engine is reported in the
// error and the others are still collected; a state file whose lab's
// engine was not collected (unreachable, or not listed) is kept, since
// its lab may still run there.
func GC(ctx context.Context, req GCRequest) (GCReport, error) {
	engines := req.Engines
	if len(engines) == 0 {
		var err error
		if engines, err = Engines(); err != nil {
			return GCReport{}, err
		}
	}
	rep := GCReport{Owners: map[string]string{}, LabEngines: map[string]string{}}
	var errs []error
	checked := map[string]bool{}
	for _, engine := range engines {
		cli, err := ConnectEngine(ctx, engine)
		if err != nil {
			errs = append(errs, fmt.Errorf("collect on %s: %w", engine, err))
			continue
		}
		err = gcEngine(ctx, cli, engine, req, &rep)
		_ = cli.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("collect on %s: %w", engine, err))
			continue
		}
		checked[engine] = true
	}
	// State files of labs with no container left (removed by hand, or by
	// a Docker reset) are garbage too: they hold only that lab's secrets.
	for _, id := range stateIDs() {
		if _, live := rep.Owners[id]; live || !checked[stateEngine(id)] {
			continue
		}
		removeState(id)
		rep.StateFiles++
	}
	return rep, errors.Join(errs...)
}

// gcEngine collects on one engine into rep.
func gcEngine(ctx context.Context, cli *client.Client, engine string, req GCRequest, rep *GCReport) error {
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter("")})
	if err != nil {
		return fmt.Errorf("list replab containers: %w", err)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: labFilter("")})
	if err != nil {
		return fmt.Errorf("list replab networks: %w", err)
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: labFilter("")})
	if err != nil {
		return fmt.Errorf("list replab volumes: %w", err)
	}
	// Each lab's owner and its count of containers, networks and volumes
	// (kind 0, 1, 2); a lab's owner is read from the first object found.
	owner := map[string]string{}
	count := map[string][3]int{}
	tally := func(labels map[string]string, kind int) {
		id := labels[LabelLab]
		if _, ok := owner[id]; !ok {
			owner[id] = labels[LabelOwnerPID]
		}
		n := count[id]
		n[kind]++
		count[id] = n
	}
	for _, c := range ctrs {
		tally(c.Labels, 0)
	}
	for _, nw := range nets {
		tally(nw.Labels, 1)
	}
	for _, v := range vols.Volumes {
		tally(v.Labels, 2)
	}
	var errs []error
	for id, pid := range owner {
		rep.Owners[id] = pid
		rep.LabEngines[id] = engine
		if !req.All && ownerAlive(pid) {
			rep.Kept = append(rep.Kept, id)
			if rep.KeptOwners == nil {
				rep.KeptOwners = map[string]string{}
			}
			rep.KeptOwners[id] = pid
			continue
		}
		if err := removeLab(ctx, cli, id); err != nil {
			errs = append(errs, err)
			continue
		}
		removeState(id)
		rep.Labs = append(rep.Labs, id)
		rep.Containers += count[id][0]
		rep.Networks += count[id][1]
		rep.Volumes += count[id][2]
	}
	return errors.Join(errs...)
}

// ownerKept is the owner label of a lab brought up with --keep: it outlives
// its process on purpose, and only `replab down` or `replab gc --all` removes it.
const ownerKept = "kept"

// ownerAlive reports whether the process that created a lab still runs.
func ownerAlive(pid string) bool {
	if pid == ownerKept {
		return true
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 || n == os.Getpid() {
		return false
	}
	_, err = os.Stat("/proc/" + strconv.Itoa(n))
	return err == nil
}
