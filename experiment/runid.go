package experiment

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewRunID returns a sortable, unique run id: UTC time plus 4 random hex
// digits.
func NewRunID() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
