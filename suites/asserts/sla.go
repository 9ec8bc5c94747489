package asserts

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/replab/replab/results"
)

// MeetSLA succeeds when a run meets its targets: every check passes or is
// inconclusive (results.Evaluate). It accepts a results.History (judged
// against t), a *results.Recorder (its History now), or an already computed
// results.Verdict (t is then ignored). Its failure message is the table of
// checks with measured values, targets and sample counts, so a failed spec
// shows the numbers.
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
	return "Expected the run to meet its SLA; it did not.\n" + m.verdict.Table()
}

// NegatedFailureMessage implements types.GomegaMatcher.
func (m *slaMatcher) NegatedFailureMessage(any) string {
	return "Expected the run to miss its SLA; it met it.\n" + m.verdict.Table()
}
