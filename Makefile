# replab: make lab runs the main job, make test runs every test.
# Each target prints what it does; nothing here needs more than Go and Docker.

GO       ?= go
GINKGO   ?= $(GO) tool ginkgo
BIN      := bin
REPLAB   := $(BIN)/replab
AGENT    := $(BIN)/replab-agent
KEEP     ?=
TOPOLOGY ?=
SUITE_LABELS ?= tier:smoke
PKGS_UNIT = $$($(GO) list ./... | grep -v -e /suites$$ -e /internal/smoke -e /netem$$)
# Engines labs run on (README: Labs on several Docker engines). With more
# than one, the suites run one Ginkgo process per engine.
comma    := ,
ENGINES  := $(words $(subst $(comma), ,$(REPLAB_DOCKER_HOSTS)))
SUITE_PROCS ?= $(if $(filter-out 0 1,$(ENGINES)),--procs=$(ENGINES))

.PHONY: all build lab images test unit suites catalog verify vet fmt-check bench bench-provision bench-netem bench-results rpo compare fuzz gc clean

all: build

build: ## Build replab and the netem agent (static) into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(REPLAB) ./cmd/replab
	CGO_ENABLED=0 $(GO) build -o $(AGENT) ./cmd/replab-agent

lab: build ## The main job: image if missing, default lab up, leader killed under load, summary, teardown (KEEP=1 keeps it)
	$(REPLAB) lab $(if $(TOPOLOGY),-f $(TOPOLOGY)) $(if $(KEEP),--keep)

images: build ## Build the node image from Debian packages (no-op when present)
	$(REPLAB) images

test: vet unit suites ## Unit tests, then the Ginkgo suites against real containers

vet: fmt-check
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The netem package measures round-trip times against a ±5% bound: it runs
# after the others, alone, so that no other package's tests share its CPUs.
unit: build
	REPLAB_INTEGRATION=1 REPLAB_AGENT=$(CURDIR)/$(AGENT) $(GO) test -count=1 -timeout 20m $(PKGS_UNIT)
	REPLAB_INTEGRATION=1 REPLAB_AGENT=$(CURDIR)/$(AGENT) $(GO) test -count=1 -timeout 10m ./netem/

suites: build images
	REPLAB_AGENT=$(CURDIR)/$(AGENT) $(GINKGO) $(SUITE_PROCS) -v --label-filter='$(SUITE_LABELS)' --timeout=60m \
		--json-report=ginkgo.json --junit-report=junit.xml --output-dir=results ./suites

verify: build images ## Every catalog scenario the topology can run, judged against its SLA (TOPOLOGY=FILE, SCENARIOS=a,b)
	$(REPLAB) verify $(if $(TOPOLOGY),-f $(TOPOLOGY)) $(if $(SCENARIOS),--scenarios $(SCENARIOS))

catalog: ## The catalog's Ginkgo specs (tier:catalog), over the built-in topologies
	$(MAKE) suites SUITE_LABELS='tier:catalog'

bench: bench-provision bench-results bench-netem

bench-provision: build images ## Time to streaming: by-hand setup and replab alternately, then three-region's phases (warm image)
	$(GO) test -run '^$$' -bench 'BenchmarkProvision' -benchtime 3x -count 1 -timeout 60m ./harness/

bench-results: ## Recorder throughput and per-operation overhead
	$(GO) test -run '^$$' -bench . -count 1 ./results/

bench-netem: build ## RTT error per delay and userspace throughput, per backend
	REPLAB_AGENT=$(CURDIR)/$(AGENT) $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./netem/

rpo: build images ## What each replication mode loses when a cut-off leader dies (TRIALS=3 for more)
	$(REPLAB) rpo --trials $(or $(TRIALS),1)

compare: build images ## Patroni, pg_auto_failover and repmgr under the same faults, one table (TRIALS=3, SETTINGS=defaults,tuned)
	$(REPLAB) compare --trials $(or $(TRIALS),3) $(if $(SETTINGS),--settings $(SETTINGS))

fuzz: ## Fuzz the topology reader for a minute
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./topologies/

gc: build ## Remove what killed runs left behind
	$(REPLAB) gc

clean:
	rm -rf $(BIN)
