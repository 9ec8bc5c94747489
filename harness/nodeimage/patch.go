package nodeimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Patch replaces one exact passage of a file a Debian package installed:
// a fix the packaged version lacks and upstream has released. Old must
// occur exactly once, so a package update that moves or fixes the code
// fails the build instead of patching the wrong place.
type Patch struct {
	Path string // absolute path inside the image
	Old  string // the passage as the package ships it
	New  string // what replaces it
	Why  string // the defect and the upstream release that fixed it
}

// canonical is the patch's line in Spec.Canonical: its path and the hashes
// of both passages (Why is prose and does not change the image).
func (p Patch) canonical() string {
	return fmt.Sprintf("patch %s %s %s", p.Path, shortHash(p.Old), shortHash(p.New))
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// validate returns what is wrong with p, or nil.
func (p Patch) validate() error {
	if err := checkImagePath(p.Path); err != nil {
		return fmt.Errorf("patch %q: %w", p.Path, err)
	}
	if p.Old == "" || p.Old == p.New {
		return fmt.Errorf("patch %q: want a non-empty passage to replace and a different one to put instead", p.Path)
	}
	if strings.TrimSpace(p.Why) == "" {
		return fmt.Errorf("patch %q: say why (the defect and the upstream release that fixed it)", p.Path)
	}
	return nil
}

// applyPatches edits the tree's files in place, keeping their modes.
func applyPatches(tree string, patches []Patch) error {
	for _, p := range patches {
		file := filepath.Join(tree, filepath.FromSlash(p.Path))
		st, err := os.Lstat(file)
		if err != nil {
			return fmt.Errorf("patch %s: %w", p.Path, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("patch %s: not a regular file", p.Path)
		}
		body, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("patch %s: %w", p.Path, err)
		}
		if n := bytes.Count(body, []byte(p.Old)); n != 1 {
			return fmt.Errorf("patch %s: the passage to replace occurs %d times, want once: the package changed; check whether it still needs the fix (%s)", p.Path, n, p.Why)
		}
		body = bytes.Replace(body, []byte(p.Old), []byte(p.New), 1)
		if err := os.WriteFile(file, body, st.Mode().Perm()); err != nil {
			return fmt.Errorf("patch %s: %w", p.Path, err)
		}
	}
	return nil
}
