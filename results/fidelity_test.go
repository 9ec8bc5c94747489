package results

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFidelityWarnings(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	fs := []LinkFidelity{
		{Host: "euw-1", Link: "us-east->eu-west", Delay: ms(40), Packets: 7000, ReleaseError: ms(3), Budget: ms(2)},    // planted: late
		{Host: "use-1", Link: "eu-west->us-east", Delay: ms(40), Packets: 5000, ReleaseError: ms(-2.5), Budget: ms(2)}, // planted: early
		{Host: "aps-1", Link: "us-east->ap-southeast", Delay: ms(100), Packets: 9000, ReleaseError: ms(0.9), Budget: ms(5)},
		{Host: "aps-1", Link: "eu-west->ap-southeast", Delay: ms(75), Packets: 0, ReleaseError: ms(9), Budget: ms(3.75)}, // no packets: nothing to judge
	}
	w := FidelityWarnings(fs)
	if len(w) != 2 || !strings.Contains(w[0], "us-east->eu-west in euw-1") || !strings.Contains(w[1], "eu-west->us-east in use-1") {
		t.Fatalf("warnings %q, want the late and the early link only", w)
	}
	if !strings.Contains(w[0], "about 6ms off") {
		t.Errorf("warning %q should give the round-trip skew (2 × 3ms)", w[0])
	}
	if got := FidelityWarnings(fs[2:]); len(got) != 0 {
		t.Errorf("links within budget warned: %q", got)
	}

	// The fidelity survives history.jsonl, and the summary shows it.
	h := History{Meta: RunMeta{ID: "r"}, Netem: fs}
	var buf bytes.Buffer
	if err := EncodeHistory(&buf, h); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Netem) != len(fs) || back.Netem[0] != fs[0] {
		t.Errorf("netem after a round trip: %+v", back.Netem)
	}
	res := Summarize(back, Evaluate(back, Targets{}))
	if len(res.NetemWarnings) != 2 {
		t.Errorf("results carry %d warnings, want 2", len(res.NetemWarnings))
	}
	sum := RenderSummary(res)
	for _, want := range []string{"WAN fidelity", "| euw-1 | us-east->eu-west | 40ms | 7000 | 0 | 3ms ⚠️ | ±2ms |", "round trips over this link were about 6ms off"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	html, err := RenderHTML(back, res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("WAN fidelity")) || !bytes.Contains(html, []byte("round trips over this link were about 6ms off")) {
		t.Error("report.html lacks the fidelity section or its warning")
	}
	if strings.Contains(RenderSummary(Summarize(History{}, Verdict{})), "WAN fidelity") {
		t.Error("a run without netem counters shows a fidelity section")
	}
}
