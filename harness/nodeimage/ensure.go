package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Sentinel errors callers branch on. Every error Ensure returns that wraps
// one of them also says, in words, how to fix it.
var (
	// ErrImageNotFound: the image the topology names is not in the local
	// Docker engine, and no registry can be reached to pull it.
	ErrImageNotFound = errors.New("image not found locally")
	// ErrNoMirror: neither $REPLAB_DEBIAN_MIRROR nor apt's sources name a
	// Debian archive to build the node image from.
	ErrNoMirror = errors.New("no Debian mirror configured")
	// ErrCannotBuild: this machine cannot build the node image (not Linux,
	// not root, no debootstrap, not enough disk). Tests skip on it.
	ErrCannotBuild = errors.New("cannot build the node image here")
)

// CacheDirEnv names the environment variable that sets where builds keep
// their lock file and temporary root file system (default os.TempDir()).
const CacheDirEnv = "REPLAB_CACHE_DIR"

// DockerAPI is the part of the Docker client Ensure uses.
// *github.com/docker/docker/client.Client satisfies it.
type DockerAPI interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, opts image.ImportOptions) (io.ReadCloser, error)
	ImageTag(ctx context.Context, source, target string) error
}

var _ DockerAPI = (*client.Client)(nil)

// EnsureRequest says which node image to make available.
type EnsureRequest struct {
	// Docker is the engine to look in and import into. Required. Create it
	// with client.WithAPIVersionNegotiation(): engines as old as API 1.41
	// (Docker 20.10) are supported.
	Docker DockerAPI
	// Image is a user-supplied image (the topology's engine.image). When
	// set, Ensure only checks that it exists locally and never builds; the
	// image must follow docs/image-contract.md.
	Image string
	// Recipe to build; the zero Spec means Recipe().
	Recipe Spec
	// Mirror is the Debian archive URL to build from. Empty means Mirror():
	// $REPLAB_DEBIAN_MIRROR, then apt's sources.
	Mirror string
	// CacheDir holds the build lock and the temporary root file system
	// (about 800 MB while building, removed afterwards). Empty means
	// $REPLAB_CACHE_DIR, then os.TempDir().
	CacheDir string
	// Progress receives one human-readable line per build step (a dozen
	// lines for a build, none when the image exists). Nil means silent.
	Progress func(string)
}

// Image is a node image ready to run.
type Image struct {
	// Ref is what to pass to container create: the recipe tag
	// (replab/node:<hash12>) or the user's image reference.
	Ref string
	// ID is the engine's image ID (sha256:...).
	ID string
	// RecipeHash is the full recipe hash; empty for a user image.
	RecipeHash string
	// PGTemplate is where the image keeps an initdb template (its
	// LabelPGTemplate); empty when it has none.
	PGTemplate string
	// Built reports whether this call built the image.
	Built bool
	// BuildTime is how long the build took; zero when nothing was built.
	BuildTime time.Duration
}

// Ensure returns the node image to run, building it if needed.
//
// With req.Image set it checks that image exists locally (one Docker API
// call) and fails with ErrImageNotFound otherwise. Without it, it looks for
// the recipe's tag; when the tag exists with a matching LabelRecipe, that is
// the only Docker API call. Otherwise it builds the image from Debian
// packages (debootstrap, trim, import; one to two minutes), tags it with
// the recipe tag (and LatestTag, for the built-in recipe), and reports
// progress through req.Progress.
//
// Concurrent Ensure calls, in one process or many, build at most once: a
// lock file in the cache directory serialises builds, and whoever waited
// finds the image when the lock is released.
func Ensure(ctx context.Context, req EnsureRequest) (Image, error) {
	if req.Docker == nil {
		return Image{}, errors.New("ensure node image: EnsureRequest.Docker is nil")
	}
	progress := req.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if req.Image != "" {
		return ensureUserImage(ctx, req.Docker, req.Image)
	}
	spec := req.Recipe
	if spec.IsZero() {
		spec = Recipe()
	}
	if err := spec.Validate(); err != nil {
		return Image{}, fmt.Errorf("ensure node image: %w", err)
	}
	tag, hash := spec.Tag(), spec.Hash()
	img, found, err := findRecipeImage(ctx, req.Docker, tag, hash)
	if err != nil || found {
		return img, err
	}
	if img.ID != "" {
		progress(fmt.Sprintf("node image %s exists but was not built from this recipe; rebuilding it", tag))
	} else {
		progress(fmt.Sprintf("node image %s not found; building it from Debian packages (a minute or two, once)", tag))
	}

	cacheDir, err := resolveCacheDir(req.CacheDir)
	if err != nil {
		return Image{}, err
	}
	unlock, err := lockBuild(ctx, filepath.Join(cacheDir, "replab-node-"+hash[:tagHexLen]+".lock"), func() {
		progress(fmt.Sprintf("another replab process is building %s; waiting for it", tag))
	})
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	// Whoever held the lock may have built the image meanwhile.
	if img, found, err := findRecipeImage(ctx, req.Docker, tag, hash); err != nil || found {
		return img, err
	}

	start := time.Now()
	id, err := build(ctx, buildRequest{
		docker: req.Docker, spec: spec, tag: tag, hash: hash,
		mirror: req.Mirror, cacheDir: cacheDir, progress: progress,
	})
	if err != nil {
		return Image{}, fmt.Errorf("build node image %s: %w", tag, err)
	}
	if hash == Recipe().Hash() {
		if err := req.Docker.ImageTag(ctx, tag, LatestTag); err != nil {
			return Image{}, fmt.Errorf("tag node image %s as %s: %w", tag, LatestTag, err)
		}
	}
	took := time.Since(start)
	progress(fmt.Sprintf("built %s in %s", tag, took.Round(time.Second)))
	return Image{Ref: tag, ID: id, RecipeHash: hash, PGTemplate: spec.PGTemplate, Built: true, BuildTime: took}, nil
}

// ensureUserImage checks that a user-supplied image exists locally.
func ensureUserImage(ctx context.Context, docker DockerAPI, ref string) (Image, error) {
	insp, err := docker.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return Image{}, fmt.Errorf("%w: image %s not found locally and no registry is reachable: build or load it first (docker load -i <file>), or drop engine.image to use replab's own node image (see docs/image-contract.md)",
			ErrImageNotFound, ref)
	}
	if err != nil {
		return Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	var labels map[string]string
	if insp.Config != nil {
		labels = insp.Config.Labels
	}
	return Image{Ref: ref, ID: insp.ID, PGTemplate: labels[LabelPGTemplate]}, nil
}

// findRecipeImage looks tag up. found is true only when the image carries
// the recipe hash; an image under the tag with another hash comes back with
// its ID set and found false.
func findRecipeImage(ctx context.Context, docker DockerAPI, tag, hash string) (img Image, found bool, err error) {
	insp, err := docker.ImageInspect(ctx, tag)
	if cerrdefs.IsNotFound(err) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, fmt.Errorf("inspect image %s: %w", tag, err)
	}
	var labels map[string]string
	if insp.Config != nil {
		labels = insp.Config.Labels
	}
	if labels[LabelRecipe] != hash {
		return Image{ID: insp.ID}, false, nil
	}
	return Image{Ref: tag, ID: insp.ID, RecipeHash: hash, PGTemplate: labels[LabelPGTemplate]}, true, nil
}

// resolveCacheDir applies the CacheDir defaults and creates the directory.
func resolveCacheDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(CacheDirEnv)
	}
	if dir == "" {
		dir = os.TempDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve cache directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory %s (set %s to another one): %w", abs, CacheDirEnv, err)
	}
	return abs, nil
}

// buildRequest is what one build needs; Ensure fills it.
type buildRequest struct {
	docker   DockerAPI
	spec     Spec
	tag      string
	hash     string
	mirror   string
	cacheDir string
	progress func(string)
}

// importChanges returns the Dockerfile instructions ImageImport applies:
// the recipe's environment and the replab labels.
func importChanges(spec Spec, hash string) []string {
	changes := make([]string, 0, len(spec.Env)+1)
	for _, e := range spec.Env {
		changes = append(changes, "ENV "+e)
	}
	label := fmt.Sprintf("LABEL %s=%s %s=%s", LabelImage, LabelImageValue, LabelRecipe, hash)
	if spec.PGTemplate != "" {
		label += fmt.Sprintf(" %s=%s", LabelPGTemplate, spec.PGTemplate)
	}
	return append(changes, label)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// megabytes formats a byte count as whole MB (10^6), as docker images does.
func megabytes(n int64) string { return fmt.Sprintf("%d MB", (n+500_000)/1_000_000) }

// lastLines returns the last n non-empty lines of s, joined by newlines and
// indented, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}
