package workload

import (
	"testing"
	"time"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/results"
)

// harness.LinkFidelity repeats results.LinkFidelity's verdicts so that the
// lab can log them below results: both must judge every row alike.
func TestFidelityVerdictsAgree(t *testing.T) {
	ms := time.Millisecond
	for _, f := range []harness.LinkFidelity{
		{},
		{Dropped: 3},
		{Packets: 10, ReleaseError: 2 * ms, Budget: 2 * ms},
		{Packets: 10, ReleaseError: -2 * ms, Budget: 2 * ms},
		{Packets: 10, ReleaseError: 2*ms + 1, Budget: 2 * ms},
		{Packets: 10, ReleaseError: -2*ms - 1, Budget: 2 * ms},
		{Dropped: 1, ReleaseError: 5 * ms, Budget: 2 * ms},
	} {
		r := results.LinkFidelity(f)
		if f.OK() != r.OK() || f.Idle() != r.Idle() || f.Breaks() != r.Breaks() {
			t.Errorf("%+v: harness says ok %v idle %v breaks %v, results %v %v %v",
				f, f.OK(), f.Idle(), f.Breaks(), r.OK(), r.Idle(), r.Breaks())
		}
	}
}

func TestRunFidelity(t *testing.T) {
	if got := runFidelity(nil); got != nil {
		t.Errorf("runFidelity(nil) = %#v, want nil", got)
	}
	f := harness.LinkFidelity{Host: "euw-1", Link: "us-east->eu-west", Delay: 40 * time.Millisecond, Packets: 2000, Dropped: 1,
		ReleaseError: 3 * time.Millisecond, ArrivalLag: time.Millisecond, Budget: 2 * time.Millisecond}
	want := results.LinkFidelity{Host: "euw-1", Link: "us-east->eu-west", Delay: 40 * time.Millisecond, Packets: 2000, Dropped: 1,
		ReleaseError: 3 * time.Millisecond, ArrivalLag: time.Millisecond, Budget: 2 * time.Millisecond}
	if got := runFidelity([]harness.LinkFidelity{f}); len(got) != 1 || got[0] != want {
		t.Errorf("runFidelity = %+v, want [%+v]", got, want)
	}
}
