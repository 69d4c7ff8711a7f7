#!/usr/bin/env bash
# Prints the directory holding initdb, pg_ctl and postgres for a PostgreSQL major.
#   scripts/pg-bin.sh 17   ->  <repo>/.cache/pg/17/bin
# Rules (the C++ test harness, tests/harness/cluster.cpp, follows the same ones):
#   1. $DBR_PG_BIN_<MAJOR> when set (e.g. DBR_PG_BIN_17=/opt/pg17/bin);
#   2. 15: Debian's /usr/lib/postgresql/15/bin;
#   3. others: <repo>/.cache/pg/<major>/bin, or the copy named by <repo>/.cache/pg/<major>/.dbr-location
#      (install-deps.sh makes that copy under /var/lib/db_relocate-pg when the postgres user
#      cannot reach the repo).
set -euo pipefail

major="${1:-}"
if [[ ! "$major" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 MAJOR   (e.g. $0 17)" >&2
  exit 2
fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

override_var="DBR_PG_BIN_${major}"
if [[ -n "${!override_var:-}" ]]; then
  bin="${!override_var}"
  source="\$$override_var"
elif [[ "$major" == 15 ]]; then
  bin="/usr/lib/postgresql/15/bin"
  source="Debian's postgresql-15"
else
  root="$REPO/.cache/pg/$major"
  if [[ -f "$root/.dbr-location" ]]; then root="$(cat "$root/.dbr-location")"; fi
  bin="$root/bin"
  source="the npm cache"
fi

if [[ ! -x "$bin/postgres" || ! -x "$bin/pg_ctl" || ! -x "$bin/initdb" ]]; then
  echo "pg-bin.sh: PostgreSQL $major binaries not found in $bin (from $source);" \
       "run scripts/install-deps.sh (or DBR_PG_MAJORS=\"$major\" scripts/install-deps.sh)" >&2
  exit 1
fi
echo "$bin"
