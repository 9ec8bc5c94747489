package netem

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// AgentEnv names the environment variable that overrides BuildAgent: a
// path to a replab-agent binary built elsewhere (CGO_ENABLED=0 go build
// ./cmd/replab-agent), for installs without the module source.
const AgentEnv = "REPLAB_AGENT"

const (
	modulePath = "github.com/replab/replab"
	agentPkg   = "./cmd/replab-agent"
)

// BuildAgent returns the path of a static replab-agent binary for the
// userspace backend (pass it to WithAgent). If $REPLAB_AGENT is set, that
// path is returned as is. Otherwise it finds the module source (walking up
// from the working directory to the go.mod of github.com/replab/replab,
// then next to this package's own source) and runs
//
//	CGO_ENABLED=0 go build -trimpath -o DIR/replab-agent-HASH ./cmd/replab-agent
//
// where HASH covers the agent's sources, go.mod, go.sum and the target, so
// an unchanged agent is built once. dir "" means the user cache directory
// ($XDG_CACHE_HOME/replab). It needs the go command on PATH.
func BuildAgent(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(AgentEnv); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("build agent: $%s=%s is not a file: %v", AgentEnv, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goos, goarch := envOr("GOOS", "linux"), envOr("GOARCH", runtime.GOARCH)
	sum, err := agentSourceHash(root, goos+"/"+goarch)
	if err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("build agent: no cache directory (%w); pass one", err)
		}
		dir = filepath.Join(cache, "replab")
	}
	out := filepath.Join(dir, "replab-agent-"+sum[:16])
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".replab-agent-*")
	if err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", tmp.Name(), agentPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("build agent: the go command is not on PATH; install Go or set $%s to a prebuilt replab-agent", AgentEnv)
		}
		return "", fmt.Errorf("build agent: go build %s in %s: %w\n%s", agentPkg, root, err, msg)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// moduleRoot finds the directory of replab's go.mod.
func moduleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for {
			if isReplabModule(filepath.Join(d, "go.mod")) {
				return d, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", fmt.Errorf("build agent: module %s source not found from the working directory; run from a checkout or set $%s to a replab-agent binary (CGO_ENABLED=0 go build ./cmd/replab-agent)", modulePath, AgentEnv)
}

func isReplabModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == modulePath
		}
	}
	return false
}

// agentSourceHash hashes everything the agent is built from that lives in
// this module, and the target platform.
func agentSourceHash(root, target string) (string, error) {
	var files []string
	for _, sub := range []string{"netem", filepath.Join("cmd", "replab-agent")} {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	slices.Sort(files)
	files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	h := sha256.New()
	fmt.Fprintf(h, "target %s\n", target)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "file %s\n", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
