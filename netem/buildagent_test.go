package netem_test

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replab/replab/netem"
)

func TestBuildAgentStaticAndCached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary (-short)")
	}
	t.Setenv(netem.AgentEnv, "")
	dir := t.TempDir()
	ctx := context.Background()
	path, err := netem.BuildAgent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(path), "replab-agent-") || filepath.Dir(path) != dir {
		t.Errorf("built %s, want replab-agent-HASH in %s", path, dir)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("agent has a %v program header: not static, it would not run in a FROM-scratch or foreign image", p.Type)
		}
	}
	start := time.Now()
	again, err := netem.BuildAgent(ctx, dir)
	if err != nil || again != path {
		t.Errorf("second build = %s, %v; want the cached %s", again, err, path)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cached build took %v: not cached?", took)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the cache dir, want 1 (no temporaries left)", len(entries))
	}
}

func TestBuildAgentOverride(t *testing.T) {
	t.Setenv(netem.AgentEnv, "/bin/sh")
	if p, err := netem.BuildAgent(context.Background(), t.TempDir()); err != nil || p != "/bin/sh" {
		t.Errorf("BuildAgent with $%s=/bin/sh = %s, %v", netem.AgentEnv, p, err)
	}
	t.Setenv(netem.AgentEnv, "/nonexistent/replab-agent")
	if _, err := netem.BuildAgent(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), netem.AgentEnv) {
		t.Errorf("a missing $%s binary: %v, want an error naming it", netem.AgentEnv, err)
	}
}
