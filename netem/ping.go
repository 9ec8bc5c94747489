package netem

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

var pingTime = regexp.MustCompile(`time=([0-9.]+) ms`)

// PingMedian reads the per-reply times of ping's output (run without -q)
// and returns their median. The median, not ping's average, is what
// verifications compare with a configured RTT: one reply delayed by a busy
// machine moves an average of ten by a tenth of its delay, and the median
// not at all. ping prints 3 significant digits, so the resolution is 1ms
// from 100ms up, 0.1ms from 10ms.
func PingMedian(out string) (time.Duration, error) {
	var ms []float64
	for _, m := range pingTime.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, fmt.Errorf("read ping time %q: %w", m[1], err)
		}
		ms = append(ms, v)
	}
	if len(ms) == 0 {
		return 0, fmt.Errorf("read ping output: no replies in %q", out)
	}
	sort.Float64s(ms)
	med := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	return time.Duration(med * float64(time.Millisecond)), nil
}
