//go:build linux

package nodeimage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// removeTree removes a build tree. debootstrap mounts /proc and /sys inside
// the tree and a killed build can leave them mounted; os.RemoveAll would
// then walk into the host's /sys. So mounts below dir are detached first,
// and nothing is removed while one remains.
func removeTree(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove build tree %s: %w", dir, err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("remove build tree %s: read mounts: %w", dir, err)
	}
	mounts := mountsUnder(parseMountPoints(info), real)
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove build tree %s: not removed, a mount below it remains (unmount it by hand): %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove build tree %s: %w", dir, err)
	}
	return nil
}

// parseMountPoints returns the mount point field of /proc/self/mountinfo
// lines, with the kernel's octal escapes (\040 for a space) decoded.
func parseMountPoints(mountinfo []byte) []string {
	var out []string
	for line := range bytes.Lines(mountinfo) {
		f := strings.Fields(string(line))
		if len(f) < 5 {
			continue
		}
		out = append(out, unescapeMountinfo(f[4]))
	}
	return out
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder returns the mount points strictly below dir, deepest first,
// so that nested mounts are detached before their parents.
func mountsUnder(points []string, dir string) []string {
	var out []string
	for _, p := range points {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return slices.Compact(out)
}

// treeSize returns the bytes of regular files below dir, each hard-linked
// file once, without crossing into other file systems: what an image of
// the tree weighs.
func treeSize(dir string) (int64, error) {
	rootDev, err := deviceOf(dir)
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	seen := map[[2]uint64]bool{}
	var total int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if d.IsDir() && uint64(st.Dev) != rootDev {
			return fs.SkipDir
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if st.Nlink > 1 && seen[key] {
			return nil
		}
		seen[key] = true
		total += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return total, nil
}

func deviceOf(p string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return 0, err
	}
	return st.Dev, nil
}
