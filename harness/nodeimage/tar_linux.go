//go:build linux

package nodeimage

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/image"
	"golang.org/x/sys/unix"
)

// importTree streams tree as a tar into the engine's image import and
// returns the new image's ID. The tar is written on the fly: nothing the
// size of the image is held in memory or on disk.
func importTree(ctx context.Context, docker DockerAPI, tree, ref string, changes []string) (string, error) {
	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := writeTar(ctx, tree, pw)
		pw.CloseWithError(err) // nil closes with io.EOF: the end of the upload
		tarDone <- err
	}()
	rc, err := docker.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, ref,
		image.ImportOptions{Changes: changes, Message: "replab node image (debootstrap)"})
	if err != nil {
		pr.CloseWithError(err)
		return "", errors.Join(fmt.Errorf("import image %s: %w", ref, err), ignoreClosedPipe(<-tarDone))
	}
	id, err := readImportResult(rc)
	rc.Close()
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer if the engine stopped reading early
	if tarErr := ignoreClosedPipe(<-tarDone); tarErr != nil || err != nil {
		return "", errors.Join(err, tarErr)
	}
	return id, nil
}

func ignoreClosedPipe(err error) error {
	if errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// writeTar writes the tree below dir to w as a tar with the entries' modes,
// owners (numeric), symlinks, hard links, device nodes and file
// capabilities (security.capability, as Docker's own archiver keeps).
// It does not descend into other file systems; sockets are skipped.
func writeTar(ctx context.Context, dir string, w io.Writer) error {
	rootDev, err := deviceOf(dir)
	if err != nil {
		return fmt.Errorf("write tar of %s: %w", dir, err)
	}
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no unix attributes", p)
		}
		var target string
		if info.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, target)
		if err != nil {
			return fmt.Errorf("tar header for %s: %w", p, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if info.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[key] = hdr.Name
			}
		}
		if !info.IsDir() && info.Mode()&fs.ModeSymlink == 0 {
			if capability, ok := fileCapability(p); ok {
				hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": capability}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write tar header for %s: %w", p, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, p, hdr.Size); err != nil {
				return err
			}
		}
		if info.IsDir() && uint64(st.Dev) != rootDev {
			return fs.SkipDir // a mount point: keep the directory, not what is mounted on it
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write tar of %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write tar of %s: %w", dir, err)
	}
	return nil
}

// copyFile copies exactly size bytes of the file at p (as its header says).
func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(w, f, size); err != nil {
		return fmt.Errorf("copy %s into tar: %w", p, err)
	}
	return nil
}

// fileCapability returns the raw security.capability attribute of p, if any
// (ping carries cap_net_raw this way).
func fileCapability(p string) (string, bool) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, "security.capability", buf)
	if err != nil || n <= 0 {
		return "", false
	}
	return string(buf[:n]), true
}
