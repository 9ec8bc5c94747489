package results

import (
	"errors"
	"testing"
)

func TestAckedWrites(t *testing.T) {
	r := NewRecorder(RunMeta{ID: "t"})
	r.Begin(OpStart{Kind: OpWrite, Key: 1}).End(OpEnd{Outcome: OK})
	r.Begin(OpStart{Kind: OpWrite, Key: 2}).End(OpEnd{Outcome: Failed, Err: errors.New("read-only")})
	r.Begin(OpStart{Kind: OpProbe, Key: 3}).End(OpEnd{Outcome: OK})
	r.Begin(OpStart{Kind: OpWrite, Key: 4}) // pending: not acknowledged
	mid := r.Now()
	r.Begin(OpStart{Kind: OpWrite, Key: 5}).End(OpEnd{Outcome: OK})
	if got := r.AckedWrites(0); got != 2 {
		t.Errorf("AckedWrites(0) = %d, want 2 (ok writes only, no probes, failures or pending)", got)
	}
	if got := r.AckedWrites(mid); got != 1 {
		t.Errorf("AckedWrites(mid) = %d, want 1", got)
	}
	if got := r.AckedWrites(r.Now() + 1); got != 0 {
		t.Errorf("AckedWrites(future) = %d, want 0", got)
	}
}
