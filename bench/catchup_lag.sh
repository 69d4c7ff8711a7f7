#!/usr/bin/env bash
# Benchmark (not a test, not run in CI): does replication keep up with the source's maximum
# write rate (issue #23, item 4)? PostgreSQL 15 -> 17 on loopback.
#
#   bench/catchup_lag.sh                              # SCALE=20, CLIENTS="1 2 4 8", DURATION=30
#   SCALE=50 CLIENTS="4 16" DURATION=60 bench/catchup_lag.sh
#   APPLY_WORKERS="1 2 1 2" CLIENTS="4 8" bench/catchup_lag.sh   # one subscription against two
#
# Starts a PostgreSQL 15 source and a PostgreSQL 17 destination (scripts/pg-cluster.sh, free
# loopback ports, under /tmp/dbr-bench-catchup-XXXX), loads `pgbench -i -s SCALE` on the source
# and gives its tables the secondary indexes an application has (so that each write maintains
# more than a primary key), runs `db_relocate run` (`force: true`: pgbench_history has no key),
# then for each number of clients in CLIENTS runs pgbench's TPC-B-like script on the source with
# no rate limit (the most the source takes on this machine, which the destination shares) for
# DURATION seconds, sampling twice a second the replication lag: the source's WAL position minus
# the one the destination reports applied (pg_stat_replication.replay_lsn of the subscription).
# After pgbench stops it waits for the lag to reach 0.
# Prints per step: transactions per second, WAL written per second, lag median / p95 / max, the
# seconds to drain after the load, and WAL applied per second while loaded; then PASS/MISS
# against the bar of issue #23: lag under 1 MB at the source's maximum rate. Also the peak RSS of
# `db_relocate run` and of the heartbeat writer (VmHWM) when it ends.
# With APPLY_WORKERS (a list, "1" by default) all of that is done once per entry, in that order,
# each time as a new relocation (`cleanup`, the destination database made again) with
# `apply_workers` set to it: the lag is then read over every subscription (the source's WAL
# position minus the least the lanes applied), and the medians per value are printed at the end.
# Exit code 0 unless a step failed; PASS/MISS does not change it. Everything is stopped on exit.
#
# Environment: SCALE (20), CLIENTS ("1 2 4 8"), DURATION (30), APPLY_WORKERS ("1"), DBR_BIN
# (build-release/db_relocate), BENCH_KEEP=1 (keep the work directory).
set -euo pipefail

SCALE="${SCALE:-20}" CLIENTS="${CLIENTS:-1 2 4 8}" DURATION="${DURATION:-30}"
APPLY_WORKERS="${APPLY_WORKERS:-1}"
LAG_BAR=$((1024 * 1024))
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath -m "${DBR_BIN:-$REPO/build-release/db_relocate}")"
PG15=/usr/lib/postgresql/15/bin
DB=bench
SUB=db_relocate_sub  # the subscriptions (db_relocate_sub, db_relocate_sub2, ...): walsenders' application_name
BENCH_NAME=catchup_lag
export PGPASSWORD=secret PGCONNECT_TIMEOUT=10
# shellcheck source=bench/lib/dataset.sh
source "$REPO/bench/lib/dataset.sh"  # say, log, die, bench_init_work, psql_at, the teardown
# shellcheck source=bench/lib/proxy.sh
source "$REPO/bench/lib/proxy.sh"  # free_ports

for v in SCALE DURATION; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for c in $CLIENTS; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CLIENTS holds '$c', not a positive integer"; done
for n in $APPLY_WORKERS; do [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "APPLY_WORKERS holds '$n', not an integer from 1 to 32"; done
[[ $(id -u) -eq 0 ]] || die "run as root (the servers run as the postgres OS user)"
[[ -x "$BIN" ]] || die "$BIN not found; build it first: make build"
[[ -x "$PG15/pgbench" && -x "$PG15/psql" ]] || die "PostgreSQL 15 client programs not found in $PG15 (scripts/install-deps.sh)"
"$REPO/scripts/pg-bin.sh" 17 >/dev/null || die "PostgreSQL 17 server binaries not found (scripts/install-deps.sh)"
[[ -x /usr/bin/time ]] || apt-get install -y -qq time >/dev/null || die "GNU time is needed (apt-get install time)"

bench_init_work  # WORK, a private copy of BIN, the traps (the clusters and heartbeat writers go)
mkdir -p "$WORK/run"
CONFIG="$WORK/run/relocate.yaml"
STATE="$WORK/run/state"
bench_cleanup_hook() {  # before the clusters stop: db_relocate's slot, publication, subscription
  [[ -f "$STATE/state.json" ]] && "$BIN" cleanup --config "$CONFIG" >>"$WORK/cleanup.log" 2>&1
}

read -r SRC_PORT DST_PORT <<<"$(free_ports 2)"
sql_at() { local port="$1"; shift; psql_at "$port" "$DB" -At "$@"; }  # sql_at PORT [psql args...]
# Bytes the destination has not applied yet (over every lane: the least applied), the source's
# WAL position and that applied position as byte counts; nothing while a lane has no walsender.
lag_sql() {  # lag_sql LANES
  echo "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), min(replay_lsn))::bigint || ' ' || pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint || ' ' || pg_wal_lsn_diff(min(replay_lsn), '0/0')::bigint FROM pg_stat_replication WHERE application_name ~ '^${SUB}[0-9]*\$' HAVING count(*) = $1"
}

start_clusters  # bench/lib/dataset.sh: 15 and 17 under WORK, database DB on the source
psql_at "$DST_PORT" postgres -c "CREATE DATABASE $DB"

say "Source: pgbench -i -s $SCALE, with secondary indexes"
"$PG15/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U ops "$DB" >"$WORK/init.log" 2>&1 \
  || { tail -n 20 "$WORK/init.log" >&2; die "pgbench -i failed"; }
sql_at "$SRC_PORT" <<'SQL'
CREATE INDEX accounts_bid ON pgbench_accounts (bid);
CREATE INDEX accounts_balance ON pgbench_accounts (abalance);
CREATE INDEX history_aid ON pgbench_history (aid);
CREATE INDEX history_mtime ON pgbench_history (mtime);
ANALYZE;
SQL
log "source database: $(sql_at "$SRC_PORT" -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"

# stats FILE: median, p95 and max of the first column of FILE
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit } p = int(NR * 0.95); if (p < 1) p = 1; printf "%d %d %d\n", v[int((NR + 1) / 2)], v[p], v[NR] }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

RESULTS=() CEILINGS=() RSS=()
# measure LANES TRIAL: a relocation with apply_workers LANES, the load steps, the apply ceiling.
measure() {
  local lanes="$1" trial="$2" LAG_SQL subs
  LAG_SQL="$(lag_sql "$lanes")"
  subs="$(seq 1 "$lanes" | awk -v s="$SUB" '{ printf "%s%s%s", (NR > 1 ? " " : ""), s, ($1 > 1 ? $1 : "") }')"
  if [[ -f "$STATE/state.json" ]]; then
    "$BIN" cleanup --config "$CONFIG" >>"$WORK/cleanup.log" 2>&1 || die "cleanup failed (see $WORK/cleanup.log)"
    psql_at "$DST_PORT" postgres -c "DROP DATABASE $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
  fi
  cat >"$CONFIG" <<YAML
# Written by bench/catchup_lag.sh
provider: postgres
src: {host: 127.0.0.1, port: $SRC_PORT, name: $DB, user: ops, password: secret, schema: public}
dst: {host: 127.0.0.1, port: $DST_PORT, name: $DB, user: ops, password: secret}
jobs: 2
force: true
apply_workers: $lanes
state_dir: $STATE
YAML
  chmod 600 "$CONFIG"

  say "db_relocate run, apply_workers $lanes (trial $trial)"
  /usr/bin/time -f "%M %e" -o "$WORK/run.time" "$BIN" run --config "$CONFIG" >"$WORK/run-$trial.out" 2>"$WORK/run-$trial.err" \
    || { tail -n 30 "$WORK/run-$trial.err" >&2; die "db_relocate run failed"; }
  local run_rss_kb run_s
  read -r run_rss_kb run_s <"$WORK/run.time"
  log "run: ${run_s} s, peak RSS $((run_rss_kb / 1024)) MB"
  [[ -n "$(sql_at "$SRC_PORT" -c "$LAG_SQL")" ]] || die "not every subscription ($subs) has a walsender on the source"

  local clients samples wal0 applied0 wal1 applied1 t0 t1 drained lag tps med p95 max secs wal_rate apply_rate verdict line
  for clients in $CLIENTS; do
    say "pgbench, $clients clients, no rate limit, $DURATION s (apply_workers $lanes)"
    samples="$WORK/lag-$trial-$clients.txt"
    : >"$samples"
    "$PG15/pgbench" -n -h 127.0.0.1 -p "$SRC_PORT" -U ops -c "$clients" -j "$((clients < 2 ? 1 : 2))" \
      -T "$DURATION" "$DB" >"$WORK/pgbench-$trial-$clients.out" 2>&1 &
    BG_PIDS=($!)
    LOAD_PID=$!
    read -r _ wal0 applied0 <<<"$(sql_at "$SRC_PORT" -c "$LAG_SQL")"
    t0="$(date +%s.%N)"
    while kill -0 "$LOAD_PID" 2>/dev/null; do
      line="$(sql_at "$SRC_PORT" -c "$LAG_SQL" || true)"
      [[ -n "$line" ]] && echo "$line" >>"$samples"
      sleep 0.5
    done
    wait "$LOAD_PID" || { cat "$WORK/pgbench-$trial-$clients.out" >&2; die "pgbench failed"; }
    BG_PIDS=()
    t1="$(date +%s.%N)"
    read -r _ wal1 applied1 <<<"$(tail -n 1 "$samples")"
    drained=""
    for _ in $(seq 1 1200); do
      read -r lag _ _ <<<"$(sql_at "$SRC_PORT" -c "$LAG_SQL")"
      # The heartbeat writer keeps writing: drained once what is left is a heartbeat or two.
      if [[ "${lag:-999999999}" -lt 65536 ]]; then drained="$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"; break; fi
      sleep 0.25
    done
    tps="$(grep -oP 'tps = \K[0-9]+' "$WORK/pgbench-$trial-$clients.out" | head -n 1)"
    read -r med p95 max <<<"$(stats "$samples")"
    secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    wal_rate="$(awk -v a="$wal0" -v b="$wal1" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / s / 1048576 }')"
    apply_rate="$(awk -v a="$applied0" -v b="$applied1" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / s / 1048576 }')"
    verdict=PASS
    [[ "$max" =~ ^[0-9]+$ && "$max" -lt "$LAG_BAR" ]] || verdict=MISS
    RESULTS+=("$(printf '%6s %7s %9s %10s %10s %10s %10s %10s %11s  %s' "$lanes" "$clients" "$tps" "$wal_rate" "$apply_rate" \
      "$(mb "$med")" "$(mb "$p95")" "$(mb "$max")" "${drained:-never}" "$verdict")")
    echo "$lanes $clients $max" >>"$WORK/max-lag.txt"
    log "tps $tps, WAL $wal_rate MB/s written, $apply_rate MB/s applied, lag median $(mb "$med") MB, max $(mb "$max") MB, drained ${drained:-never} s after"
  done

  # Read while it runs (the backlog step stops it).
  local hb_pid hb_rss="-"
  hb_pid="$(cat "$STATE/heartbeat.pid" 2>/dev/null || true)"
  [[ "$hb_pid" =~ ^[0-9]+$ ]] && hb_rss="$(awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$hb_pid/status" 2>/dev/null || echo -)"
  RSS+=("apply_workers $lanes (trial $trial): db_relocate run $((run_rss_kb / 1024)) MB, heartbeat writer ${hb_rss} MB")

  # The apply workers' own ceiling: a backlog written while the subscriptions are disabled, then
  # applied with the source idle (the workers have the cores to themselves).
  local backlog_clients before after backlog_tps applied_s backlog write_rate apply_ceiling sub
  backlog_clients="$(echo $CLIENTS | awk '{ print $NF }')"
  say "Apply ceiling: $DURATION s of pgbench ($backlog_clients clients) with the subscriptions disabled, then applied"
  for sub in $subs; do sql_at "$DST_PORT" -c "ALTER SUBSCRIPTION $sub DISABLE" >/dev/null; done
  sleep 1
  before="$(sql_at "$SRC_PORT" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")"
  "$PG15/pgbench" -n -h 127.0.0.1 -p "$SRC_PORT" -U ops -c "$backlog_clients" -j 2 -T "$DURATION" "$DB" \
    >"$WORK/pgbench-backlog-$trial.out" 2>&1 || { cat "$WORK/pgbench-backlog-$trial.out" >&2; die "pgbench failed"; }
  after="$(sql_at "$SRC_PORT" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")"
  backlog_tps="$(grep -oP 'tps = \K[0-9]+' "$WORK/pgbench-backlog-$trial.out" | head -n 1)"
  touch "$STATE/heartbeat.stop"  # nothing but the backlog to apply
  sleep 2
  t0="$(date +%s.%N)"
  for sub in $subs; do sql_at "$DST_PORT" -c "ALTER SUBSCRIPTION $sub ENABLE" >/dev/null; done
  applied_s=""
  for _ in $(seq 1 2400); do
    line="$(sql_at "$SRC_PORT" -c "$LAG_SQL" || true)"
    read -r lag _ _ <<<"$line"
    if [[ -n "$line" && "$lag" -lt 65536 ]]; then applied_s="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"; break; fi
    sleep 0.25
  done
  [[ -n "$applied_s" ]] || die "the backlog was not applied within 10 minutes"
  backlog=$((after - before))
  write_rate="$(awk -v b="$backlog" -v s="$DURATION" 'BEGIN { printf "%.2f", b / s / 1048576 }')"
  apply_ceiling="$(awk -v b="$backlog" -v s="$applied_s" 'BEGIN { printf "%.2f", b / s / 1048576 }')"
  log "backlog $(mb "$backlog") MB written at $write_rate MB/s ($backlog_tps tps), applied in $applied_s s: $apply_ceiling MB/s"
  CEILINGS+=("apply_workers $lanes (trial $trial): a backlog of $(mb "$backlog") MB written at $write_rate MB/s ($backlog_tps tps, $backlog_clients clients) applied at $apply_ceiling MB/s ($(awk -v a="$apply_ceiling" -v w="$write_rate" 'BEGIN { printf "%.1f", a / w }')x the write rate)")
  echo "$lanes $apply_ceiling" >>"$WORK/ceilings.txt"
}

trial=0
for lanes in $APPLY_WORKERS; do
  trial=$((trial + 1))
  measure "$lanes" "$trial"
done

say "Results (PostgreSQL 15 -> 17, pgbench scale $SCALE with secondary indexes, $(nproc) cores)"
printf '%6s %7s %9s %10s %10s %10s %10s %10s %11s  %s\n' lanes clients tps "WAL MB/s" "applied" "lag med" "lag p95" "lag max" "drain s" "lag < 1 MB"
printf '%s\n' "${RESULTS[@]}"
echo
echo "apply ceiling:"
printf '  %s\n' "${CEILINGS[@]}"
echo "peak RSS:"
printf '  %s\n' "${RSS[@]}"
if [[ "$(echo $APPLY_WORKERS | tr ' ' '\n' | sort -u | wc -l)" -gt 1 ]]; then
  echo
  echo "medians per apply_workers (over its trials): lag max per client count, apply ceiling"
  for lanes in $(echo $APPLY_WORKERS | tr ' ' '\n' | sort -un); do
    line="  apply_workers $lanes:"
    for clients in $CLIENTS; do
      line+=" $clients clients $(mb "$(awk -v l="$lanes" -v c="$clients" '$1 == l && $2 == c { print $3 }' "$WORK/max-lag.txt" | median)") MB;"
    done
    echo "$line ceiling $(awk -v l="$lanes" '$1 == l { print $2 }' "$WORK/ceilings.txt" | median) MB/s"
  done
fi
