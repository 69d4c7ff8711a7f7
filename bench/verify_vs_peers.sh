#!/usr/bin/env bash
# Benchmark (not a test, not run in CI): `db_relocate verify` against its peer and a plain scan
# (issue #6), PostgreSQL 15 -> 17.
#
#   bench/verify_vs_peers.sh                     # DATASET_GB=1 ROUNDS=3
#   DATASET_GB=0.05 ROUNDS=1 bench/verify_vs_peers.sh
#
# Builds the dataset of bench/run_vs_peers.sh (bench/lib/dataset.sh: at least DATASET_GB GiB of
# random, incompressible rows in 3 large tables and SMALL_TABLES small ones) on a PostgreSQL 15
# source, relocates it once with `db_relocate run` (verify: false) into a PostgreSQL 17
# destination, which then stays a synced, replicating copy, and times, alternating
# A B C A B C ... for ROUNDS rounds:
#   A  db_relocate verify --output json   (jobs = JOBS); must exit 0 and report "ok": true
#   B  pgcopydb compare data              (fresh --dir each trial); "could not run" when the
#                                         installed pgcopydb has no such command or fails in round 1
#   C  the baseline: a plain sequential read of every row of both databases at once, JOBS
#      sessions per side: COPY (SELECT * FROM t [WHERE ctid in a 64 MiB block range]) TO
#      '/dev/null', run by the servers themselves (no client, no network)
# then, when WRITE_TPS > 0, one more trial:
#   D  db_relocate verify while pgbench writes to the source at WRITE_TPS transactions/s
#      (an UPDATE of a random orders row and an INSERT into small_001 per transaction)
# and prints per-trial times (with the 1-minute load when each started), medians, ratios
# verify/pgcopydb and verify/scan and PASS/MISS against the targets of issue #23 (at most 0.5x
# pgcopydb's compare; at most 1.5x the scan). PASS/MISS is informational: the exit code is 0 unless a trial failed
# (a verify exited non-zero or did not report ok, a scan failed, pgcopydb failed after having
# worked in an earlier round).
#
# Environment: DATASET_GB (1), ROUNDS (3), JOBS (nproc), SMALL_TABLES (200), WRITE_TPS (50; 0
# skips D), SEQUENCE_GAP (1000000: the config's sequence_gap), SRC_PORT (55515), DST_PORT
# (55517), DBR_BIN (build-release/db_relocate), BENCH_KEEP=1 keeps the work directory (clusters are
# stopped either way).
# Everything (clusters, temp dirs, heartbeat writer, pgbench) is cleaned up on exit and on Ctrl-C.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/dataset.sh
source "$REPO/bench/lib/dataset.sh"  # helpers, clusters, dataset, teardown (shared with run_vs_peers.sh)
BENCH_NAME=verify_vs_peers
BIN="$(realpath -m "${DBR_BIN:-$REPO/build-release/db_relocate}")"
DATASET_GB="${DATASET_GB:-1}"
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-$(nproc)}"
SMALL_TABLES="${SMALL_TABLES:-200}"
WRITE_TPS="${WRITE_TPS:-50}"
SRC_PORT="${SRC_PORT:-55515}"
DST_PORT="${DST_PORT:-55517}"
PG15=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3
DB=bench
SCAN_CHUNK_BLOCKS=8192  # 64 MiB of 8 kB blocks: the size of verify's key ranges
export PGPASSWORD=secret PGCONNECT_TIMEOUT=10

[[ "$DATASET_GB" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DATASET_GB must be a number, got '$DATASET_GB'"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$JOBS'"
[[ "$SMALL_TABLES" =~ ^[1-9][0-9]*$ ]] || die "SMALL_TABLES must be a positive integer, got '$SMALL_TABLES'"
[[ "$WRITE_TPS" =~ ^[0-9]+$ ]] || die "WRITE_TPS must be an integer, got '$WRITE_TPS'"
[[ -x "$BIN" ]] || die "$BIN not found; build it first: ninja -C $REPO/build db_relocate (or make build)"
[[ -x "$PG15/psql" && -x "$PG15/pgbench" ]] || die "PostgreSQL 15 client programs not found in $PG15"
need_gnu_time
[[ -x "$PY" ]] || die "$PY not found (Debian's python3, used to read verify's JSON)"
"$REPO/scripts/pg-bin.sh" 17 >/dev/null || die "PostgreSQL 17 server binaries not found (scripts/install-deps.sh)"

# pgcopydb: PGCOPYDB, else the newest one built from source (../shared/tools/build-pgcopydb.sh
# installs /usr/local/bin/pgcopydb-latest), else Debian's (bookworm: 0.10, which predates
# `compare`; then B cannot run).
PGCOPYDB="${PGCOPYDB:-$(command -v pgcopydb-latest || command -v pgcopydb || echo pgcopydb)}"
PGCOPYDB_WHY=""
PGCOPYDB_OPTS=()
if ! command -v "$PGCOPYDB" >/dev/null 2>&1; then
  PGCOPYDB_WHY="pgcopydb is not installed (apt-get install pgcopydb)"
elif ! help_text="$("$PGCOPYDB" compare data --help 2>&1)" || grep -q "unknown command" <<<"$help_text"; then
  PGCOPYDB_WHY="$("$PGCOPYDB" --version 2>&1 | grep -o 'pgcopydb version [^ ]*' | head -n 1) has no \`compare data\` command ($(grep -m 1 -o 'compare: unknown command' <<<"$help_text" || echo 'its --help fails'))"
else
  # Only options this version documents: table parallelism like verify's jobs.
  for o in --table-jobs --jobs; do
    if grep -q -- "$o " <<<"$help_text"; then PGCOPYDB_OPTS+=("$o" "$JOBS"); break; fi
  done
fi

bench_init_work
PGBENCH_PGID=""
bench_cleanup_hook() {
  if [[ -n "$PGBENCH_PGID" ]]; then kill_group "$PGBENCH_PGID"; PGBENCH_PGID=""; fi
}

# --- the relocation (once, untimed for the comparison) ------------------------------------------

RUN_DIR="$WORK/relocation"
CONFIG="$RUN_DIR/config.yaml"

relocate() {
  # sequence_gap: D inserts into small_001 after run set the sequences; the default gap (1000)
  # covers only 20 s of D's 50 tps, after which verify rightly reports the destination's
  # sequence BEHIND (README.md, "Last measured"). The gap must cover what the application
  # uses between run and the cut-over: here, all of D.
  write_dbr_config "$RUN_DIR" "verify: false" "sequence_gap: ${SEQUENCE_GAP:-1000000}"
  say "db_relocate run (verify: false): the destination becomes a synced, replicating copy"
  run_trial "$RUN_DIR/run.out" "$RUN_DIR/run.log" "$BIN" run --config "$CONFIG"
  if [[ $TRIAL_RC != 0 ]]; then
    tail -n 20 "$RUN_DIR/run.log" >&2
    die "db_relocate run failed (exit $TRIAL_RC after $TRIAL_SECS s): nothing to verify"
  fi
  check_destination "db_relocate run"
  [[ $FAILED == 0 ]] || die "after db_relocate run the destination differs from the source"
  echo "db_relocate run: $TRIAL_SECS s, $CHECK_NOTE"
}

# --- A / D: db_relocate verify --------------------------------------------------------------------

# verify_summary JSON_FILE: "ok|<tables> tables, <ranges> ranges, <objects> schema objects, its
# own time <s> s" or "NOT OK|<the first tables/objects that are not OK>" (or "BAD|why").
verify_summary() {
  "$PY" - "$1" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("BAD|no JSON report on stdout (%s)" % e); sys.exit()
tables, objects = j.get("tables", []), j.get("objects", [])
bad = [t for t in tables if t.get("status") != "OK"]
bad_o = [o for o in objects if o.get("status") != "OK"]
if j.get("ok") is True and not bad and not bad_o:
    print("ok|%d tables, %d ranges, %d schema objects, its own time %.1f s, at %s" % (
        len(tables), sum(t.get("ranges", 0) for t in tables), len(objects),
        j.get("seconds", 0), j.get("lsn", "?")))
else:
    what = ["%s %s (%s)" % (t["table"], t["status"], t.get("detail", "")) for t in bad[:5]]
    what += ["%s %s %s (%s)" % (o["kind"], o["name"], o["status"], o.get("detail", "")) for o in bad_o[:5]]
    print("NOT OK|%d of %d tables and %d of %d objects not OK: %s" % (
        len(bad), len(tables), len(bad_o), len(objects), "; ".join(what)))
PY
}

# ts_stderr OUT CMD...: CMD's stdout to OUT; its stderr on stdout, each line prefixed with the
# epoch second it arrived at (verify logs when it has taken its point, and prints its progress
# line a last time when the tables are done: that splits its time).
cat >"$WORK/ts_stderr.sh" <<'SH'
out="$1"; shift
"$@" 2>&1 >"$out" | while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done
exit "${PIPESTATUS[0]}"
SH

# verify_breakdown LOG START SECONDS: "point 0.4 s (N changes in the window), tables 9.8 s, schema 1.2 s"
verify_breakdown() {
  awk -v t0="$2" -v secs="$3" '
    /both sides read at/ { if (!pt) pt = $1; w = $0; sub(/.*\(/, "", w); sub(/ committed.*/, "", w) }
    /table pieces read/ { tb = $1 }
    END {
      if (pt && tb)
        printf "point %.1f s (%s in the window), tables %.1f s, schema and the rest %.1f s", pt - t0, w, tb - pt, t0 + secs - tb
    }' "$1"
}

# peak_rss FILE: "N MB" from GNU time's %M (kB) in FILE, "-" without it.
peak_rss() { awk '/^[0-9]+$/ { printf "%d MB", $1 / 1024; found = 1 } END { if (!found) print "-" }' "$1" 2>/dev/null || echo -; }

VERIFY_NOTE=""
run_verify() {  # run_verify DIR: sets TRIAL_RC (non-zero also when the report is not ok), VERIFY_NOTE
  local dir="$1" s t0
  mkdir -p "$dir"
  t0="$(now)"
  run_trial "$dir/log" "$dir/err" bash "$WORK/ts_stderr.sh" "$dir/out.json" \
    /usr/bin/time -f %M -o "$dir/rss" "$BIN" verify --config "$CONFIG" --output json
  s="$(verify_summary "$dir/out.json")"
  VERIFY_NOTE="${s#*|}"
  if [[ $TRIAL_RC != 0 || "${s%%|*}" != ok ]]; then
    [[ $TRIAL_RC == 0 ]] && TRIAL_RC=99
    VERIFY_NOTE="exit $TRIAL_RC after $TRIAL_SECS s: $VERIFY_NOTE"
    echo "db_relocate verify FAILED ($VERIFY_NOTE); last log lines:" >&2
    cat "$dir/err" >&2
    tail -n 15 "$dir/log" | cut -d ' ' -f 2- | sed 's/^/    /' >&2
  else
    VERIFY_NOTE+="; $(verify_breakdown "$dir/log" "$t0" "$TRIAL_SECS"); peak RSS $(peak_rss "$dir/rss")"
  fi
}

# --- B: pgcopydb compare data ---------------------------------------------------------------------

run_pgcopydb_compare() {  # run_pgcopydb_compare DIR
  local dir="$1"
  mkdir -p "$dir"
  PATH="$PG15:$PATH" run_trial "$dir/out" "$dir/log" /usr/bin/time -f %M -o "$dir/rss" "$PGCOPYDB" compare data \
    --source "postgres://ops@127.0.0.1:$SRC_PORT/$DB" \
    --target "postgres://ops@127.0.0.1:$DST_PORT/$DB" \
    --dir "$dir/work" "${PGCOPYDB_OPTS[@]}"
}

# --- C: sequential scan of both sides -------------------------------------------------------------

# scan_plan PORT DIR: DIR/job-<n>.sql, JOBS files of COPY statements covering every row of every
# table of schema public on that server once: tables over SCAN_CHUNK_BLOCKS blocks in ctid
# ranges of that many blocks (TID range scans: sequential reads of those blocks), the others
# whole; the pieces dealt largest first to the job with the least so far.
scan_plan() {
  local port="$1" dir="$2"
  mkdir -p "$dir"
  psql_at "$port" "$DB" -At -F ' ' -c "
    SELECT greatest(c.relpages, 1), n.nspname, c.relname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r'" >"$dir/tables"
  # relpages is as of the last ANALYZE; the last chunk of a table has no upper bound, so rows on
  # blocks added since are read too.
  awk -v jobs="$JOBS" -v chunk="$SCAN_CHUNK_BLOCKS" -v dir="$dir" '
    { pages = $1; t = "\"" $2 "\".\"" $3 "\""
      if (pages <= chunk) { n++; size[n] = pages; sql[n] = "COPY (SELECT * FROM " t ") TO '\''/dev/null'\'';" }
      else for (b = 0; b < pages; b += chunk) {
        n++; size[n] = (b + chunk < pages) ? chunk : pages - b
        cond = "ctid >= '\''(" b ",0)'\''"
        if (b + chunk < pages) cond = cond " AND ctid < '\''(" b + chunk ",0)'\''"
        sql[n] = "COPY (SELECT * FROM " t " WHERE " cond ") TO '\''/dev/null'\'';"
      } }
    END {
      for (i = 1; i <= n; i++) order[i] = i
      for (i = 1; i <= n; i++) for (k = i + 1; k <= n; k++) if (size[order[k]] > size[order[i]]) { x = order[i]; order[i] = order[k]; order[k] = x }
      for (j = 1; j <= jobs; j++) { load[j] = 0; printf "" > (dir "/job-" j ".sql") }
      for (i = 1; i <= n; i++) {
        best = 1; for (j = 2; j <= jobs; j++) if (load[j] < load[best]) best = j
        load[best] += size[order[i]]; print sql[order[i]] >> (dir "/job-" best ".sql")
      }
      print n
    }' "$dir/tables" >"$dir/pieces"
}

# scan_side PORT DIR: the JOBS sessions of one side, in parallel; prints that side's seconds.
scan_side() {
  local port="$1" dir="$2" t0 j pids=() rc=0
  t0="$(now)"
  for j in $(seq 1 "$JOBS"); do
    psql_at "$port" "$DB" -f "$dir/job-$j.sql" >"$dir/job-$j.out" 2>&1 &
    pids+=($!)
  done
  for j in "${pids[@]}"; do wait "$j" || rc=1; done
  elapsed "$t0" >"$dir/seconds"
  return "$rc"
}

scan_both() {  # the trial C runs (in its own process group): both sides at once
  local rc=0 ps pd
  scan_side "$SRC_PORT" "$WORK/scan-src" & ps=$!
  scan_side "$DST_PORT" "$WORK/scan-dst" & pd=$!
  wait "$ps" || rc=1
  wait "$pd" || rc=1
  return "$rc"
}
export -f scan_side scan_both psql_at now elapsed
export WORK JOBS DB PG15 SRC_PORT DST_PORT

SCAN_NOTE=""
run_scan() {  # run_scan DIR: TRIAL_RC, TRIAL_SECS, SCAN_NOTE
  local dir="$1"
  mkdir -p "$dir"
  rm -f "$WORK"/scan-{src,dst}/seconds
  run_trial "$dir/out" "$dir/log" bash -c scan_both
  SCAN_NOTE="source $(cat "$WORK/scan-src/seconds" 2>/dev/null || echo '?') s, destination $(cat "$WORK/scan-dst/seconds" 2>/dev/null || echo '?') s"
  if [[ $TRIAL_RC != 0 ]]; then
    echo "the sequential scan FAILED:" >&2
    cat "$WORK"/scan-{src,dst}/job-*.out | grep -v '^COPY ' | head -n 10 | sed 's/^/    /' >&2
  fi
}

# --- D: verify under a write load -----------------------------------------------------------------

WRITES_NOTE=""
run_verify_under_writes() {  # run_verify_under_writes DIR
  local dir="$1" max_id before after t0 secs
  mkdir -p "$dir"
  max_id="$(psql_src -At -c "SELECT max(id) FROM orders")"
  cat >"$dir/write.sql" <<SQL
\\set id random(1, $max_id)
BEGIN;
UPDATE orders SET qty = qty + 1, updated_at = now() WHERE id = :id;
INSERT INTO small_001 (code, name, price, active, updated_at, attrs)
  VALUES (md5(random()::text), md5(random()::text), round((random() * 1000)::numeric, 3), random() < 0.5, now(), jsonb_build_object('k', md5(random()::text)));
END;
SQL
  before="$(psql_src -At -c "SELECT count(*) FROM small_001")"
  t0="$(now)"
  # Runs until stopped (-T is only a bound); 2 clients at a fixed rate.
  setsid "$PG15/pgbench" -n -h 127.0.0.1 -p "$SRC_PORT" -U ops -c 2 -j 1 -R "$WRITE_TPS" -T 3600 \
    -f "$dir/write.sql" "$DB" >"$dir/pgbench.out" 2>&1 </dev/null &
  PGBENCH_PGID=$!
  sleep 3  # writes flowing and replicated before verify starts
  LOAD="$(load1)"
  run_verify "$dir"
  kill_group "$PGBENCH_PGID"; PGBENCH_PGID=""
  secs="$(elapsed "$t0")"
  after="$(psql_src -At -c "SELECT count(*) FROM small_001")"
  WRITES_NOTE="$((after - before)) write transactions committed in $secs s of pgbench ($(awk -v n="$((after - before))" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') tps)"
  if grep -qiE 'error|abort' "$dir/pgbench.out"; then
    WRITES_NOTE+="; pgbench: $(grep -iE 'error|abort' "$dir/pgbench.out" | head -n 2 | tr '\n' ' ')"
  fi
}

# --- main ----------------------------------------------------------------------------------------

start_clusters
if [[ -z "$PGCOPYDB_WHY" ]]; then echo "pgcopydb: $PGCOPYDB, $("$PGCOPYDB" --version 2>&1 | grep -o 'pgcopydb version [^ ]*' | head -n 1)"; else echo "pgcopydb: $PGCOPYDB_WHY"; fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; JOBS=$JOBS"

FAILED=0
build_dataset
fresh_destination
relocate

# The destination's rows were just written by the copy: the first read of each page sets its hint
# bits (a write). One untimed verify and one untimed scan do that, and bring both databases into
# the page cache, so that no trial pays for it.
say "Warm-up (untimed): one verify, one sequential scan of both sides"
# The first verify of a relocation also creates and publishes its marker table.
run_verify "$WORK/warmup-verify"
[[ $TRIAL_RC == 0 ]] || die "the warm-up verify failed: $VERIFY_NOTE"
echo "warm-up verify: $TRIAL_SECS s ($VERIFY_NOTE)"
scan_plan "$SRC_PORT" "$WORK/scan-src"
scan_plan "$DST_PORT" "$WORK/scan-dst"
echo "scan plan: $(cat "$WORK/scan-src/pieces") COPY statements on the source, $(cat "$WORK/scan-dst/pieces") on the destination, over $JOBS sessions each"
run_scan "$WORK/warmup"
[[ $TRIAL_RC == 0 ]] || die "the warm-up scan failed"
echo "warm-up scan: $TRIAL_SECS s ($SCAN_NOTE)"

declare -a T_A=() T_B=() T_C=()
RESULTS="$WORK/results.txt"
: >"$RESULTS"
record() { printf '%-6s %-26s %9s  %s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS"; }

say "Timing $ROUNDS rounds of A (db_relocate verify) B (pgcopydb compare data) C (sequential scan), $JOBS jobs each"
echo "(load: 1-minute load average of the machine when the trial started; $(nproc) cores)"
printf '%-6s %-26s %9s  %s\n' round trial seconds notes
for r in $(seq 1 "$ROUNDS"); do
  # A
  LOAD="$(load1)"
  run_verify "$WORK/a$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_A+=("$TRIAL_SECS"); record "$r" "A db_relocate verify" "$TRIAL_SECS" "load $LOAD; $VERIFY_NOTE"
  else
    FAILED=1; record "$r" "A db_relocate verify" "FAILED" "load $LOAD; $VERIFY_NOTE"
  fi
  # B
  if [[ -n "$PGCOPYDB_WHY" ]]; then
    record "$r" "B pgcopydb compare data" "NOT RUN" "could not run: $PGCOPYDB_WHY"
  else
    LOAD="$(load1)"
    run_pgcopydb_compare "$WORK/b$r"
    if [[ $TRIAL_RC == 0 ]]; then
      T_B+=("$TRIAL_SECS"); record "$r" "B pgcopydb compare data" "$TRIAL_SECS" "load $LOAD; peak RSS $(peak_rss "$WORK/b$r/rss")"
    else
      peer_trial_failed "$r" "B pgcopydb compare data" "${#T_B[@]}" PGCOPYDB_WHY "pgcopydb compare data" pgcopydb_errors
    fi
  fi
  # C
  LOAD="$(load1)"
  run_scan "$WORK/c$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_C+=("$TRIAL_SECS"); record "$r" "C sequential scan (both)" "$TRIAL_SECS" "load $LOAD; $SCAN_NOTE"
  else
    FAILED=1; record "$r" "C sequential scan (both)" "FAILED" "load $LOAD; exit $TRIAL_RC; $SCAN_NOTE"
  fi
done

D_LINE=""
if [[ $WRITE_TPS -gt 0 ]]; then
  say "D: db_relocate verify while pgbench writes to the source at $WRITE_TPS tps (informational time)"
  run_verify_under_writes "$WORK/d"
  if [[ $TRIAL_RC == 0 ]]; then
    D_LINE="$TRIAL_SECS s, ok under writes: $VERIFY_NOTE; $WRITES_NOTE"
    record "-" "D verify under writes" "$TRIAL_SECS" "load $LOAD; $VERIFY_NOTE; $WRITES_NOTE"
  else
    FAILED=1
    D_LINE="FAILED: $VERIFY_NOTE; $WRITES_NOTE"
    record "-" "D verify under writes" "FAILED" "load $LOAD; $VERIFY_NOTE; $WRITES_NOTE"
  fi
fi

MA="$(echo "${T_A[*]:-}" | median)"
MB="$(echo "${T_B[*]:-}" | median)"
MC="$(echo "${T_C[*]:-}" | median)"
R_B="$(ratio "$MA" "$MB")"
R_C="$(ratio "$MA" "$MC")"

say "Summary: dataset $DATASET_SIZE, $TABLE_COUNTS; PostgreSQL 15 -> 17, $JOBS jobs, $ROUNDS rounds"
printf '%-44s %9s %7s %16s\n' trial "median s" trials "verify / trial"
printf '%-44s %9s %7s %16s\n' "A db_relocate verify" "$MA" "${#T_A[@]}/$ROUNDS" "1.00"
if [[ -n "$PGCOPYDB_WHY" ]]; then
  printf '%-44s %9s %7s %16s\n' "B pgcopydb compare data" "-" "0/$ROUNDS" "- (could not run)"
else
  printf '%-44s %9s %7s %16s\n' "B pgcopydb compare data" "$MB" "${#T_B[@]}/$ROUNDS" "$R_B"
fi
printf '%-44s %9s %7s %16s\n' "C sequential scan of both, $JOBS sessions/side" "$MC" "${#T_C[@]}/$ROUNDS" "$R_C"
[[ -n "$D_LINE" ]] && echo "D verify under $WRITE_TPS tps of writes: $D_LINE"
echo "loads at the trials' starts: $(awk '{ for (i = 1; i <= NF; i++) if ($i == "load") { v = $(i + 1); sub(/;$/, "", v); printf "%s ", v } }' "$RESULTS")"

echo
echo "Targets (informational):"
if [[ -n "$PGCOPYDB_WHY" ]]; then
  printf '  %-44s %s\n' "verify at most 0.5x pgcopydb compare data" "n/a: pgcopydb could not run ($PGCOPYDB_WHY)"
else
  printf '  %-44s %s\n' "verify at most 0.5x pgcopydb compare data" \
    "$(awk -v r="$R_B" 'BEGIN { if (r == "-") print "n/a"; else if (r <= 0.5) print "PASS"; else print "MISS" }') (ratio $R_B)"
fi
printf '  %-44s %s\n' "verify at most 1.5x the sequential scan" \
  "$(awk -v r="$R_C" 'BEGIN { if (r == "-") print "n/a"; else if (r <= 1.5) print "PASS"; else print "MISS" }') (ratio $R_C)"
exit "$FAILED"
