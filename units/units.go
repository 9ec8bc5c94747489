package units

import (
	"fmt"
	"strconv"
	"strings"
)

// Percent is a share in percent, 0 to 100 (0.1 means one in a thousand).
type Percent float64

// ParsePercent reads "0.1%", "5%" or "5".
func ParsePercent(s string) (Percent, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("parse percent %q: want a number with an optional %% sign, like 0.1%%", s)
	}
	return Percent(v), nil
}

func (p Percent) String() string { return strconv.FormatFloat(float64(p), 'g', -1, 64) + "%" }

// BitRate is a rate in bits per second.
type BitRate uint64

// rateUnits is in the order ParseBitRate tries the suffixes: "kbit" before
// "bit", which it ends with.
var rateUnits = []struct {
	suffix string
	mult   float64
}{
	{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1},
	{"gbps", 8e9}, {"mbps", 8e6}, {"kbps", 8e3}, {"bps", 8},
}

// RateUnits lists the units ParseBitRate accepts, in the order a message
// shows them: bits per second, then bytes per second.
func RateUnits() []string {
	return []string{"bit", "kbit", "mbit", "gbit", "bps", "kbps", "mbps", "gbps"}
}

// RateUnitBits returns how many bits per second one of unit is ("mbps" is
// 8e6); ok is false for a unit ParseBitRate refuses. Case-insensitive.
func RateUnitBits(unit string) (bits float64, ok bool) {
	unit = strings.ToLower(unit)
	for _, u := range rateUnits {
		if u.suffix == unit {
			return u.mult, true
		}
	}
	return 0, false
}

// ParseBitRate reads tc-style rates: "10mbit", "1gbit", "500kbit", "100bit",
// or bytes per second with bps units ("1mbps" is 8 Mbit/s). Units are
// required and case-insensitive.
func ParseBitRate(s string) (BitRate, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(l, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || v < 0 {
				break
			}
			return BitRate(v * u.mult), nil
		}
	}
	return 0, fmt.Errorf("parse rate %q: want a number and a unit (bit, kbit, mbit, gbit, or bps, kbps, mbps, gbps for bytes), like 10mbit", s)
}

func (r BitRate) String() string {
	switch {
	case r == 0:
		return "unlimited"
	case r%1_000_000_000 == 0:
		return strconv.FormatUint(uint64(r)/1e9, 10) + "gbit"
	case r%1_000_000 == 0:
		return strconv.FormatUint(uint64(r)/1e6, 10) + "mbit"
	case r%1_000 == 0:
		return strconv.FormatUint(uint64(r)/1e3, 10) + "kbit"
	}
	return strconv.FormatUint(uint64(r), 10) + "bit"
}
