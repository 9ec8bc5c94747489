package suites

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/harness"
	"github.com/replab/replab/topologies"
)

// Labels that select specs (ginkgo --label-filter).
const (
	TierSmoke      = "tier:smoke"      // minutes; runs in make test
	TierAcceptance = "tier:acceptance" // longer; CI acceptance
	// TierCatalog marks the scenario catalog's specs: one per scenario,
	// each also labelled "scenario:<name>"; make verify runs them all.
	TierCatalog    = "tier:catalog"
	FaultKill      = "fault:kill"
	FaultDegrade   = "fault:degrade"
	FaultPartition = "fault:partition"
	FaultDCS       = "fault:cut-dcs"
	FaultSlow      = "fault:slow-links"
	TopologySingle = "topology:single-region"
	TopologyThree  = "topology:three-region"
	// TopologyStretched: etcd 1+1+1 over three regions, candidates in
	// two, an endpoint in each.
	TopologyStretched = "topology:stretched"
	// TopologyDR: a primary cluster in us-east and a standby cluster
	// with its own etcd in eu-west.
	TopologyDR = "topology:dr"
	// CheckClock marks specs that check replab's figures against an
	// independent writer's clock.
	CheckClock = "check:clock"
	// Engine labels select one database engine's specs; the lost-writes
	// and failover specs exist for both.
	EnginePostgres  = "engine:postgres"
	EngineMariaDB   = "engine:mariadb"
	TopologyMariaDB = "topology:mariadb"
	// TierManagers marks the failover managers' side-by-side specs (the
	// faults of replab compare, per manager); TopologyManagers their
	// topology, the built-in managers.
	TierManagers     = "tier:managers"
	TopologyManagers = "topology:managers"
)

// ManagerLabel selects one failover manager's specs: manager:patroni,
// manager:pg_auto_failover, manager:repmgr.
func ManagerLabel(m topologies.ManagerKind) string { return "manager:" + string(m) }

// NetemLabel labels the specs whose figures depend on how faithfully the
// WAN is emulated with the backend network.backend: auto chooses on this
// machine: "netem:kernel" or "netem:userspace" ("netem:unknown" when the
// probe failed; the specs then fail at provisioning with the reason).
// Ginkgo fixes labels when it builds the spec tree, before any lab
// exists, so the backend is probed once, here, in a throwaway container;
// containers share the machine's kernel, so every lab started here makes
// the same choice, and each labelled spec checks that its lab did.
//
//	ginkgo --label-filter='netem:kernel' ./suites   # only where sch_netem exists
var NetemLabel = probeNetemLabel()

func probeNetemLabel() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := harness.ProbeNetemBackend(ctx, harness.ProbeRequest{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "suites: cannot tell the netem backend, labelling WAN specs netem:unknown: %v\n", err)
		return "netem:unknown"
	}
	return "netem:" + string(c.Backend)
}

// ScenarioLabel is the label that selects one catalog scenario's spec.
func ScenarioLabel(name string) string { return "scenario:" + name }

func TestSuites(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "replab suites")
}

// Every spec measures time, and engines on one machine share its cores
// (harness.MachineLabs): each process holds one of the machine's lab
// slots from its first spec to its after-suite check. With fewer slots
// than processes the processes take turns as a whole (a process that gets
// its slot late finds the specs run by the others) instead of a spec
// waiting, inside its own timeout, for another process's lab.
var releaseSlot = func() {}

var _ = BeforeSuite(func(ctx SpecContext) {
	release, err := harness.HoldMachineSlot(ctx, nil)
	Expect(err).NotTo(HaveOccurred())
	releaseSlot = release
})

// No lab of the suite's may outlive it: the after-suite check is the
// suite's own invariant, not a hope. Each parallel process checks its own
// labs, on every engine, when its specs are done: GC removes a lab of the
// process it runs in, so a lab this process owns shows up removed, and
// fails the check. Labs whose owner is gone (left by another, ended
// process) are removed and reported, not charged to the suite; labs of
// processes still running specs are theirs to check.
var _ = SynchronizedAfterSuite(func(ctx SpecContext) {
	// Released here, not at the process's end: process 1 waits in this
	// node's second half for every other process to exit.
	defer releaseSlot()
	rep, err := harness.GC(ctx, harness.GCRequest{})
	Expect(err).NotTo(HaveOccurred())
	self := strconv.Itoa(os.Getpid())
	var own, ended []string
	for _, id := range rep.Labs {
		if rep.Owners[id] == self {
			own = append(own, id+" on "+rep.LabEngines[id])
		} else {
			ended = append(ended, id)
		}
	}
	if len(ended) > 0 {
		AddReportEntry("labs of ended processes, removed", ended)
	}
	Expect(own).To(BeEmpty(), "labs left behind by the suites, removed now: %v", own)
}, func() {}, NodeTimeout(time.Minute))

// Ginkgo's JSON and JUnit reports go next to each results.json the suite
// wrote, so one directory tells the whole story of a run.
var _ = ReportAfterSuite("reports next to results.json", func(r Report) {
	dirs := map[string]bool{}
	for _, s := range r.SpecReports {
		for _, e := range s.ReportEntries {
			if e.Name == "results" {
				dirs[e.StringRepresentation()] = true
			}
		}
	}
	for d := range dirs {
		Expect(reporters.GenerateJSONReport(r, filepath.Join(d, "ginkgo.json"))).To(Succeed())
		Expect(reporters.GenerateJUnitReport(r, filepath.Join(d, "junit.xml"))).To(Succeed())
	}
})
