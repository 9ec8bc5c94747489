package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
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

// disableRyuk turns off testcontainers' reaper from code: its image cannot be
// pulled here, and replab does its own cleanup (labels, Down, gc). The
// setting is read once by testcontainers, so this runs before any
// testcontainers call.
func disableRyuk() {
	ryukOnce.Do(func() { _ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") })
}

// Connect returns a Docker API client after checking the engine answers.
func Connect(ctx context.Context) (*client.Client, error) {
	disableRyuk()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDockerUnavailable, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: is Docker running? Start it (systemctl start docker, or open Docker Desktop) and check `docker info` works: %v", ErrDockerUnavailable, cli.DaemonHost(), err)
	}
	return cli, nil
}

func labFilter(labID string) filters.Args {
	if labID == "" {
		return filters.NewArgs(filters.Arg("label", LabelLab))
	}
	return filters.NewArgs(filters.Arg("label", LabelLab+"="+labID))
}

// removeLab force-removes every container, network and volume labelled
// with the lab id, containers in parallel. Not-found is success, so it is safe to call twice and
// after a partial Up.
func removeLab(ctx context.Context, cli *client.Client, labID string) error {
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter(labID)})
	if err != nil {
		return fmt.Errorf("list containers of lab %s: %w", labID, err)
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
			err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !errdefs.IsNotFound(err) && !isRemovalInProgress(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
				mu.Unlock()
			}
		}(c.ID, firstName(c.Names))
	}
	wg.Wait()
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: labFilter(labID)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks of lab %s: %w", labID, err))...)
	}
	for _, n := range nets {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: labFilter(labID)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list volumes of lab %s: %w", labID, err))...)
	}
	for _, v := range vols.Volumes {
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

func isRemovalInProgress(err error) bool {
	return err != nil && errdefs.IsConflict(err)
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
	StateFiles int      // state files of labs that no longer exist
}

// GCRequest selects what GC removes.
type GCRequest struct {
	// All removes every replab lab, even one whose owning process is alive
	// (a lab kept with --keep has no live owner and is always removed).
	All bool
}

// GC removes what killed runs left behind: every container, network and
// volume labelled replab.lab whose owning process is gone (or all of them with
// All). It also removes lab state files.
func GC(ctx context.Context, req GCRequest) (GCReport, error) {
	cli, err := Connect(ctx)
	if err != nil {
		return GCReport{}, err
	}
	defer cli.Close()
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labFilter("")})
	if err != nil {
		return GCReport{}, fmt.Errorf("list replab containers: %w", err)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: labFilter("")})
	if err != nil {
		return GCReport{}, fmt.Errorf("list replab networks: %w", err)
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: labFilter("")})
	if err != nil {
		return GCReport{}, fmt.Errorf("list replab volumes: %w", err)
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
	var rep GCReport
	var errs []error
	for id, pid := range owner {
		if !req.All && ownerAlive(pid) {
			rep.Kept = append(rep.Kept, id)
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
	// State files of labs with no container left (removed by hand, or by
	// a Docker reset) are garbage too: they hold only that lab's secrets.
	for _, id := range stateIDs() {
		if _, live := owner[id]; !live {
			removeState(id)
			rep.StateFiles++
		}
	}
	return rep, errors.Join(errs...)
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
