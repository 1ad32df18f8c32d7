# sipsd top-level entry point. CMake does the building underneath (in $(BUILD)).
#   make          build sipsd, sipsctl, sipsbench and the tests
#   make deps     install missing Debian packages (idempotent, silent when nothing is missing)
#   make run      deps + build + dev certificates, then run sipsd on 127.0.0.1 in the foreground
#   make test     deps + build + unit and integration tests
#   make check    what CI checks (tests/ci/check.sh): clang-format, a g++ -Werror build, a clang
#                 -Werror ASan+UBSan build with every test under it, then every fuzz target
#   make bench-micro     Google Benchmark micro-benchmarks
#   make bench-compare   sipsd vs Kamailio side by side (installs Kamailio if missing)
#   make clean    remove the build tree

BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CFG       ?= etc/sipsd.cfg

# Debian packages the build and the tests need.
DEB_PACKAGES := build-essential cmake pkg-config libssl-dev openssl libevent-dev \
                libprotobuf-dev protobuf-compiler rapidjson-dev libgtest-dev libbenchmark-dev \
                clang-format socat stunnel4 sip-tester libc-ares-dev dnsmasq-base \
                sslscan \
                libsqlite3-dev python3 baresip-core
# And what `make check` needs on top: clang 14 with its sanitizer and libFuzzer runtimes
# (libclang-rt-14-dev has libFuzzer for -fsanitize=fuzzer; libfuzzer-14-dev is not needed), and
# llvm-14 for llvm-symbolizer, which turns the addresses in sanitizer reports into file:line.
CHECK_DEB_PACKAGES := clang-14 libclang-rt-14-dev llvm-14

.PHONY: all deps deps-check run test check clean certs build build-sipsd bench-micro bench-compare \
        demo-trusted

all: build

build: $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

# `make run` needs the server and its management client only.
build-sipsd: $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target sipsd sipsctl

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

# $(call install_missing,packages): apt-get install those not installed yet, silent otherwise.
define install_missing
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PACKAGES))

deps-check:
	$(call install_missing,$(DEB_PACKAGES) $(CHECK_DEB_PACKAGES))

certs:
	@etc/gen-dev-certs.sh etc/tls

run: deps build-sipsd certs
	$(BUILD)/sipsd -f $(CFG)

test: deps build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Its own build trees (build-check-clang/, and build-check-gcc/ unless $(BUILD) is already a g++
# -Werror build, as it is on g++ 12); `make clean` leaves them.
check: deps-check
	@JOBS=$(JOBS) CHECK_REUSE_BUILD=$(BUILD) tests/ci/check.sh

# The trusted-call example: two domains, their phones, which calls ring as trusted.
demo-trusted: deps build-sipsd
	etc/examples/trusted/demo.sh $(BUILD)

# Micro-benchmarks (Google Benchmark): framer, parser, script, SNI lookup, IPC, TLS handshakes.
# The build is optimized (RelWithDebInfo: -O2 -g, so perf can name functions).
bench-micro: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target sipsd_micro_bench
	$(BUILD)/bench/sipsd_micro_bench

# sipsd and Kamailio side by side on this machine (installs Kamailio from Debian if missing).
bench-compare: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target sipsd sipsbench
	bench/compare/bench-compare.sh $(BUILD)

clean:
	rm -rf $(BUILD)
