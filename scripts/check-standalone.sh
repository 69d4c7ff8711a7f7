#!/usr/bin/env bash
# Compiles each source file of src/ on its own, syntax only, as a packager's build does (CMake's
# default is not a unity build): a file that compiles only because a unity file put another's
# includes before it fails here. Not in `make test`: about 520 CPU-seconds on 2 cores, twice
# the Release build. Needs a configured build folder for the layers' include paths
# (BUILD, default build-release: `make build`). Exit 1 when a file does not compile.
#
#   scripts/check-standalone.sh                # every file of src/
#   scripts/check-standalone.sh src/core/*.cpp # some of them
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$REPO/build-release}")"
CXX="${CXX:-$(command -v clang++ || command -v c++)}"
[[ -n "$CXX" ]] || { echo "check-standalone: no C++ compiler (clang++ or c++)" >&2; exit 2; }
[[ -d "$BUILD/layers" ]] || { echo "check-standalone: $BUILD/layers not found; run make build first" >&2; exit 2; }
files=()
for f in "$@"; do files+=("$(realpath --relative-to="$REPO" "$f")"); done
cd "$REPO"
[[ ${#files[@]} -gt 0 ]] || mapfile -t files < <(ls src/*/*.cpp src/main.cpp)

check() {  # check FILE: prints the compiler's first lines when FILE does not compile alone
  local f="$1" layer out
  layer="$(basename "$(dirname "$f")")"
  [[ "$layer" == src ]] && layer=cli  # main.cpp sees what the command-line layer sees
  if ! out="$("$CXX" -fsyntax-only -std=c++20 -DDBR_VERSION='"0"' -DFMT_SHARED -DSPDLOG_COMPILED_LIB \
      -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -I "$BUILD/layers/$layer" \
      -isystem /usr/include/postgresql -isystem /usr/include/mariadb "$f" 2>&1)"; then
    printf '%s does not compile alone:\n%s\n' "$f" "$(head -n 8 <<<"$out")"
    return 1
  fi
}
export -f check
export CXX BUILD
if printf '%s\n' "${files[@]}" | xargs -d '\n' -P "$(nproc)" -I{} bash -c 'check "$@"' _ {}; then
  echo "check-standalone: ${#files[@]} files compile on their own"
else
  exit 1
fi
