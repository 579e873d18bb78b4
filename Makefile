# piv: the two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all build deps demo test test-short fuzz bench image images demo-image lint clean

all: build

# The version, commit and Go version piv reports (piv version, gate.json
# "piv", the HTML footer) are stamped here; -trimpath keeps build paths out
# of the binary. VERSION holds the version being prepared (see CHANGELOG.md).
PIV_VERSION ?= $(shell cat VERSION 2>/dev/null || echo dev)
PIV_COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS     := -X github.com/piv-gate/piv/cli.version=$(PIV_VERSION) -X github.com/piv-gate/piv/cli.commit=$(PIV_COMMIT)

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/piv ./cmd/piv
	$(GO) build -o bin/quoteapp ./fixtures/quoteapp
	$(GO) build -o bin/hactl ./fixtures/fleet/hactl
	$(GO) run ./fixtures/tls/gen -out fixtures/tls/generated -host quote.test

deps:
	@scripts/ensure-deps.sh

## demo: the node gate and the service gate against the demo fleet
demo: deps build
	@fixtures/demo/demo.sh

## demo-remediation: a security patch rolled node by node with its remediation record
## in every gate, then `piv evidence` (SKIP_NODE=app-02 shows a node left unverified)
.PHONY: demo-remediation
demo-remediation: deps build
	@fixtures/remediation/demo.sh

## test: every test, for real (Chromium, HAProxy, Docker), then a short fuzz
test: build
	@scripts/ensure-deps.sh --docker
	@fixtures/images/build.sh
	$(GO) vet ./...
	@# One package at a time: Docker tests add host interfaces, and Chromium
	@# aborts in-flight requests of another package's browser tests when they change.
	$(GO) test -p 1 -count=1 -timeout 40m ./...
	$(MAKE) fuzz

fuzz:
	$(GO) test ./pkg/config -run '^$$' -fuzz FuzzParse -fuzztime 15s

## bench: Go benchmarks and whole-process figures next to floor clients
bench: deps build
	@scripts/bench.sh

## image: the piv gate image (Debian + Chromium via debootstrap, no registry); images/piv/README.md
image:
	@images/piv/build.sh

images:
	@fixtures/images/build.sh

demo-image: deps build images
	QUOTE_TEST_PASSWORD=piv-demo-password bin/piv run quote --image piv-quoteapp:2.4.1 --expect-version 2.4.1

# actionlint, pinned, from the Go module proxy: every workflow, and through
# the workflows that use it (uses: ./), the composite action's inputs.
ACTIONLINT ?= $(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(ACTIONLINT) .github/workflows/*.yml

clean:
	rm -rf bin reports/*/ fixtures/tls/generated

-include fixtures/rolling/rolling.mk
