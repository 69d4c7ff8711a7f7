#!/usr/bin/env bash
# Soak (issue #7; a benchmark, not a test, not run in CI): pgbench writes at a steady rate through
# the managed PgBouncer for MINUTES while db_relocate goes through a whole
# `run` -> `cutover` -> `rollback` -> `cutover` cycle, with faults injected on a schedule, and
# says how many transactions committed, failed, and how many rows were lost (target: 0 lost).
#
#   bench/soak.sh                                 # 30 minutes, 200 tps, 4 clients, PostgreSQL 15 -> 17
#   bench/soak.sh --minutes 4 --rate 100          # a short run
#
# Starts a source and a destination (scripts/pg-cluster.sh, free loopback ports, under
# /tmp/dbr-bench-XXXX), creates role `app` and table `ledger(id, client, seg, note, at)` with
# --rows rows, writes a config with `cutover: {type: pgbouncer, manage: true}` and starts the
# proxy with `db_relocate proxy` (in front of the source) before anything else, so that the
# application goes through it from the start. Then, at fractions of the total duration:
#   0.00  load: CLIENTS loops, each running consecutive `pgbench -c 1 -R RATE/CLIENTS` segments
#         through the proxy until the end (a server restart aborts a pgbench client; its loop
#         then starts the next segment); every transaction is one INSERT of (client, segment)
#   0.02  `db_relocate run` under load; FAULT: the source restarted (pg_ctl restart -m fast) once
#         run reaches catch-up (or later, if it got past it first); run must carry on by itself
#   0.18  FAULT: the destination restarted while replicating (source -> destination)
#   0.26  FAULT: pg_terminate_backend of the walsenders on the source
#   0.35  FAULT: `DBR_CRASH_AT=switch:paused db_relocate cutover` (kill -9 with the proxy paused),
#         then `cutover` again (retried while it says the pair is not ready)
#   0.44  FAULT: the source (now the replica) restarted while replicating back
#   0.52  FAULT: pg_terminate_backend of the apply worker on the source
#   0.60  FAULT: `DBR_CRASH_AT=switch:switched db_relocate rollback` (kill -9 after the proxy points
#         back at the source), then `rollback` again
#   0.68  FAULT: the destination (the replica again) restarted
#   0.76  FAULT: pg_terminate_backend of the apply worker on the destination
#   0.85  `cutover` (no fault)
#   0.92  FAULT: the source (the replica) restarted
#   1.00  the load stops
# Then: rows committed per (client, segment) by pgbench's per-transaction logs (-l) against the
# rows on the primary (lost when fewer, "in doubt" when more: a commit whose reply was cut off);
# the other side once replication caught up (count, checksum, ids missing there); `db_relocate
# verify`. Prints transactions committed and failed, rows lost, rows missing on the other side,
# each switch's write pause as db_relocate reports it, each fault with its time, PASS/FAIL.
# Exit 0 on PASS, 1 on FAIL or a step that failed, 2 on bad usage. Everything is stopped on exit.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: bench/soak.sh [--minutes N] [--rate TPS] [--clients N] [--src-major N] [--dst-major N]
                     [--rows N] [--keep]
  --minutes    total duration, the whole cycle (30); the schedule is fractions of it
  --rate       transactions per second, all clients together (200)
  --clients    concurrent pgbench loops (4)
  --src-major  PostgreSQL major of the source (15)
  --dst-major  PostgreSQL major of the destination (17)
  --rows       ledger rows before the load starts (5000)
  --keep       keep the work directory (logs, pgbench logs, config, state)
Environment: DBR_BIN (build-release/db_relocate).
EOF
  exit 2
}

MINUTES=30 RATE=200 CLIENTS=4 SRC_MAJOR=15 DST_MAJOR=17 ROWS=5000 BENCH_KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) MINUTES="${2:-}"; shift 2 || usage ;;
    --rate) RATE="${2:-}"; shift 2 || usage ;;
    --clients) CLIENTS="${2:-}"; shift 2 || usage ;;
    --src-major) SRC_MAJOR="${2:-}"; shift 2 || usage ;;
    --dst-major) DST_MAJOR="${2:-}"; shift 2 || usage ;;
    --rows) ROWS="${2:-}"; shift 2 || usage ;;
    --keep) BENCH_KEEP=1; shift ;;
    -h | --help) usage ;;
    *) echo "soak: unknown argument '$1'" >&2; usage ;;
  esac
done
for v in MINUTES RATE CLIENTS SRC_MAJOR DST_MAJOR ROWS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "soak: --${v,,} must be a positive integer, got '${!v}'" >&2; usage; }
done
[[ "$MINUTES" -ge 2 ]] || { echo "soak: --minutes must be at least 2" >&2; usage; }
[[ "$CLIENTS" -le "$RATE" ]] || { echo "soak: --clients must not exceed --rate" >&2; usage; }

BENCH_NAME=soak
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath -m "${DBR_BIN:-$REPO/build-release/db_relocate}")"
PG15=/usr/lib/postgresql/15/bin  # client programs (psql, pgbench); they talk to either major
DB=bench
APP_PASSWORD=apppw
TOTAL=$((MINUTES * 60))
export PGPASSWORD=secret PGCONNECT_TIMEOUT=10
# shellcheck source=bench/lib/dataset.sh
source "$REPO/bench/lib/dataset.sh"  # say, log, die, now, elapsed, psql_at, bench_init_work (work dir, traps)
# shellcheck source=bench/lib/proxy.sh
source "$REPO/bench/lib/proxy.sh"    # free_ports, sleep_until, teardown_managed_relocation, write_managed_config

[[ $(id -u) -eq 0 ]] || die "run as root (the servers and the proxy run as the postgres OS user)"
[[ -x "$BIN" ]] || die "$BIN not found; build it first: make build"
[[ -x "$PG15/pgbench" && -x "$PG15/psql" ]] || die "PostgreSQL 15 client programs not found in $PG15 (scripts/install-deps.sh)"
SRC_BIN="$("$REPO/scripts/pg-bin.sh" "$SRC_MAJOR")" || die "PostgreSQL $SRC_MAJOR server binaries not found (scripts/install-deps.sh)"
DST_BIN="$("$REPO/scripts/pg-bin.sh" "$DST_MAJOR")" || die "PostgreSQL $DST_MAJOR server binaries not found (scripts/install-deps.sh)"
command -v pgbouncer >/dev/null || die "pgbouncer is not installed (scripts/install-deps.sh installs it)"
command -v python3 >/dev/null || die "python3 is needed to read the pgbench logs"

# --- work directory, cleanup (bench_init_work: WORK, a private copy of BIN, traps) -------------

LOOP_PIDS=()
# shellcheck disable=SC2317  # called by bench_cleanup
bench_cleanup_hook() {  # run first by bench_cleanup on exit
  local pid
  for pid in "${LOOP_PIDS[@]}"; do kill_group "$pid"; done
  teardown_managed_relocation soak "$BIN" "${CONFIG:-/nonexistent}" "${STATE:-/nonexistent}" "$WORK/cleanup.log"
}
bench_init_work
CONFIG="$WORK/relocate.yaml"
STATE="$WORK/state"
LOAD="$WORK/load"
mkdir -p "$LOAD"
read -r SRC_PORT DST_PORT PROXY_PORT <<<"$(free_ports 3)"

psql_port() { psql_at "$1" "$DB" -At "${@:2}"; }  # as ops, straight to a server
psql_proxy() {  # as app, through the proxy
  PGPASSWORD="$APP_PASSWORD" "$PG15/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PROXY_PORT" -U app -d "$DB" "$@"
}
since() { awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }  # seconds since the load started
at() { sleep_until "$(awk -v s="$T0" -v f="$1" -v t="$TOTAL" 'BEGIN { printf "%.3f", s + f * t }')"; }
side_port() { if [[ "$1" == source ]]; then echo "$SRC_PORT"; else echo "$DST_PORT"; fi; }

FAULTS=()    # "HH:MM:SS +Ns description: outcome"
SWITCHES=()  # "label pause_ms attempts exit"
STEP_FAILED=0
fault() {  # fault DESCRIPTION OUTCOME
  FAULTS+=("$(date +%H:%M:%S) +$(since)s $1: $2")
  log "FAULT +$(since)s $1: $2"
}

# --- clusters, database, proxy -----------------------------------------------------------------

say "PostgreSQL $SRC_MAJOR (source, port $SRC_PORT) and PostgreSQL $DST_MAJOR (destination, port $DST_PORT) in $WORK"
"$REPO/scripts/pg-cluster.sh" start "$SRC_MAJOR" "$WORK/src" "$SRC_PORT"; STARTED_CLUSTERS+=("$SRC_MAJOR:$WORK/src")
"$REPO/scripts/pg-cluster.sh" start "$DST_MAJOR" "$WORK/dst" "$DST_PORT"; STARTED_CLUSTERS+=("$DST_MAJOR:$WORK/dst")
"$PG15/createdb" -h 127.0.0.1 -p "$SRC_PORT" -U ops "$DB"
"$PG15/createdb" -h 127.0.0.1 -p "$DST_PORT" -U ops "$DB"

say "Source: role app, table ledger with $ROWS rows"
psql_port "$SRC_PORT" <<SQL
CREATE ROLE app LOGIN PASSWORD '$APP_PASSWORD';
CREATE TABLE ledger (id bigserial PRIMARY KEY, client int NOT NULL, seg int NOT NULL, note text,
                     at timestamptz NOT NULL DEFAULT clock_timestamp());
GRANT SELECT, INSERT ON ledger TO app;
GRANT USAGE ON SEQUENCE ledger_id_seq TO app;
INSERT INTO ledger (client, seg, note)
SELECT 0, 0, md5(random()::text) || md5(random()::text) FROM generate_series(1, $ROWS);
ANALYZE ledger;
SQL

# The ledger takes RATE inserts a second; the default sequence_gap (1000) would make verify call
# the sequence BEHIND after 1000 of them.
write_managed_config "$CONFIG" bench/soak.sh "$SRC_PORT" "$DST_PORT" "$DB" "$STATE" pgbouncer \
  "$PROXY_PORT" $'sequence_gap: 1000000\n'
log "config: $CONFIG"

say "db_relocate proxy: the managed PgBouncer on 127.0.0.1:$PROXY_PORT, in front of the source"
"$BIN" proxy --config "$CONFIG" >"$WORK/proxy.out" 2>"$WORK/proxy.err" \
  || { tail -n 20 "$WORK/proxy.err" >&2; die "db_relocate proxy failed"; }
sed 's/^/    /' "$WORK/proxy.out"
port="$(psql_proxy -c "SELECT current_setting('port')")" || die "cannot connect through the proxy on 127.0.0.1:$PROXY_PORT"
[[ "$port" == "$SRC_PORT" ]] || die "the proxy sends traffic to port $port, expected the source ($SRC_PORT)"

# --- load --------------------------------------------------------------------------------------

echo "INSERT INTO ledger (client, seg, note) VALUES (:client, :seg, md5(random()::text));" >"$WORK/insert.sql"

# client_loop ID DEADLINE RATE: consecutive one-client pgbench segments until DEADLINE (epoch s).
# A segment ends at the deadline, or early when its client aborted (the connection was lost) or
# could not connect; each writes its per-transaction log to LOAD/cID.sSEG.<pid> and a line
# "id seg start_ns end_ns exit" to LOAD/segments.
# shellcheck disable=SC2317  # run through declare -f in its own bash
client_loop() {
  local id="$1" deadline="$2" rate="$3" seg=0 left t0 rc
  while :; do
    left=$((deadline - $(date +%s)))
    [[ $left -ge 1 ]] || break
    seg=$((seg + 1)) rc=0 t0="$(date +%s%N)"
    PGPASSWORD="$APP_PASSWORD" "$PG15/pgbench" -n -h 127.0.0.1 -p "$PROXY_PORT" -U app -c 1 -j 1 \
      -R "$rate" -T "$left" -D client="$id" -D seg="$seg" -l --log-prefix "$LOAD/c$id.s$seg" \
      -f "$WORK/insert.sql" "$DB" >"$LOAD/c$id.s$seg.out" 2>"$LOAD/c$id.s$seg.err" </dev/null || rc=$?
    echo "$id $seg $t0 $(date +%s%N) $rc" >>"$LOAD/segments"
    # Ended at once (the server behind the proxy is down): do not spin.
    if [[ $(($(date +%s%N) - t0)) -lt 1000000000 ]]; then sleep 0.5; fi
  done
}

start_load() {
  local i deadline rate
  deadline=$(($(date +%s) + TOTAL))
  rate="$(awk -v r="$RATE" -v c="$CLIENTS" 'BEGIN { printf "%.3f", r / c }')"
  for i in $(seq 1 "$CLIENTS"); do
    setsid bash -c "$(declare -f client_loop); PG15='$PG15' PROXY_PORT='$PROXY_PORT' APP_PASSWORD='$APP_PASSWORD' \
      DB='$DB' LOAD='$LOAD' WORK='$WORK' client_loop $i $deadline $rate" </dev/null >/dev/null 2>&1 &
    LOOP_PIDS+=($!)
  done
}

# --- faults ------------------------------------------------------------------------------------

restart_server() {  # restart_server source|destination: pg_ctl restart -m fast
  local side="$1" bin dir t0 rc=0
  if [[ "$side" == source ]]; then bin="$SRC_BIN" dir="$WORK/src"; else bin="$DST_BIN" dir="$WORK/dst"; fi
  t0="$(now)"
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -w -t 60 -m fast -l "$dir/log/postgresql.log" restart \
    >>"$WORK/faults.log" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then
    fault "$2 restarted ($side, pg_ctl restart -m fast)" "back in $(elapsed "$t0") s"
  else
    fault "$2 restarted ($side, pg_ctl restart -m fast)" "pg_ctl FAILED (exit $rc, see faults.log)"
    STEP_FAILED=1
  fi
}

terminate() {  # terminate walsender|apply SIDE
  local what="$1" side="$2" sql n
  if [[ "$what" == walsender ]]; then
    sql="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication"
  else
    sql="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_subscription WHERE pid IS NOT NULL AND relid IS NULL"
  fi
  n="$(psql_port "$(side_port "$side")" -c "$sql" 2>>"$WORK/faults.log" || echo "error")"
  fault "pg_terminate_backend of the $what(s) on the $side" "$n terminated"
}

# switch CMD LABEL [CRASH_POINT]: `db_relocate CMD`, first killed at CRASH_POINT when given, then
# run (again) until it succeeds: retried every 3 s for up to 90 s while it refuses (not ready).
switch() {
  local cmd="$1" label="$2" crash="${3:-}" rc=0 n=0 t0 pause deadline out
  if [[ -n "$crash" ]]; then
    t0="$(now)"
    # (the braces keep bash's "Killed" line off the terminal)
    { DBR_CRASH_AT="$crash" "$BIN" "$cmd" --config "$CONFIG" >"$WORK/$label.crash.out" 2>"$WORK/$label.crash.err"; } 2>/dev/null || rc=$?
    fault "kill -9 of db_relocate $cmd at $crash (DBR_CRASH_AT)" "exit $rc after $(elapsed "$t0") s; running it again"
    [[ $rc == 137 ]] || log "note: expected exit 137 (SIGKILL), got $rc: $(tail -n 3 "$WORK/$label.crash.err" | tr '\n' ' ')"
  fi
  deadline=$(($(date +%s) + 90))
  while :; do
    n=$((n + 1)) rc=0 t0="$(now)" out="$WORK/$label.$n"
    "$BIN" "$cmd" --config "$CONFIG" >"$out.out" 2>"$out.err" || rc=$?
    if [[ $rc == 0 ]]; then
      log "$label: db_relocate $cmd exit 0 in $(elapsed "$t0") s (attempt $n)"
      sed 's/^/    /' "$out.out"
      break
    fi
    log "$label: db_relocate $cmd FAILED (exit $rc, attempt $n):"
    grep -v '^\s*$' "$out.err" | tail -n 4 | sed 's/^/    /'
    if [[ $(date +%s) -ge $deadline ]]; then
      log "$label: gave up after $n attempts"
      STEP_FAILED=1
      break
    fi
    sleep 3
  done
  # "write pause: N ms" in the summary; "(write pause N ms" when a rerun finished a killed switch
  pause="$(sed -n 's/.*write pause:\? \([0-9.]*\) ms.*/\1/p' "$out.out" 2>/dev/null | head -n 1)"
  SWITCHES+=("$label ${pause:--} $n $rc")
}

# --- the schedule ------------------------------------------------------------------------------

say "Soak: $MINUTES min, pgbench $CLIENTS x -c 1 at $RATE tps in all through PgBouncer; PostgreSQL $SRC_MAJOR -> $DST_MAJOR; load $(cut -d ' ' -f 1-3 /proc/loadavg)"
T0="$(now)"
start_load
log "load started: $CLIENTS client loops, $(awk -v r="$RATE" -v c="$CLIENTS" 'BEGIN { printf "%.1f", r / c }') tps each, until +${TOTAL}s"

at 0.02
log "+$(since)s db_relocate run (under load)"
RUN_T0="$(now)"
setsid "$BIN" run --config "$CONFIG" >"$WORK/run.out" 2>"$WORK/run.err" </dev/null &
RUN_PID=$!
# The source restarted once run has reached catch-up (or whatever step it is in after 60 s).
step=""
for _ in $(seq 1 240); do
  kill -0 "$RUN_PID" 2>/dev/null || break
  if grep -q -i -E 'catch-?up' "$WORK/run.err" 2>/dev/null; then step=catch-up; break; fi
  sleep 0.25
done
if kill -0 "$RUN_PID" 2>/dev/null; then
  step="${step:-$(grep -v '^\s*$' "$WORK/run.err" | tail -n 1 | cut -c 1-60)}"
  restart_server source "source during run (at: $step)"
else
  restart_server source "source while replicating (run had already ended)"
fi
RUN_RC=0
wait "$RUN_PID" || RUN_RC=$?
log "run: exit $RUN_RC after $(elapsed "$RUN_T0") s"
if [[ $RUN_RC != 0 ]]; then
  grep -v '^\s*$' "$WORK/run.err" | tail -n 8 | sed 's/^/    /'
  log "running db_relocate run again (it resumes)"
  RUN_RC=0
  "$BIN" run --config "$CONFIG" >"$WORK/run2.out" 2>"$WORK/run2.err" </dev/null || RUN_RC=$?
  log "run (again): exit $RUN_RC"
  [[ $RUN_RC == 0 ]] || { grep -v '^\s*$' "$WORK/run2.err" | tail -n 8 | sed 's/^/    /'; STEP_FAILED=1; }
  RUN_NOTE="exit non-zero, then $RUN_RC on the second run"
else
  RUN_NOTE="exit 0 despite the restart"
fi
grep -E 'write pause|total|verify' "$WORK/run.out" 2>/dev/null | head -n 5 | sed 's/^/    /' || true

at 0.18; restart_server destination "destination while replicating"
at 0.26; terminate walsender source
at 0.35; switch cutover cutover-1 switch:paused
at 0.44; restart_server source "source (the replica) while replicating back"
at 0.52; terminate apply source
at 0.60; switch rollback rollback switch:switched
at 0.68; restart_server destination "destination (the replica) while replicating"
at 0.76; terminate apply destination
at 0.85; switch cutover cutover-2
at 0.92; restart_server source "source (the replica) after the last cutover"

log "+$(since)s waiting for the load to end (+${TOTAL}s)"
for pid in "${LOOP_PIDS[@]}"; do wait "$pid" || true; done
LOOP_PIDS=()
LOAD_END="$(now)"
log "load ended at +$(since)s"

# --- results -----------------------------------------------------------------------------------

say "Counting"
pport="$(psql_proxy -c "SELECT current_setting('port')" 2>/dev/null || echo "?")"
if [[ "$pport" == "$DST_PORT" ]]; then pname=destination oport="$SRC_PORT" oname=source
elif [[ "$pport" == "$SRC_PORT" ]]; then pname=source oport="$DST_PORT" oname=destination
else die "the proxy does not answer (port '$pport')"; fi
[[ "$pname" == destination ]] || { log "the proxy sends traffic to the source after the last cutover"; STEP_FAILED=1; }
log "the primary (where the proxy sends traffic): the $pname"

psql_port "$pport" -F ' ' -c "SELECT client, seg, count(*) FROM ledger WHERE client > 0 GROUP BY 1, 2" >"$WORK/primary_counts"
# analyze: committed per (client, segment) from the logs against the primary's rows; prints
#   committed failed_logged aborted connect_failures segments lost in_doubt gap_ms gap_at outage_s n_gaps
# and writes the gaps over 1 s to WORK/gaps.
cat >"$WORK/analyze.py" <<'PY'
import glob, os, re, sys
load, counts_file, t0 = sys.argv[1], sys.argv[2], float(sys.argv[3])
committed, failed, ends = {}, 0, []
for path in glob.glob(load + "/c*.s*.*"):
    m = re.match(r"c(\d+)\.s(\d+)\.(\d+)$", os.path.basename(path))
    if not m:
        continue
    key = (int(m.group(1)), int(m.group(2)))
    for line in open(path):
        f = line.split()
        if len(f) < 6 or f[2] == "skipped":
            continue
        if f[2].isdigit():
            committed[key] = committed.get(key, 0) + 1
            ends.append(int(f[4]) + int(f[5]) / 1e6)
        else:
            failed += 1
aborted = connect_failures = segments = 0
for path in glob.glob(load + "/c*.s*.err"):
    segments += 1
    text = open(path).read()
    aborted += len(re.findall(r"client \d+ (?:script \d+ )?aborted in command", text))
    if "connection to database" in text and "failed" in text:
        connect_failures += 1
rows = {}
for line in open(counts_file):
    c, s, n = map(int, line.split())
    rows[(c, s)] = n
lost = sum(max(0, n - rows.get(k, 0)) for k, n in committed.items())
doubt = sum(max(0, n - committed.get(k, 0)) for k, n in rows.items())
ends.sort()
gaps = [(b - a, a, b) for a, b in zip(ends, ends[1:]) if b - a > 1.0]
with open(os.path.dirname(load) + "/gaps", "w") as out:
    for g, a, b in gaps:
        out.write("+%.0fs..+%.0fs %.1f s\n" % (a - t0, b - t0, g))
g = max(((b - a, b) for a, b in zip(ends, ends[1:])), default=(0, t0))
print(sum(committed.values()), failed, aborted, connect_failures, segments, lost, doubt,
      "%.0f" % (g[0] * 1000), "%.0f" % (g[1] - t0), "%.1f" % sum(x[0] for x in gaps), len(gaps))
PY
read -r COMMITTED FAILED_LOGGED ABORTED CONNECT_FAILS SEGMENTS LOST IN_DOUBT GAP_MS GAP_AT OUTAGE_S N_GAPS \
  <<<"$(python3 "$WORK/analyze.py" "$LOAD" "$WORK/primary_counts" "$T0")"
read -r P_ROWS P_DISTINCT <<<"$(psql_port "$pport" -F ' ' -c "SELECT count(*), count(DISTINCT id) FROM ledger")"
log "pgbench: $COMMITTED committed, $FAILED_LOGGED failed (logged), $ABORTED clients aborted (their transaction failed), $CONNECT_FAILS segments that could not connect, $SEGMENTS segments"
if [[ $ABORTED -gt 0 ]]; then
  echo "    why pgbench clients aborted (count, message):"
  cat "$LOAD"/c*.s*.err | sed -n 's/.*aborted in command [0-9]* query [0-9]*: //p' | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'
fi
log "primary: $P_ROWS rows ($P_DISTINCT distinct ids); committed rows absent: $LOST; rows beyond the commits (in doubt): $IN_DOUBT"

# The other side: wait until replication has brought it the same rows (up to 120 s).
checksum="SELECT count(*) || ' ' || coalesce(sum(hashtext(id || ':' || client || ':' || seg || ':' || coalesce(note, ''))::numeric), 0) FROM ledger"
p_sum="$(psql_port "$pport" -c "$checksum")"
o_sum=""
CATCHUP_T0="$(now)"
for _ in $(seq 1 240); do
  o_sum="$(psql_port "$oport" -c "$checksum" 2>/dev/null || echo "unreachable")"
  [[ "$o_sum" == "$p_sum" ]] && break
  sleep 0.5
done
CATCHUP_S="$(elapsed "$CATCHUP_T0")"
psql_port "$pport" -c "COPY (SELECT id FROM ledger ORDER BY id) TO STDOUT" | LC_ALL=C sort >"$WORK/ids.primary"
psql_port "$oport" -c "COPY (SELECT id FROM ledger ORDER BY id) TO STDOUT" | LC_ALL=C sort >"$WORK/ids.other" || true
MISSING_OTHER="$(LC_ALL=C comm -23 "$WORK/ids.primary" "$WORK/ids.other" | wc -l)"
EXTRA_OTHER="$(LC_ALL=C comm -13 "$WORK/ids.primary" "$WORK/ids.other" | wc -l)"
if [[ "$o_sum" == "$p_sum" ]]; then OTHER_NOTE="same count and checksum after ${CATCHUP_S} s"
else OTHER_NOTE="DIFFERS after ${CATCHUP_S} s (primary: $p_sum; $oname: $o_sum)"; fi
log "$oname (replica): $OTHER_NOTE; ids missing there: $MISSING_OTHER, ids only there: $EXTRA_OTHER"

VERIFY_RC=0
"$BIN" verify --config "$CONFIG" >"$WORK/verify.out" 2>"$WORK/verify.err" || VERIFY_RC=$?
log "db_relocate verify: exit $VERIFY_RC"
[[ $VERIFY_RC == 0 ]] || grep -i -E 'differ|missing|behind|not ok|error' "$WORK/verify.out" "$WORK/verify.err" | head -n 8 | sed 's/^/    /' || true

# --- summary -----------------------------------------------------------------------------------

# Each finished switch as the run state records it (a switch finished by a second run after a
# kill prints no pause, but the state keeps the pause of the run that switched).
mapfile -t RECORDED < <(python3 -c 'import json, sys
for s in json.load(open(sys.argv[1])).get("switches", []):
    print("%.0f" % s["pause_ms"] if s.get("pause_ms") is not None else "-")' "$STATE/state.json" 2>/dev/null || true)

expected="$(awk -v r="$RATE" -v a="$T0" -v b="$LOAD_END" 'BEGIN { printf "%.0f", r * (b - a) }')"
say "Summary: $MINUTES min at $RATE tps ($CLIENTS clients) through PgBouncer, PostgreSQL $SRC_MAJOR -> $DST_MAJOR, $(nproc) cores, load $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf '  %-44s %s\n' "transactions committed" "$COMMITTED (of about $expected scheduled)"
printf '  %-44s %s\n' "transactions failed" "$((FAILED_LOGGED + ABORTED)) ($ABORTED aborted: a lost connection or a failed server login; $FAILED_LOGGED logged as failed; plus $CONNECT_FAILS segments that could not connect)"
printf '  %-44s %s\n' "time without commits (gaps over 1 s)" "$OUTAGE_S s in $N_GAPS gaps; longest gap $GAP_MS ms, ending at +${GAP_AT}s"
printf '  %-44s %s\n' "rows lost (committed, absent on the primary)" "$LOST"
printf '  %-44s %s\n' "rows in doubt (on the primary, not committed)" "$IN_DOUBT"
printf '  %-44s %s\n' "rows missing on the $oname after catch-up" "$MISSING_OTHER ($OTHER_NOTE)"
printf '  %-44s %s\n' "duplicate ids on the primary" "$((P_ROWS - P_DISTINCT))"
printf '  %-44s %s\n' "db_relocate run" "$RUN_NOTE"
printf '  %-44s %s\n' "db_relocate verify at the end" "exit $VERIFY_RC"
echo "  switches (write pause: the command's own line, and the run state's record of the switch):"
i=0
for s in "${SWITCHES[@]}"; do
  read -r label pause attempts rc <<<"$s"
  printf '    %-12s %5s ms printed, %5s ms recorded   attempts %s, exit %s\n' "$label" "$pause" "${RECORDED[$i]:--}" "$attempts" "$rc"
  i=$((i + 1))
done
echo "  faults:"
for f in "${FAULTS[@]}"; do echo "    $f"; done
if [[ -s "$WORK/gaps" ]]; then
  echo "  gaps over 1 s between commits (all clients):"
  sed 's/^/    /' "$WORK/gaps"
fi

PASS=1
[[ "$LOST" == 0 ]] || PASS=0
[[ "$MISSING_OTHER" == 0 && "$EXTRA_OTHER" == 0 && "$o_sum" == "$p_sum" ]] || PASS=0
[[ "$P_ROWS" == "$P_DISTINCT" ]] || PASS=0
[[ "$STEP_FAILED" == 0 && "$RUN_RC" == 0 && "$VERIFY_RC" == 0 ]] || PASS=0
if [[ $PASS == 1 ]]; then
  echo "PASS: 0 rows lost, the other side caught up, every command recovered from its faults"
  exit 0
fi
echo "FAIL: rows lost $LOST, missing on the $oname $MISSING_OTHER, steps failed $STEP_FAILED, run $RUN_RC, verify $VERIFY_RC"
exit 1
