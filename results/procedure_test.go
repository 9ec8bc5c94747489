package results

import (
	"strings"
	"testing"
)

// A failover procedure's steps are listed under the fault whose window
// they fall in, in time order with how long each took, and shown in the
// summary; another fault's steps are not.
func TestFailoverPhasesListTheProcedureSteps(t *testing.T) {
	b := newHB()
	b.event(0, EventLeaderChanged, "n1", "initial")
	b.event(1000, EventFaultInjected, "n1", "kill")
	b.h.Events = append(b.h.Events,
		EventRecord{At: ms(1100), End: ms(2100), Kind: EventFailoverStep, Node: "n1", Detail: "detect"},
		EventRecord{At: ms(2100), End: ms(2103), Kind: EventFailoverStep, Node: "n3", Detail: "choose"})
	b.event(5000, EventFaultInjected, "n3", "kill")
	b.h.Events = append(b.h.Events, EventRecord{At: ms(5100), End: ms(5200), Kind: EventFailoverStep, Node: "n3", Detail: "detect"})
	b.write("writer-0", 1, 0, 1, OK, "n1")
	b.write("writer-0", 2, 3000, 3001, OK, "n3")

	r := FailoverPhases(b.h, 0)
	if len(r.Procedure) != 2 || r.Procedure[0].Name != "detect" || r.Procedure[1].Name != "choose" {
		t.Fatalf("procedure = %+v, want detect then choose", r.Procedure)
	}
	if p := r.Procedure[0]; p.SinceFault != ms(100) || p.Took != ms(1000) || p.Node != "n1" {
		t.Errorf("detect = %+v, want 100ms after the fault, 1s long, on n1", p)
	}
	if r2 := FailoverPhases(b.h, 1); len(r2.Procedure) != 1 || r2.Procedure[0].At != ms(5100) {
		t.Errorf("second fault's procedure = %+v, want its own detect only", r2.Procedure)
	}
	if md := RenderSummary(Summarize(b.h, Evaluate(b.h, Targets{}))); !strings.Contains(md, "| procedure step |") || !strings.Contains(md, "| choose |") {
		t.Errorf("summary lacks the procedure table:\n%s", md)
	}
}
