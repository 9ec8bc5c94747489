package suites

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/suites/asserts"
	"github.com/replab/replab/topologies"
)

var _ = Describe("a MariaDB lab", Ordered, Label(TierSmoke, EngineMariaDB, TopologyMariaDB), func() {
	var (
		lab     *harness.Lab
		primary string
	)

	BeforeAll(func(ctx SpecContext) {
		topo, err := topologies.Builtin("mariadb")
		Expect(err).NotTo(HaveOccurred())
		lab, err = harness.Up(ctx, topo, asserts.LabOptions()...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(lab.Down(ctx)).To(Succeed()) }, NodeTimeout(2*time.Minute))
		t := lab.Timings()
		AddReportEntry("provisioning", fmt.Sprintf("primary writable at %s, replicas streaming at %s, endpoints at %s", t.Leader.Round(time.Millisecond), t.Streaming.Round(time.Millisecond), t.Total.Round(time.Millisecond)))
	}, NodeTimeout(asserts.ScenarioTimeout))

	It("streams from one primary to two replicas by GTID", func(ctx SpecContext) {
		ms, err := lab.Members(ctx)
		Expect(err).NotTo(HaveOccurred())
		leaders := 0
		for _, m := range ms {
			Expect(m.MariaDB).NotTo(BeNil(), "%s did not answer", m.Name)
			if m.Role == harness.RoleLeader {
				leaders++
				primary = m.Name
				Expect(m.MariaDB.SemiSync).To(BeTrue(), "the primary does not wait for an acknowledgement in semi-sync")
				continue
			}
			Expect(m.State).To(Equal("streaming"), "%s", m.Name)
			Expect(m.MariaDB.Replica.IORunning).To(Equal("Yes"))
			Expect(m.MariaDB.Replica.SQLRunning).To(Equal("Yes"))
		}
		Expect(leaders).To(Equal(1))
		for _, m := range ms {
			if m.Role != harness.RoleLeader {
				Expect(m.MariaDB.Replica.Upstream).To(Equal(primary), "%s replicates from %s", m.Name, m.MariaDB.Replica.Upstream)
			}
		}
	})

	It("routes rw to the primary and ro to a replica", func(ctx SpecContext) {
		Expect(hostAndReadOnly(ctx, lab, harness.EndpointRW)).To(Equal(primary + " 0"))
		Expect(hostAndReadOnly(ctx, lab, harness.EndpointRO)).To(HaveSuffix(" 1"))
	})

	It("replicates a write through rw to every replica, with the AFTER_SYNC wait point", func(ctx SpecContext) {
		rw, err := lab.SQL(harness.EndpointRW)
		Expect(err).NotTo(HaveOccurred())
		defer rw.Close()
		var point string
		Expect(rw.QueryRowContext(ctx, "SELECT @@global.rpl_semi_sync_master_wait_point").Scan(&point)).To(Succeed())
		Expect(point).To(Equal("AFTER_SYNC"))
		yes := func() int64 {
			var name string
			var n int64
			Expect(rw.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'").Scan(&name, &n)).To(Succeed())
			return n
		}
		before := yes()
		_, err = rw.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS spec_rows (id INT PRIMARY KEY)")
		Expect(err).NotTo(HaveOccurred())
		_, err = rw.ExecContext(ctx, "INSERT INTO spec_rows VALUES (1), (2), (3)")
		Expect(err).NotTo(HaveOccurred())
		Expect(yes()).To(BeNumerically(">=", before+2), "the DDL and the insert were not acknowledged by a replica")
		var gtid string
		Expect(rw.QueryRowContext(ctx, "SELECT @@global.gtid_current_pos").Scan(&gtid)).To(Succeed())
		for _, n := range lab.Topology().Nodes() {
			if n.Name == primary {
				continue
			}
			db, err := lab.SQL(n.Name)
			Expect(err).NotTo(HaveOccurred())
			Eventually(func(g Gomega) {
				var pos string
				var rows int
				g.Expect(db.QueryRowContext(ctx, "SELECT @@global.gtid_current_pos, (SELECT COUNT(*) FROM spec_rows)").Scan(&pos, &rows)).To(Succeed())
				g.Expect(pos).To(Equal(gtid))
				g.Expect(rows).To(Equal(3))
			}).WithContext(ctx).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(), "%s did not reach %s", n.Name, gtid)
			_ = db.Close()
		}
	})

	It("falls back to async after semi_sync_timeout when no replica acknowledges, and back to semi-sync when one does", func(ctx SpecContext) {
		var replicas []*sql.DB
		for _, n := range lab.Topology().Nodes() {
			if n.Name == primary {
				continue
			}
			db, err := lab.SQL(n.Name)
			Expect(err).NotTo(HaveOccurred())
			defer db.Close()
			_, err = db.ExecContext(ctx, "STOP SLAVE IO_THREAD")
			Expect(err).NotTo(HaveOccurred())
			replicas = append(replicas, db)
		}
		rw, err := lab.SQL(harness.EndpointRW)
		Expect(err).NotTo(HaveOccurred())
		defer rw.Close()
		status := func() string {
			var name, v string
			Expect(rw.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'").Scan(&name, &v)).To(Succeed())
			return v
		}
		timeout := lab.Topology().MariaDB.SemiSyncTimeout
		begin := time.Now()
		_, err = rw.ExecContext(ctx, "INSERT INTO spec_rows VALUES (10)")
		took := time.Since(begin)
		Expect(err).NotTo(HaveOccurred(), "the primary must commit after the timeout, not fail")
		Expect(took).To(BeNumerically(">=", timeout), "the commit did not wait rpl_semi_sync_master_timeout")
		Expect(status()).To(Equal("OFF"), "the primary did not fall back to async")
		begin = time.Now()
		_, err = rw.ExecContext(ctx, "INSERT INTO spec_rows VALUES (11)")
		Expect(err).NotTo(HaveOccurred())
		async := time.Since(begin)
		Expect(async).To(BeNumerically("<", time.Second), "after the fall back a commit waits for nobody")
		for _, db := range replicas {
			_, err := db.ExecContext(ctx, "START SLAVE IO_THREAD")
			Expect(err).NotTo(HaveOccurred())
		}
		back := time.Now()
		Eventually(status).WithContext(ctx).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).Should(Equal("ON"), "semi-sync did not come back with its replicas")
		AddReportEntry("semi-sync fall back", fmt.Sprintf("first commit without an acknowledgement took %s (semi_sync_timeout %s), the next %s; semi-sync back %s after the replicas' I/O threads restarted",
			took.Round(time.Millisecond), timeout, async.Round(time.Millisecond), time.Since(back).Round(10*time.Millisecond)))
	})

	It("promotes the replica that received the most when the primary dies; rw follows it and the old primary comes back read-only", func(ctx SpecContext) {
		before, err := lab.SQL(harness.EndpointRW)
		Expect(err).NotTo(HaveOccurred())
		var acked int
		Expect(before.QueryRowContext(ctx, "SELECT COUNT(*) FROM spec_rows").Scan(&acked)).To(Succeed())
		_ = before.Close()
		Expect(lab.Kill(ctx, primary, "SIGKILL")).To(Succeed())
		p, err := lab.PromoteMariaDB(ctx, primary)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.New).NotTo(Equal(primary))
		Expect(p.Steps).To(HaveLen(5))
		var steps []string
		for _, s := range p.Steps {
			steps = append(steps, fmt.Sprintf("%s %s", s.Name, s.Took.Round(time.Millisecond)))
		}
		promoted := time.Now()
		Eventually(func() string { return hostAndReadOnly(ctx, lab, harness.EndpointRW) }).
			WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal(p.New + " 0"))
		AddReportEntry("promotion", fmt.Sprintf("%v; rw routed to %s %s after", steps, p.New, time.Since(promoted).Round(10*time.Millisecond)))

		rw, err := lab.SQL(harness.EndpointRW)
		Expect(err).NotTo(HaveOccurred())
		defer rw.Close()
		var rows int
		Expect(rw.QueryRowContext(ctx, "SELECT COUNT(*) FROM spec_rows").Scan(&rows)).To(Succeed())
		Expect(rows).To(Equal(acked), "an acknowledged row was lost in the promotion")
		_, err = rw.ExecContext(ctx, "INSERT INTO spec_rows VALUES (20)")
		Expect(err).NotTo(HaveOccurred(), "the new primary refuses writes")

		Expect(lab.Start(ctx, primary)).To(Succeed())
		Eventually(func() string { return hostAndReadOnly(ctx, lab, primary) }).
			WithContext(ctx).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Equal(primary+" 1"), "the old primary came back writable")
		ms, err := lab.Members(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, m := range ms {
			if m.Name != p.New && m.Name != primary {
				Expect(m.State).To(Equal("streaming"), "%s", m.Name)
				Expect(m.MariaDB.Replica.Upstream).To(Equal(p.New), "%s still follows %s", m.Name, m.MariaDB.Replica.Upstream)
			}
		}
	})
})

// hostAndReadOnly is "HOSTNAME READ_ONLY" of whichever node target
// routes to, or the error text while it does not answer.
func hostAndReadOnly(ctx context.Context, lab *harness.Lab, target string) string {
	db, err := lab.SQL(target)
	if err != nil {
		return err.Error()
	}
	defer func(db *sql.DB) { _ = db.Close() }(db)
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var host string
	var ro int
	if err := db.QueryRowContext(qctx, "SELECT @@hostname, @@global.read_only").Scan(&host, &ro); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s %d", host, ro)
}
