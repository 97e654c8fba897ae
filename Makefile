# switchyard: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= config/switchyard.toml

# Debian packages: what the server needs to run, and what the tests drive it with.
RUN_PACKAGES := espeak-ng
TEST_PACKAGES := espeak-ng sox sip-tester baresip tshark postgresql python3-venv curl kamailio

.PHONY: run test bench deps deps-run deps-test build check lint purity clean

run: deps-run build
	@mkdir -p data
	./target/release/switchyard serve --config $(CONFIG)

build:
	$(CARGO) build --release --bin switchyard

# The store tests run against SQLite always and against a throwaway PostgreSQL on loopback
# (started here when PostgreSQL is installable; point SWITCHYARD_TEST_POSTGRES_URL at another
# server to use that instead).
test: deps-test lint purity
	@set -e; pgdir=$$(mktemp -d /tmp/switchyard-pg.XXXXXX); \
	if [ -z "$$SWITCHYARD_TEST_POSTGRES_URL" ]; then \
	  url=$$(scripts/postgres-test-server.sh start $$pgdir) || url=""; \
	  export SWITCHYARD_TEST_POSTGRES_URL="$$url"; \
	fi; \
	trap 'scripts/postgres-test-server.sh stop '$$pgdir' >/dev/null 2>&1 || true' EXIT; \
	$(CARGO) test --workspace --no-fail-fast
	scripts/schemathesis.sh

bench: deps-test
	bench/run.sh $(BENCH)

deps: deps-test

deps-run:
	@scripts/ensure-packages.sh $(RUN_PACKAGES)

deps-test:
	@scripts/ensure-packages.sh $(TEST_PACKAGES)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The pure cores never depend on an async runtime, sockets or an HTTP client.
purity:
	@for c in sdp media flow call; do \
	  if $(CARGO) tree -e normal -p $$c --prefix none 2>/dev/null | grep -E '^(tokio|mio|socket2|reqwest) ' ; then \
	    echo "crate $$c must stay pure (no tokio/mio/socket2/reqwest)"; exit 1; fi; \
	done; echo "pure cores: ok"

clean:
	$(CARGO) clean
