package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/docker/docker/client"

	"github.com/replab/replab/topologies"
)

type ensureImageRequest struct {
	cli      *client.Client
	override string
	topo     *topologies.Topology
	log      *slog.Logger
}

// ensureImage returns the node image to run. TEMPORARY until nodeimage lands.
func ensureImage(ctx context.Context, r ensureImageRequest) (string, error) {
	ref := r.override
	if ref == "" {
		ref = r.topo.Engine.Image
	}
	if ref == "" {
		ref = os.Getenv("REPLAB_NODE_IMAGE")
	}
	if _, err := r.cli.ImageInspect(ctx, ref); err != nil {
		return "", fmt.Errorf("find image %q: %w", ref, err)
	}
	return ref, nil
}
