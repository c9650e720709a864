# auditrelay. `make test` needs only Go; `make e2e` needs kcat and builds an
# OpenTelemetry Collector (./.ci/run installs both).
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/auditrelay
FUZZTIME  ?= 10s

.PHONY: all build test vet fmt e2e e2e-tools bench fuzz fuzz-ci chaos clean

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
# Collector built from its own modules.
e2e-tools:
	bash test/e2e/build-collector.sh

e2e: e2e-tools
	$(GO) test -tags e2e -count=1 -timeout 20m -v ./test/e2e/

# Brief runs of every fuzz target (CI); `make fuzz FUZZTIME=5m` for longer.
# The targets are found with grep, not by compiling every package's tests.
fuzz:
	@grep -rn --include='*_test.go' --exclude-dir=.cache --exclude-dir=benthos '^func Fuzz' . | \
	sed 's|^\(.*\)/[^/]*_test.go:[0-9]*:func \(Fuzz[A-Za-z0-9_]*\).*|\1 \2|' | sort -u | \
	while read -r pkg t; do \
	  echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

clean:
	rm -rf bin test/.cache
