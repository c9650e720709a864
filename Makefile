# auditrelay. `make test` needs only Go; `make e2e` needs kcat and
# python3-aiosmtpd and builds an OpenTelemetry Collector and helm
# (./.ci/run installs kcat and python3-aiosmtpd).
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/auditrelay
FUZZTIME  ?= 10s

.PHONY: all build test vet fmt e2e e2e-tools deploy-check bench bench-e2e bench-api fuzz chaos chaos-check clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/auditrelay

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/

# The unit and integration tests: only Go is needed.
test: fmt vet
	$(GO) test -race -count=1 -timeout 20m ./...

# System tests against real peers: kcat (librdkafka) and an OpenTelemetry
# Collector built from its own modules; deploy-check builds helm itself, so
# the benchmarks and chaos runs, which need only the collector, do not.
e2e-tools:
	bash test/e2e/build-collector.sh

e2e: e2e-tools
	$(MAKE) --no-print-directory deploy-check
	$(GO) test -tags e2e -count=1 -timeout 20m -v ./test/e2e/

# The Helm chart (helm template, several value sets) and the kustomize base
# and overlay, decoded strictly into the Kubernetes API types; every rendered
# config through `auditrelay validate`. deploy/check is a module of its own,
# so that k8s.io/api stays out of go.mod. HELM is always passed: the test
# fails without it.
HELM ?= $(CURDIR)/test/.cache/bin/helm
deploy-check:
	bash test/e2e/build-helm.sh
	cd deploy/check && $(GO) vet ./... && HELM=$(HELM) $(GO) test -count=1 -v ./...

# Brief runs of every fuzz target (CI); `make fuzz FUZZTIME=5m` for longer.
# test/fuzz.sh says how it tells Go 1.26's deadline race from a failure.
fuzz:
	GO=$(GO) bash test/fuzz.sh $(FUZZTIME)

# Go micro-benchmarks, then the end-to-end comparison with the peers.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	$(MAKE) bench-e2e

# auditrelay against the bare pager, kcat -P, an OpenTelemetry Collector and
# Benthos (test/benthos, its own module); rewrites the tables of
# BENCHMARKS.md. Needs kcat. EVENTS, REPEAT and SCALE override the sizes.
EVENTS    ?= 1000000
REPEAT    ?= 3
SCALE     ?= 100000,1000000
bench-e2e: e2e-tools
	$(GO) run ./test/bench/e2e -events $(EVENTS) -repeat $(REPEAT) -scale $(SCALE) -write BENCHMARKS.md

# A back-fill against the simulator answering like a real API (250 ms a
# page, a rate limit of 20 requests/s, then none, then a limit that changes):
# auditrelay with its defaults against the limit's bound and a sequential
# pager; rewrites the api section of BENCHMARKS.md. Needs only Go.
API_EVENTS ?= 30000
bench-api:
	$(GO) run ./test/bench/api -events $(API_EVENTS) -write BENCHMARKS.md

# kill -9, sink outages and API faults against the built binary; rewrites
# the table of RELIABILITY.md. Needs kcat and the collector.
CHAOS_EVENTS ?= 200000
chaos: e2e-tools
	$(GO) run ./test/chaos -events $(CHAOS_EVENTS) -kills 20 -outage 30s -write RELIABILITY.md

# The same scenarios, briefer, writing nothing: part of CI, so that a
# change that breaks them is seen before anyone runs make chaos.
chaos-check: e2e-tools
	$(GO) run ./test/chaos -events $(CHAOS_EVENTS) -kills 10 -outage 10s

clean:
	rm -rf bin test/.cache
