package asserts

import (
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/replab/replab/results"
)

func ms(v int) time.Duration { return time.Duration(v) * time.Millisecond }

// failover is a small run: writes every 100 ms through the endpoint, the
// leader killed at 2 s, writes back on b at 5 s, until 8 s. lose names keys
// the new leader lacks.
func failover(lose ...int64) results.History {
	h := results.History{Meta: results.RunMeta{ID: "matcher"}, Clock: results.Clock{Resolution: 50}}
	missing := map[int64]bool{}
	for _, k := range lose {
		missing[k] = true
	}
	final := &results.FinalState{Member: "b", Timeline: 2}
	id := int64(0)
	for t := 0; t < 8000; t += 100 {
		id++
		op := results.Op{ID: id, Kind: results.OpWrite, Process: "writer-0", Target: results.TargetRW, Key: id,
			Invoke: ms(t), Complete: ms(t + 3), Outcome: results.OK, Member: "a"}
		switch {
		case t >= 2000 && t < 5000:
			op.Outcome, op.Member = results.Failed, ""
		case t >= 5000:
			op.Member = "b"
		}
		h.Ops = append(h.Ops, op)
		if op.Outcome == results.OK && !missing[op.Key] {
			final.Keys = append(final.Keys, op.Key)
		}
	}
	// probes on each member every 100 ms, keys from 1e6: a then b lead
	for t := 0; t < 8000; t += 100 {
		for _, n := range []string{"a", "b"} {
			id++
			op := results.Op{ID: id, Kind: results.OpProbe, Process: "probe:" + n, Target: n, Key: 1_000_000 + id,
				Invoke: ms(t), Complete: ms(t + 2), Outcome: results.Failed}
			if n == "a" && t < 2000 || n == "b" && t >= 5000 {
				op.Outcome, op.Member = results.OK, n
				final.Keys = append(final.Keys, op.Key)
			}
			h.Ops = append(h.Ops, op)
		}
	}
	h.Events = []results.EventRecord{
		{At: ms(2000), End: ms(2001), Kind: results.EventFaultInjected, Node: "a", Detail: "kill"},
		{At: ms(4800), Kind: results.EventLeaderChanged, Node: "b"},
	}
	h.Final = final
	return h
}

func targets() results.Targets {
	fo, lost := 10*time.Second, 0
	return results.Targets{FailoverTimeMax: &fo, LostWritesMax: &lost}
}

func TestMeetSLAPasses(t *testing.T) {
	g := gomega.NewWithT(t)
	h := failover()
	g.Expect(h).To(MeetSLA(targets()))
	g.Expect(&h).To(MeetSLA(targets()))
	g.Expect(results.Evaluate(h, targets())).To(MeetSLA(results.Targets{}))
}

func TestMeetSLAFailureShowsTheNumbers(t *testing.T) {
	g := gomega.NewWithT(t)
	h := failover(20, 19) // the last two writes before the kill
	g.Expect(h).NotTo(MeetSLA(targets()))

	m := MeetSLA(targets())
	ok, err := m.Match(h)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ok).To(gomega.BeFalse())
	msg := m.FailureMessage(h)
	for _, want := range []string{"SLA verdict: FAIL", "CHECK", "MEASURED", "TARGET", "SAMPLES", "failover_time", "lost_writes", "fail", "≤ 0", "≤ 10s", "2 of 100 acknowledged writes absent"} {
		g.Expect(msg).To(gomega.ContainSubstring(want))
	}
	// the lost-writes row reads: name, status, measured, target
	var row string
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, "lost_writes ") {
			row = l
		}
	}
	g.Expect(strings.Fields(row)).To(gomega.HaveExactElements("lost_writes", "fail", "2", "≤", "0", "100"))
	g.Expect(msg).To(gomega.ContainSubstring("failed: lost_writes: measured 2, target ≤ 0"))
}

func TestMeetSLAFailsOnInconclusive(t *testing.T) {
	g := gomega.NewWithT(t)
	h := failover()
	h.Final = nil // no read-back: lost writes cannot be judged
	m := MeetSLA(targets())
	ok, err := m.Match(h)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ok).To(gomega.BeFalse())
	msg := m.FailureMessage(h)
	for _, want := range []string{"SLA verdict: FAIL: 1 check inconclusive (not allowed)", "inconclusive (they fail the run", "lost_writes: RecordFinal was not called"} {
		g.Expect(msg).To(gomega.ContainSubstring(want))
	}
	g.Expect(msg).NotTo(gomega.ContainSubstring("failed: "))

	allowed := targets()
	allowed.AllowInconclusive = true
	g.Expect(h).To(MeetSLA(allowed))
	g.Expect(results.Evaluate(h, allowed)).To(MeetSLA(results.Targets{})) // the verdict's own targets decide
	g.Expect(results.Evaluate(h, targets())).NotTo(MeetSLA(allowed))
}

func TestMeetSLANegated(t *testing.T) {
	g := gomega.NewWithT(t)
	m := MeetSLA(targets())
	ok, err := m.Match(failover())
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ok).To(gomega.BeTrue())
	g.Expect(m.NegatedFailureMessage(nil)).To(gomega.ContainSubstring("it met it"))
}

func TestMeetSLARejectsOtherTypes(t *testing.T) {
	g := gomega.NewWithT(t)
	for _, actual := range []any{42, nil, (*results.History)(nil), (*results.Recorder)(nil)} {
		_, err := MeetSLA(targets()).Match(actual)
		g.Expect(err).To(gomega.MatchError(gomega.ContainSubstring("MeetSLA expects")))
	}
}

func TestMeetSLARecorder(t *testing.T) {
	g := gomega.NewWithT(t)
	rec := results.NewRecorder(results.RunMeta{ID: "rec"})
	rec.Begin(results.OpStart{Kind: results.OpWrite, Target: results.TargetRW, Key: 1}).End(results.OpEnd{Outcome: results.OK})
	rec.RecordFinal(results.FinalState{Keys: []int64{1}})
	// no fault and no probe: failover and split-brain inconclusive, which
	// fails the verdict unless allowed
	g.Expect(rec).NotTo(MeetSLA(targets()))
	allowed := targets()
	allowed.AllowInconclusive = true
	g.Expect(rec).To(MeetSLA(allowed))
}
