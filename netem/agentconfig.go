package netem

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// AgentConfig is what the userspace agent (cmd/replab-agent) runs: one
// NFQUEUE per impairment group. PlanUserspace writes it; the agent reads it
// from a JSON file at start and again on SIGHUP.
type AgentConfig struct {
	// Seed seeds each queue's random source (jitter, loss) together with
	// the queue number, so a run with the same seed and the same packets
	// makes the same choices.
	Seed   int64        `json:"seed"`
	Queues []AgentQueue `json:"queues"`
}

// AgentQueue is one NFQUEUE and what the agent does to its packets.
type AgentQueue struct {
	// Num is the NFQUEUE number the firewall rules send packets to.
	Num uint16 `json:"num"`
	// Links names the links whose packets use this queue, for status.
	Links      []string   `json:"links,omitempty"`
	Impairment Impairment `json:"impairment"`
	// Reorder lets jitter reorder packets within a flow, as kernel netem
	// does. Default false: a packet never leaves before an earlier packet
	// of its flow (release = max(arrival+delay, previous release)).
	Reorder bool `json:"reorder,omitempty"`
	// Limit is how many packets the agent holds for this queue before it
	// drops new ones (tail drop, like netem's limit); 0 means
	// DefaultAgentLimit.
	Limit int `json:"limit,omitempty"`
}

// DefaultAgentLimit is the agent's default held-packet limit per queue. The
// kernel queue is bound with twice this length so that the kernel never
// overflows first: with fail-open an overflowing kernel queue would let
// packets through undelayed.
const DefaultAgentLimit = 50000

// Encode renders the config as the agent reads it (indented JSON).
func (c AgentConfig) Encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		panic(fmt.Sprintf("encode agent config: %v", err)) // only plain data: cannot fail
	}
	return b.Bytes()
}

// Validate checks queue numbers are distinct and impairments in range.
func (c AgentConfig) Validate() error {
	seen := map[uint16]bool{}
	for _, q := range c.Queues {
		if seen[q.Num] {
			return fmt.Errorf("%w: queue %d appears twice", ErrInvalidPlan, q.Num)
		}
		seen[q.Num] = true
		if err := q.Impairment.Validate(); err != nil {
			return fmt.Errorf("queue %d: %w", q.Num, err)
		}
		if q.Impairment.Blackhole {
			return fmt.Errorf("%w: queue %d: a blackhole is a DROP rule, not a queue", ErrInvalidPlan, q.Num)
		}
		if q.Limit < 0 {
			return fmt.Errorf("%w: queue %d: negative limit %d", ErrInvalidPlan, q.Num, q.Limit)
		}
	}
	return nil
}

// Hash returns the hex SHA-256 of data; the agent reports the hash of the
// config file it runs so a caller can tell which plan is in force.
func Hash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// AgentStatus is the heartbeat the agent writes (about once a second) and
// that "replab-agent status" prints.
type AgentStatus struct {
	PID int `json:"pid"`
	// BinarySHA256 is the hash of the running executable, so a caller can
	// replace an agent of another build.
	BinarySHA256 string `json:"binary_sha256"`
	// ConfigSHA256 is the hash of the config file bytes in force.
	ConfigSHA256 string             `json:"config_sha256"`
	Seed         int64              `json:"seed"`
	Started      time.Time          `json:"started"`
	Heartbeat    time.Time          `json:"heartbeat"`
	Queues       []AgentQueueStatus `json:"queues"`
	// FailedConfigSHA256 and Error describe the last config the agent
	// could not apply (the previous one stays in force).
	FailedConfigSHA256 string `json:"failed_config_sha256,omitempty"`
	Error              string `json:"error,omitempty"`
	// Nice and SliceUS are the scheduling priority the agent runs at
	// (its niceness, and its EEVDF time slice in microseconds, 0 for the
	// kernel's default); PriorityError says what it asked for and was
	// refused (for example a negative niceness without CAP_SYS_NICE).
	Nice          int     `json:"nice"`
	SliceUS       float64 `json:"slice_us,omitempty"`
	PriorityError string  `json:"priority_error,omitempty"`
}

// AgentQueueStatus counts what one queue did since the agent started.
type AgentQueueStatus struct {
	Num        uint16     `json:"num"`
	Links      []string   `json:"links,omitempty"`
	Impairment Impairment `json:"impairment"`
	Held       int        `json:"held"`     // packets held now
	Received   uint64     `json:"received"` // packets handed to the agent
	Accepted   uint64     `json:"accepted"` // released after their delay
	Lost       uint64     `json:"lost"`     // dropped for Loss
	Overflow   uint64     `json:"overflow"` // dropped: Limit packets held, or the rate queue full (agent.MaxRateBacklog)
	Errors     uint64     `json:"errors"`   // netlink errors (lost messages, failed verdicts)
	// ArrivalLagUS is the mean time, in microseconds, from the kernel's
	// receive timestamp to the agent reading the packet: part of the
	// hold, not added to it.
	ArrivalLagUS float64 `json:"arrival_lag_us"`
	// ReleaseErrorUS is the mean signed error, in microseconds, of release
	// times against their targets, after the agent's compensation for its
	// own wake-up latency (WakeLatencyUS): near zero when it keeps time.
	ReleaseErrorUS float64 `json:"release_error_us"`
	WakeLatencyUS  float64 `json:"wake_latency_us"`
	// The sums and counts behind the two means, so that a caller holding
	// two statuses can compute the means over the time between them.
	Stamped           uint64  `json:"stamped"`  // packets with a receive timestamp
	Released          uint64  `json:"released"` // packets released after their hold
	ArrivalLagSumUS   float64 `json:"arrival_lag_sum_us"`
	ReleaseErrorSumUS float64 `json:"release_error_sum_us"`
}
