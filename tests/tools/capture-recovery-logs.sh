#!/usr/bin/env bash
# Regenerates tests/unit/data/recovery_logs/pg<MAJOR>_{crash,crash_async,backup}.log and measures, against a
# logical-decoding ground truth, which LSN in the startup log of a restored copy is the exact end
# of the data it holds.
#
#   tests/tools/capture-recovery-logs.sh [MAJOR ...]        (default: 13 14 15 16 17 18)
#   RLOG_KEEP_FIXTURES=1 ...   only measure, do not overwrite the fixture files
#   RLOG_RESULTS=DIR ...       also keep every copy's full log in DIR
#   RLOG_NOISE=N ...           N more sessions inserting into another table meanwhile (more
#                              concurrent WAL, e.g. records between pg_backup_stop's end-of-backup
#                              record and its WAL switch)
#
# Per major, on a throwaway cluster (scripts/pg-cluster.sh, log_line_prefix='%t:%r:%u@%d:[%p]:'
# like RDS, log_timezone=UTC, log_checkpoints=on) under /tmp/rlog-capture-<pid>/:
#   1. CREATE TABLE t(n int primary key); a test_decoding slot `gt` is created BEFORE the load.
#   2. Load: one psql session inserting n = 1, 2, 3, ... each row in its own transaction.
#   3. Crash copies (an EBS/RDS-snapshot equivalent): SIGSTOP the postmaster and all its
#      children, `cp -a` the data directory, SIGCONT. crash1 (-> pg<M>_crash.log) is taken with
#      synchronous_commit = on, RDS's default: the WAL ends mid-page, after the last flushed
#      commit. crash2 (-> pg<M>_crash_async.log) with synchronous_commit = off: the WAL writer
#      writes whole pages, so the WAL ends at a page boundary, often with a record cut across it.
#   4. Backup copy: 13-15 `pg_basebackup -X stream -c fast` (Debian's 15 client); 16-18 the
#      low-level API in one psql session (pg_backup_start; tar of the data directory without
#      pg_wal; pg_backup_stop; backup_label written from its labelfile; the WAL segments up to and
#      including pg_walfile_name(stop lsn) copied, i.e. what `-X stream` would have streamed).
#   5. The load stops; the source keeps running as the ground truth.
#   6. Every copy is started (postmaster.pid removed, fresh log); rows present must be exactly
#      1..N. For every LSN L named by its startup log (plus "redo done at Z" + 1, plus the page
#      named by a segment/offset), a copy of the slot `gt` is advanced to L on the source and
#      peeked: L is EXACT iff the first row decoded is N+1 (logical decoding skips a transaction
#      whose commit record starts before the position: exactly what the subscription's
#      replication origin does).
# Everything is stopped and deleted at the end (also on error).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="$REPO/scripts/pg-cluster.sh"
OUT="$REPO/tests/unit/data/recovery_logs"
PG15=/usr/lib/postgresql/15/bin
PSQL="$PG15/psql"
WORK="/tmp/rlog-capture-$$"
PREFIX='%t:%r:%u@%d:[%p]:'
MAJORS=("$@")
[[ ${#MAJORS[@]} -gt 0 ]] || MAJORS=(13 14 15 16 17 18)

started=()  # "major datadir" of every running cluster we started
load_pid=""
noise_pids=()
cleanup() {
  set +e
  [[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null
  for p in "${noise_pids[@]}"; do kill "$p" 2>/dev/null; done
  for s in "${started[@]}"; do
    # shellcheck disable=SC2086
    set -- $s
    "$CLUSTER" stop "$1" "$2" >/dev/null 2>&1
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK" "$OUT"
chown postgres:postgres "$WORK"
chmod 755 "$WORK"

lsn2int() { local hi="${1%/*}" lo="${1#*/}"; echo $(((16#$hi << 32) + 16#$lo)); }
q() {  # q DATADIR SQL
  "$PSQL" -X -q -At -h "$1" -p "$(cat "$1/.rlog-port")" -U ops -d postgres -c "$2"
}
start_cluster() {  # start_cluster MAJOR DATADIR PORT
  "$CLUSTER" start "$1" "$2" "$3" "log_line_prefix=$PREFIX" log_timezone=UTC log_checkpoints=on \
    >/dev/null
  echo "$3" >"$2/.rlog-port"
  started+=("$1 $2")
}
stop_cluster() {  # stop_cluster MAJOR DATADIR
  "$CLUSTER" stop "$1" "$2" >/dev/null
  local s keep=()
  for s in "${started[@]}"; do [[ "$s" == "$1 $2" ]] || keep+=("$s"); done
  started=("${keep[@]}")
}

crash_copy() {  # crash_copy SRC DEST : SIGSTOP every process of the cluster, cp -a, SIGCONT
  local pm kids
  pm="$(head -n 1 "$1/postmaster.pid")"
  kill -STOP "$pm"
  kids="$(pgrep -P "$pm" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  kill -STOP $kids
  cp -a "$1" "$2"
  # shellcheck disable=SC2086
  kill -CONT $kids
  kill -CONT "$pm"
}

backup_copy() {  # backup_copy MAJOR SRC DEST
  local major="$1" src="$2" dest="$3" port
  port="$(cat "$src/.rlog-port")"
  if ((major <= 15)); then
    "$PG15/pg_basebackup" -h "$src" -p "$port" -U ops -D "$dest" -X stream -c fast 2>&1 |
      grep -v 'skipping special file' >&2 || true
    cp "$src/.rlog-port" "$dest/"
  else
    mkdir -p "$dest/pg_wal"
    chmod 700 "$dest"
    "$PSQL" -X -q -At -h "$src" -p "$port" -U ops -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT pg_backup_start('rlog', true);
\! tar -C '$src' --exclude=./pg_wal --exclude=./postmaster.pid --exclude=./postmaster.opts --exclude='./pg_replslot/*' --exclude=./log -cf - . 2>/dev/null | tar -C '$dest' -xf -
SELECT lsn AS stop_lsn, labelfile, pg_walfile_name(lsn) AS stop_wal FROM pg_backup_stop(false) \gset
\o '$dest/backup_label'
\qecho :labelfile
\o '$dest/.rlog-stop'
\qecho :stop_lsn :stop_wal
\o
SQL
    local stop_wal f
    stop_wal="$(awk '{print $2}' "$dest/.rlog-stop")"
    for f in "$src"/pg_wal/0*; do
      [[ "$(basename "$f")" > "$stop_wal" ]] || cp -a "$f" "$dest/pg_wal/"
    done
    mkdir -p "$dest/pg_wal/archive_status" "$dest/log"
  fi
  chown -R postgres:postgres "$dest"
}

first_row_after() {  # first_row_after SRC LSN -> the first row logical decoding sends after an
  # origin/slot positioned at LSN (a copy of the slot `gt`, advanced to LSN, then peeked)
  q "$1" "SELECT 1 FROM pg_copy_logical_replication_slot('gt', 'chk')" >/dev/null
  q "$1" "SELECT 1 FROM pg_replication_slot_advance('chk', '$2')" >/dev/null
  q "$1" "SELECT split_part(data, ':', 4) FROM pg_logical_slot_peek_changes('chk', NULL, NULL)
          WHERE data LIKE 'table public.t: INSERT:%' LIMIT 1"
  q "$1" "SELECT pg_drop_replication_slot('chk')" >/dev/null
}

report_copy() {  # report_copy MAJOR COPY DIR SRC
  local major="$1" c="$2" dir="$3" src="$4" rows max min line lsn v first tag
  read -r rows max min <<<"$(q "$dir" "SELECT count(*), coalesce(max(n),0), coalesce(min(n),0) FROM t" | tr '|' ' ')"
  echo "== PG$major $c: rows present=$rows (min $min, max $max): exact L <=> first row decoded after L is $((max + 1))"
  [[ "$rows" == "$max" && ( "$rows" == 0 || "$min" == 1 ) ]] || echo "   !! rows are not exactly 1..N"
  grep -E 'redo starts|redo done|invalid record|backup recovery|consistent recovery|end of WAL|contrecord|prev-link|pageaddr|magic number|resource manager|too long|checkpoint complete: end|lsn=' \
    "$dir/log/postgresql.log" | while IFS= read -r line; do
    local lsns
    lsns="$(grep -oE '[0-9A-F]+/[0-9A-F]+' <<<"$line" || true)"
    if [[ "$line" =~ redo\ done\ at\ ([0-9A-F]+)/([0-9A-F]+) ]]; then  # Z + 1
      v=$(($(lsn2int "${BASH_REMATCH[1]}/${BASH_REMATCH[2]}") + 1))
      lsns+=" $(printf '%X/%X' $((v >> 32)) $((v & 0xFFFFFFFF)))"
    fi
    if [[ "$line" =~ segment\ ([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8}),\ offset\ ([0-9]+) ]]; then  # page (16 MB segments)
      v=$(((16#${BASH_REMATCH[2]} << 32) + 16#${BASH_REMATCH[3]} * 16777216 + BASH_REMATCH[4]))
      lsns+=" $(printf '%X/%X' $((v >> 32)) $((v & 0xFFFFFFFF)))"
    fi
    for lsn in $lsns; do
      first="$(first_row_after "$src" "$lsn")"
      if [[ "$first" == "$((max + 1))" ]]; then tag="EXACT"; else tag="wrong"; fi
      printf '   %-5s %-11s first row after it: %-7s <- %s\n' "$tag" "$lsn" "$first" "${line#*:LOG:  }"
    done
  done
}

run_major() {
  local major="$1" base=$((57300 + $1 * 10)) src copies=() kind c i
  src="$WORK/$major/src"
  mkdir -p "$WORK/$major"
  chown postgres:postgres "$WORK/$major"
  start_cluster "$major" "$src" "$base"
  q "$src" "CREATE TABLE t(n int PRIMARY KEY)"
  q "$src" "SELECT 1 FROM pg_create_logical_replication_slot('gt', 'test_decoding')" >/dev/null
  # crash1 with synchronous_commit = on (RDS's default: WAL ends mid-page), crash2 and the backup
  # with off (the WAL writer writes whole pages: WAL ends at a page boundary)
  q "$src" "ALTER SYSTEM SET synchronous_commit = on" && q "$src" "SELECT pg_reload_conf()" >/dev/null
  seq 1 100000000 | sed 's/.*/INSERT INTO t VALUES (&);/' |
    "$PSQL" -X -q -h "$src" -p "$base" -U ops -d postgres >/dev/null 2>&1 &
  load_pid=$!
  q "$src" "CREATE TABLE noise(x int)"
  for ((i = 0; i < ${RLOG_NOISE:-0}; i++)); do
    yes 'INSERT INTO noise VALUES (1);' |
      "$PSQL" -X -q -h "$src" -p "$base" -U ops -d postgres >/dev/null 2>&1 &
    noise_pids+=($!)
  done
  sleep 3
  crash_copy "$src" "$WORK/$major/crash1"; copies+=("crash1")
  q "$src" "ALTER SYSTEM SET synchronous_commit = off" && q "$src" "SELECT pg_reload_conf()" >/dev/null
  sleep 2
  crash_copy "$src" "$WORK/$major/crash2"; copies+=("crash2")
  sleep 1
  backup_copy "$major" "$src" "$WORK/$major/backup"; copies+=("backup")
  sleep 1
  kill "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  load_pid=""
  for i in "${noise_pids[@]}"; do kill "$i" 2>/dev/null || true; wait "$i" 2>/dev/null || true; done
  noise_pids=()
  echo "PG$major: $(q "$src" "SELECT count(*) FROM t") rows committed on the source"
  i=1
  for c in "${copies[@]}"; do
    local dir="$WORK/$major/$c"
    rm -f "$dir/postmaster.pid"
    mkdir -p "$dir/log"
    : >"$dir/log/postgresql.log"
    chown -R postgres:postgres "$dir"
    start_cluster "$major" "$dir" $((base + i))
    i=$((i + 1))
    report_copy "$major" "$c" "$dir" "$src"
    stop_cluster "$major" "$dir"
    if [[ -n "${RLOG_RESULTS:-}" ]]; then
      mkdir -p "$RLOG_RESULTS"
      cp "$dir/log/postgresql.log" "$RLOG_RESULTS/pg${major}_$c.log"
    fi
    if [[ -z "${RLOG_KEEP_FIXTURES:-}" ]]; then
      case "$c" in
        crash1) cp "$dir/log/postgresql.log" "$OUT/pg${major}_crash.log" ;;
        crash2) cp "$dir/log/postgresql.log" "$OUT/pg${major}_crash_async.log" ;;
        backup) cp "$dir/log/postgresql.log" "$OUT/pg${major}_backup.log" ;;
      esac
    fi
    rm -rf "$dir"
  done
  stop_cluster "$major" "$src"
  rm -rf "$src"
}

for m in "${MAJORS[@]}"; do run_major "$m"; done
