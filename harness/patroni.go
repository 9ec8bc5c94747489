package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	"github.com/replab/replab/topologies"
)

// LeaderKey reads Patroni's leader key from etcd's v3 JSON gateway on the
// first member that answers; "" means no key. With a standby cluster it
// is the key of the cluster that is not a standby one now (whose
// configuration has no standby_cluster): the holder of a standby
// cluster's key is a standby leader, which accepts no writes. Then ""
// also means that no cluster whose DCS answered is bootstrapped and not a
// standby one. The
// standby-region cluster is asked first: once promoted it is the one that
// counts, and the old primary's DCS, restarted to be rebuilt as its
// standby, holds its dead leader's key until the rebuild rewrites it.
func (l *Lab) LeaderKey(ctx context.Context) (string, error) {
	switch l.manager() {
	case topologies.ManagerPGAutoFailover:
		return l.monitorPrimary(ctx)
	case topologies.ManagerRepmgr:
		return "", ErrNoLeaderKey
	}
	if len(l.plan.StandbyEtcd) == 0 {
		v, _, err := l.etcdGet(ctx, l.plan.Etcd, dcsNamespace+l.plan.Scope+"/leader")
		if err != nil {
			return "", fmt.Errorf("read leader key: %w", err)
		}
		return v, nil
	}
	var errs []error
	for _, c := range []struct {
		etcd  []member
		scope string
	}{{l.plan.StandbyEtcd, l.plan.standbyScope()}, {l.plan.Etcd, l.plan.Scope}} {
		prefix := dcsNamespace + c.scope + "/"
		cfg, ok, err := l.etcdGet(ctx, c.etcd, prefix+"config")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok || standbyConfig(cfg) {
			continue // not bootstrapped yet, or a standby cluster
		}
		v, _, err := l.etcdGet(ctx, c.etcd, prefix+"leader")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return v, nil
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("read leader key: %w", errors.Join(errs...))
	}
	return "", nil
}

// standbyConfig reports whether a cluster's dynamic configuration (its
// DCS config key; "" when not written yet) makes it a standby cluster.
func standbyConfig(raw string) bool {
	var c struct {
		Standby map[string]any `json:"standby_cluster"`
	}
	return raw != "" && json.Unmarshal([]byte(raw), &c) == nil && c.Standby != nil
}

// PatroniState is what a member's Patroni REST API says of it now.
type PatroniState struct {
	Role     Role
	State    string // running, starting, stopped...
	Timeline int
}

// Patroni reads a member's state from its Patroni REST API (GET
// /patroni); under pg_auto_failover or repmgr, from the node over SQL
// (sqlStatus), in the same shape.
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

// Switchover asks Patroni for a planned switchover from leader to
// candidate (empty: Patroni picks a healthy one; in synchronous mode only
// a synchronous standby qualifies) through the leader's REST API (POST
// /switchover), and returns once Patroni reports the outcome. Under
// pg_auto_failover the monitor is asked (pgafSwitchover); repmgr's own
// switchover needs SSH between nodes, so replab runs its steps
// (repmgrSwitchover). sent, when
// not nil, is called as soon as the request is written: the switchover's
// begin is bounded by the call and sent, not by the reply.
func (l *Lab) Switchover(ctx context.Context, leader, candidate string, sent func()) error {
	switch l.manager() {
	case topologies.ManagerPGAutoFailover:
		return l.pgafSwitchover(ctx, leader, candidate, sent)
	case topologies.ManagerRepmgr:
		return l.repmgrSwitchover(ctx, leader, candidate, sent)
	}
	body, err := json.Marshal(map[string]string{"leader": leader, "candidate": candidate})
	if err != nil {
		return fmt.Errorf("switchover %s: %w", leader, err)
	}
	if sent != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { sent() }})
	}
	status, reply, err := l.patroniCall(ctx, leader, http.MethodPost, "/switchover", body)
	if err != nil {
		return fmt.Errorf("switchover %s→%s: %w", leader, orAny(candidate), err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("switchover %s→%s: Patroni answered %d: %s", leader, orAny(candidate), status, strings.TrimSpace(reply))
	}
	return nil
}

// SetDynamicConfig merges patch into Patroni's dynamic configuration
// (PATCH /config on the first node that answers); Patroni applies it on
// every member within a loop_wait. A key set to nil is removed.
func (l *Lab) SetDynamicConfig(ctx context.Context, patch map[string]any) error {
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("set dynamic config: %w", err)
	}
	var errs []error
	for _, n := range l.plan.Nodes {
		if n.Node.Standby {
			continue // another cluster, with a configuration of its own
		}
		status, reply, err := l.patroniCall(ctx, n.Name, http.MethodPatch, "/config", body)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status != http.StatusOK {
			return fmt.Errorf("set dynamic config: Patroni on %s answered %d: %s", n.Name, status, strings.TrimSpace(reply))
		}
		return nil
	}
	return fmt.Errorf("set dynamic config: no node answered: %w", errors.Join(errs...))
}

// patroniWrites is the client for requests that change Patroni's state: a
// switchover's reply comes only once it is over, seconds later, where the
// lab's polling client gives up after 700ms.
var patroniWrites = &http.Client{Timeout: time.Minute}

// patroniCall sends one state-changing request to a node's Patroni REST
// API and returns the status and (at most 64 KiB of) the body.
func (l *Lab) patroniCall(ctx context.Context, node, method, path string, body []byte) (int, string, error) {
	port := l.hostPort(node, portPatroni)
	if port == 0 {
		return 0, "", fmt.Errorf("call patroni on %s: %w", node, ErrUnknownTarget)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := patroniWrites.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("call patroni on %s: %w", node, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("call patroni on %s: read reply: %w", node, err)
	}
	return resp.StatusCode, string(b), nil
}

func orAny(candidate string) string {
	if candidate == "" {
		return "any"
	}
	return candidate
}
