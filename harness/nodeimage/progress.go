package nodeimage

import (
	"fmt"
	"strings"
	"time"
)

// bootstrapProgress turns debootstrap's output (several hundred "I:" lines)
// into a handful of progress lines: one when a phase starts, then a count
// at most every interval, and every warning or error as is.
//
// debootstrap prints, in order: "I: Retrieving <pkg> <version>" per package,
// "I: Extracting <pkg>..." for the required set, "I: Installing core
// packages...", "I: Unpacking <pkg>..." and "I: Configuring <pkg>..." per
// package (first for the required set, then for the base set), and
// "I: Base system installed successfully.".
type bootstrapProgress struct {
	emit     func(string)
	now      func() time.Time
	interval time.Duration

	phase      string // "", "download", "unpack", "configure", "done"
	announced  map[string]bool
	lastEmit   time.Time
	downloaded int
	unpacked   int
	configured int
}

func newBootstrapProgress(emit func(string), now func() time.Time) *bootstrapProgress {
	return &bootstrapProgress{emit: emit, now: now, interval: 10 * time.Second, announced: map[string]bool{}}
}

// Line consumes one line of debootstrap output.
func (p *bootstrapProgress) Line(line string) {
	line = strings.TrimRight(line, " \r")
	switch {
	case strings.HasPrefix(line, "W: "), strings.HasPrefix(line, "E: "):
		p.say("debootstrap: " + line)
	case strings.HasPrefix(line, "I: Retrieving "):
		if len(strings.Fields(strings.TrimPrefix(line, "I: Retrieving "))) != 2 {
			return // the Release and Packages indexes, not a package
		}
		p.downloaded++
		p.step("download", "debootstrap: downloading packages",
			func() string { return fmt.Sprintf("debootstrap: %d packages downloaded", p.downloaded) })
	case strings.HasPrefix(line, "I: Unpacking "):
		if !isPackageLine(line, "I: Unpacking ") {
			return
		}
		p.unpacked++
		p.step("unpack", fmt.Sprintf("debootstrap: %d packages downloaded; unpacking", p.downloaded),
			func() string { return fmt.Sprintf("debootstrap: %d/%d packages unpacked", p.unpacked, p.downloaded) })
	case strings.HasPrefix(line, "I: Configuring "):
		if !isPackageLine(line, "I: Configuring ") {
			return
		}
		p.configured++
		p.step("configure", "debootstrap: configuring packages",
			func() string {
				return fmt.Sprintf("debootstrap: %d/%d packages configured", p.configured, p.downloaded)
			})
	case strings.HasPrefix(line, "I: Base system installed successfully"):
		p.phase = "done"
		p.say(fmt.Sprintf("debootstrap: %d packages installed", p.downloaded))
	}
}

// step emits start when phase first begins, else count() when interval
// passed. debootstrap unpacks and configures twice (the required set, then
// the base set); each phase is announced once.
func (p *bootstrapProgress) step(phase, start string, count func() string) {
	p.phase = phase
	if !p.announced[phase] {
		p.announced[phase] = true
		p.say(start)
		return
	}
	if p.now().Sub(p.lastEmit) >= p.interval {
		p.say(count())
	}
}

func (p *bootstrapProgress) say(s string) {
	p.lastEmit = p.now()
	p.emit(s)
}

// isPackageLine tells "I: Unpacking bash..." from "I: Unpacking the base
// system...": package names hold no spaces.
func isPackageLine(line, prefix string) bool {
	name := strings.TrimSuffix(strings.TrimPrefix(line, prefix), "...")
	return name != "" && !strings.Contains(name, " ")
}

// tailBuffer keeps the last n lines written to it, for error messages.
type tailBuffer struct {
	n     int
	lines []string
}

func (t *tailBuffer) Add(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tailBuffer) String() string { return strings.Join(t.lines, "\n") }
