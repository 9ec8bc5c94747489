package asserts

import (
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/replab/replab/harness"
)

var (
	engineOnce sync.Once
	engine     string
	engineErr  error
)

// Engine is the Docker engine this Ginkgo process runs its labs on:
// process p of `ginkgo -p` takes entry p of REPLAB_DOCKER_HOSTS, wrapping
// around when there are more processes than engines (harness.EngineFor).
func Engine() string {
	GinkgoHelper()
	engineOnce.Do(func() {
		var engines []string
		if engines, engineErr = harness.Engines(); engineErr == nil {
			engine, engineErr = harness.EngineFor(engines, GinkgoParallelProcess())
		}
	})
	Expect(engineErr).NotTo(HaveOccurred())
	return engine
}

// LabOptions provision every lab of the suites: on this process's engine,
// held alone for the lab's whole life.
//
// Every spec here measures time (failover, RPO windows, WAN RTT), so no
// two labs may share an engine's CPU at once. Ginkgo's Serial cannot say
// that: it is global, running serial specs one at a time after every
// parallel one, which would leave one engine working while the others
// idle. The hold is instead a lock file per engine, taken by harness.Up
// and released by Down: processes on different engines run side by side,
// and processes that share an engine (more processes than engines) take
// turns. A process that dies releases its hold with it. Engines on one
// machine share its cores, so each lab also takes one of the machine's
// slots (harness.MachineLabs): on a small machine the engines take turns
// too.
func LabOptions() []harness.Option {
	GinkgoHelper()
	return []harness.Option{harness.WithEngine(Engine()), harness.WithExclusiveEngine()}
}
