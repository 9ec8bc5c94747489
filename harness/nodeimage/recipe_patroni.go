package nodeimage

// patroniEtcd3LeaderKey makes Debian bookworm's Patroni 3.0.2 renew the
// leader key only while it still names this node, or create it while
// nobody holds it. 3.0.2 puts the key unconditionally whenever the key's
// lease differs from the node's: a leader that was frozen past the TTL
// wakes with a new lease and overwrites the key a replica has meanwhile
// taken, so two primaries accept writes and the new one's are lost when
// the old one keeps the key. Upstream fixed it in 3.0.3 (Patroni pull
// requests 2689 and 2693) with one nested transaction; 3.0.2's client has
// no failure branch for transactions, so this runs the same two
// comparisons as two transactions: each is conditional, so a key taken
// between them is left alone and the node demotes. An etcd error now
// returns False (demote) as in 3.0.3, where 3.0.2 reported success.
var patroniEtcd3LeaderKey = Patch{
	Path: "/usr/lib/python3/dist-packages/patroni/dcs/etcd3.py",
	Old: `                try:
                    self._run_and_handle_exceptions(self._client.put, self.leader_path,
                                                    self._name, self._lease, retry=_retry)
                except ReturnFalseException:
                    pass
        return bool(self._lease)
`,
	New: `                fields = {'key': base64_encode(self.leader_path), 'value': base64_encode(self._name),
                          'lease': self._lease}
                ours = {'key': fields['key'], 'target': 'VALUE', 'value': fields['value']}
                if self._run_and_handle_exceptions(self._client.txn, ours, {'request_put': fields}, retry=_retry):
                    return True
                free = {'key': fields['key'], 'target': 'CREATE', 'create_revision': '0'}
                return bool(self._run_and_handle_exceptions(self._client.txn, free, {'request_put': dict(fields)},
                                                            retry=_retry))
        return bool(self._lease)
`,
	Why: "Patroni 3.0.2 overwrites another node's leader key after its own lease changed; fixed in 3.0.3",
}
