package agent

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTimer signals C once a set duration has passed, with the kernel's
// high-resolution timer precision. Go's own timers put the runtime to sleep
// in epoll_wait, whose timeout is in whole milliseconds: they fire up to
// 1 ms late, about 0.5 ms on average, which alone breaks a ±1 ms RTT
// tolerance. A timerfd read through the netpoller wakes within
// microseconds.
type preciseTimer struct {
	fd int
	f  *os.File
	C  chan struct{}
}

func newPreciseTimer() (*preciseTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("create timerfd: %w", err)
	}
	// A non-blocking descriptor makes os.File use the netpoller. Never
	// call f.Fd(): it would switch the descriptor back to blocking.
	t := &preciseTimer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd"), C: make(chan struct{}, 1)}
	go t.loop()
	return t, nil
}

func (t *preciseTimer) loop() {
	var b [8]byte
	for {
		if _, err := t.f.Read(b[:]); err != nil {
			return // closed
		}
		select {
		case t.C <- struct{}{}:
		default:
		}
	}
}

// reset arms the timer to fire once after d (at once if d <= 0). A signal
// from an earlier arming may still be pending on C: callers treat a signal
// as "look at the clock", never as "the time has come".
func (t *preciseTimer) reset(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))}
	return unix.TimerfdSettime(t.fd, 0, &spec, nil)
}

// stop disarms the timer.
func (t *preciseTimer) stop() error {
	return unix.TimerfdSettime(t.fd, 0, &unix.ItimerSpec{}, nil)
}

func (t *preciseTimer) close() error { return t.f.Close() }
