package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestMalformedParametersAreBadInput: a topology whose
// postgresql.parameters validation refuses makes validate and run exit 2
// (bad input) with the position, before anything is started: Docker is
// pointed nowhere, so a run that got as far as a lab would fail otherwise.
func TestMalformedParametersAreBadInput(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("REPLAB_DOCKER_HOSTS", "")
	files, err := filepath.Glob("../../topologies/testdata/invalid/params-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid parameter files: %v", err)
	}
	for _, f := range files {
		for _, args := range [][]string{{"validate", f}, {"run", "follower-work", "-f", f}} {
			err := execute(args...)
			var bi badInput
			if !errors.As(err, &bi) {
				t.Errorf("%v: error %v, want bad input (exit 2)", args, err)
				continue
			}
			if !strings.Contains(err.Error(), filepath.Base(f)) || !strings.Contains(err.Error(), "postgresql.parameters") {
				t.Errorf("%v: %v does not point at the file's parameters", args, err)
			}
		}
	}
}

// execute runs the CLI with args, its output discarded, and returns its
// error.
func execute(args ...string) error {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	return root.Execute()
}

// TestScenariosRefuseAnotherEngine: a Patroni scenario on a MariaDB
// topology, a MariaDB one on a PostgreSQL topology, or a verify on a
// MariaDB topology of only Patroni scenarios, is bad input naming the
// engine, before anything is started (Docker is pointed nowhere).
func TestScenariosRefuseAnotherEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("REPLAB_DOCKER_HOSTS", "")
	for _, args := range [][]string{
		{"run", "leader-kill", "-f", "mariadb"},
		{"run", "rpo-cut-mariadb"},
		{"verify", "-f", "mariadb", "--scenarios", "leader-kill,switchover"},
	} {
		err := execute(args...)
		var bi badInput
		if !errors.As(err, &bi) || !strings.Contains(err.Error(), "engine") {
			t.Errorf("%v: %v, want bad input naming the engine", args, err)
		}
	}
}
