package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/replab/replab/harness/nodeimage"
	"github.com/replab/replab/topologies"
)

type ensureImageRequest struct {
	cli      *client.Client
	engine   string   // the engine cli talks to
	peers    []string // engines to copy a missing image from
	override string
	topo     *topologies.Topology
	log      *slog.Logger
}

// ensureImage returns the node image to run on the request's engine: an
// explicit override, the topology's engine.image (which must exist on
// some engine of REPLAB_DOCKER_HOSTS), or replab's own image, built from
// Debian packages the first time. An image the engine lacks but another
// listed engine has is copied from there (ImageSave into ImageLoad):
// about ten seconds, where a build takes one to two minutes.
func ensureImage(ctx context.Context, r ensureImageRequest) (string, error) {
	img, err := ensureNodeImage(ctx, r)
	return img.Ref, err
}

// ensureNodeImage is ensureImage with what else replab knows of the image
// (its initdb template).
func ensureNodeImage(ctx context.Context, r ensureImageRequest) (nodeimage.Image, error) {
	ref := r.override
	if ref == "" && r.topo != nil {
		ref = r.topo.Engine.Image
	}
	if err := copyFromPeer(ctx, r.cli, r.engine, r.peers, ref, r.log); err != nil {
		return nodeimage.Image{}, err
	}
	return nodeimage.Ensure(ctx, nodeimage.EnsureRequest{
		Docker:   r.cli,
		Image:    ref,
		Progress: func(line string) { r.log.Info(line) },
	})
}

// wantedImage is the reference to look for and, for replab's own image,
// the recipe hash its label must carry (an image under the tag built from
// another recipe does not count).
func wantedImage(ref string) (tag, hash string) {
	if ref != "" {
		return ref, ""
	}
	spec := nodeimage.Recipe()
	return spec.Tag(), spec.Hash()
}

// hasImage reports whether the engine holds tag (carrying hash, when set).
func hasImage(ctx context.Context, cli *client.Client, tag, hash string) (bool, error) {
	insp, err := cli.ImageInspect(ctx, tag)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect image %s: %w", tag, err)
	}
	if hash == "" {
		return true, nil
	}
	return insp.Config != nil && insp.Config.Labels[nodeimage.LabelRecipe] == hash, nil
}

// copyFromPeer loads the image ref (replab's own when empty) into the
// engine when it lacks it and one of peers has it. Finding it nowhere is no error: nodeimage.Ensure then builds it, or
// says how to provide a user image. A lock per target engine keeps two
// processes from loading the same image into it at once; an unreachable
// peer is skipped.
func copyFromPeer(ctx context.Context, cli *client.Client, engine string, peers []string, ref string, log *slog.Logger) error {
	tag, hash := wantedImage(ref)
	if ok, err := hasImage(ctx, cli, tag, hash); err != nil || ok {
		return err
	}
	unlock, err := flock(ctx, engineLockPath("image", engine), func() {
		log.Info("another replab process is loading an image into this engine; waiting for it", "engine", engine)
	})
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := hasImage(ctx, cli, tag, hash); err != nil || ok {
		return err
	}
	for _, peer := range peers {
		if peer == engine {
			continue
		}
		from, err := ConnectEngine(ctx, peer)
		if err != nil {
			log.Info("skipping an unreachable engine as an image source", "engine", peer, "error", err)
			continue
		}
		if ok, err := hasImage(ctx, from, tag, hash); err != nil || !ok {
			_ = from.Close()
			continue
		}
		err = copyImage(ctx, from, cli, tag, peer, engine, log)
		_ = from.Close()
		return err
	}
	return nil
}

// copyImage streams tag from one engine into another, as `docker save |
// docker -H … load` does, without a file in between. replab's own image
// also carries nodeimage.LatestTag on the target when the source has it
// on the same image.
func copyImage(ctx context.Context, from, to *client.Client, tag, fromEngine, toEngine string, log *slog.Logger) error {
	start := time.Now()
	log.Info("loading the node image from another engine", "image", tag, "from", fromEngine, "into", toEngine)
	refs := []string{tag}
	if src, err := from.ImageInspect(ctx, tag); err == nil {
		if latest, err := from.ImageInspect(ctx, nodeimage.LatestTag); err == nil && latest.ID == src.ID && tag != nodeimage.LatestTag {
			refs = append(refs, nodeimage.LatestTag)
		}
	}
	rc, err := from.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save image %s from %s: %w", tag, fromEngine, err)
	}
	defer rc.Close()
	resp, err := to.ImageLoad(ctx, rc, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load image %s into %s: %w", tag, toEngine, err)
	}
	defer resp.Body.Close()
	if err := loadError(resp.Body); err != nil {
		return fmt.Errorf("load image %s into %s: %w", tag, toEngine, err)
	}
	log.Info("node image loaded", "image", tag, "into", toEngine, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loadError reads an image load's JSON message stream to its end and
// returns the first error it reports: the engine answers 200 and reports
// a failed load in the stream.
func loadError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read load progress: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// ImageRequest configures EnsureImage.
type ImageRequest struct {
	Log *slog.Logger // progress lines (default: discard)
	// Engines to make the image available on (default: Engines()).
	Engines []string
}

// ImageInfo describes the node image EnsureImage found or built.
type ImageInfo = nodeimage.Image

// EnsureImage makes replab's node image available on every engine
// (`replab images`): it is built once, on the first engine that lacks it
// when no engine has it, and loaded from there into the others. The
// result describes the image on the first engine.
func EnsureImage(ctx context.Context, req ImageRequest) (ImageInfo, error) {
	if req.Log == nil {
		req.Log = discardLogger()
	}
	engines := req.Engines
	if len(engines) == 0 {
		var err error
		if engines, err = Engines(); err != nil {
			return ImageInfo{}, err
		}
	}
	var first ImageInfo
	for i, engine := range engines {
		img, err := ensureImageOn(ctx, engine, engines, req.Log)
		if err != nil {
			return ImageInfo{}, err
		}
		if i == 0 {
			first = img
		}
	}
	return first, nil
}

func ensureImageOn(ctx context.Context, engine string, peers []string, log *slog.Logger) (ImageInfo, error) {
	cli, err := ConnectEngine(ctx, engine)
	if err != nil {
		return ImageInfo{}, err
	}
	defer cli.Close()
	if err := copyFromPeer(ctx, cli, engine, peers, "", log); err != nil {
		return ImageInfo{}, err
	}
	return nodeimage.Ensure(ctx, nodeimage.EnsureRequest{Docker: cli, Progress: func(line string) { log.Info(line) }})
}
