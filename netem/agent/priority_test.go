package agent

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// raisePriority reaches every thread of the process, not only the calling
// one: Linux keeps niceness per thread. Lowering the priority (a positive
// niceness) needs no capability, so the test runs anywhere.
func TestRaisePriorityEveryThread(t *testing.T) {
	if err := raisePriority(Priority{Nice: 3}); err != nil {
		t.Fatalf("raisePriority(nice 3) = %v", err)
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skipf("no /proc/self/task: %v", err)
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // gone since
		}
		if attr.Nice != 3 {
			t.Errorf("thread %d runs at nice %d, want 3", tid, attr.Nice)
		}
	}
	if nice, _ := currentPriority(); nice != 3 {
		t.Errorf("currentPriority() nice = %d, want 3", nice)
	}
}

func TestRaisePrioritySlice(t *testing.T) {
	err := raisePriority(Priority{Slice: 700 * time.Microsecond})
	if err != nil && strings.Contains(err.Error(), "time slice") {
		t.Skipf("this kernel takes no custom slice (EEVDF, Linux 6.12+): %v", err)
	}
	if err != nil {
		t.Fatalf("raisePriority(slice 700us) = %v", err)
	}
	if _, slice := currentPriority(); slice != 700*time.Microsecond {
		t.Skipf("the kernel ignored the slice (reads back %v): not EEVDF", slice)
	}
}

func TestRaisePriorityZeroIsNoOp(t *testing.T) {
	if err := raisePriority(Priority{}); err != nil {
		t.Fatalf("raisePriority(zero) = %v", err)
	}
}
