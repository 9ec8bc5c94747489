package harness

import (
	"context"
	"log/slog"

	"github.com/docker/docker/client"

	"github.com/replab/replab/harness/nodeimage"
	"github.com/replab/replab/topologies"
)

type ensureImageRequest struct {
	cli      *client.Client
	override string
	topo     *topologies.Topology
	log      *slog.Logger
}

// ensureImage returns the node image to run: an explicit override, the
// topology's engine.image (which must exist locally), or replab's own image,
// built from Debian packages the first time.
func ensureImage(ctx context.Context, r ensureImageRequest) (string, error) {
	ref := r.override
	if ref == "" && r.topo != nil {
		ref = r.topo.Engine.Image
	}
	img, err := nodeimage.Ensure(ctx, nodeimage.EnsureRequest{
		Docker:   r.cli,
		Image:    ref,
		Progress: func(line string) { r.log.Info(line) },
	})
	if err != nil {
		return "", err
	}
	return img.Ref, nil
}

// ImageRequest configures EnsureImage.
type ImageRequest struct {
	Log *slog.Logger // progress lines (default: discard)
}

// ImageInfo describes the node image EnsureImage found or built.
type ImageInfo = nodeimage.Image

// EnsureImage builds replab's node image if it is missing (`replab images`).
func EnsureImage(ctx context.Context, req ImageRequest) (ImageInfo, error) {
	if req.Log == nil {
		req.Log = discardLogger()
	}
	cli, err := Connect(ctx)
	if err != nil {
		return ImageInfo{}, err
	}
	defer cli.Close()
	return nodeimage.Ensure(ctx, nodeimage.EnsureRequest{Docker: cli, Progress: func(line string) { req.Log.Info(line) }})
}
