// Package clock holds the one way replab waits: a sleep that ends early
// when its context does. It imports only the standard library, so every
// package may use it.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, and then returns ctx's error. A d of
// zero or less returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Until waits until t (a reading with Go's monotonic clock), or until ctx
// ends.
func Until(ctx context.Context, t time.Time) error { return Sleep(ctx, time.Until(t)) }
