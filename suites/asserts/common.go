package asserts

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
)

// Timeouts used by the helpers. Patroni's TTL bounds a failover; the rest
// is slack for a busy two-core CI machine.
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
