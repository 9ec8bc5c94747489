package harness

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestStateIDs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REPLAB_STATE_DIR", dir)
	if ids := stateIDs(); ids != nil {
		t.Errorf("no state dir: %v, want none", ids)
	}
	if err := saveState(labState{ID: "abcd1234"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "labs", "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ids := stateIDs(); !slices.Equal(ids, []string{"abcd1234"}) {
		t.Errorf("stateIDs = %v, want [abcd1234] (other files ignored)", ids)
	}
	st, err := os.Stat(statePath("abcd1234"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, %v: want 0600, it holds the lab's passwords", st.Mode(), err)
	}
	removeState("abcd1234")
	if ids := stateIDs(); len(ids) != 0 {
		t.Errorf("after removeState: %v", ids)
	}
}
