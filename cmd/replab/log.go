package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// progressHandler prints one compact line per record, stamped with the time
// since the command started: "[  3.2s] lab ready total=11.3s".
type progressHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	start time.Time
	level slog.Level
	attrs []slog.Attr
}

func newProgressHandler(w io.Writer, level slog.Level) *progressHandler {
	return &progressHandler{mu: &sync.Mutex{}, w: w, start: time.Now(), level: level}
}

func (h *progressHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *progressHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%6.1fs] ", time.Since(h.start).Seconds())
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if a.Key == "lab" {
			return true // every line has it; the first line says it once
		}
		v := a.Value.Resolve()
		if v.Kind() == slog.KindDuration {
			d := v.Duration()
			if d < 100*time.Millisecond {
				d = d.Round(10 * time.Microsecond) // RTTs within a region are ~0.1ms
			} else {
				d = d.Round(time.Millisecond)
			}
			fmt.Fprintf(&b, " %s=%s", a.Key, d)
		} else {
			fmt.Fprintf(&b, " %s=%v", a.Key, v.Any())
		}
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *progressHandler) WithGroup(string) slog.Handler { return h }
