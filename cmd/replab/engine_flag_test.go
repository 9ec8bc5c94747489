package main

import (
	"errors"
	"strings"
	"testing"
)

// TestBadEngineIsBadInput: a malformed --engine makes up and run exit 2
// naming the flag and the fix, before any engine is reached.
func TestBadEngineIsBadInput(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("REPLAB_DOCKER_HOSTS", "")
	for _, args := range [][]string{
		{"up", "--engine", "http://x"},
		{"run", "leader-kill", "--engine", "unix://relative"},
		{"run", "leader-kill", "--engine", "unix:///a.sock,unix:///b.sock"},
	} {
		err := execute(args...)
		var bi badInput
		if !errors.As(err, &bi) || !strings.Contains(err.Error(), "--engine") {
			t.Errorf("%v: error %v, want bad input naming --engine", args, err)
		}
	}
}
