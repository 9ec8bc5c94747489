package harness

import (
	"context"
	"database/sql"
	"time"
)

// MariaDBState is a MariaDB node's replication state.
type MariaDBState struct {
	ReadOnly bool `json:"read_only"`
	// GTID is @@gtid_current_pos: the last transaction of each domain
	// this node has (committed or applied).
	GTID string `json:"gtid"`
	// Replica is SHOW SLAVE STATUS; nil on a node that replicates from
	// nobody.
	Replica *ReplicaStatus `json:"replica,omitempty"`
	// SemiSync is whether the node, as a primary, waits for a replica's
	// acknowledgement now (Rpl_semi_sync_master_status: it turns OFF on
	// the fall back to async after rpl_semi_sync_master_timeout).
	SemiSync bool `json:"semi_sync"`
}

// StateDetached is the state of a MariaDB node that is read-only and
// replicates from nobody.
const StateDetached = "detached"

// mariadbMembers reads every node of a MariaDB lab at once. A node not
// read-only leads; a replica streams while both its threads run.
func (l *Lab) mariadbMembers(ctx context.Context) []Member {
	nodes := l.plan.Nodes
	out := make([]Member, len(nodes))
	done := make(chan struct{}, len(nodes))
	for i, n := range nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = l.mariadbMember(ctx, n)
		}()
	}
	for range nodes {
		<-done
	}
	return out
}

// mariadbMember reads one node; "unreachable" when it does not answer.
func (l *Lab) mariadbMember(ctx context.Context, n member) Member {
	m := Member{Name: n.Name, Region: n.Region, Role: RoleUnknown, State: "unreachable"}
	db, err := l.SQL(n.Name)
	if err != nil {
		return m
	}
	defer db.Close()
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var st MariaDBState
	var ro int
	var semi sql.NullString
	if err := db.QueryRowContext(qctx, "SELECT @@global.read_only, @@global.gtid_current_pos, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS')").Scan(&ro, &st.GTID, &semi); err != nil {
		return m
	}
	st.ReadOnly, st.SemiSync = ro == 1, semi.String == "ON"
	if rs, ok, err := ReadReplicaStatus(qctx, db); err == nil && ok {
		st.Replica = &rs
	}
	m.MariaDB = &st
	switch {
	case !st.ReadOnly:
		m.Role, m.State = RoleLeader, "running"
	case st.Replica != nil && st.Replica.Streaming():
		m.Role, m.State = RoleReplica, "streaming"
	case st.Replica == nil:
		// Read-only and replicating from nobody: a former primary left
		// out (RejoinMariaDB), which waiting will not change.
		m.Role, m.State = RoleReplica, StateDetached
	default:
		m.Role, m.State = RoleReplica, "running"
	}
	return m
}
