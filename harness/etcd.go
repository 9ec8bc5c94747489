package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The harness reads and writes the DCS through etcd's JSON gateway on
// each member's published client port (no etcd client library): a key's
// value for readiness and the leader, and, to rebuild a cluster as a
// standby, its configuration.

// etcdGet reads key from the first of members that answers: its value,
// whether it exists.
func (l *Lab) etcdGet(ctx context.Context, members []member, key string) (string, bool, error) {
	var out struct {
		Kvs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := l.etcdCall(ctx, members, "range", map[string]string{"key": b64(key)}, &out); err != nil {
		return "", false, err
	}
	if len(out.Kvs) == 0 {
		return "", false, nil
	}
	v, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
	if err != nil {
		return "", false, fmt.Errorf("decode %s: %w", key, err)
	}
	return string(v), true, nil
}

// etcdPut writes key.
func (l *Lab) etcdPut(ctx context.Context, members []member, key, value string) error {
	return l.etcdCall(ctx, members, "put", map[string]string{"key": b64(key), "value": b64(value)}, nil)
}

// etcdDelete removes key (absent is fine).
func (l *Lab) etcdDelete(ctx context.Context, members []member, key string) error {
	return l.etcdCall(ctx, members, "deleterange", map[string]string{"key": b64(key)}, nil)
}

// etcdCall posts one request to /v3/kv/<op> of the first member that
// answers it with 200, decoding the answer into out (if not nil).
func (l *Lab) etcdCall(ctx context.Context, members []member, op string, req map[string]string, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var lastErr error = fmt.Errorf("no etcd member")
	for _, e := range members {
		port := l.hostPort(e.Name, portEtcd)
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/v3/kv/"+op, bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := l.http.Do(hreq)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("etcd %s: status %d: %v %s", e.Name, resp.StatusCode, err, bytes.TrimSpace(b))
			continue
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			lastErr = fmt.Errorf("etcd %s: %w", e.Name, err)
			continue
		}
		return nil
	}
	return lastErr
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// DCSWrite is one timed write to the DCS.
type DCSWrite struct {
	Member string        // the etcd member it was sent to
	Took   time.Duration // from the request to etcd's answer: its raft commit
}

// DCSWriteLatency writes a scratch key n times through the etcd member of
// the primary region (the one a leader there refreshes its key through)
// and times each write from the host: what every refresh of Patroni's
// leader key waits for. On a DCS stretched over regions a write commits
// only once a member in another region has it, so it takes a WAN round
// trip. The host-to-container hop adds a LAN round trip to each.
func (l *Lab) DCSWriteLatency(ctx context.Context, n int) ([]DCSWrite, error) {
	var m member
	for _, e := range l.plan.Etcd {
		if e.Region == l.topo.PrimaryRegion {
			m = e
			break
		}
	}
	if m.Name == "" {
		m = l.plan.Etcd[0]
	}
	key := dcsNamespace + "replab-probe/" + l.id
	out := make([]DCSWrite, 0, n)
	for i := range n {
		start := time.Now()
		if err := l.etcdPut(ctx, []member{m}, key, strconv.Itoa(i)); err != nil {
			return out, fmt.Errorf("time DCS writes through %s: %w", m.Name, err)
		}
		out = append(out, DCSWrite{Member: m.Name, Took: time.Since(start)})
	}
	if err := l.etcdDelete(ctx, []member{m}, key); err != nil {
		return out, fmt.Errorf("time DCS writes through %s: %w", m.Name, err)
	}
	return out, nil
}
