package nodeimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyPatchesReplacesThePassageOnce(t *testing.T) {
	tree := t.TempDir()
	file := filepath.Join(tree, "usr", "lib", "x.py")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("a\n    put(key)\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Patch{Path: "/usr/lib/x.py", Old: "    put(key)\n", New: "    put_if_ours(key)\n", Why: "fixed in 9.9"}
	if err := applyPatches(tree, []Patch{p}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	if string(got) != "a\n    put_if_ours(key)\nb\n" {
		t.Errorf("patched file = %q", got)
	}
	// Applying it again finds nothing to replace: the build fails rather
	// than patching something else.
	err := applyPatches(tree, []Patch{p})
	if err == nil || !strings.Contains(err.Error(), "occurs 0 times") {
		t.Errorf("second apply: err = %v, want 'occurs 0 times'", err)
	}
}

func TestApplyPatchesRefusesAnAmbiguousPassage(t *testing.T) {
	tree := t.TempDir()
	if err := os.WriteFile(filepath.Join(tree, "x"), []byte("put\nput\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := applyPatches(tree, []Patch{{Path: "/x", Old: "put\n", New: "get\n", Why: "w"}})
	if err == nil || !strings.Contains(err.Error(), "occurs 2 times") {
		t.Errorf("err = %v, want 'occurs 2 times'", err)
	}
}

func TestPatchValidate(t *testing.T) {
	for _, p := range []Patch{
		{Path: "relative", Old: "a", New: "b", Why: "w"},
		{Path: "/x", Old: "", New: "b", Why: "w"},
		{Path: "/x", Old: "a", New: "a", Why: "w"},
		{Path: "/x", Old: "a", New: "b"},
	} {
		if p.validate() == nil {
			t.Errorf("%+v validated", p)
		}
	}
	for _, p := range Recipe().Patches {
		if err := p.validate(); err != nil {
			t.Errorf("built-in patch: %v", err)
		}
	}
}
