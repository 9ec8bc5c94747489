package nodeimage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// trimTree removes what the trim globs match below dir, sparing what the
// keep globs match and the directories that lead to it. Globs are absolute
// paths inside the tree. Every operation goes through os.Root, so nothing
// outside dir is touched even when the tree holds absolute symlinks (a
// Debian tree has /var/run -> /run and many more).
func trimTree(dir string, trim, keep []string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open image tree %s: %w", dir, err)
	}
	defer root.Close()
	kept := map[string]bool{}
	for _, g := range keep {
		names, err := globTree(root, g)
		if err != nil {
			return err
		}
		for _, n := range names {
			kept[n] = true
		}
	}
	var errs []error
	for _, g := range trim {
		names, err := globTree(root, g)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := removeExcept(root, n, kept); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// globTree matches an absolute glob against the tree. A glob without
// pattern characters matches the entry itself, even a dangling or absolute
// symlink.
func globTree(root *os.Root, glob string) ([]string, error) {
	name := strings.TrimPrefix(glob, "/")
	if !strings.ContainsAny(name, `*?[\`) {
		if _, err := root.Lstat(name); err != nil {
			if isNotExist(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("look up %s in image tree: %w", glob, err)
		}
		return []string{name}, nil
	}
	names, err := fs.Glob(root.FS(), name)
	if err != nil {
		return nil, fmt.Errorf("match %s in image tree: %w", glob, err)
	}
	return names, nil
}

// removeExcept removes name unless it is kept; a directory that holds kept
// entries is emptied of everything else instead.
func removeExcept(root *os.Root, name string, kept map[string]bool) error {
	if kept[name] {
		return nil
	}
	info, err := root.Lstat(name)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trim %s: %w", name, err)
	}
	if info.IsDir() && holdsKept(name, kept) {
		entries, err := fs.ReadDir(root.FS(), name)
		if err != nil {
			return fmt.Errorf("trim %s: %w", name, err)
		}
		var errs []error
		for _, e := range entries {
			errs = append(errs, removeExcept(root, path.Join(name, e.Name()), kept))
		}
		return errors.Join(errs...)
	}
	if err := root.RemoveAll(name); err != nil {
		return fmt.Errorf("trim %s: %w", name, err)
	}
	return nil
}

func holdsKept(dir string, kept map[string]bool) bool {
	for k := range kept {
		if strings.HasPrefix(k, dir+"/") {
			return true
		}
	}
	return false
}

// ensureDirs creates each Dir in the tree with its owner and mode, reading
// user and group names from the tree's own /etc/passwd and /etc/group.
func ensureDirs(dir string, dirs []Dir) error {
	if len(dirs) == 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open image tree %s: %w", dir, err)
	}
	defer root.Close()
	passwd, err := root.ReadFile("etc/passwd")
	if err != nil {
		return fmt.Errorf("read the image's /etc/passwd: %w", err)
	}
	group, err := root.ReadFile("etc/group")
	if err != nil {
		return fmt.Errorf("read the image's /etc/group: %w", err)
	}
	for _, d := range dirs {
		uid, ok := lookupID(passwd, d.User)
		if !ok {
			return fmt.Errorf("create %s: user %s is not in the image's /etc/passwd", d.Path, d.User)
		}
		gid, ok := lookupID(group, d.Group)
		if !ok {
			return fmt.Errorf("create %s: group %s is not in the image's /etc/group", d.Path, d.Group)
		}
		name := strings.TrimPrefix(d.Path, "/")
		if err := root.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d.Path, err)
		}
		if info, err := root.Lstat(name); err != nil || !info.IsDir() {
			return fmt.Errorf("create %s: not a directory (a symlink?)", d.Path)
		}
		// chown clears set-id bits, so chmod comes second.
		if err := root.Lchown(name, uid, gid); err != nil {
			return fmt.Errorf("chown %s to %s:%s: %w", d.Path, d.User, d.Group, err)
		}
		if err := root.Chmod(name, d.Mode); err != nil {
			return fmt.Errorf("chmod %s: %w", d.Path, err)
		}
	}
	return nil
}

// lookupID finds name in an /etc/passwd or /etc/group file and returns the
// third field (the numeric ID).
func lookupID(file []byte, name string) (int, bool) {
	for line := range strings.SplitSeq(string(file), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] != name {
			continue
		}
		id, err := strconv.Atoi(f[2])
		return id, err == nil
	}
	return 0, false
}
