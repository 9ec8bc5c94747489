package results

import (
	"slices"
	"testing"
)

// A row the reader saw while its write waited, gone after the failover:
// one phantom read, unacknowledged. A row it saw that survived, and one it
// never saw, are not.
func TestPhantomReadsCatchesASeenRowThatIsGone(t *testing.T) {
	b := newHB()
	b.write("writer-0", 1, 0, 2, OK, "n1")
	b.write("writer-0", 2, 10, 1010, Unknown, "")
	b.write("writer-0", 3, 1020, 1030, Failed, "")
	b.read(InflightReaderProcess, 1, 1, 2, true, "n1")
	b.read(InflightReaderProcess, 2, 20, 21, true, "n1")
	b.read(InflightReaderProcess, 2, 40, 41, true, "n1")
	b.read(InflightReaderProcess, 3, 1021, 1022, false, "n1")
	b.final("n2", 1)
	r := PhantomReads(b.h)
	if !slices.Equal(r.Keys, []int64{2}) || r.Unacknowledged != 1 || r.Reads != 4 || r.Seen != 3 {
		t.Errorf("report = %+v, want keys [2], 1 unacknowledged, 4 reads, 3 seen", r)
	}
}

func TestPhantomReadsPassesWhenEverySeenRowSurvives(t *testing.T) {
	b := newHB()
	b.write("writer-0", 1, 0, 2, OK, "n1")
	b.write("writer-0", 2, 10, 1010, Unknown, "")
	b.read(InflightReaderProcess, 1, 1, 2, true, "n1")
	b.read(InflightReaderProcess, 2, 20, 21, true, "n1")
	// Another process's reads are not the in-flight reader's.
	b.read("session-0", 9, 20, 21, true, "n1")
	b.final("n2", 1, 2)
	if r := PhantomReads(b.h); len(r.Keys) != 0 || !r.FinalRecorded {
		t.Errorf("report = %+v, want no phantom read", r)
	}
	b.h.Final = nil
	if r := PhantomReads(b.h); r.FinalRecorded {
		t.Errorf("without a final state: %+v, want FinalRecorded false", r)
	}
}
