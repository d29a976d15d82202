# The two commands a fresh machine needs are `make run` and `make test` (see README.md).
# Everything else here is a step they use, or a long run kept out of `make test`.

GO            ?= go
PROM_VERSION  := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/prometheus)
# The reference Prometheus and promtool, built from the version pinned in go.mod
# into a cache folder this Makefile owns (git-ignored) and reused across runs.
REF_DIR       := $(CURDIR)/.cache/ref/$(PROM_VERSION)
PROMETHEUS    := $(REF_DIR)/prometheus
PROMTOOL      := $(REF_DIR)/promtool
MYTSDB        := $(CURDIR)/bin/mytsdb
# The real Alertmanager for the alerting tests, at the version go.mod pins.
AM_VERSION    := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/alertmanager)
AM_DIR        := $(CURDIR)/.cache/ref/alertmanager-$(AM_VERSION)
ALERTMANAGER  := $(AM_DIR)/alertmanager
# A real S3 server (versitygw, posix backend) for the Parquet tier's S3 tests.
VERSITYGW_VERSION := v1.8.0
VERSITYGW_DIR := $(CURDIR)/.cache/ref/versitygw-$(VERSITYGW_VERSION)
VERSITYGW     := $(VERSITYGW_DIR)/versitygw

export PROMETHEUS_BINARY := $(PROMETHEUS)
export PROMTOOL_BINARY   := $(PROMTOOL)
export MYTSDB_BINARY     := $(MYTSDB)
export ALERTMANAGER_BINARY := $(ALERTMANAGER)
export VERSITYGW_BINARY := $(VERSITYGW)

.PHONY: all build run test ref s3 ui ui-browser duckdb compliance bench soak fmt vet clean

all: build

# The version /api/v1/status/buildinfo and --version report; defined once, in
# compliance/server, so that tests which build the binary themselves agree.
LDFLAGS        = $(shell $(GO) run ./compliance/cmd/ldflags)

build: ui
	$(GO) build -ldflags "$(LDFLAGS)" -o $(MYTSDB) ./cmd/mytsdb

# The browser UI: our pages in web/ui/app bundled with their npm libraries
# (esbuild) into web/ui/build, which the binary embeds. node_modules stays in
# web/ui/app (git-ignored), npm's download cache in .cache/npm. A plain
# `go build` without this step embeds a placeholder page instead.
UI_APP    := web/ui/app
UI_BUNDLE := web/ui/build/index.html
ui: $(UI_BUNDLE)

$(UI_APP)/node_modules/.package-lock.json: $(UI_APP)/package.json $(UI_APP)/package-lock.json
	cd $(UI_APP) && npm ci --cache $(CURDIR)/.cache/npm --no-audit --no-fund

$(UI_BUNDLE): $(UI_APP)/node_modules/.package-lock.json $(UI_APP)/build.mjs $(UI_APP)/index.html $(UI_APP)/favicon.svg $(wildcard $(UI_APP)/src/*)
	cd $(UI_APP) && node build.mjs

# Debian's chromium for the browser tests (playwright-core drives it; it never
# downloads a browser of its own).
ui-browser:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# DuckDB (npm's @duckdb/node-api, the engine inside the package) for the test
# that reads our Parquet blocks with an engine that is not ours
# (parquetstore/duckdb_test.go, which finds it through DUCKDB_NODE_DIR).
# Installed from parquetstore/duckdb's committed package-lock.json into a
# cache folder this Makefile owns.
DUCKDB_DIR := $(CURDIR)/.cache/duckdb
export DUCKDB_NODE_DIR := $(DUCKDB_DIR)
duckdb: $(DUCKDB_DIR)/node_modules/.package-lock.json

$(DUCKDB_DIR)/node_modules/.package-lock.json: parquetstore/duckdb/package.json parquetstore/duckdb/package-lock.json
	mkdir -p $(DUCKDB_DIR)
	cp parquetstore/duckdb/package.json parquetstore/duckdb/package-lock.json $(DUCKDB_DIR)/
	cd $(DUCKDB_DIR) && npm ci --cache $(CURDIR)/.cache/npm --no-audit --no-fund

# Starts mytsdb on :9090 with the embedded default config (it scrapes itself and
# stores under ./data). Pass flags with ARGS="--web.listen-address=:9091 ...".
run: build
	$(MYTSDB) $(ARGS)

ref: $(PROMETHEUS) $(PROMTOOL) $(ALERTMANAGER)

# The S3 server the Parquet tier's tests start on a loopback port; built once
# with `go install` into the cache, like the reference Prometheus.
s3: $(VERSITYGW)

$(VERSITYGW):
	mkdir -p $(VERSITYGW_DIR)
	cd $(VERSITYGW_DIR) && GOBIN=$(VERSITYGW_DIR) GOFLAGS=-buildvcs=false $(GO) install \
		github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(PROMETHEUS) $(PROMTOOL):
	mkdir -p $(REF_DIR)
	cd $(REF_DIR) && GOBIN=$(REF_DIR) GOFLAGS=-buildvcs=false $(GO) install \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROM_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROM_VERSION)

# `go install .../alertmanager@VERSION` fails: ui/web.go embeds app/dist, which the
# module zip lacks. So build from a writable copy of the module with a placeholder
# page there (the UI is not what the tests use; the API is).
$(ALERTMANAGER):
	mkdir -p $(AM_DIR)
	rm -rf $(AM_DIR)/src
	cp -r $$($(GO) mod download -json github.com/prometheus/alertmanager@$(AM_VERSION) | \
		sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') $(AM_DIR)/src
	chmod -R u+w $(AM_DIR)/src
	mkdir -p $(AM_DIR)/src/ui/app/dist
	echo '<!doctype html><title>Alertmanager</title>' > $(AM_DIR)/src/ui/app/dist/index.html
	cd $(AM_DIR)/src && GOFLAGS=-buildvcs=false $(GO) build -o $(ALERTMANAGER) ./cmd/alertmanager
	rm -rf $(AM_DIR)/src

# vet's stdmethods check wants every Seek to be io.Seeker's; upstream
# chunkenc.Iterator's Seek(int64) ValueType, which our iterators must
# implement, is not. The race run leaves out Prometheus's PromQL suites: they
# evaluate on one goroutine (nothing for the detector) and take minutes under
# -race; they run in the plain run.
test: ref s3 build ui-browser duckdb
	$(GO) vet -stdmethods=false ./...
	$(GO) test -count=1 -timeout 25m ./...
	$(GO) test -count=1 -race -timeout 15m -skip '^TestPromQLBuiltin' ./storage/...

# The full side-by-side corpus against the real Prometheus, three times: all data in the
# head, then with 5-minute blocks (the data spread over blocks, a compaction and the head;
# `-blocks` runs that one alone, `-blocks=false` the first), then with 5-minute blocks
# held only in mytsdb's Parquet tier (`-parquet` alone, `-parquet=false` without it).
# Per-run counts go to stderr; ends with one total "N passed, M failed".
compliance: ref build
	$(GO) run ./compliance/cmd/compliance -full

# Benchmarks: ours beside the real Prometheus in one run, with ratios.
# BENCH_ARGS passes flags, e.g. BENCH_ARGS="-only=cuts,disk,history" (the block
# scenarios only) or BENCH_ARGS=-quick (a smoke test of every scenario).
BENCH_ARGS ?=
bench: ref build
	$(GO) run ./compliance/cmd/bench $(BENCH_ARGS)

# The crash-loop soak: TestCrashLoopRemoteWrite with SOAK_KILLS SIGKILLs instead
# of `make test`'s 20, on 10s blocks (--storage.tsdb.min-block-duration), so that
# the kills land before, during and after head cuts and compactions; ends with a
# "soak summary:" line (kills, samples acknowledged and verified, duplicates, and
# the head cuts, compactions and loaded blocks read from /metrics before the kills,
# and the kills that left a block half written or half deleted). SOAK_SERIES sets
# the series per batch. TestCrashPointBlocks kills at each named step instead.
SOAK_KILLS  ?= 200
SOAK_SERIES ?= 8
soak: build
	MYTSDB_SOAK_KILLS=$(SOAK_KILLS) MYTSDB_SOAK_SERIES=$(SOAK_SERIES) \
		$(GO) test -count=1 -v -timeout 3h -run '^TestCrashLoopRemoteWrite$$' ./cmd/mytsdb/

fmt:
	gofmt -l -w .

clean:
	rm -rf bin
