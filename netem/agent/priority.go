package agent

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Priority is how the agent asks the scheduler to run it ahead of the
// databases that share its cores. A held packet is released when the
// agent's timer fires; every moment the agent waits for a core behind
// PostgreSQL is added to the link's delay.
type Priority struct {
	// Nice is the niceness to run at; 0 leaves it alone. A negative
	// value (ahead of everything at 0) needs CAP_SYS_NICE.
	Nice int
	// Slice asks an EEVDF scheduler (Linux 6.12 and later) for a short
	// time slice: a task with a shorter slice gets an earlier deadline
	// and preempts the running one when it wakes. No capability needed;
	// 0 leaves it alone. Older kernels reject or ignore it.
	Slice time.Duration
}

func (p Priority) zero() bool { return p.Nice == 0 && p.Slice == 0 }

// raisePriority applies p to every thread of the process: Linux keeps
// scheduling attributes per thread, and a thread created later inherits
// them from the thread that creates it, so two passes over /proc/self/task
// (catching a thread created during the first) cover the Go runtime's
// threads for good. It returns what it could not apply; the agent runs on
// at whatever it got.
func raisePriority(p Priority) error {
	if p.zero() {
		return nil
	}
	var errs []error
	for range 2 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("list threads: %w", err)
		}
		errs = errs[:0]
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if err := setThreadPriority(tid, p); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// setThreadPriority applies the slice and the niceness in two steps, so
// that a niceness refused for want of CAP_SYS_NICE leaves the slice in
// force.
func setThreadPriority(tid int, p Priority) error {
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return fmt.Errorf("read scheduling attributes of thread %d: %w", tid, err)
	}
	attr.Flags = 0
	// For SCHED_OTHER a non-zero runtime is a custom slice; zero is the
	// default one.
	attr.Runtime = uint64(max(p.Slice, 0))
	if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
		return fmt.Errorf("set time slice of thread %d to %v: %w", tid, p.Slice, err)
	}
	if p.Nice == 0 || attr.Nice == int32(p.Nice) {
		return nil
	}
	attr.Nice = int32(p.Nice)
	if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
		if p.Nice < 0 && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) {
			return fmt.Errorf("raise thread %d to nice %d: %w (the node lacks CAP_SYS_NICE)", tid, p.Nice, err)
		}
		return fmt.Errorf("set thread %d to nice %d: %w", tid, p.Nice, err)
	}
	return nil
}

// currentPriority reads back what the scheduler gives the calling thread.
func currentPriority() (nice int, slice time.Duration) {
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return 0, 0
	}
	return int(attr.Nice), time.Duration(attr.Runtime)
}
