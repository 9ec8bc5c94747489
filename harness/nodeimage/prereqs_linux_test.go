//go:build linux

package nodeimage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestHostPackagesNeedCABundleOnlyForHTTPS(t *testing.T) {
	names := func(m string) []string { return packageNames(hostPackages(m)) }
	if got := names("http://deb.example/debian"); slices.Contains(got, "ca-certificates") {
		t.Errorf("http mirror needs %v, want no ca-certificates", got)
	}
	if got := names("https://deb.example/debian"); !slices.Contains(got, "ca-certificates") {
		t.Errorf("https mirror needs %v, want ca-certificates", got)
	}
}

func TestMissingPackagesKeepsOnlyAbsent(t *testing.T) {
	pkgs := hostPackages("http://deb.example/debian")
	got := packageNames(missingPackages(pkgs, func(p hostPackage) bool { return p.name == "gpgv" }))
	if want := []string{"debootstrap", "debian-archive-keyring"}; !slices.Equal(got, want) {
		t.Errorf("missing = %v, want %v", got, want)
	}
}

// A user other than root cannot build: one sentence names the command that
// installs what is missing and builds, and nothing is installed.
func TestInstallPrereqsAsUserNamesTheCommand(t *testing.T) {
	var progress []string
	err := installPrereqs(context.Background(), "http://deb.example/debian", 1000, func(s string) { progress = append(progress, s) })
	if !errors.Is(err, ErrCannotBuild) {
		t.Fatalf("err = %v, want ErrCannotBuild", err)
	}
	if !strings.Contains(err.Error(), "run `sudo ") || !strings.Contains(err.Error(), " images`") {
		t.Errorf("err = %q, want the sudo command to run", err)
	}
	if len(progress) != 0 {
		t.Errorf("progress = %q, want nothing installed", progress)
	}
}
