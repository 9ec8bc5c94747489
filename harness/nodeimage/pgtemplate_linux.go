//go:build linux

package nodeimage

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// pgTemplateWork is the directory in the tree initdb writes to; it is
// removed once the template is packed.
const pgTemplateWork = "/tmp/replab-pgtemplate"

// dsmLine matches the shared memory setting initdb chose. In the build's
// chroot /dev/shm is not a tmpfs postgres may write to, so initdb falls
// back to System V; in a container it is, and initdb picks posix.
var dsmLine = regexp.MustCompile(`(?m)^dynamic_shared_memory_type = \S+`)

// makePGTemplate runs initdb in the tree as postgres and stores the data
// directory as a gzip'd tar at spec.PGTemplate, readable by everyone.
func makePGTemplate(ctx context.Context, chroot, tree string, spec Spec, progress func(string)) error {
	work := filepath.Join(tree, pgTemplateWork)
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	if _, err := inChroot(ctx, chroot, tree, "install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", pgTemplateWork); err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	defer os.RemoveAll(work)
	data := pgTemplateWork + "/data"
	args := append([]string{"--userspec=postgres:postgres", tree, "env", "-i", "LANG=C.UTF-8", "PATH=" + spec.PGBinDir + ":/usr/bin:/bin",
		path.Join(spec.PGBinDir, "initdb"), "-D", data}, spec.PGInitdb...)
	cmd := exec.CommandContext(ctx, chroot, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make pg template: initdb %s: %w: %s", strings.Join(spec.PGInitdb, " "), err, lastLines(string(out), 10))
	}
	conf := filepath.Join(tree, data, "postgresql.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	if err := os.WriteFile(conf, dsmLine.ReplaceAll(b, []byte("dynamic_shared_memory_type = posix")), 0o600); err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	dst := filepath.Join(tree, spec.PGTemplate)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	if err := packDir(filepath.Join(tree, data), dst); err != nil {
		return fmt.Errorf("make pg template: %w", err)
	}
	if info, err := os.Stat(dst); err == nil {
		progress(fmt.Sprintf("initdb template at %s (%s)", spec.PGTemplate, megabytes(info.Size())))
	}
	return nil
}

// packDir writes dir's contents (entries named ./..., modes kept, owner
// left to whoever unpacks) as a gzip'd tar to dst.
func packDir(dir, dst string) (err error) {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	// BestSpeed: the data directory is mostly zero pages, so it shrinks
	// about sevenfold even so, and unpacking costs the lab little CPU.
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsDir() && !info.Mode().IsRegular() {
			return fmt.Errorf("pack %s: %s is neither a file nor a directory", dir, rel)
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = "./" + filepath.ToSlash(rel)
		switch {
		case rel == ".":
			hdr.Name = "./"
		case info.IsDir():
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
