# Switchboard — everything a newcomer needs is `make run` and `make test`.
# Both install what is missing on a Debian machine first (`make deps`).

CARGO ?= cargo
# Debian packages the build and the test suite need.
APT_PACKAGES := sip-tester libopus-dev pkg-config sqlite3 postgresql baresip-core python3 chromium curl iproute2 ethtool
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build run test test-unit test-pg test-sipp test-baresip test-durability test-ivr-queue test-campaign test-browser lint bench bench-cps bench-media check

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --release --bins

run: build
	$(CARGO) run --release --bin switchboard -- run

check: build
	$(CARGO) run --release --bin switchboard -- check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

test-unit: deps
	$(CARGO) test --all-targets

# The store tests again on a throwaway PostgreSQL (loopback) started by tests/pg.sh.
test-pg: deps
	bash tests/pg.sh $(CARGO) test --test store_cdr --test campaign_store --test campaign_api_store --test store_ops --test store_write_gate

test-sipp: build
	bash sipp-scenarios/run.sh

# Two real softphones (baresip from Debian) register and call each other through the switch.
test-baresip: build
	bash sipp-scenarios/baresip.sh

# SIGKILL the switch under SIPp load, restart it: no completed call without its CDR.
test-durability: build
	bash sipp-scenarios/durability.sh

# The web console in headless Chromium (Playwright) against a real switch and SIPp calls.
test-browser: build
	@[ -f tests/browser/node_modules/playwright-core/package.json ] || (cd tests/browser && npm ci --no-audit --no-fund)
	bash tests/browser/run.sh

# A real campaign: SIPp carrier and customers, SIPp agents, checked against the store, the API and the simulator.
test-campaign: build
	bash sipp-scenarios/campaign_e2e.sh

# Callers through the IVR (RFC 4733 digits) into two queues, SIPp agents that log in with star codes.
test-ivr-queue: build
	bash sipp-scenarios/ivr_queue.sh

test: lint test-unit test-pg test-sipp test-baresip test-durability test-ivr-queue test-campaign test-browser

bench: deps
	$(CARGO) bench --bench sip_message

# SIP calls per second, SIPp -> switch -> SIPp, side by side with Kamailio (see BENCHMARKS.md).
# CPS_ARGS=--quick for a 5 s-per-step smoke run.
bench-cps: build
	@command -v kamailio >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends kamailio
	bash benches/cps.sh $(CPS_ARGS)

# Media relay load, ours vs rtpengine (userspace); see BENCHMARKS.md.
bench-media: deps
	@command -v rtpengine >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends rtpengine-daemon
	bash benches/media-bench.sh
