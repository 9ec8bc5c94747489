package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// containerHost lets netem run commands in a container as root.
type containerHost struct {
	l    *Lab
	name string
}

func (h containerHost) Run(ctx context.Context, argv []string) ([]byte, error) {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return nil, err
	}
	return execRunner{cli: h.l.cli, id: id, name: h.name}.Run(ctx, argv)
}

func (h containerHost) CopyFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := strings.Split(strings.Trim(path.Dir(p), "/"), "/")
	for i := range dirs {
		if dirs[i] == "" {
			continue
		}
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.Join(dirs[:i+1], "/") + "/", Mode: 0o755})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: int64(mode.Perm()), Size: int64(len(data))}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := h.l.cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy %s into %s: %w", p, h.name, err)
	}
	return nil
}

func (h containerHost) Start(ctx context.Context, argv []string) error {
	id, err := h.l.containerID(h.name)
	if err != nil {
		return err
	}
	ex, err := h.l.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: argv, User: "root", Detach: true})
	if isNotRunning(err) {
		return fmt.Errorf("start %q in %s: %w: %v", strings.Join(argv, " "), h.name, ErrNotRunning, err)
	}
	if err != nil {
		return fmt.Errorf("start %q in %s: %w", strings.Join(argv, " "), h.name, err)
	}
	if err := h.l.cli.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{Detach: true}); err != nil {
		return fmt.Errorf("start %q in %s: %w", strings.Join(argv, " "), h.name, err)
	}
	return nil
}

// execRunner runs netem's commands in a container as root; a non-zero
// exit is an error carrying stderr, which netem reads to classify it.
type execRunner struct {
	cli      *client.Client
	id, name string
}

func (r execRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	res, err := execIn(ctx, r.cli, r.id, r.name, ExecRequest{Cmd: argv, User: "root"})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return res.Stdout, fmt.Errorf("%s in %s: exit %d: %s", strings.Join(argv, " "), r.name, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, nil
}
