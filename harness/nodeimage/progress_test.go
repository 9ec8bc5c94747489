package nodeimage

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestBootstrapProgressSummarises(t *testing.T) {
	var out []string
	clock := time.Unix(0, 0)
	p := newBootstrapProgress(func(s string) { out = append(out, s) }, func() time.Time { return clock })
	feed := func(lines ...string) {
		for _, l := range lines {
			p.Line(l)
			clock = clock.Add(100 * time.Millisecond)
		}
	}
	feed("I: Target architecture can be executed", "I: Retrieving InRelease ", "I: Checking Release signature",
		"I: Retrieving Packages ", "I: Validating Packages ", "I: Resolving dependencies of required packages...")
	for i := range 200 {
		feed(fmt.Sprintf("I: Retrieving pkg%d 1.0-%d", i, i), fmt.Sprintf("I: Validating pkg%d 1.0-%d", i, i))
	}
	for i := range 90 {
		feed(fmt.Sprintf("I: Extracting pkg%d...", i))
	}
	feed("I: Installing core packages...", "I: Unpacking required packages...")
	for i := range 90 {
		feed(fmt.Sprintf("I: Unpacking pkg%d...", i))
	}
	feed("W: Failure trying to run: something harmless", "I: Configuring required packages...")
	for i := range 90 {
		feed(fmt.Sprintf("I: Configuring pkg%d...", i))
	}
	feed("I: Unpacking the base system...")
	for i := 90; i < 190; i++ {
		feed(fmt.Sprintf("I: Unpacking pkg%d...", i))
	}
	feed("I: Configuring the base system...")
	for i := 90; i < 200; i++ {
		feed(fmt.Sprintf("I: Configuring pkg%d...", i))
	}
	feed("I: Base system installed successfully.")

	want := []string{
		"debootstrap: downloading packages",
		"debootstrap: 51 packages downloaded", // two lines a package, 100 ms a line: 10 s
		"debootstrap: 101 packages downloaded",
		"debootstrap: 151 packages downloaded",
		"debootstrap: 200 packages downloaded; unpacking",
		"debootstrap: W: Failure trying to run: something harmless",
		"debootstrap: configuring packages",
		"debootstrap: 100/200 packages unpacked", // the base set: no second announcement
		"debootstrap: 99/200 packages configured",
		"debootstrap: 199/200 packages configured",
		"debootstrap: 200 packages installed",
	}
	if !slices.Equal(out, want) {
		t.Errorf("progress lines:\n got %q\nwant %q", out, want)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{n: 2}
	for _, l := range []string{"a", "b", "c"} {
		tb.Add(l)
	}
	if tb.String() != "b\nc" {
		t.Errorf("tail = %q, want %q", tb.String(), "b\nc")
	}
}
