//go:build !linux

package nodeimage

import (
	"context"
	"fmt"
	"runtime"
)

// build cannot run here: debootstrap and chroot need a Linux host.
func build(context.Context, buildRequest) (string, error) {
	return "", fmt.Errorf("%w: building the node image needs a Linux host with debootstrap (this is %s): build it on Linux and docker save/load it, or name an image that follows docs/image-contract.md in the topology's engine.image",
		ErrCannotBuild, runtime.GOOS)
}
