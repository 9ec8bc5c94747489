package asserts

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/replab/replab/results"
)

// MeetSLA succeeds when a run meets its targets (results.Evaluate): no
// check failed, and none was inconclusive unless t.AllowInconclusive is
// set, since a run that saw too little to judge must not read as one that
// met its SLA. It accepts a results.History (judged against t), a
// *results.Recorder (its History now), or an already computed
// results.Verdict (t is then ignored; the verdict's own targets decide).
// Its failure message names the failed and the inconclusive checks with
// why, then the table of checks with measured values, targets and sample
// counts, so a failed spec shows the numbers.
//
//	Expect(run.Rec.History()).To(asserts.MeetSLA(experiment.Targets(topology)))
func MeetSLA(t results.Targets) types.GomegaMatcher {
	return &slaMatcher{targets: t}
}

type slaMatcher struct {
	targets results.Targets
	verdict results.Verdict
}

// Match implements types.GomegaMatcher.
func (m *slaMatcher) Match(actual any) (bool, error) {
	v, err := m.judge(actual)
	if err != nil {
		return false, err
	}
	m.verdict = v
	return v.Pass, nil
}

func (m *slaMatcher) judge(actual any) (results.Verdict, error) {
	switch a := actual.(type) {
	case results.History:
		return results.Evaluate(a, m.targets), nil
	case *results.History:
		if a != nil {
			return results.Evaluate(*a, m.targets), nil
		}
	case *results.Recorder:
		if a != nil {
			return results.Evaluate(a.History(), m.targets), nil
		}
	case results.Verdict:
		return a, nil
	case *results.Verdict:
		if a != nil {
			return *a, nil
		}
	}
	return results.Verdict{}, fmt.Errorf("MeetSLA expects a results.History, *results.Recorder or results.Verdict, got %T (%v)", actual, actual)
}

// FailureMessage implements types.GomegaMatcher.
func (m *slaMatcher) FailureMessage(any) string {
	var b strings.Builder
	b.WriteString("Expected the run to meet its SLA; it did not.\n")
	for _, c := range m.verdict.Failed() {
		fmt.Fprintf(&b, "failed: %s: measured %s, target %s\n", c.Name, c.Measured, c.Target)
	}
	if inc := m.verdict.Inconclusive(); len(inc) > 0 {
		fmt.Fprintf(&b, "inconclusive (%s):\n", m.verdict.InconclusiveNote())
		for _, c := range inc {
			fmt.Fprintf(&b, "  %s: %s\n", c.Name, c.Detail)
		}
	}
	return b.String() + m.verdict.Table()
}

// NegatedFailureMessage implements types.GomegaMatcher.
func (m *slaMatcher) NegatedFailureMessage(any) string {
	return "Expected the run to miss its SLA; it met it.\n" + m.verdict.Table()
}
