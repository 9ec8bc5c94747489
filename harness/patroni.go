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
)

// LeaderKey reads Patroni's leader key from etcd's v3 JSON gateway on the
// first member that answers; "" means no key.
func (l *Lab) LeaderKey(ctx context.Context) (string, error) {
	key := base64.StdEncoding.EncodeToString([]byte(dcsNamespace + l.plan.Scope + "/leader"))
	body := []byte(`{"key":"` + key + `"}`)
	var lastErr error
	for _, e := range l.plan.Etcd {
		port := l.hostPort(e.Name, portEtcd)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/v3/kv/range", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		resp, err := l.http.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("etcd %s: status %d: %v", e.Name, resp.StatusCode, err)
			continue
		}
		var out struct {
			Kvs []struct {
				Value string `json:"value"`
			} `json:"kvs"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			lastErr = err
			continue
		}
		if len(out.Kvs) == 0 {
			return "", nil
		}
		v, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
		if err != nil {
			return "", fmt.Errorf("decode leader key: %w", err)
		}
		return string(v), nil
	}
	return "", fmt.Errorf("read leader key: %w", lastErr)
}

// PatroniState is what a member's Patroni REST API says of it now.
type PatroniState struct {
	Role     Role
	State    string // running, starting, stopped...
	Timeline int
}

// Patroni reads a member's state from its Patroni REST API (GET /patroni).
func (l *Lab) Patroni(ctx context.Context, node string) (PatroniState, error) {
	st, err := l.patroni(ctx, node)
	if err != nil {
		return PatroniState{}, err
	}
	return PatroniState{Role: normaliseRole(st.Role), State: st.State, Timeline: st.Timeline}, nil
}

// NodeByIP names the database node with address ip on the lab network, or
// returns ip when none has it.
func (l *Lab) NodeByIP(ip string) string {
	for _, n := range l.plan.Nodes {
		if n.IP.String() == ip {
			return n.Name
		}
	}
	return ip
}
