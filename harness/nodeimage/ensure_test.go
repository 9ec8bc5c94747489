package nodeimage

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// fakeDocker serves ImageInspect from a map and counts every call. Import
// and tag fail the test: the cases below must not build.
type fakeDocker struct {
	t      *testing.T
	images map[string]map[string]string // ref -> labels
	calls  []string
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.calls = append(f.calls, "inspect "+ref)
	labels, ok := f.images[ref]
	if !ok {
		return image.InspectResponse{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	cfg := &dockerspec.DockerOCIImageConfig{}
	cfg.Labels = labels
	return image.InspectResponse{ID: "sha256:" + strings.Repeat("ab", 32), Config: cfg}, nil
}

func (f *fakeDocker) ImageImport(context.Context, image.ImportSource, string, image.ImportOptions) (io.ReadCloser, error) {
	f.t.Error("ImageImport called: Ensure should not build here")
	return nil, errors.New("no import in this test")
}

func (f *fakeDocker) ImageTag(context.Context, string, string) error {
	f.t.Error("ImageTag called: Ensure should not build here")
	return errors.New("no tag in this test")
}

func TestEnsureExistingRecipeImageIsOneCall(t *testing.T) {
	spec := Recipe()
	f := &fakeDocker{t: t, images: map[string]map[string]string{
		spec.Tag(): {LabelImage: LabelImageValue, LabelRecipe: spec.Hash()},
	}}
	var progress []string
	img, err := Ensure(context.Background(), EnsureRequest{Docker: f, Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if img.Ref != spec.Tag() || img.RecipeHash != spec.Hash() || img.Built || img.ID == "" {
		t.Errorf("Ensure = %+v", img)
	}
	if len(f.calls) != 1 {
		t.Errorf("Docker calls = %q, want exactly one inspect", f.calls)
	}
	if len(progress) != 0 {
		t.Errorf("progress = %q, want silence when nothing is built", progress)
	}
}

func TestEnsureUserImage(t *testing.T) {
	f := &fakeDocker{t: t, images: map[string]map[string]string{"my/img:1": nil}}
	img, err := Ensure(context.Background(), EnsureRequest{Docker: f, Image: "my/img:1"})
	if err != nil || img.Ref != "my/img:1" || img.RecipeHash != "" {
		t.Errorf("Ensure(existing user image) = %+v, %v", img, err)
	}
	_, err = Ensure(context.Background(), EnsureRequest{Docker: f, Image: "my/img:2"})
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("Ensure(missing user image) error = %v, want ErrImageNotFound", err)
	}
	for _, want := range []string{"my/img:2 not found locally", "no registry is reachable", "docker load -i"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(f.calls) != 2 {
		t.Errorf("Docker calls = %q, want one inspect per Ensure", f.calls)
	}
}

func TestEnsureRejects(t *testing.T) {
	if _, err := Ensure(context.Background(), EnsureRequest{}); err == nil {
		t.Errorf("Ensure without Docker: want an error")
	}
	f := &fakeDocker{t: t}
	bad := Recipe()
	bad.Packages = nil
	_, err := Ensure(context.Background(), EnsureRequest{Docker: f, Recipe: bad})
	if err == nil || !strings.Contains(err.Error(), "packages") {
		t.Errorf("Ensure with an invalid recipe = %v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("an invalid recipe reached Docker: %q", f.calls)
	}
}
