package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/replab/replab/netem"
)

// ProbeRequest configures ProbeNetemBackend.
type ProbeRequest struct {
	Image string       // node image; default replab's own, built if missing
	Log   *slog.Logger // progress of an image build (default: discard)
	// Engine to probe on (default: the first of REPLAB_DOCKER_HOSTS).
	// Engines on one machine share its kernel and answer alike.
	Engine string
}

// ProbeNetemBackend answers, without a lab, which backend network.backend:
// auto would choose on this machine: it starts a throwaway container of
// the node image (NET_ADMIN only, no network), runs netem.Probe in it (add
// and delete a netem qdisc on its loopback), and removes it. Suites call it
// while Ginkgo builds the spec tree, to label fidelity-sensitive specs with
// the backend before any lab exists. Containers share the machine's
// kernel, so the answer holds for every lab started here.
func ProbeNetemBackend(ctx context.Context, req ProbeRequest) (netem.Choice, error) {
	if req.Log == nil {
		req.Log = discardLogger()
	}
	engines, err := Engines()
	if err != nil {
		return netem.Choice{}, err
	}
	if req.Engine == "" {
		req.Engine = engines[0]
	}
	cli, err := ConnectEngine(ctx, req.Engine)
	if err != nil {
		return netem.Choice{}, err
	}
	defer cli.Close()
	image, err := ensureImage(ctx, ensureImageRequest{cli: cli, engine: req.Engine, peers: engines, override: req.Image, log: req.Log})
	if err != nil {
		return netem.Choice{}, err
	}
	id := "probe-" + newLabID()
	init := true
	created, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image: image, Cmd: []string{"sleep", "60"}, User: "root",
			Labels: map[string]string{
				LabelLab: id, LabelRole: "probe", LabelOwnerPID: strconv.Itoa(os.Getpid()),
				LabelCreated: time.Now().UTC().Format(time.RFC3339),
			},
		},
		&container.HostConfig{NetworkMode: "none", CapAdd: []string{"NET_ADMIN"}, Init: &init},
		nil, nil, "replab-"+id)
	if err != nil {
		return netem.Choice{}, fmt.Errorf("probe netem backend: create container: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = cli.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true})
	}()
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return netem.Choice{}, fmt.Errorf("probe netem backend: start container: %w", err)
	}
	c, err := netem.Probe(ctx, execRunner{cli: cli, id: created.ID, name: "the probe container"})
	if err != nil {
		return netem.Choice{}, fmt.Errorf("probe netem backend: %w", err)
	}
	return c, nil
}
