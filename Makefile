# The two commands of the README:
#   make demo   relocate a live PostgreSQL 15 database to PostgreSQL 17 on this machine
#   make test   build, then run every test: unit, fuzz corpus, real-server integration (all
#               under AddressSanitizer and UndefinedBehaviorSanitizer), and a Release build
# Both install what they need first (scripts/install-deps.sh: Debian packages, PostgreSQL majors).
# docs/testing.md says what each stage runs and how long it takes.

# The tests' build (clang when present, ASan+UBSan, unity) and db_relocate as packagers build it
# (Release; the demo runs it).
BUILD         ?= build
BUILD_RELEASE ?= build-release
BUILD_FUZZ    ?= build-fuzz
FUZZ_SECONDS  ?= 20
JOBS          ?= $(shell nproc)
# The integration suites mostly wait on servers: more of them than cores keeps both busy
# (docs/testing.md has the measurements).
TEST_JOBS     ?= 4
CXX_TEST      ?= $(shell command -v clang++ >/dev/null 2>&1 && echo clang++ || echo c++)
# Line tables only for the tests' debug information (GCC's nearest: -g1): a sanitizer's report
# still names file and line, for 10% less CPU to build; configure with -g for a debugger.
DEBUG_INFO    ?= $(if $(findstring clang,$(CXX_TEST)),-gline-tables-only,-g1)

.PHONY: all deps build build-tests test test-quick fuzz demo format clean

all: build

deps:
	bash scripts/install-deps.sh

# One unity file per library (batch size 0): GCC then compiles each header and template once
# per layer, 17% less CPU than batches of 8 (the sanitized build at -O0 gains nothing). -O2, as
# Debian builds packages (dpkg-buildflags), not CMake's -O3: 14% less CPU to build, and
# db_relocate's own CPU is a small part of a relocation's (bench/README.md).
$(BUILD_RELEASE)/build.ninja:
	cmake -S . -B $(BUILD_RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release -DDBR_WERROR=ON \
	  -DDBR_TESTS=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 \
	  '-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG'

# db_relocate as a packager builds it (Release, the default compiler), warnings as errors.
build: deps $(BUILD_RELEASE)/build.ninja
	ninja -C $(BUILD_RELEASE) -j $(JOBS) db_relocate

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=$(CXX_TEST) \
	  -DDBR_SANITIZE=ON -DDBR_WERROR=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 \
	  -DCMAKE_CXX_FLAGS_DEBUG=$(DEBUG_INFO)

# One build for every test: db_relocate, the unit and integration tests and the fuzz corpus
# replays, all sanitized; a sanitizer report fails the test whose run wrote it.
build-tests: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# Everything: unit tests and fuzz corpus replays and the integration suites (one ctest entry
# per suite, longest first from the cost data), with the Release build beside them at the lowest
# CPU priority: the suites mostly wait on servers, and the build takes the cores they leave idle.
test: build-tests
	@nice -n 19 $(MAKE) --no-print-directory build > $(BUILD)/release-build.log 2>&1 & release=$$!; \
	tests/run-ctest.sh $(BUILD) -j $(TEST_JOBS) --timeout 1800; tests=$$?; \
	if wait $$release; then echo "Release build: $(BUILD_RELEASE)/db_relocate"; \
	else cat $(BUILD)/release-build.log; echo "the Release build failed"; exit 1; fi; \
	exit $$tests

# A developer's signal in a few minutes: all but the suites labelled slow.
test-quick: build-tests
	tests/run-ctest.sh $(BUILD) -j $(TEST_JOBS) -LE slow

# Time-boxed libFuzzer runs (clang), FUZZ_SECONDS each: no crash, hang or sanitizer report.
fuzz: deps
	BUILD_FUZZ=$(BUILD_FUZZ) JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SECONDS)

demo: build
	bash scripts/demo.sh $(BUILD_RELEASE)/db_relocate

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_RELEASE) $(BUILD_FUZZ)
