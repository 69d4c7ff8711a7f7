# shellcheck shell=bash disable=SC2034  # sourced; its globals are read by the sourcing script
# Shared by the benchmarks under bench/ (sourced, not run): helpers, the two clusters, the dataset,
# fresh destinations and the teardown of a db_relocate relocation.
#
# The sourcing script sets, before calling anything here:
#   BENCH_NAME (prefix of messages), REPO, BIN (db_relocate), DATASET_GB, SMALL_TABLES,
#   SRC_PORT, DST_PORT, DB, JOBS, PG15 (PostgreSQL 15 client programs), and PGPASSWORD=secret;
# then calls bench_init_work (work directory, private copy of BIN, traps), start_clusters and
# build_dataset. It may define bench_cleanup_hook, run first on exit (set +e in force).
# Globals it provides: WORK, CHILD, BG_PIDS, STARTED_CLUSTERS, DATASET_SIZE, TABLE_COUNTS,
# EXPECTED_CONTENTS, BIG_TABLES, TRIAL_RC, TRIAL_SECS, TRIAL_STEAL, CHECK_NOTE (FAILED=1 set by
# check_destination on a difference and by peer_trial_failed on a peer failing after a success).

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "${BENCH_NAME:-bench}: ERROR: $*" >&2; exit 1; }

need_gnu_time() {  # /usr/bin/time measures peak RSS; installed when missing
  [[ -x /usr/bin/time ]] && return 0
  log "installing GNU time (apt-get install time) to measure peak RSS"
  { apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q time >/dev/null 2>&1; }; } \
    || die "GNU time (/usr/bin/time) is missing and could not be installed: apt-get install time"
}

# --- work directory, cleanup -------------------------------------------------------------------

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

bench_cleanup() {
  local rc=$? d pid
  trap - EXIT INT TERM
  set +e
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook; fi
  if [[ -n "$CHILD" ]]; then
    echo "$BENCH_NAME: stopping the running trial (process group $CHILD)" >&2
    kill_group "$CHILD"
  fi
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for d in "$WORK"/*/state; do stop_heartbeat_writer "$d"; done
  for d in "${STARTED_CLUSTERS[@]}"; do
    "$REPO/scripts/pg-cluster.sh" stop "${d%%:*}" "${d#*:}" >/dev/null 2>&1
  done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "$BENCH_NAME: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

bench_init_work() {  # the work directory (WORK), a private copy of BIN, the traps
  WORK="$(mktemp -d /tmp/dbr-bench-XXXX)"
  chmod 755 "$WORK"  # the postgres OS user must traverse it to reach the data directories
  CHILD=""           # the process group of the trial running now (started with setsid)
  BG_PIDS=()         # psql loaders (or other helpers) running in the background
  STARTED_CLUSTERS=()
  trap bench_cleanup EXIT
  trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT
  trap 'echo "$BENCH_NAME: terminated" >&2; exit 143' TERM
  # A private copy of the binary: a rebuild in the tree during a long run must not change the trials.
  cp "$BIN" "$WORK/db_relocate"
  BIN="$WORK/db_relocate"
}

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

# The seconds this virtual machine's cores have waited for the host so far (steal, /proc/stat):
# a trial that grows it by more than a few tenths shared the host's CPUs with another guest.
steal_secs() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", $9 / hz }' /proc/stat; }

# run_trial OUT ERR CMD...: runs CMD in its own process group (so Ctrl-C can stop all of it),
# waits; sets TRIAL_RC, TRIAL_SECS and TRIAL_STEAL (the steal seconds it saw).
run_trial() {
  local out="$1" err="$2" t0 steal0; shift 2
  t0="$(now)"
  steal0="$(steal_secs)"
  setsid "$@" >"$out" 2>"$err" </dev/null &
  CHILD=$!
  TRIAL_RC=0
  wait "$CHILD" || TRIAL_RC=$?
  CHILD=""
  TRIAL_SECS="$(elapsed "$t0")"
  TRIAL_STEAL="$(awk -v a="$steal0" -v b="$(steal_secs)" 'BEGIN { printf "%.1f", b - a }')"
}

# peer_trial_failed ROUND LABEL SUCCESSES WHY_VAR WHAT ERRORS_FN: a peer's trial that exited
# non-zero (WHAT: the program that did). Before any success of it, the peer cannot run here:
# WHY_VAR gets its first errors and the trial is NOT RUN; after one, the trial FAILED (FAILED=1).
# `ERRORS_FN ROUND N` prints the trial's first N error lines. Uses the script's `record`.
peer_trial_failed() {
  local r="$1" label="$2" successes="$3" why_var="$4" what="$5" errors_fn="$6"
  if [[ $successes == 0 ]]; then
    printf -v "$why_var" '%s' "$what exit $TRIAL_RC in round $r: $("$errors_fn" "$r" 2 | tr '\n' ' ')"
    echo "$label COULD NOT RUN ($what exit $TRIAL_RC after $TRIAL_SECS s); its errors:" >&2
    "$errors_fn" "$r" 20 | sed 's/^/    /' >&2
    record "$r" "$label" "NOT RUN" "could not run: ${!why_var}"
  else
    FAILED=1
    record "$r" "$label" "FAILED" "$what exit $TRIAL_RC after $TRIAL_SECS s"
    "$errors_fn" "$r" 10 | sed 's/^/    /' >&2
  fi
}
pgcopydb_errors() {  # pgcopydb_errors ROUND N: the first N errors in WORK/bROUND/log
  grep -E 'ERROR|FATAL' "$WORK/b$1/log" | head -n "$2" | sed -E 's/^[0-9:]+ [0-9]+ //' || true
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
median() {  # median [PRINTF_FORMAT]: of the numbers on stdin (%.1f), "-" when none
  numbers | awk -v f="${1:-%.1f}" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maxof() { numbers | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
human_bytes() { awk -v b="$1" 'BEGIN { printf "%.2f GiB (%.0f MB)", b / 1073741824, b / 1000000 }'; }

# --- the two servers ---------------------------------------------------------------------------

start_clusters() {  # PostgreSQL 15 source and 17 destination under WORK, database DB on the source
  say "Starting PostgreSQL 15 (source, port $SRC_PORT) and PostgreSQL 17 (destination, port $DST_PORT) in $WORK"
  "$REPO/scripts/pg-cluster.sh" start 15 "$WORK/src" "$SRC_PORT" max_wal_size=4GB "$@"
  STARTED_CLUSTERS+=("15:$WORK/src")
  "$REPO/scripts/pg-cluster.sh" start 17 "$WORK/dst" "$DST_PORT" max_wal_size=4GB "$@"
  STARTED_CLUSTERS+=("17:$WORK/dst")
  psql_at "$SRC_PORT" postgres -c "CREATE DATABASE $DB"
  echo "source: $(psql_src -At -c 'SELECT version()')"
  echo "destination: $(psql_at "$DST_PORT" postgres -At -c 'SELECT version()')"
  echo "db_relocate: $("$BIN" version 2>&1 | head -n 1) (tree at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
}

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
    n := 'small_' || lpad(i::text, greatest(3, length(i::text)), '0');
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

declare -gA NEXT_ID
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
  # The kernel's writeback of what came before (the dataset, the last trial's destination) is
  # done before the trial starts, not during it.
  sync
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

# --- db_relocate ---------------------------------------------------------------------------------

write_dbr_config() {  # write_dbr_config DIR [YAML_LINE...]: DIR/config.yaml, state in DIR/state
  local dir="$1" line; shift
  mkdir -p "$dir"
  {
    cat <<YAML
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
    for line in "$@"; do echo "$line"; done
  } >"$dir/config.yaml"
  chmod 600 "$dir/config.yaml"
}

teardown_db_relocate() {  # teardown_db_relocate STATE_DIR: leave both servers as before the trial
  local sd="$1"
  stop_heartbeat_writer "$sd"
  if [[ "$(psql_dst -At -c "SELECT count(*) FROM pg_subscription WHERE subname = 'db_relocate_sub'")" != 0 ]]; then
    psql_dst -c "ALTER SUBSCRIPTION db_relocate_sub DISABLE" \
             -c "ALTER SUBSCRIPTION db_relocate_sub SET (slot_name = NONE)" \
             -c "DROP SUBSCRIPTION db_relocate_sub"
  fi
  for _ in $(seq 1 60); do  # the walsender lets go of the slot shortly after the subscription is gone
    [[ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'db_relocate_slot_$DB' AND active")" == 0 ]] && break
    sleep 0.5
  done
  psql_src -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'db_relocate_slot_$DB'" >/dev/null
  psql_src -c "DROP PUBLICATION IF EXISTS db_relocate_pub" -c "DROP SCHEMA IF EXISTS db_relocate CASCADE"
  if [[ "$(psql_src -At -c "SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'")" != 0 ]]; then
    psql_src -c "REASSIGN OWNED BY upgrade TO ops" -c "DROP OWNED BY upgrade" -c "DROP ROLE upgrade"
  fi
}

