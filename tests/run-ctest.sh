#!/usr/bin/env bash
# ctest in the tests' build folder, longest suites first: when the folder has no cost data of
# its own yet (a clean clone), it starts from the measured one kept in tests/ctest-cost-data.txt.
#   tests/run-ctest.sh BUILD_DIR [ctest options...]
set -euo pipefail
build="$1"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
costs="$build/Testing/Temporary/CTestCostData.txt"
if [[ ! -s "$costs" ]]; then
  mkdir -p "$(dirname "$costs")"
  cp "$here/ctest-cost-data.txt" "$costs"
fi
cd "$build"
exec ctest --output-on-failure "$@"
