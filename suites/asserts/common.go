package asserts

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
)

// Timeouts used by the helpers. ProvisionTimeout bounds bringing a lab up
// (image build excluded); FailoverTimeout bounds a wait for a failover,
// which Patroni's TTL (20s in the built-ins) dominates, with room for a
// machine whose cores the lab's containers share.
const (
	ProvisionTimeout = 3 * time.Minute
	FailoverTimeout  = 90 * time.Second
)

// Logger writes slog records to GinkgoWriter, so they show only for
// failing specs (or with -v).
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ResultsRoot is where runs are written: $REPLAB_RESULTS, else results/ at
// the module root.
func ResultsRoot() string {
	if d := os.Getenv("REPLAB_RESULTS"); d != "" {
		return d
	}
	return filepath.Join("..", "results")
}
