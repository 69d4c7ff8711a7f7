#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for demos and benchmarks.
#
#   scripts/pg-cluster.sh start  MAJOR DATADIR PORT [name=value ...]
#   scripts/pg-cluster.sh stop   MAJOR DATADIR [PORT]
#   scripts/pg-cluster.sh status MAJOR DATADIR [PORT]
#
# start: initdb on first use (superuser `ops`, password `secret`; scram-sha-256 for TCP on
# 127.0.0.1, replication included; trust on the unix socket, which lives in DATADIR), writes the
# settings below to DATADIR/dbr.conf (included from postgresql.conf; name=value arguments are
# added last and win), and starts the server with pg_ctl -w. Log: DATADIR/log/postgresql.log.
# Already running: says so and succeeds. stop: pg_ctl -m fast; not running: succeeds.
# The same settings as the C++ test harness (tests/harness/cluster.cpp). PostgreSQL refuses to
# run as root, so as root the server runs as the `postgres` OS user, which must own DATADIR.
set -euo pipefail

usage() {
  echo "usage: $0 start MAJOR DATADIR PORT [name=value ...] | stop MAJOR DATADIR [PORT] | status MAJOR DATADIR [PORT]" >&2
  exit 2
}
die() { echo "pg-cluster: ERROR: $*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

[[ $# -ge 3 ]] || usage
action="$1" major="$2" datadir="$3"
port="${4:-}"
shift $(($# < 4 ? $# : 4))
extra=("$@")
[[ "$major" =~ ^[0-9]+$ ]] || usage

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$("$SCRIPTS/pg-bin.sh" "$major")" || exit 1
datadir="$(realpath -m "$datadir")"
log="$datadir/log/postgresql.log"

running() { [[ -f "$datadir/PG_VERSION" ]] && as_pg "$bin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; }

quote() { local v="${1//\'/\'\'}"; printf "'%s'" "$v"; }

write_as_pg() {  # write_as_pg FILE  (content on stdin)
  if is_root; then runuser -u postgres -- tee "$1" >/dev/null; else cat >"$1"; fi
}

do_initdb() {
  local parent
  parent="$(dirname "$datadir")"
  mkdir -p "$parent"
  if is_root; then
    runuser -u postgres -- test -x "$parent" \
      || die "the postgres OS user cannot reach $parent; choose a DATADIR it can traverse (e.g. under /tmp or /var/lib)"
  fi
  mkdir -p "$datadir"
  is_root && chown postgres:postgres "$datadir"
  chmod 700 "$datadir"
  pwfile="$(mktemp /tmp/dbr-pwfile-XXXXXX)"
  trap 'rm -f "${pwfile:-}"' EXIT
  echo secret >"$pwfile"
  is_root && chown postgres "$pwfile"
  local common=(-D "$datadir" -U ops --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" -E UTF8)
  if ! out="$(as_pg "$bin/initdb" "${common[@]}" --locale=C.UTF-8 2>&1)"; then
    echo "pg-cluster: initdb --locale=C.UTF-8 failed; retrying with --no-locale" >&2
    out="$(as_pg "$bin/initdb" "${common[@]}" --no-locale 2>&1)" || die "initdb failed: $(tail -n 20 <<<"$out")"
  fi
  rm -f "$pwfile"
  write_as_pg "$datadir/pg_hba.conf" <<'HBA'
# Written by scripts/pg-cluster.sh
local   all           all                    trust
local   replication   all                    trust
host    all           all   127.0.0.1/32     scram-sha-256
host    replication   all   127.0.0.1/32     scram-sha-256
HBA
  echo "include 'dbr.conf'" | as_pg tee -a "$datadir/postgresql.conf" >/dev/null
  as_pg mkdir -p "$datadir/log"
}

write_settings() {
  local kv
  {
    echo "# Written by scripts/pg-cluster.sh on every start; edit the command line, not this file."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = $(quote "$datadir")"
    echo "wal_level = 'logical'"
    echo "max_replication_slots = 20"
    echo "max_wal_senders = 20"
    echo "max_worker_processes = 32"
    echo "max_logical_replication_workers = 16"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "shared_buffers = '64MB'"
    echo "password_encryption = 'scram-sha-256'"
    echo "logging_collector = off"
    echo "log_line_prefix = '%m [%p] '"
    for kv in "${extra[@]}"; do
      [[ "$kv" == *=* ]] || die "setting '$kv' is not name=value"
      echo "${kv%%=*} = $(quote "${kv#*=}")"
    done
  } | write_as_pg "$datadir/dbr.conf"
}

case "$action" in
  start)
    [[ "$port" =~ ^[0-9]+$ ]] || usage
    if running; then
      echo "PostgreSQL $major already running in $datadir"
      exit 0
    fi
    [[ -f "$datadir/PG_VERSION" ]] || do_initdb
    have="$(cat "$datadir/PG_VERSION")"
    [[ "$have" == "$major" ]] || die "$datadir holds a PostgreSQL $have cluster, not $major"
    write_settings
    as_pg mkdir -p "$datadir/log"
    if ! as_pg "$bin/pg_ctl" -w -t 60 -D "$datadir" -l "$log" start >/dev/null 2>&1; then
      echo "pg-cluster: PostgreSQL $major failed to start in $datadir; last lines of $log:" >&2
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    echo "PostgreSQL $major running on 127.0.0.1:$port (user ops, password secret), data $datadir, log $log"
    ;;
  stop)
    if ! running; then
      echo "PostgreSQL $major not running in $datadir"
      exit 0
    fi
    as_pg "$bin/pg_ctl" -w -t 60 -D "$datadir" -m fast stop >/dev/null || die "pg_ctl stop failed; see $log"
    echo "PostgreSQL $major in $datadir stopped"
    ;;
  status)
    if running; then echo "running"; else echo "stopped"; exit 3; fi
    ;;
  *) usage ;;
esac
