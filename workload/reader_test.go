package workload

import "testing"

// A key of unknown outcome is read in turn until it is seen or has been
// read doubtReads times; at most maxDoubts are followed at once.
func TestInflightDoubts(t *testing.T) {
	in := &inflight{}
	if _, ok := in.nextDoubt(); ok {
		t.Fatal("a doubt before any unknown write")
	}
	in.unknown(7)
	in.unknown(9)
	if k, _ := in.nextDoubt(); k != 7 {
		t.Errorf("first doubt %d, want 7", k)
	}
	if k, _ := in.nextDoubt(); k != 9 {
		t.Errorf("second doubt %d, want 9 (in turn)", k)
	}
	in.seen(7)
	for i := 0; i < doubtReads-1; i++ {
		if k, ok := in.nextDoubt(); !ok || k != 9 {
			t.Fatalf("read %d: %d %v, want 9 until it was read %d times", i, k, ok, doubtReads)
		}
	}
	if k, ok := in.nextDoubt(); ok {
		t.Errorf("doubt %d after %d reads, want none", k, doubtReads)
	}
	for k := int64(0); k < 2*maxDoubts; k++ {
		in.unknown(k)
	}
	if len(in.doubts) != maxDoubts {
		t.Errorf("%d doubts followed, want at most %d", len(in.doubts), maxDoubts)
	}
}
