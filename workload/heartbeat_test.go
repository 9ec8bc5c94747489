package workload

import (
	"testing"
	"time"
)

func TestHeartbeatStaleness(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	var hb heartbeats
	// Heartbeats 1..5 acknowledged every 50ms from t=50ms; 6 was never
	// acknowledged (lost, or its outcome unknown); 7 at 400ms.
	for i := int64(1); i <= 5; i++ {
		hb.acked(i, ms(50*int(i)))
	}
	hb.acked(7, ms(400))
	for _, c := range []struct {
		name string
		seen int64
		at   time.Duration
		want time.Duration
	}{
		{"caught up", 5, ms(260), 0},
		{"nothing acknowledged yet", 0, ms(40), 0},
		{"one heartbeat behind", 4, ms(260), ms(10)},
		{"behind since the first", 0, ms(300), ms(250)},
		{"the next one acknowledged after the read began", 5, ms(390), 0},
		{"an unacknowledged heartbeat does not count", 5, ms(420), ms(20)},
		{"showing a heartbeat whose ack was never seen", 6, ms(420), ms(20)},
		{"ahead of every ack", 9, ms(500), 0},
	} {
		if got := hb.staleness(c.seen, c.at); got != c.want {
			t.Errorf("%s: staleness(seen %d, at %s) = %s, want %s", c.name, c.seen, c.at, got, c.want)
		}
	}
}
