# leakscope: build, test and demo. Privileged targets (test, demo) need root
# or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE on Linux with uprobes.

GO      ?= go
BIN     := bin/leakscope
DEMO    := bin/leakscope-demo-target
DEMOOUT ?= demo-out

.PHONY: image all build generate check-generate test-deps test test-short demo lint clean bench bench-sample-cost bench-smoke eval eval-slow matrix fuzz test-caps soak

all: build

build:
	$(GO) build -o $(BIN) ./cmd/leakscope

# The container image (Dockerfile): the static binary FROM scratch.
ARCH  ?= $(shell $(GO) env GOARCH)
IMAGE ?= leakscope
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags="-s -w" -o bin/linux-$(ARCH)/leakscope ./cmd/leakscope
	docker build --build-arg TARGETARCH=$(ARCH) -t $(IMAGE) .

# Regenerates the BPF objects and their Go bindings (committed, so a plain
# build needs no clang). Installs Debian's clang and libbpf headers if missing.
generate:
	@command -v clang >/dev/null && test -f /usr/include/bpf/bpf_helpers.h || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang llvm libbpf-dev >/dev/null; }
	$(GO) generate ./bpf/

# Fails when the committed BPF objects differ from what the sources build.
check-generate: generate
	@git diff --exit-code --stat -- bpf/ || { echo "bpf/: committed generated files are stale; run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- bpf/)" || { git status --porcelain -- bpf/; echo "bpf/: untracked generated files"; exit 1; }

# Outside programs the tests drive (Debian packages): a real Prometheus and
# promtool for the metrics, headless Chromium for the web view; the aarch64
# C cross compiler for the matrix's arm64 cgo builds; strace for the
# hostile-symlink test's system-call check; docker.io for the container
# tests (each starts a daemon of its own: internal/testutil/docker.go);
# xmllint to check `leakscope run`'s JUnit reports against the JUnit schema.
TEST_PACKAGES := prometheus chromium gcc-aarch64-linux-gnu strace docker.io libxml2-utils

test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif [ -n "$$missing" ]; then echo "not root: tests needing$$missing will skip"; fi

# All tests. Privileged ones skip when not root, and fail instead of
# skipping when LEAKSCOPE_REQUIRE_BPF=1.
# (The leak corpus and the compatibility matrix have their own targets,
# eval and matrix, which CI runs too.)
test: test-deps
	$(GO) test -count=1 -timeout 40m $$($(GO) list ./... | grep -v -e '/eval$$' -e '/matrix$$')

# Leak-corpus accuracy (about 19 minutes, needs root): every case but the
# slow ones under the real CLI, two at a time; fails below 100% recall, on
# a case's time goals or on any false leak. Prints the table and writes it
# to eval/results.md.
eval:
	$(GO) test -count=1 -timeout 40m -v -run TestCorpus ./eval/

# The slow corpus cases (about 11 minutes, needs root), all at once since
# they mostly sleep: programs that collect rarely, watched for 5-10
# minutes, and the goroutine-leak cases (a few goroutines a second, watched
# for 100 s). Writes eval/results-slow.md. CI runs it beside make eval.
eval-slow:
	LEAKSCOPE_EVAL_SLOW=1 $(GO) test -count=1 -timeout 30m -parallel 32 -v -run TestCorpus ./eval/

# Compatibility matrix (needs root; toolchains are fetched through the Go
# module proxy and cached): Go 1.19 - 1.27 x default, PIE, stripped, static
# and cgo builds, all amd64 ones watched at once, arm64 ones decoded.
# Rewrites docs/COMPAT.md and the README's compatibility table.
matrix:
	$(GO) test -count=1 -v -timeout 30m ./matrix/ -args -update

# Runs every Fuzz* function in the module for FUZZTIME each (new ones are
# found by `go test -list`, so every parser's target is included). The
# committed seed corpora (testdata/fuzz/FuzzXxx) also run in make test.
# A target that ends with the fuzzing engine's own "context deadline
# exceeded" and no failing input (a flake of go test -fuzz when -fuzztime
# runs out, seen once in CI on an unchanged parser) runs once more; any
# failing input fails at once.
FUZZTIME ?= 6s
fuzz:
	@set -e; n=0; start=$$(date +%s); \
	for pkg in $$($(GO) list ./...); do \
		for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$fn ($(FUZZTIME))"; \
			out=$$(mktemp); \
			if $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg >$$out 2>&1; then cat $$out; \
			elif grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
				cat $$out; echo "== $$fn: the fuzzing engine hit its own deadline, no failing input: once more"; \
				$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
			else cat $$out; rm -f $$out; exit 1; fi; \
			rm -f $$out; \
			n=$$((n+1)); \
		done; \
	done; \
	echo "fuzz: $$n targets, $$(( $$(date +%s) - start )) s"; test $$n -gt 0

# A whole watch as uid nobody with only the least capabilities (setpriv),
# and once without each of them (see docs/RELIABILITY.md). Needs root to
# hand out the capabilities; part of make test too.
test-caps:
	$(GO) test -count=1 -v -run '^TestCapabilities$$' ./reliability/

# Soak (about 65 minutes, needs root; not part of test or CI): 1,000
# attach/detach cycles against a live target, then a real HTTP service on
# loopback under Debian's wrk: SOAK/2 unwatched, SOAK watched, SOAK/2
# unwatched. Installs wrk if missing. Writes reliability/soak-out.txt;
# docs/RELIABILITY.md holds the figures.
SOAK ?= 30m
soak: SHELL := /bin/bash
soak:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@set -o pipefail; { echo "loadavg-before: $$(cat /proc/loadavg)"; \
	LEAKSCOPE_CHURN_CYCLES=1000 $(GO) test -count=1 -v -timeout 30m -run '^TestAttachDetachChurn$$' ./reliability/ && \
	LEAKSCOPE_SOAK=$(SOAK) $(GO) test -count=1 -v -timeout 120m -run '^TestSoak$$' ./reliability/; \
	rc=$$?; echo "loadavg-after: $$(cat /proc/loadavg)"; exit $$rc; } 2>&1 | tee reliability/soak-out.txt

test-short:
	$(GO) test -count=1 -short ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...
	GOARCH=arm64 $(GO) build -o /dev/null ./cmd/leakscope

# Benchmarks (about an hour, needs root, an idle machine; not part of
# test): the cost of a probe hit; the throughput and GC pauses of a busy
# target at three allocation rates with no monitor, heap sampling only, leakscope (budget
# off), leakscope with the default overhead budget, leakscope
# --mode=all-allocs and in-process pprof polling; the CPU-bound and the
# full-speed loads again as two copies pinned to the two cores, one
# watched and one measured beside it as its reference (BusyPaired,
# MaxPaired), so that each run's loss is free of the VM's drift and can
# be judged against 1%; leakscope's own CPU and RSS watching 1, 10 and
# 50 targets; the time of a snapshot of 100K and 1M live objects; the time, CPU and memory of a goroutine snapshot of
# 10K, 100K and 1M goroutines, and the throughput of a target whose 100K
# goroutines are read every second; the time and CPU of retention-path
# searches in 100 MiB and 1 GiB heaps and the target's throughput
# meanwhile. Writes the raw output to bench/out.txt and renders
# docs/BENCHMARKS.md, which it leaves unchanged if a run failed or skipped.
BENCH_CMD = $(GO) test -run '^$$' -bench 'ProbeHit|TargetThroughput|GoroutineReadThroughput|Paired' -count 5 -benchtime 1x -timeout 90m ./bench/
BENCH_WATCH_CMD = $(GO) test -run '^$$' -bench WatchCost -count 1 -benchtime 1x -timeout 30m ./bench/
BENCH_SNAP_CMD = $(GO) test -run '^$$' -bench Snapshot -count 5 -benchtime 3x -timeout 10m ./tracer/
BENCH_GOR_CMD = $(GO) test -run '^$$' -bench GoroutineSnapshot -count 5 -benchtime 5x -timeout 20m ./goroutines/
BENCH_SEARCH_CMD = $(GO) test -run '^$$' -bench SearchThroughput -count 3 -benchtime 1x -timeout 20m ./bench/
# What else ran on the host, for the document's machine notes.
BENCH_NOTE ?=

bench:
	@{ echo "loadavg-before: $$(cat /proc/loadavg)"; $(BENCH_CMD); $(BENCH_WATCH_CMD); $(BENCH_SNAP_CMD); $(BENCH_GOR_CMD); $(BENCH_SEARCH_CMD); echo "loadavg-after: $$(cat /proc/loadavg)"; } 2>&1 | tee bench/out.txt
	$(GO) run ./bench/cmd/render -in bench/out.txt -out docs/BENCHMARKS.md -cmd "$(BENCH_CMD)" -cmd "$(BENCH_WATCH_CMD)" -cmd "$(BENCH_SNAP_CMD)" -cmd "$(BENCH_GOR_CMD)" -cmd "$(BENCH_SEARCH_CMD)" -note "$(BENCH_NOTE)"

# The cost per sampled allocation where the overhead budget runs it, the
# source of package budget's cost table (about 10 minutes, needs root; perf
# profiles the target, installed here if missing). Raw output in
# bench/out-samplecost.txt; budget/cost.go cites it.
BENCH_COST_CMD = $(GO) test -run '^$$' -bench SampleCost -count 5 -benchtime 1x -timeout 30m ./bench/
bench-sample-cost:
	@command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
	@{ echo "loadavg-before: $$(cat /proc/loadavg)"; $(BENCH_COST_CMD); echo "loadavg-after: $$(cat /proc/loadavg)"; } 2>&1 | tee bench/out-samplecost.txt

# A short smoke of the benchmarks (about 2.5 minutes, needs root): one run of
# the probe-hit benchmark, of the default and all-allocs modes at 1 GB/s,
# of the default overhead budget at full speed and on a pinned copy against
# its reference, of a 100K-object snapshot, of a 100K-goroutine snapshot and
# of the throughput under goroutine reads. Checks they run and pass; renders
# nothing.
bench-smoke:
	$(GO) test -run '^$$' -bench 'ProbeHit/prologue' -count 1 -benchtime 1x -timeout 5m ./bench/
	$(GO) test -run '^$$' -bench 'TargetThroughput/1GBps/(leakscope|all-allocs)' -count 1 -benchtime 1x -timeout 5m ./bench/
	$(GO) test -run '^$$' -bench 'TargetThroughput/max/leakscope-budget' -count 1 -benchtime 1x -timeout 5m ./bench/
	$(GO) test -run '^$$' -bench 'BusyPaired/leakscope-budget' -count 1 -benchtime 1x -timeout 5m ./bench/
	$(GO) test -run '^$$' -bench 'Snapshot/live=100K' -count 1 -benchtime 1x -timeout 5m ./tracer/
	$(GO) test -run '^$$' -bench 'GoroutineSnapshot/100K' -count 1 -benchtime 1x -timeout 5m ./goroutines/
	$(GO) test -run '^$$' -bench 'GoroutineReadThroughput/goroutine-reads' -count 1 -benchtime 1x -timeout 5m ./bench/

# Watches a bundled demo target (one leak, one harmless churn) for a minute.
demo: build
	$(GO) build -o $(DEMO) ./testdata/demo
	@rm -rf $(DEMOOUT); mkdir -p $(DEMOOUT)
	@$(DEMO) > $(DEMOOUT)/target.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT; sleep 1; \
	echo "demo target running as pid $$pid; watching it for 75s..."; \
	echo "meanwhile open http://127.0.0.1:9464/ (web view, pprof UI) or curl http://127.0.0.1:9464/metrics"; \
	./$(BIN) --pid $$pid --duration 75s --out $(DEMOOUT) || exit 1; \
	kill $$pid; wait $$pid 2>/dev/null; \
	prof=$$(ls $(DEMOOUT)/$$pid/leak-*.pb.gz | tail -n 1); \
	echo; echo "suspects: $(DEMOOUT)/suspects.json"; \
	echo "open the leak profile:  go tool pprof -top $$prof"; \
	echo "                   or:  go tool pprof -http=localhost:8080 $$prof"

clean:
	rm -rf bin $(DEMOOUT)
