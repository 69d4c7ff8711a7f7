#!/usr/bin/env bash
# Benchmark (not a test, not run in CI): db_relocate against its peers, PostgreSQL 15 -> 17.
#
#   bench/run_vs_peers.sh                        # DATASET_GB=1 ROUNDS=3
#   DATASET_GB=2 ROUNDS=5 bench/run_vs_peers.sh
#
# Builds a dataset of at least DATASET_GB GiB (pg_database_size) of random, incompressible rows
# on a PostgreSQL 15 source (3 large tables, SMALL_TABLES small ones, all with primary keys),
# starts a PostgreSQL 17 destination, then times, alternating A B C A B C ... for ROUNDS rounds,
# each trial into a freshly created, empty destination database:
#   A  db_relocate run   (provider postgres, jobs = JOBS) until it exits 0: destination synced,
#                        logical replication running; peak RSS and CPU through /usr/bin/time
#   B  pgcopydb clone    (--table-jobs JOBS --index-jobs JOBS)
#   C  pg_dump -Fd -j JOBS to a directory, then pg_restore -j JOBS (timed together)
# and prints per-trial times, medians, ratios, db_relocate's peak RSS and PASS/MISS against the
# targets (faster than both peers; peak RSS under 200 MB). PASS/MISS is informational: the exit
# code is 0 unless a trial failed (db_relocate or pg_dump/pg_restore exited non-zero, pgcopydb
# failed after having worked in an earlier trial, or a destination's contents differ from the
# source's). pgcopydb failing from the start is reported as "could not run", not as a failure.
#
# Environment: DATASET_GB (1; fractions allowed for a quick try), ROUNDS (3), JOBS (nproc),
# SMALL_TABLES (200), SRC_PORT (55415), DST_PORT (55417), DBR_BIN (build/db_relocate),
# BENCH_KEEP=1 keeps the work directory (clusters are stopped either way).
# Everything (clusters, temp dirs, detached heartbeat writers) is cleaned up on exit and on Ctrl-C.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath -m "${DBR_BIN:-$REPO/build/db_relocate}")"
DATASET_GB="${DATASET_GB:-1}"
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-$(nproc)}"
SMALL_TABLES="${SMALL_TABLES:-200}"
SRC_PORT="${SRC_PORT:-55415}"
DST_PORT="${DST_PORT:-55417}"
PG15=/usr/lib/postgresql/15/bin
DB=bench
export PGPASSWORD=secret PGCONNECT_TIMEOUT=10

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "run_vs_peers: ERROR: $*" >&2; exit 1; }

[[ "$DATASET_GB" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DATASET_GB must be a number, got '$DATASET_GB'"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$JOBS'"
[[ "$SMALL_TABLES" =~ ^[0-9]+$ ]] || die "SMALL_TABLES must be an integer, got '$SMALL_TABLES'"
[[ -x "$BIN" ]] || die "$BIN not found; build it first: ninja -C $REPO/build db_relocate (or make build)"
[[ -x "$PG15/pg_dump" && -x "$PG15/pgbench" ]] || die "PostgreSQL 15 client programs not found in $PG15"
"$REPO/scripts/pg-bin.sh" 17 >/dev/null || die "PostgreSQL 17 server binaries not found (scripts/install-deps.sh)"
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (apt-get install time) to measure peak RSS"
  { apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q time >/dev/null 2>&1; }; } \
    || die "GNU time (/usr/bin/time) is missing and could not be installed: apt-get install time"
fi
HAVE_PGCOPYDB=1
command -v pgcopydb >/dev/null 2>&1 || HAVE_PGCOPYDB=0

# --- work directory, cleanup -------------------------------------------------------------------

WORK="$(mktemp -d /tmp/dbr-bench-XXXX)"
chmod 755 "$WORK"  # the postgres OS user must traverse it to reach the data directories
CHILD=""           # the process group of the trial running now (started with setsid)
BG_PIDS=()         # psql loaders running in the background
STARTED_CLUSTERS=()
# A private copy of the binary: a rebuild in the tree during a long run must not change the trials.
cp "$BIN" "$WORK/db_relocate"
BIN="$WORK/db_relocate"

kill_group() {  # kill_group PID: TERM, then KILL, the process group PID leads
  local pid="$1"
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

stop_heartbeat_writer() {  # stop_heartbeat_writer STATE_DIR: the detached writer db_relocate left
  local sd="$1" pid
  [[ -d "$sd" ]] || return 0
  touch "$sd/heartbeat.stop" 2>/dev/null || true
  pid="$(cat "$sd/heartbeat.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -TERM "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? d pid
  trap - EXIT INT TERM
  set +e
  if [[ -n "$CHILD" ]]; then
    echo "run_vs_peers: stopping the running trial (process group $CHILD)" >&2
    kill_group "$CHILD"
  fi
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for d in "$WORK"/a*/state; do stop_heartbeat_writer "$d"; done
  for d in "${STARTED_CLUSTERS[@]}"; do
    "$REPO/scripts/pg-cluster.sh" stop "${d%%:*}" "${d#*:}" >/dev/null 2>&1
  done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "run_vs_peers: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "run_vs_peers: interrupted" >&2; exit 130' INT
trap 'echo "run_vs_peers: terminated" >&2; exit 143' TERM

# --- helpers -----------------------------------------------------------------------------------

psql_at() {  # psql_at PORT DB [psql args...]
  local port="$1" db="$2"; shift 2
  PGOPTIONS="-c client_min_messages=warning" "$PG15/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U ops -d "$db" "$@"
}
psql_src() { psql_at "$SRC_PORT" "$DB" "$@"; }
psql_dst() { psql_at "$DST_PORT" "$DB" "$@"; }

now() { date +%s.%N; }
load1() { cut -d ' ' -f 1 /proc/loadavg; }  # the machine's 1-minute load when a trial starts
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_trial OUT ERR CMD...: runs CMD in its own process group (so Ctrl-C can stop all of it),
# waits; sets TRIAL_RC and TRIAL_SECS.
run_trial() {
  local out="$1" err="$2" t0; shift 2
  t0="$(now)"
  setsid "$@" >"$out" 2>"$err" </dev/null &
  CHILD=$!
  TRIAL_RC=0
  wait "$CHILD" || TRIAL_RC=$?
  CHILD=""
  TRIAL_SECS="$(elapsed "$t0")"
}

bg_psql() {  # bg_psql LOGFILE SQL: a source session in the background; its pid goes to BG_PIDS
  local logf="$1" sql="$2"
  psql_src -c "$sql" >"$logf" 2>&1 &
  BG_PIDS+=($!)
}
wait_bg() {  # wait for every background loader; fail on the first error
  local pid failed=0
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || failed=1; done
  BG_PIDS=()
  if [[ $failed == 1 ]]; then cat "$WORK"/gen-*.log >&2; die "generating the dataset failed"; fi
}

numbers() { tr ' ' '\n' | awk '/^[0-9.]+$/' | sort -g; }  # the numbers on stdin, one a line, sorted
median() { numbers | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { numbers | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
human_bytes() { awk -v b="$1" 'BEGIN { printf "%.2f GiB (%.0f MB)", b / 1073741824, b / 1000000 }'; }

# --- dataset -----------------------------------------------------------------------------------
# Three large tables of different shapes and SMALL_TABLES small ones. Every value is random
# (md5 of random(), gen_random_uuid(), random numerics and timestamps, jsonb built from them,
# bytea decoded from random hex): nothing pglz or gzip can shrink much, no blank padding.

BIG_TABLES=(orders events documents)

create_big_tables_sql() {
  cat <<'SQL'
CREATE TABLE orders (
  id bigint NOT NULL, ref uuid NOT NULL, customer text NOT NULL, status text NOT NULL,
  amount numeric(14,2) NOT NULL, qty integer NOT NULL, discount real,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  items jsonb NOT NULL, note text);
CREATE TABLE events (
  id bigint NOT NULL, ts timestamptz NOT NULL, kind text NOT NULL, user_id bigint NOT NULL,
  session uuid NOT NULL, duration_ms integer NOT NULL, score double precision NOT NULL,
  payload jsonb NOT NULL);
CREATE TABLE documents (
  id bigint NOT NULL, title text NOT NULL, body text NOT NULL, digest bytea NOT NULL,
  attachment bytea NOT NULL, version integer NOT NULL, created_at timestamptz NOT NULL);
SQL
}

insert_sql() {  # insert_sql TABLE FIRST_ID LAST_ID
  local t="$1" a="$2" b="$3"
  case "$t" in
    orders) cat <<SQL
INSERT INTO orders
SELECT g, gen_random_uuid(), md5(random()::text),
       (ARRAY['new','paid','shipped','delivered','cancelled'])[1 + floor(random() * 5)::int],
       round((random() * 10000)::numeric, 2), 1 + floor(random() * 100)::int,
       CASE WHEN random() < 0.3 THEN random()::real END,
       now() - random() * interval '730 days', now() - random() * interval '30 days',
       jsonb_build_object('sku', md5(random()::text), 'price', round((random() * 500)::numeric, 2),
                          'qty', floor(random() * 10)::int, 'gift', random() < 0.1,
                          'tags', jsonb_build_array(left(md5(random()::text), 10),
                                                    left(md5(random()::text), 10))),
       left(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text),
            16 + floor(random() * 112)::int)
  FROM generate_series($a, $b) g
SQL
    ;;
    events) cat <<SQL
INSERT INTO events
SELECT g, now() - random() * interval '90 days',
       (ARRAY['view','click','search','purchase','login','logout'])[1 + floor(random() * 6)::int],
       floor(random() * 10000000)::bigint, gen_random_uuid(), floor(random() * 60000)::int,
       random() * 1000,
       jsonb_build_object('path', '/' || left(md5(random()::text), 12) || '/' || md5(random()::text),
                          'agent', md5(random()::text) || md5(random()::text),
                          'ip', host(('10.0.0.0'::inet + floor(random() * 16777216)::bigint)),
                          'ref', gen_random_uuid(), 'ab', floor(random() * 4)::int,
                          'metrics', jsonb_build_array(random(), random(), random()))
  FROM generate_series($a, $b) g
SQL
    ;;
    documents) cat <<SQL
INSERT INTO documents
SELECT g, md5(random()::text) || ' ' || left(md5(random()::text), floor(random() * 32)::int),
       (SELECT string_agg(md5(random()::text || s), ' ') FROM generate_series(1, 3 + (g % 10)) s),
       decode(md5(random()::text), 'hex'),
       decode((SELECT string_agg(md5(random()::text || s), '') FROM generate_series(1, 2 + (g % 12)) s), 'hex'),
       1 + floor(random() * 20)::int, now() - random() * interval '365 days'
  FROM generate_series($a, $b) g
SQL
    ;;
  esac
}

index_sql() {  # index_sql TABLE: primary key and secondary indexes, built after the load
  case "$1" in
    orders) echo "ALTER TABLE orders ADD PRIMARY KEY (id); CREATE INDEX ON orders (created_at); CREATE UNIQUE INDEX ON orders (ref);" ;;
    events) echo "ALTER TABLE events ADD PRIMARY KEY (id); CREATE INDEX ON events (ts); CREATE INDEX ON events (user_id);" ;;
    documents) echo "ALTER TABLE documents ADD PRIMARY KEY (id); CREATE INDEX ON documents (created_at);" ;;
  esac
}

small_tables_sql() {
  cat <<SQL
DO \$\$
DECLARE n text;
BEGIN
  FOR i IN 1..$SMALL_TABLES LOOP
    n := 'small_' || lpad(i::text, 3, '0');
    EXECUTE format('CREATE TABLE %I (id serial PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL,'
                   ' price numeric(12,3), active boolean NOT NULL, updated_at timestamptz NOT NULL,'
                   ' attrs jsonb)', n);
    EXECUTE format('INSERT INTO %I (code, name, price, active, updated_at, attrs)'
                   ' SELECT md5(random()::text || g), md5(random()::text) || left(md5(random()::text), (g %% 20)),'
                   ' round((random() * 1000)::numeric, 3), random() < 0.5,'
                   ' now() - random() * interval ''100 days'','
                   ' jsonb_build_object(''k'', md5(random()::text), ''n'', g, ''x'', random())'
                   ' FROM generate_series(1, %s) g', n, 200 + (i * 37) % 300);
  END LOOP;
END \$\$;
SQL
}

declare -A NEXT_ID
load_rows() {  # load_rows ROWS_PER_TABLE: one background session per large table, 200k-row chunks
  local rows="$1" t a b last sql
  for t in "${BIG_TABLES[@]}"; do
    a="${NEXT_ID[$t]}"
    last=$((a + rows - 1))
    sql=""
    while ((a <= last)); do
      b=$((a + 199999)); ((b > last)) && b=$last
      sql+="$(insert_sql "$t" "$a" "$b");"$'\n'
      a=$((b + 1))
    done
    NEXT_ID[$t]=$((last + 1))
    bg_psql "$WORK/gen-$t.log" "$sql"
  done
}

build_dataset() {
  local target calib=20000 per_row rows size t extra
  target="$(awk -v g="$DATASET_GB" 'BEGIN { printf "%.0f", g * 1073741824 }')"
  say "Building the dataset on PostgreSQL 15: at least $DATASET_GB GiB, 3 large tables + $SMALL_TABLES small ones"
  local t0; t0="$(now)"
  psql_src -c "$(create_big_tables_sql)"
  for t in "${BIG_TABLES[@]}"; do NEXT_ID[$t]=1; done
  # Calibrate: a few rows per table tell the bytes a row takes (heap + TOAST), plus ~60 B of index.
  for t in "${BIG_TABLES[@]}"; do psql_src -c "$(insert_sql "$t" 1 $calib)"; NEXT_ID[$t]=$((calib + 1)); done
  bg_psql "$WORK/gen-small.log" "$(small_tables_sql)"
  per_row="$(psql_src -At -c "SELECT (sum(pg_table_size(c)) / $calib + 3 * 60)::bigint FROM unnest('{orders,events,documents}'::regclass[]) c")"
  rows=$(( (target * 103 / 100) / per_row ))  # rows per large table, 3% to spare
  log "about $((per_row / 3)) bytes per large-table row: loading $rows rows into each of ${BIG_TABLES[*]} (3 sessions)"
  load_rows $((rows - calib))
  wait_bg
  log "rows loaded in $(elapsed "$t0") s; building primary keys and indexes"
  for t in "${BIG_TABLES[@]}"; do bg_psql "$WORK/gen-idx-$t.log" "$(index_sql "$t")"; done
  wait_bg
  psql_src -c "VACUUM (FREEZE, ANALYZE)"  # hint bits and visibility map set now, not by the first trial
  for _ in 1 2 3 4 5; do
    size="$(psql_src -At -c "SELECT pg_database_size(current_database())")"
    ((size >= target)) && break
    extra=$(( (target - size) * 105 / 100 / per_row + 1000 ))
    log "$(human_bytes "$size") so far: adding $extra rows per large table"
    load_rows "$extra"
    wait_bg
    psql_src -c "VACUUM (FREEZE, ANALYZE)"
  done
  psql_src -c "CHECKPOINT"
  log "dataset built in $(elapsed "$t0") s"
  size="$(psql_src -At -c "SELECT pg_database_size(current_database())")"
  DATASET_SIZE="$(human_bytes "$size")"
  echo "dataset: pg_database_size = $DATASET_SIZE"
  psql_src -P footer=off -c "
    SELECT grp AS tables, sum(rows)::bigint AS rows, pg_size_pretty(sum(data)) AS data,
           pg_size_pretty(sum(idx)) AS indexes, pg_size_pretty(sum(data + idx)) AS total
      FROM (SELECT CASE WHEN c.relname LIKE 'small\\_%' THEN 'small_* (' || count(*) OVER (PARTITION BY c.relname LIKE 'small\\_%') || ' tables)'
                        ELSE c.relname END AS grp,
                   c.reltuples AS rows, pg_table_size(c.oid) AS data, pg_indexes_size(c.oid) AS idx
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'r') t
     GROUP BY grp ORDER BY grp LIKE 'small%', grp"
  TABLE_COUNTS="$(psql_src -At -c "SELECT count(*) || ' tables (' || count(*) FILTER (WHERE relname NOT LIKE 'small\_%') || ' large, ' || count(*) FILTER (WHERE relname LIKE 'small\_%') || ' small), ' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') || ' indexes, ' || (SELECT sum(reltuples)::bigint FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace WHERE n2.nspname = 'public' AND c2.relkind = 'r') || ' rows' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")"
  echo "dataset: $TABLE_COUNTS"
  EXPECTED_CONTENTS="$(psql_src -At -c "$CONTENTS_SQL")"
}

# --- the destination, per trial ----------------------------------------------------------------

fresh_destination() {
  # Roles are cluster-wide: drop the one db_relocate copies (its replication user) with the database.
  psql_at "$DST_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS upgrade" -c "CREATE DATABASE $DB"
  psql_at "$DST_PORT" postgres -c "CHECKPOINT"
  psql_src -c "CHECKPOINT"
}

# contents: the tables, indexes and rows (large tables counted exactly) of schema public; after
# each trial the destination must show the source's (checked, not timed).
CONTENTS_SQL="SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') || ' tables, '
  || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') || ' indexes, '
  || (SELECT count(*) FROM orders) + (SELECT count(*) FROM events) + (SELECT count(*) FROM documents)
  || ' rows in the large tables'"
check_destination() {  # check_destination TOOL: sets CHECK_NOTE; FAILED=1 when it differs
  local got
  got="$(psql_dst -At -c "$CONTENTS_SQL" 2>&1 | tail -n 1)"
  if [[ "$got" == "$EXPECTED_CONTENTS" ]]; then
    CHECK_NOTE="contents ok"
  else
    CHECK_NOTE="CONTENTS DIFFER: $got"
    echo "$1: the destination holds $got; the source $EXPECTED_CONTENTS" >&2
    FAILED=1
  fi
}

# --- A: db_relocate ------------------------------------------------------------------------------

teardown_db_relocate() {  # teardown_db_relocate STATE_DIR: leave both servers as before the trial
  local sd="$1"
  stop_heartbeat_writer "$sd"
  if [[ "$(psql_dst -At -c "SELECT count(*) FROM pg_subscription WHERE subname = 'db_relocate_sub'")" != 0 ]]; then
    psql_dst -c "ALTER SUBSCRIPTION db_relocate_sub DISABLE" \
             -c "ALTER SUBSCRIPTION db_relocate_sub SET (slot_name = NONE)" \
             -c "DROP SUBSCRIPTION db_relocate_sub"
  fi
  for _ in $(seq 1 60); do  # the walsender lets go of the slot shortly after the subscription is gone
    [[ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'db_relocate_slot' AND active")" == 0 ]] && break
    sleep 0.5
  done
  psql_src -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'db_relocate_slot'" >/dev/null
  psql_src -c "DROP PUBLICATION IF EXISTS db_relocate_pub" -c "DROP SCHEMA IF EXISTS db_relocate CASCADE"
  if [[ "$(psql_src -At -c "SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'")" != 0 ]]; then
    psql_src -c "REASSIGN OWNED BY upgrade TO ops" -c "DROP OWNED BY upgrade" -c "DROP ROLE upgrade"
  fi
}

# step_breakdown LOG: where db_relocate's time went, from the timestamps of its log lines.
step_breakdown() {
  awk '
    function ts(line,   d, t) { split($2, t, ":"); return t[1] * 3600 + t[2] * 60 + t[3] }
    / step [a-z_-]+: /         { if (!first) first = ts() }
    /copying rows of/          { copy = ts() }
    /building indexes/         { idx = ts() }
    /analyzing [0-9]+ tables/  { an = ts() }
    /step [a-z_-]+ done in/    { last = ts(); if (an && !an_end) an_end = ts() }
    END {
      if (copy && idx && an && an_end)
        printf "setup+schema %.1f s, copy %.1f s, indexes %.1f s, analyze %.1f s, subscribe..sequences %.1f s", \
               copy - first, idx - copy, an - idx, an_end - an, last - an_end
    }' "$1"
}

run_db_relocate() {  # run_db_relocate ROUND
  local r="$1" dir="$WORK/a$1"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<YAML
provider: postgres
log_level: info
src:
  host: 127.0.0.1
  port: $SRC_PORT
  name: $DB
  user: ops
  password: \${PGPASSWORD}
dst:
  host: 127.0.0.1
  port: $DST_PORT
jobs: $JOBS
heartbeat_interval: 1
state_dir: $dir/state
YAML
  chmod 600 "$dir/config.yaml"
  run_trial "$dir/out" "$dir/log" /usr/bin/time -f "%M %U %S" -o "$dir/rss" "$BIN" run --config "$dir/config.yaml"
  # GNU time: peak RSS (KiB) and CPU seconds of db_relocate, and of the pg_dump/pg_restore it
  # runs for the schema (largest single process for RSS, sum for CPU); not the detached heartbeat.
  local rss_kb cpu; read -r rss_kb cpu < <(tail -n 1 "$dir/rss" 2>/dev/null | awk '{ print $1, $2 + $3 }') || true
  [[ "${rss_kb:-}" =~ ^[0-9]+$ ]] && RSS_MB="$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')" || RSS_MB="-"
  CPU_S="${cpu:--}"
  if [[ $TRIAL_RC == 0 ]]; then
    BREAKDOWN="$(step_breakdown "$dir/log")"
    grep -v '^$' "$dir/out" | sed 's/^/    /' >"$dir/summary" || true
  else
    echo "db_relocate run FAILED (exit $TRIAL_RC) after $TRIAL_SECS s; last log lines:" >&2
    tail -n 15 "$dir/log" | sed 's/^/    /' >&2
  fi
  teardown_db_relocate "$dir/state"
}

# --- B: pgcopydb ---------------------------------------------------------------------------------

PGCOPYDB_WHY=""
run_pgcopydb() {  # run_pgcopydb ROUND
  local dir="$WORK/b$1"
  mkdir -p "$dir"
  # pgcopydb runs pg_dump/pg_restore; the Debian package finds PostgreSQL 15's (the only ones here,
  # as for db_relocate and C). Same split threshold as db_relocate's default (256 MiB).
  PATH="$PG15:$PATH" run_trial "$dir/out" "$dir/log" pgcopydb clone \
    --source "postgres://ops@127.0.0.1:$SRC_PORT/$DB" \
    --target "postgres://ops@127.0.0.1:$DST_PORT/$DB" \
    --dir "$dir/work" --table-jobs "$JOBS" --index-jobs "$JOBS" \
    --split-tables-larger-than 268435456 --no-owner --no-acl
}

# --- C: pg_dump + pg_restore ---------------------------------------------------------------------

run_dump_restore() {  # run_dump_restore ROUND; sets C_ANALYZE_SECS (not counted in the time)
  local dir="$WORK/c$1" secs
  mkdir -p "$dir"
  # -Z0 and --no-sync: no compression CPU, no fsync of a dump thrown away at once; the fastest
  # this pair goes, so the comparison is against its best.
  run_trial "$dir/dump.out" "$dir/dump.log" "$PG15/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U ops \
    -Fd -j "$JOBS" -Z0 --no-sync -f "$dir/dump" "$DB"
  secs="$TRIAL_SECS"
  if [[ $TRIAL_RC != 0 ]]; then
    echo "pg_dump FAILED (exit $TRIAL_RC):" >&2; tail -n 15 "$dir/dump.log" >&2; return
  fi
  run_trial "$dir/restore.out" "$dir/restore.log" "$PG15/pg_restore" -h 127.0.0.1 -p "$DST_PORT" \
    -U ops -d "$DB" -j "$JOBS" "$dir/dump"
  TRIAL_SECS="$(awk -v a="$secs" -v b="$TRIAL_SECS" 'BEGIN { printf "%.1f", a + b }')"
  C_DUMP_SECS="$secs"
  if [[ $TRIAL_RC != 0 ]]; then
    echo "pg_restore FAILED (exit $TRIAL_RC):" >&2; tail -n 15 "$dir/restore.log" >&2; return
  fi
  local t0; t0="$(now)"
  psql_dst -c "ANALYZE"  # pg_restore leaves the destination without statistics; shown apart
  C_ANALYZE_SECS="$(elapsed "$t0")"
  rm -rf "$dir/dump"
}

# --- main ----------------------------------------------------------------------------------------

say "Starting PostgreSQL 15 (source, port $SRC_PORT) and PostgreSQL 17 (destination, port $DST_PORT) in $WORK"
"$REPO/scripts/pg-cluster.sh" start 15 "$WORK/src" "$SRC_PORT" max_wal_size=4GB
STARTED_CLUSTERS+=("15:$WORK/src")
"$REPO/scripts/pg-cluster.sh" start 17 "$WORK/dst" "$DST_PORT" max_wal_size=4GB
STARTED_CLUSTERS+=("17:$WORK/dst")
psql_at "$SRC_PORT" postgres -c "CREATE DATABASE $DB"
echo "source: $(psql_src -At -c 'SELECT version()')"
echo "destination: $(psql_at "$DST_PORT" postgres -At -c 'SELECT version()')"
echo "db_relocate: $("$BIN" version 2>&1 | head -n 1) (tree at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
[[ $HAVE_PGCOPYDB == 1 ]] && echo "pgcopydb: $(pgcopydb --version 2>/dev/null | head -n 1)"
echo "pg_dump/pg_restore: $("$PG15/pg_dump" --version)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; JOBS=$JOBS"

build_dataset

declare -a T_A=() T_B=() T_C=() T_CA=() RSS=()
FAILED=0
RESULTS="$WORK/results.txt"
: >"$RESULTS"
record() { printf '%-6s %-22s %9s  %s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS"; }

say "Timing $ROUNDS rounds of A (db_relocate) B (pgcopydb) C (pg_dump+pg_restore), $JOBS jobs each"
echo "(load: 1-minute load average of the machine when the trial started; $(nproc) cores)"
printf '%-6s %-22s %9s  %s\n' round tool seconds notes
for r in $(seq 1 "$ROUNDS"); do
  # A
  fresh_destination
  RSS_MB="-" CPU_S="-" BREAKDOWN="" LOAD="$(load1)"
  run_db_relocate "$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_A+=("$TRIAL_SECS"); RSS+=("$RSS_MB")
    check_destination db_relocate
    record "$r" "A db_relocate" "$TRIAL_SECS" "load $LOAD; $CHECK_NOTE; peak RSS $RSS_MB MB, CPU $CPU_S s; $BREAKDOWN"
  else
    FAILED=1; record "$r" "A db_relocate" "FAILED" "exit $TRIAL_RC after $TRIAL_SECS s (see above)"
  fi
  # B
  if [[ $HAVE_PGCOPYDB == 0 ]]; then
    [[ $r == 1 ]] && PGCOPYDB_WHY="pgcopydb is not installed"
    record "$r" "B pgcopydb" "NOT RUN" "$PGCOPYDB_WHY"
  elif [[ -n "$PGCOPYDB_WHY" ]]; then
    record "$r" "B pgcopydb" "NOT RUN" "could not run in round 1 (see above)"
  else
    fresh_destination
    LOAD="$(load1)"
    run_pgcopydb "$r"
    if [[ $TRIAL_RC == 0 ]]; then
      T_B+=("$TRIAL_SECS")
      check_destination pgcopydb
      record "$r" "B pgcopydb" "$TRIAL_SECS" "load $LOAD; $CHECK_NOTE"
    elif [[ ${#T_B[@]} == 0 ]]; then
      PGCOPYDB_WHY="$(grep -E 'ERROR|FATAL' "$WORK/b$r/log" | head -n 3 | sed -E 's/^[0-9:]+ [0-9]+ //' | tr '\n' ' ')"
      echo "pgcopydb COULD NOT RUN 15 -> 17 (exit $TRIAL_RC after $TRIAL_SECS s); its errors:" >&2
      grep -E 'ERROR|FATAL|WARN' "$WORK/b$r/log" | head -n 20 | sed 's/^/    /' >&2
      record "$r" "B pgcopydb" "NOT RUN" "failed against PostgreSQL 17: ${PGCOPYDB_WHY:-exit $TRIAL_RC}"
    else
      FAILED=1; record "$r" "B pgcopydb" "FAILED" "exit $TRIAL_RC after $TRIAL_SECS s"
      grep -E 'ERROR|FATAL' "$WORK/b$r/log" | head -n 10 | sed 's/^/    /' >&2
    fi
  fi
  # C
  fresh_destination
  C_ANALYZE_SECS="-" C_DUMP_SECS="-" LOAD="$(load1)"
  run_dump_restore "$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_C+=("$TRIAL_SECS")
    [[ "$C_ANALYZE_SECS" != - ]] && T_CA+=("$(awk -v a="$TRIAL_SECS" -v b="$C_ANALYZE_SECS" 'BEGIN { printf "%.1f", a + b }')")
    check_destination pg_restore
    record "$r" "C pg_dump+pg_restore" "$TRIAL_SECS" "load $LOAD; $CHECK_NOTE; pg_dump $C_DUMP_SECS s; ANALYZE afterwards (not counted) $C_ANALYZE_SECS s"
  else
    FAILED=1; record "$r" "C pg_dump+pg_restore" "FAILED" "exit $TRIAL_RC"
  fi
done

MA="$(echo "${T_A[*]:-}" | median)"
MB="$(echo "${T_B[*]:-}" | median)"
MC="$(echo "${T_C[*]:-}" | median)"
MCA="$(echo "${T_CA[*]:-}" | median)"
RSS_MED="$(echo "${RSS[*]:-}" | median)"
RSS_MAX="$(echo "${RSS[*]:-}" | maxof)"; RSS_MAX="${RSS_MAX:--}"
R_B="$(ratio "$MA" "$MB")"
R_C="$(ratio "$MA" "$MC")"

say "Summary: dataset $DATASET_SIZE, $TABLE_COUNTS; PostgreSQL 15 -> 17, $JOBS jobs, $ROUNDS rounds"
printf '%-34s %10s %8s %26s\n' tool "median s" trials "db_relocate / tool"
printf '%-34s %10s %8s %26s\n' "A db_relocate run (until synced)" "$MA" "${#T_A[@]}/$ROUNDS" "1.00"
if [[ -n "$PGCOPYDB_WHY" ]]; then
  printf '%-34s %10s %8s %26s\n' "B pgcopydb clone" "-" "0/$ROUNDS" "- (could not run)"
else
  printf '%-34s %10s %8s %26s\n' "B pgcopydb clone" "$MB" "${#T_B[@]}/$ROUNDS" "$R_B"
fi
printf '%-34s %10s %8s %26s\n' "C pg_dump -Fd + pg_restore" "$MC" "${#T_C[@]}/$ROUNDS" "$R_C"
printf '%-34s %10s %8s %26s\n' "  C + ANALYZE (informational)" "$MCA" "${#T_CA[@]}/$ROUNDS" "$(ratio "$MA" "$MCA")"
echo "(A and B end with statistics on the destination (A: ANALYZE, B: VACUUM ANALYZE); C does not.)"
echo "db_relocate peak RSS: median $RSS_MED MB, max $RSS_MAX MB"

verdict() {  # verdict RATIO: PASS when below 1
  awk -v r="$1" 'BEGIN { if (r == "-") print "n/a"; else if (r < 1) print "PASS"; else print "MISS" }'
}
echo
echo "Targets (informational):"
if [[ -n "$PGCOPYDB_WHY" ]]; then
  printf '  %-44s %s\n' "db_relocate faster than pgcopydb" "n/a: pgcopydb could not run ($PGCOPYDB_WHY)"
else
  printf '  %-44s %s\n' "db_relocate faster than pgcopydb" "$(verdict "$R_B") (ratio $R_B)"
fi
printf '  %-44s %s\n' "db_relocate faster than pg_dump+pg_restore" "$(verdict "$R_C") (ratio $R_C)"
printf '  %-44s %s\n' "db_relocate peak RSS under 200 MB" \
  "$(awk -v m="$RSS_MAX" 'BEGIN { if (m == "-") print "n/a"; else if (m < 200) print "PASS"; else print "MISS" }') (max $RSS_MAX MB)"

if [[ ${#T_A[@]} -gt 0 ]]; then
  echo
  echo "db_relocate's own summary, last successful round:"
  for r in $(seq "$ROUNDS" -1 1); do
    [[ -s "$WORK/a$r/summary" ]] && { cat "$WORK/a$r/summary"; break; }
  done
fi
exit "$FAILED"
