package nodeimage

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// leaderKeyCheck drives the image's own Patroni etcd3 module against an
// etcd in the same container: a node whose lease changed must renew a
// leader key that names it, create one that is absent, and leave alone one
// another node holds (Patroni 3.0.2 overwrote it: patroniEtcd3LeaderKey).
const leaderKeyCheck = `
import json, subprocess
from patroni.dcs.etcd3 import Etcd3

def dcs(name):
    return Etcd3({'host': '127.0.0.1:2379', 'scope': 'leader-key-check', 'namespace': '/service/',
                  'name': name, 'ttl': 30, 'retry_timeout': 10, 'loop_wait': 10})

def holder():
    return subprocess.run(['etcdctl', 'get', '/service/leader-key-check/leader', '--print-value-only'],
                          capture_output=True, text=True, check=True).stdout.strip()

def new_lease(d):
    d._lease = None
    d._do_refresh_lease()
    d.get_cluster()

old, new = dcs('old'), dcs('new')
out = {}
assert new.attempt_to_acquire_leader(), 'new could not take the free leader key'
old.get_cluster()
out['steal'] = {'renewed': old._update_leader(), 'holder': holder()}
new_lease(new)
out['own'] = {'renewed': new._update_leader(), 'holder': holder()}
subprocess.run(['etcdctl', 'del', '/service/leader-key-check/leader'], check=True, capture_output=True)
new_lease(old)
out['free'] = {'renewed': old._update_leader(), 'holder': holder()}
print('RESULT ' + json.dumps(out))
`

// TestPatroniLeaderKeyIsNotOverwritten runs leaderKeyCheck in the built-in
// image (building it if missing, as a lab would).
func TestPatroniLeaderKeyIsNotOverwritten(t *testing.T) {
	cli := dockerForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	img, err := Ensure(ctx, EnsureRequest{Docker: cli, Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Skipf("no node image: %v", err)
	}
	out := runInImage(ctx, t, cli, img.Ref, `etcd --data-dir /tmp/etcd >/tmp/etcd.log 2>&1 &
for i in $(seq 100); do etcdctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
python3 - <<'PY'`+leaderKeyCheck+`PY
`)
	_, line, ok := strings.Cut(out, "RESULT ")
	if !ok {
		t.Fatalf("the check printed no result")
	}
	type step struct {
		Renewed bool
		Holder  string
	}
	var got map[string]step
	if err := json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &got); err != nil {
		t.Fatalf("parse result: %v", err)
	}
	want := map[string]step{
		"steal": {false, "new"}, // another node's key is left alone, and the node learns it lost
		"own":   {true, "new"},  // its own key is renewed with the new lease
		"free":  {true, "old"},  // an absent key is created
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: renewed %v, holder %q; want renewed %v, holder %q", name, got[name].Renewed, got[name].Holder, w.Renewed, w.Holder)
		}
	}
}
