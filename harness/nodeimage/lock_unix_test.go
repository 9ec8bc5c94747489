//go:build unix

package nodeimage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockBuildSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replab-node-test.lock")
	unlock, err := lockBuild(context.Background(), path, func() { t.Error("first locker should not wait") })
	if err != nil {
		t.Fatalf("lockBuild: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockBuild(ctx, path, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lockBuild while held = %v, want context.DeadlineExceeded", err)
	}
	if !waited {
		t.Errorf("second locker was not told it waits")
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockBuild(context.Background(), path, func() {})
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("lockBuild after unlock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the lock after unlock")
	}
}
