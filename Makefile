# The two commands of the README:
#   make demo   relocate a live PostgreSQL 15 database to PostgreSQL 17 on this machine
#   make test   build, then run every test (unit, sanitizers, fuzzers, real-server integration,
#               also against a sanitized db_relocate)
# Both install what they need first (scripts/install-deps.sh: Debian packages, PostgreSQL majors).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)

.PHONY: all deps build build-asan test unit-asan integration-asan fuzz demo format clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

$(BUILD_ASAN)/build.ninja:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDBR_SANITIZE=ON

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unit-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS) unit_tests
	$(BUILD_ASAN)/tests/unit_tests

# The real-server integration tests against db_relocate built with the same sanitizers; a
# report fails the test whose run wrote it (tests/harness/sanitizer_reports.h).
integration-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS) db_relocate integration_tests
	cd $(BUILD_ASAN) && ctest -L integration --output-on-failure --timeout 1800 -j 2

# The libFuzzer targets (tests/fuzz, clang), FUZZ_SECONDS each: no crash, hang or sanitizer report.
fuzz: deps
	BUILD_FUZZ=$(BUILD_FUZZ) JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SECONDS)

test: build unit-asan integration-asan fuzz
	cd $(BUILD) && ctest --output-on-failure --timeout 900 -j 2

demo: build
	bash scripts/demo.sh $(BUILD)/db_relocate

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
