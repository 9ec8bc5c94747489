package netem

import (
	"testing"
	"time"
)

func TestPingMedian(t *testing.T) {
	out := `PING 172.29.0.24 (172.29.0.24) 56(84) bytes of data.
64 bytes from 172.29.0.24: icmp_seq=1 ttl=64 time=212 ms
64 bytes from 172.29.0.24: icmp_seq=2 ttl=64 time=190.5 ms
64 bytes from 172.29.0.24: icmp_seq=3 ttl=64 time=201.25 ms

--- 172.29.0.24 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 402ms
rtt min/avg/max/mdev = 190.500/201.250/212.000/8.780 ms`
	got, err := PingMedian(out)
	if err != nil || got != 201250*time.Microsecond {
		t.Errorf("pingMedian = %v, %v; want 201.25ms", got, err)
	}
	if got, _ := PingMedian("time=1 ms\ntime=3 ms"); got != 2*time.Millisecond {
		t.Errorf("even count: %v, want the mean of the middle two, 2ms", got)
	}
	if _, err := PingMedian("3 packets transmitted, 0 received, 100% packet loss"); err == nil {
		t.Error("no replies must be an error")
	}
}
