//go:build linux

package nodeimage

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// hostPackage is a Debian package the build needs on the host, and the file
// whose presence says it is installed.
type hostPackage struct {
	name string
	// program is looked up on PATH and in the sbin directories; file is
	// checked as an absolute path. One of them is set.
	program, file string
	why           string
}

// debianKeyring is where debootstrap's Debian scripts look for the archive
// key; without it debootstrap cannot check the Release file it downloads.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// caBundle is the CA bundle wget (debootstrap's downloader) uses on Debian.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// hostPackages lists what a build from mirror needs on the host. A fresh
// Debian or Ubuntu machine lacks debootstrap, and Ubuntu lacks Debian's
// archive key; gpgv and the CA bundle are listed because minimal images
// (containers, chroots) can lack them too.
func hostPackages(mirror string) []hostPackage {
	pkgs := []hostPackage{
		{name: "debootstrap", program: "debootstrap", why: "installs the node image's Debian packages into a directory"},
		{name: "debian-archive-keyring", file: debianKeyring, why: "lets debootstrap verify the Debian archive"},
		{name: "gpgv", program: "gpgv", why: "checks the archive's signature"},
	}
	if u, err := url.Parse(mirror); err == nil && u.Scheme == "https" {
		pkgs = append(pkgs, hostPackage{name: "ca-certificates", file: caBundle, why: "the mirror is https"})
	}
	return pkgs
}

// missingPackages returns the packages of pkgs that are not installed,
// judged by has (program or file present).
func missingPackages(pkgs []hostPackage, has func(hostPackage) bool) []hostPackage {
	var out []hostPackage
	for _, p := range pkgs {
		if !has(p) {
			out = append(out, p)
		}
	}
	return out
}

func hostHas(p hostPackage) bool {
	if p.program != "" {
		_, err := lookSbin(p.program)
		return err == nil
	}
	_, err := os.Stat(p.file)
	return err == nil
}

func packageNames(pkgs []hostPackage) []string {
	names := make([]string, len(pkgs))
	for i, p := range pkgs {
		names[i] = p.name
	}
	return names
}

// selfCommand is how the user re-runs this program as root to build the
// image: the absolute path of replab when that is what runs, otherwise
// "replab" (a test binary, go run).
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil || filepath.Base(exe) != "replab" {
		return "replab images"
	}
	return exe + " images"
}

// installPrereqs makes sure the host has what a build from mirror needs.
// As root on a machine with apt-get it installs what is missing and says so
// through progress; otherwise it fails with ErrCannotBuild and the one
// command that fixes it. euid is the effective user id (a parameter so
// tests can play a user).
func installPrereqs(ctx context.Context, mirror string, euid int, progress func(string)) error {
	missing := missingPackages(hostPackages(mirror), hostHas)
	if euid != 0 {
		// debootstrap itself needs root, so whoever is not root cannot
		// build at all: one command as root installs what is missing and
		// builds.
		need := "root"
		if len(missing) > 0 {
			need += " and " + strings.Join(packageNames(missing), ", ")
		}
		return fmt.Errorf("%w: building the node image needs %s: run `sudo %s` once (as root it installs what is missing with apt-get and builds the image), or load an image that follows docs/image-contract.md and name it in the topology's engine.image",
			ErrCannotBuild, need, selfCommand())
	}
	if len(missing) == 0 {
		return nil
	}
	names := packageNames(missing)
	aptGet, err := lookSbin("apt-get")
	if err != nil {
		return fmt.Errorf("%w: building the node image needs %s and this machine has no apt-get: install them with its package manager",
			ErrCannotBuild, strings.Join(names, ", "))
	}
	for _, p := range missing {
		progress(fmt.Sprintf("installing %s with apt-get: it %s", p.name, p.why))
	}
	// apt's lock may be held by unattended-upgrades on a fresh machine;
	// wait for it rather than fail.
	lock := "-o=DPkg::Lock::Timeout=120"
	if err := runApt(ctx, aptGet, "update", "-q", lock); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends", lock}, names...)
	if err := runApt(ctx, aptGet, args...); err != nil {
		return err
	}
	if still := missingPackages(missing, hostHas); len(still) > 0 {
		return fmt.Errorf("install %s: apt-get succeeded but they are still missing", strings.Join(packageNames(still), ", "))
	}
	progress("installed " + strings.Join(names, ", "))
	return nil
}

func runApt(ctx context.Context, aptGet string, args ...string) error {
	cmd := exec.CommandContext(ctx, aptGet, args...)
	cmd.Env = hostEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("run apt-get %s: %w; its last output:%s", strings.Join(args, " "), err, lastLines(string(out), 10))
	}
	return nil
}
