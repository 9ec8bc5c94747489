package workload

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
)

// TestSteadyWritesWhatItAlwaysWrote: the payload is the bulk profile's
// alone; the steady profile's statement and rows are unchanged.
func TestSteadyWritesWhatItAlwaysWrote(t *testing.T) {
	if Steady.PayloadBytes != 0 {
		t.Errorf("steady carries a %d-byte payload", Steady.PayloadBytes)
	}
	if got := insertSQL(false); strings.Contains(got, "replab_payload") || strings.Contains(got, "$4") {
		t.Errorf("the statement without payload touches the payload: %s", got)
	}
	if got := insertSQL(true); !strings.Contains(got, "INSERT INTO replab_payload (run, id, payload) VALUES ($3, $1, $4)") ||
		!strings.HasSuffix(got, insertSQL(false)) {
		t.Errorf("the statement with payload is not the write plus the payload's insert: %s", got)
	}
	names := map[string]bool{}
	for _, p := range Profiles() {
		if names[p.Name] {
			t.Errorf("profile %s listed twice", p.Name)
		}
		names[p.Name] = true
	}
	if !names["steady"] || !names["bulk"] {
		t.Errorf("profiles %v, want steady and bulk", names)
	}
}

// TestPayloadIsIncompressible: each write must log about its payload's
// size of WAL, so TOAST's compression must find nothing to squeeze.
func TestPayloadIsIncompressible(t *testing.T) {
	p := newPayload(BulkPayloadBytes)
	if len(p) != BulkPayloadBytes {
		t.Fatalf("payload of %d bytes, want %d", len(p), BulkPayloadBytes)
	}
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	_, _ = w.Write(p)
	_ = w.Close()
	if b.Len() < len(p)*95/100 {
		t.Errorf("payload compresses to %d of %d bytes", b.Len(), len(p))
	}
	if newPayload(0) != nil {
		t.Error("a zero payload is not nil")
	}
}
