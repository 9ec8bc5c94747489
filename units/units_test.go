package units

import (
	"strings"
	"testing"
)

func TestParsePercent(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Percent
	}{
		{"5", 5}, {"5%", 5}, {"0.1%", 0.1}, {" 99.9 % ", 99.9}, {"100%", 100}, {"0", 0},
	} {
		got, err := ParsePercent(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "%", "five", "5%%", "0.1 percent"} {
		if got, err := ParsePercent(in); err == nil {
			t.Errorf("ParsePercent(%q) = %v; want an error", in, got)
		} else if !strings.Contains(err.Error(), "like 0.1%") {
			t.Errorf("ParsePercent(%q) error %q does not show an example", in, err)
		}
	}
}

func TestPercentString(t *testing.T) {
	for p, want := range map[Percent]string{0: "0%", 0.1: "0.1%", 5: "5%", 99.95: "99.95%", 100: "100%"} {
		if got := p.String(); got != want {
			t.Errorf("Percent(%v).String() = %q; want %q", float64(p), got, want)
		}
		if back, err := ParsePercent(want); err != nil || back != p {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v back", want, back, err, float64(p))
		}
	}
}

func TestParseBitRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BitRate
	}{
		{"10mbit", 10e6}, {"1gbit", 1e9}, {"500kbit", 500e3}, {"100bit", 100},
		{"1.5kbit", 1500}, {" 10 Mbit ", 10e6}, {"0mbit", 0},
		{"1mbps", 8e6}, {"1MBPS", 8e6}, {"2kbps", 16e3}, {"1gbps", 8e9}, {"3bps", 24},
	} {
		got, err := ParseBitRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBitRate(%q) = %v, %v; want %v", c.in, uint64(got), err, uint64(c.want))
		}
	}
	for _, in := range []string{"", "10", "mbit", "-1mbit", "10 megabit", "ten mbit", "10mbit/s"} {
		if got, err := ParseBitRate(in); err == nil {
			t.Errorf("ParseBitRate(%q) = %v; want an error", in, uint64(got))
		} else if !strings.Contains(err.Error(), "like 10mbit") {
			t.Errorf("ParseBitRate(%q) error %q does not show an example", in, err)
		}
	}
}

func TestBitRateString(t *testing.T) {
	for r, want := range map[BitRate]string{
		0: "unlimited", 1: "1bit", 1500: "1500bit", 8000: "8kbit", 2_500_000: "2500kbit",
		10e6: "10mbit", 1e9: "1gbit", 100e9: "100gbit",
	} {
		if got := r.String(); got != want {
			t.Errorf("BitRate(%d).String() = %q; want %q", uint64(r), got, want)
		}
		if r == 0 {
			continue
		}
		if back, err := ParseBitRate(want); err != nil || back != r {
			t.Errorf("ParseBitRate(%q) = %d, %v; want %d back", want, uint64(back), err, uint64(r))
		}
	}
}

func TestRateUnits(t *testing.T) {
	for _, u := range RateUnits() {
		bits, ok := RateUnitBits(strings.ToUpper(u))
		if !ok || bits <= 0 {
			t.Errorf("RateUnitBits(%q) = %v, %v; want a positive multiplier", u, bits, ok)
			continue
		}
		if got, err := ParseBitRate("1" + u); err != nil || float64(got) != bits {
			t.Errorf("ParseBitRate(%q) = %d, %v; want %v", "1"+u, uint64(got), err, bits)
		}
	}
	if len(RateUnits()) != len(rateUnits) {
		t.Errorf("RateUnits lists %d units, ParseBitRate reads %d", len(RateUnits()), len(rateUnits))
	}
	if _, ok := RateUnitBits("mbit/s"); ok {
		t.Error(`RateUnitBits("mbit/s") is ok; want not`)
	}
}
