//go:build linux

package nodeimage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// minFreeBytes is the free space a build needs in the cache directory: the
// untrimmed tree is about 800 MB.
const minFreeBytes = 1_500_000_000

// dpkgUnsafeIOFile turns dpkg's per-file fsync off while debootstrap runs;
// it is removed before the tree is trimmed, so the image does not carry it.
const dpkgUnsafeIOFile = "etc/dpkg/dpkg.cfg.d/replab-build-unsafe-io"

// build makes the image: debootstrap into a temporary tree, trim it, fix it
// up, stream it into Docker. The tree is removed on success and on failure.
// The caller holds the build lock.
func build(ctx context.Context, br buildRequest) (id string, err error) {
	mirror := br.mirror
	if mirror == "" {
		if mirror, err = Mirror(br.spec.Suite); err != nil {
			return "", err
		}
	} else if err := checkMirrorURL(mirror); err != nil {
		return "", err
	}
	if err := installPrereqs(ctx, mirror, os.Geteuid(), br.progress); err != nil {
		return "", err
	}
	tools, err := checkBuildPrereqs(br.cacheDir)
	if err != nil {
		return "", err
	}

	prefix := "replab-node-" + br.hash[:tagHexLen] + "-"
	if err := removeStaleBuilds(br.cacheDir, prefix, br.progress); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(br.cacheDir, prefix+"*")
	if err != nil {
		return "", fmt.Errorf("create build directory in %s: %w", br.cacheDir, err)
	}
	defer func() {
		if rmErr := removeTree(work); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
	}()
	tree := filepath.Join(work, "root")

	if err := runDebootstrap(ctx, tools.debootstrap, br.spec, tree, mirror, br.progress); err != nil {
		return "", err
	}
	for _, a := range br.spec.Alternatives {
		if _, err := inChroot(ctx, tools.chroot, tree, "update-alternatives", "--set", a.Name, a.Path); err != nil {
			return "", err
		}
	}
	if err := applyPatches(tree, br.spec.Patches); err != nil {
		return "", err
	}
	for _, p := range br.spec.Patches {
		if strings.HasSuffix(p.Path, ".py") {
			// The package compiled the module at install; compile the
			// patched source so the image does not carry stale bytecode.
			if _, err := inChroot(ctx, tools.chroot, tree, "python3", "-m", "py_compile", p.Path); err != nil {
				return "", fmt.Errorf("compile patched %s: %w", p.Path, err)
			}
		}
		br.progress("patched " + p.Path + ": " + p.Why)
	}
	before, err := treeSize(tree)
	if err != nil {
		return "", err
	}
	if err := trimTree(tree, br.spec.Trim, br.spec.Keep); err != nil {
		return "", err
	}
	if err := ensureDirs(tree, br.spec.Dirs); err != nil {
		return "", err
	}
	after, err := treeSize(tree)
	if err != nil {
		return "", err
	}
	br.progress(fmt.Sprintf("trimmed docs, locales, caches and LLVM JIT: %s -> %s", megabytes(before), megabytes(after)))
	if br.spec.PGTemplate != "" {
		if err := makePGTemplate(ctx, tools.chroot, tree, br.spec, br.progress); err != nil {
			return "", err
		}
		if after, err = treeSize(tree); err != nil {
			return "", err
		}
	}
	if out, err := inChroot(ctx, tools.chroot, tree, "iptables", "-V"); err == nil {
		br.progress("iptables in the image: " + strings.TrimSpace(out))
	}

	br.progress(fmt.Sprintf("importing into Docker as %s (%s)", br.tag, megabytes(after)))
	return importTree(ctx, br.docker, tree, br.tag, importChanges(br.spec, br.hash))
}

// buildTools are the host programs a build runs.
type buildTools struct {
	debootstrap string
	chroot      string
}

// checkBuildPrereqs fails early, with the fix, when this machine cannot
// build: it needs debootstrap, chroot and disk space (installPrereqs has
// checked root and installed the packages).
func checkBuildPrereqs(cacheDir string) (buildTools, error) {
	var tools buildTools
	var err error
	if tools.debootstrap, err = lookSbin("debootstrap"); err != nil {
		return buildTools{}, fmt.Errorf("%w: debootstrap not found: install it (apt-get install debootstrap)", ErrCannotBuild)
	}
	if tools.chroot, err = lookSbin("chroot"); err != nil {
		return buildTools{}, fmt.Errorf("%w: chroot not found: install coreutils", ErrCannotBuild)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cacheDir, &st); err == nil {
		if free := int64(st.Bavail) * int64(st.Bsize); free < minFreeBytes {
			return buildTools{}, fmt.Errorf("%w: %s has %s free, a build needs %s: set %s to a directory with more room",
				ErrCannotBuild, cacheDir, megabytes(free), megabytes(minFreeBytes), CacheDirEnv)
		}
	}
	return tools, nil
}

// lookSbin finds a program on PATH or in the sbin directories that a
// non-login root shell may not have on PATH.
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("look up %s: %w", name, exec.ErrNotFound)
}

// hostEnv is the environment for debootstrap and chroot: the caller's (so
// proxies carry over) with sbin on PATH and a neutral locale.
func hostEnv() []string {
	env := make([]string, 0, len(os.Environ())+3)
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PATH="):
			path = strings.TrimPrefix(kv, "PATH=") + ":/usr/local/sbin:/usr/sbin:/sbin"
		case strings.HasPrefix(kv, "LC_ALL="), strings.HasPrefix(kv, "LANGUAGE="):
		default:
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+path, "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
}

// runDebootstrap installs spec into tree, streaming a summary of its output
// to progress. On failure the error carries the end of its output and of
// its own log, since the tree is removed afterwards.
func runDebootstrap(ctx context.Context, debootstrap string, spec Spec, tree, mirror string, progress func(string)) error {
	args := []string{
		"--variant=" + spec.Variant,
		"--include=" + strings.Join(sortedUnique(spec.Packages), ","),
		spec.Suite, tree, mirror,
	}
	progress(fmt.Sprintf("debootstrap %s with %d packages from %s", spec.Suite, len(spec.Packages), mirror))
	// dpkg fsyncs every file it unpacks; a tree that is thrown away on
	// failure does not need that, and on a busy disk it doubles the time.
	unsafeIO := filepath.Join(tree, dpkgUnsafeIOFile)
	if err := os.MkdirAll(filepath.Dir(unsafeIO), 0o755); err != nil {
		return fmt.Errorf("prepare build tree: %w", err)
	}
	if err := os.WriteFile(unsafeIO, []byte("force-unsafe-io\n"), 0o644); err != nil {
		return fmt.Errorf("prepare build tree: %w", err)
	}
	cmd := exec.CommandContext(ctx, debootstrap, args...)
	cmd.Env = hostEnv()
	// debootstrap runs in a process group of its own, so that a cancel
	// reaches the dpkg it is running too. SIGTERM, not SIGKILL: debootstrap
	// traps it and its exit handler unmounts /proc and /sys in the tree.
	// Pdeathsig does the same if replab itself dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("run debootstrap: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run debootstrap: %w", err)
	}
	summary := newBootstrapProgress(progress, time.Now)
	tail := &tailBuffer{n: 15}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		summary.Line(sc.Text())
		tail.Add(sc.Text())
	}
	_, _ = io.Copy(io.Discard, out) // a line too long for the scanner: drain so Wait returns
	err = cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers of a killed run; ESRCH when none
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run debootstrap: %w", ctx.Err())
		}
		msg := fmt.Sprintf("run debootstrap %s: %v; its last output:%s", strings.Join(args, " "), err, lastLines(tail.String(), 15))
		if log, rerr := os.ReadFile(filepath.Join(tree, "debootstrap", "debootstrap.log")); rerr == nil {
			msg += "\n\tend of debootstrap.log:" + lastLines(string(log), 15)
		}
		return errors.New(msg)
	}
	if err := os.Remove(unsafeIO); err != nil {
		return fmt.Errorf("remove %s from the build tree: %w", dpkgUnsafeIOFile, err)
	}
	return nil
}

// inChroot runs a program inside the tree and returns its output.
func inChroot(ctx context.Context, chroot, tree string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, chroot, append([]string{tree}, args...)...)
	cmd.Env = hostEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("run %s in image tree: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// removeStaleBuilds removes build directories a killed build of the same
// recipe left behind. Only the lock holder calls it, so none is in use.
func removeStaleBuilds(cacheDir, prefix string, progress func(string)) error {
	stale, err := filepath.Glob(filepath.Join(cacheDir, prefix+"*"))
	if err != nil {
		return fmt.Errorf("look for stale builds in %s: %w", cacheDir, err)
	}
	var errs []error
	for _, dir := range stale {
		if info, err := os.Lstat(dir); err != nil || !info.IsDir() {
			continue
		}
		progress("removing the tree of an interrupted build: " + dir)
		errs = append(errs, removeTree(dir))
	}
	return errors.Join(errs...)
}
