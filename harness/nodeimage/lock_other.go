//go:build !unix

package nodeimage

import "context"

// lockBuild is a no-op where builds cannot run anyway (see build_other.go).
func lockBuild(context.Context, string, func()) (func(), error) { return func() {}, nil }
