#!/usr/bin/env bash
# Benchmark (not a test, not run in CI): db_relocate's engine mysql against its peers, MariaDB ->
# MariaDB (issue #25).
#
#   bench/mysql_vs_peers.sh                          # DATASET_GB=1 ROUNDS=3
#   DATASET_GB=0.1 ROUNDS=1 bench/mysql_vs_peers.sh  # a quick try
#
# Starts two throwaway MariaDB servers (Debian's mariadbd; binary log on, ROW, FULL row images,
# distinct server_ids), builds a dataset of at least DATASET_GB GiB (information_schema
# data_length + index_length) of random, incompressible rows in database `bench` on the source
# (3 large tables, SMALL_TABLES small ones, all with primary keys), then times, alternating
# A B C A B C ... for ROUNDS rounds, each trial into an absent destination database:
#   A  db_relocate run   (engine mysql, jobs = JOBS, verify: false) until it exits 0: destination
#                        copied and replicating from the source; peak RSS and CPU through
#                        /usr/bin/time. Its verify is then timed apart (not counted in A).
#   B  mariadb-dump --single-transaction --master-data=2 | mariadb  (the classic pipe, both ends
#                        timed together; peak RSS of each)
#   C  mydumper --threads JOBS --trx-consistency-only to a directory, then myloader --threads JOBS
#                        --enable-binlog (timed together; peak RSS of each)
# checks after each trial that the destination holds the source's tables, indexes, row counts
# and CHECKSUM TABLE of every table (not timed), and prints per-trial times, medians, ratios,
# peak RSS and PASS/MISS against the targets (faster than mariadb-dump | mariadb; faster than
# mydumper + myloader; db_relocate's peak RSS under 200 MB). PASS/MISS is informational: the
# exit code is 0 unless a trial failed (a tool exited non-zero, db_relocate's verify found a
# difference, mydumper/myloader failed after having worked in an earlier trial, or a
# destination differs from the source). mydumper missing (and not installable with apt-get) or
# failing from the start is reported as "could not run", not as a failure.
#
# Environment: DATASET_GB (1; fractions allowed for a quick try), ROUNDS (3), JOBS (nproc),
# SMALL_TABLES (200), SRC_PORT (55406), DST_PORT (55407), DBR_BIN (build-release/db_relocate),
# MYDUMPER_ROWS (250000: mydumper --rows, a large table split into chunks of that many rows),
# BUFFER_POOL_MB (1.5 x DATASET_GB, at least 256: innodb_buffer_pool_size of each server),
# BENCH_KEEP=1 keeps the work directory (servers are stopped either way).
# Everything (servers, temp dirs, detached heartbeat writers) is cleaned up on exit and on Ctrl-C.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/dataset.sh
source "$REPO/bench/lib/dataset.sh"  # helpers: work directory, traps, run_trial, median, ratio ...
BENCH_NAME=mysql_vs_peers
BIN="$(realpath -m "${DBR_BIN:-$REPO/build-release/db_relocate}")"
DATASET_GB="${DATASET_GB:-1}"
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-$(nproc)}"
SMALL_TABLES="${SMALL_TABLES:-200}"
SRC_PORT="${SRC_PORT:-55406}"
DST_PORT="${DST_PORT:-55407}"
MYDUMPER_ROWS="${MYDUMPER_ROWS:-250000}"
DB=bench
MARIADBD=/usr/sbin/mariadbd
INSTALL_DB=/usr/bin/mariadb-install-db
export MYSQL_PWD=secret  # read by mariadb and mariadb-dump (ops / secret on both servers)

[[ "$DATASET_GB" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DATASET_GB must be a number, got '$DATASET_GB'"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, got '$JOBS'"
[[ "$SMALL_TABLES" =~ ^[0-9]+$ ]] || die "SMALL_TABLES must be an integer, got '$SMALL_TABLES'"
[[ "$MYDUMPER_ROWS" =~ ^[1-9][0-9]*$ ]] || die "MYDUMPER_ROWS must be a positive integer, got '$MYDUMPER_ROWS'"
BUFFER_POOL_MB="${BUFFER_POOL_MB:-$(awk -v g="$DATASET_GB" 'BEGIN { m = int(g * 1536); print (m < 256 ? 256 : m) }')}"
[[ "$BUFFER_POOL_MB" =~ ^[1-9][0-9]*$ ]] || die "BUFFER_POOL_MB must be a positive integer, got '$BUFFER_POOL_MB'"
[[ -x "$BIN" ]] || die "$BIN not found; build it first: ninja -C $REPO/build-release db_relocate (or make build)"
[[ -x "$MARIADBD" && -x "$INSTALL_DB" ]] || die "$MARIADBD or $INSTALL_DB missing: scripts/install-deps.sh (mariadb-server-core)"
if ! command -v mariadb >/dev/null || ! command -v mariadb-dump >/dev/null; then
  die "the mariadb and mariadb-dump clients are missing (apt-get install mariadb-client)"
fi
need_gnu_time

# mydumper/myloader (Debian's mydumper package): installed with apt-get when missing; without
# them C is reported as "could not run".
MYDUMPER_WHY=""
if ! command -v mydumper >/dev/null 2>&1 || ! command -v myloader >/dev/null 2>&1; then
  log "installing mydumper (apt-get install mydumper)"
  { apt-get install -y -q mydumper >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q mydumper >/dev/null 2>&1; }; } \
    || MYDUMPER_WHY="mydumper is not installed and apt-get install mydumper failed"
  command -v myloader >/dev/null 2>&1 || MYDUMPER_WHY="${MYDUMPER_WHY:-mydumper is not installed}"
fi

bench_init_work

# --- the two servers -------------------------------------------------------------------------------

declare -a SERVER_PIDS=()
# shellcheck disable=SC2317  # called by bench_cleanup (bench/lib/dataset.sh) on exit
bench_cleanup_hook() {  # heartbeat writers stopped while their server runs; then the servers
  local pid d
  for d in "$WORK"/a*/state; do stop_heartbeat_writer "$d"; done
  # Throwaway servers: killed outright (their directories go with WORK).
  for pid in "${SERVER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

sql_at() {  # sql_at PORT [mariadb args...]: as ops over TCP, tab-separated, no column names
  local port="$1"; shift
  mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$port" -u ops --batch --skip-column-names "$@"
}
sql_src() { sql_at "$SRC_PORT" "$@"; }
sql_dst() { sql_at "$DST_PORT" "$@"; }

root_sql() {  # root_sql DIR [mariadb args...]: as root (no password) over the server's socket
  local dir="$1"; shift
  env -u MYSQL_PWD mariadb --no-defaults --socket="$dir/sock" -u root "$@"
}

# start_server NAME PORT SERVER_ID: a copy of the template data directory, mariadbd on loopback.
# The settings of tests/harness/mariadb.cpp, sized for the dataset (buffer pool, redo log) and
# the same on both sides; every tool writes the destination's binary log.
start_server() {
  local name="$1" port="$2" id="$3" dir="$WORK/$1" pid
  mkdir -p "$dir/tmp"
  cp -a "$WORK/template" "$dir/data"
  local -a args=(--no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1
    --socket="$dir/sock" --pid-file="$dir/server.pid" --tmpdir="$dir/tmp" --server-id="$id"
    --log-bin="$dir/data/binlog" --binlog-format=ROW --binlog-row-image=FULL
    --innodb-buffer-pool-size="${BUFFER_POOL_MB}M" --innodb-log-file-size=512M
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --performance-schema=OFF
    --skip-name-resolve=ON --max-connections=200 --max-allowed-packet=256M)
  [[ $(id -u) == 0 ]] && args+=(--user=root)
  setsid "$MARIADBD" "${args[@]}" >"$dir/error.log" 2>&1 </dev/null &
  pid=$!
  disown "$pid"  # killed by bench_cleanup_hook; no "Killed" notice from bash then
  SERVER_PIDS+=("$pid")
  for _ in $(seq 1 600); do
    root_sql "$dir" -e "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/error.log" >&2; die "mariadbd ($name) exited at start"; }
    sleep 0.1
  done
  root_sql "$dir" -e "CREATE USER ops@'%' IDENTIFIED BY 'secret'; GRANT ALL ON *.* TO ops@'%' WITH GRANT OPTION" \
    || { tail -n 20 "$dir/error.log" >&2; die "mariadbd ($name) did not start on port $port"; }
}

start_servers() {
  say "Starting MariaDB source (port $SRC_PORT) and destination (port $DST_PORT) in $WORK"
  local -a install=(--no-defaults --datadir="$WORK/template" --auth-root-authentication-method=normal
    --skip-test-db --innodb-log-file-size=512M)
  [[ $(id -u) == 0 ]] && install+=(--user=root)
  "$INSTALL_DB" "${install[@]}" >"$WORK/install-db.log" 2>&1 \
    || { tail -n 20 "$WORK/install-db.log" >&2; die "mariadb-install-db failed"; }
  start_server src "$SRC_PORT" 1
  start_server dst "$DST_PORT" 2
  rm -rf "$WORK/template"
  sql_at "$SRC_PORT" -e "CREATE DATABASE $DB"
  echo "source: $(sql_src -e 'SELECT VERSION()'), destination: $(sql_dst -e 'SELECT VERSION()');" \
    "innodb_buffer_pool_size ${BUFFER_POOL_MB} MB each, innodb_flush_log_at_trx_commit 2, sync_binlog 0"
  echo "db_relocate: $("$BIN" version 2>&1 | head -n 1) (tree at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
}

# --- dataset -----------------------------------------------------------------------------------------
# Three large tables of different shapes and SMALL_TABLES small ones. Every value is random
# (RANDOM_BYTES(), hex of it, UUID(), SHA2 of RAND(), random decimals, dates and doubles): raw
# random bytes in the BLOB/BINARY columns, hex in the text ones. Nothing blank-padded or repeated.
# No FLOAT column: mariadb-dump and mydumper move rows as text, where MariaDB writes a FLOAT with
# 6 significant digits, so they change most FLOAT values and the contents check would fail them.

BIG_TABLES=(orders events documents)

create_big_tables_sql() {
  cat <<'SQL'
CREATE TABLE orders (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, ref CHAR(36) NOT NULL, customer VARCHAR(64) NOT NULL,
  status ENUM('new','paid','shipped','delivered','cancelled') NOT NULL, amount DECIMAL(14,2) NOT NULL,
  qty INT NOT NULL, discount DOUBLE NULL, created_at DATETIME(6) NOT NULL, updated_at TIMESTAMP NOT NULL,
  note VARCHAR(255) NULL, UNIQUE KEY ref (ref), KEY created_at (created_at)) ENGINE=InnoDB;
CREATE TABLE events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, ts DATETIME NOT NULL, kind VARCHAR(16) NOT NULL,
  user_id BIGINT NOT NULL, session BINARY(16) NOT NULL, duration_ms INT NOT NULL, score DOUBLE NOT NULL,
  payload JSON NOT NULL, KEY ts (ts), KEY user_id (user_id)) ENGINE=InnoDB;
CREATE TABLE documents (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, title VARCHAR(200) NOT NULL, body TEXT NOT NULL,
  digest BINARY(32) NOT NULL, attachment BLOB NOT NULL, version INT NOT NULL,
  created_at DATETIME NOT NULL, KEY created_at (created_at)) ENGINE=InnoDB;
SQL
}

insert_sql() {  # insert_sql TABLE ROWS: one INSERT ... SELECT of ROWS random rows
  local t="$1" n="$2"
  case "$t" in
    orders) cat <<SQL
INSERT INTO orders (ref, customer, status, amount, qty, discount, created_at, updated_at, note)
SELECT UUID(), HEX(RANDOM_BYTES(12 + FLOOR(RAND() * 20))), 1 + FLOOR(RAND() * 5),
       ROUND(RAND() * 10000, 2), 1 + FLOOR(RAND() * 100), IF(RAND() < 0.3, RAND(), NULL),
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 63072000000000) MICROSECOND,
       FROM_UNIXTIME(1700000000 + FLOOR(RAND() * 60000000)),
       IF(RAND() < 0.8, HEX(RANDOM_BYTES(8 + FLOOR(RAND() * 56))), NULL)
  FROM seq_1_to_$n;
SQL
    ;;
    events) cat <<SQL
INSERT INTO events (ts, kind, user_id, session, duration_ms, score, payload)
SELECT TIMESTAMP'2025-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 7776000) SECOND,
       ELT(1 + FLOOR(RAND() * 6), 'view', 'click', 'search', 'purchase', 'login', 'logout'),
       FLOOR(RAND() * 10000000), RANDOM_BYTES(16), FLOOR(RAND() * 60000), RAND() * 1000,
       CONCAT('{"path": "/', HEX(RANDOM_BYTES(6)), '/', HEX(RANDOM_BYTES(16)),
              '", "agent": "', HEX(RANDOM_BYTES(32)), '", "ip": "10.', FLOOR(RAND() * 256), '.',
              FLOOR(RAND() * 256), '.', FLOOR(RAND() * 256), '", "ref": "', UUID(),
              '", "ab": ', FLOOR(RAND() * 4), ', "metrics": [', RAND(), ', ', RAND(), ', ', RAND(), ']}')
  FROM seq_1_to_$n;
SQL
    ;;
    documents) cat <<SQL
INSERT INTO documents (title, body, digest, attachment, version, created_at)
SELECT CONCAT(HEX(RANDOM_BYTES(16)), ' ', LEFT(HEX(RANDOM_BYTES(16)), FLOOR(RAND() * 32))),
       HEX(RANDOM_BYTES(100 + FLOOR(RAND() * 900))), UNHEX(SHA2(RAND(), 256)),
       CONCAT(RANDOM_BYTES(1 + FLOOR(RAND() * 1024)), IF(seq % 3 = 0, RANDOM_BYTES(1024), '')),
       1 + FLOOR(RAND() * 20), TIMESTAMP'2025-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 31536000) SECOND
  FROM seq_1_to_$n;
SQL
    ;;
  esac
}

small_tables_sql() {
  local i n
  for ((i = 1; i <= SMALL_TABLES; i++)); do
    n="$(printf 'small_%03d' "$i")"
    cat <<SQL
CREATE TABLE $n (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, code CHAR(32) NOT NULL, name VARCHAR(80) NOT NULL,
  price DECIMAL(12,3), active BOOLEAN NOT NULL, updated_at DATETIME NOT NULL, attrs VARBINARY(64),
  UNIQUE KEY code (code)) ENGINE=InnoDB;
INSERT INTO $n (code, name, price, active, updated_at, attrs)
SELECT HEX(RANDOM_BYTES(16)), CONCAT(HEX(RANDOM_BYTES(8)), LEFT(HEX(RANDOM_BYTES(10)), seq % 20)),
       ROUND(RAND() * 1000, 3), RAND() < 0.5,
       TIMESTAMP'2025-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 8640000) SECOND,
       IF(seq % 7 = 0, NULL, RANDOM_BYTES(1 + seq % 64))
  FROM seq_1_to_$((200 + (i * 37) % 300));
SQL
  done
}

# Generating sessions write no binary log (the dataset is there before any trial; db_relocate
# starts from the position of its own snapshot) and use UTC for the TIMESTAMP column.
GEN_SESSION="SET SESSION sql_log_bin = 0; SET SESSION time_zone = '+00:00';"

bg_sql() {  # bg_sql NAME: a source session running WORK/gen-NAME.sql in the background
  { echo "$GEN_SESSION"; cat "$WORK/gen-$1.sql"; } | sql_src "$DB" >"$WORK/gen-$1.log" 2>&1 &
  BG_PIDS+=($!)
}
wait_loaders() {
  local pid failed=0
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || failed=1; done
  BG_PIDS=()
  if [[ $failed == 1 ]]; then cat "$WORK"/gen-*.log >&2; die "generating the dataset failed"; fi
}

declare -gA ROW_BYTES
load_rows() {  # load_rows BYTES_PER_TABLE: one background session per large table, ~64 MB statements
  local per_table="$1" t rows chunk n
  for t in "${BIG_TABLES[@]}"; do
    rows=$((per_table / ROW_BYTES[$t] + 1))
    chunk=$((67108864 / ROW_BYTES[$t])); ((chunk < 1000)) && chunk=1000
    while ((rows > 0)); do
      n=$chunk; ((n > rows)) && n=$rows
      insert_sql "$t" "$n"
      rows=$((rows - n))
    done >"$WORK/gen-$t.sql"
    bg_sql "$t"
  done
  wait_loaders
}

bench_bytes() {  # data_length + index_length of database DB on the source, after ANALYZE TABLE
  local tables
  tables="$(sql_src -e "SELECT GROUP_CONCAT(CONCAT('\`', TABLE_NAME, '\`')) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB' AND TABLE_TYPE = 'BASE TABLE'")"
  sql_src "$DB" -e "ANALYZE TABLE $tables" >/dev/null
  sql_src -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB'"
}

build_dataset() {
  local target calib=20000 size t extra t0
  target="$(awk -v g="$DATASET_GB" 'BEGIN { printf "%.0f", g * 1073741824 }')"
  say "Building the dataset on the source: at least $DATASET_GB GiB, 3 large tables + $SMALL_TABLES small ones"
  t0="$(now)"
  sql_src "$DB" -e "$(create_big_tables_sql)"
  small_tables_sql >"$WORK/gen-small.sql"
  bg_sql small
  # Calibrate: the bytes a row takes (clustered and secondary indexes) in each large table.
  for t in "${BIG_TABLES[@]}"; do
    sql_src "$DB" -e "$GEN_SESSION$(insert_sql "$t" "$calib") ANALYZE TABLE $t;" >/dev/null
    ROW_BYTES[$t]="$(sql_src -e "SELECT CEIL((DATA_LENGTH + INDEX_LENGTH) / $calib) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = '$t'")"
  done
  wait_loaders
  log "bytes per row: orders ${ROW_BYTES[orders]}, events ${ROW_BYTES[events]}, documents ${ROW_BYTES[documents]}; loading a third of $(human_bytes "$target") into each (3 sessions)"
  size="$(bench_bytes)"
  load_rows $(( (target * 103 / 100 - size) / 3 ))
  for _ in 1 2 3 4 5; do
    size="$(bench_bytes)"
    ((size >= target)) && break
    extra=$(( (target - size) * 105 / 100 / 3 + 1048576 ))
    log "$(human_bytes "$size") so far: adding $(human_bytes $((extra * 3)))"
    load_rows "$extra"
  done
  log "dataset built in $(elapsed "$t0") s"
  DATASET_SIZE="$(human_bytes "$size")"
  echo "dataset: data_length + index_length = $DATASET_SIZE"
  sql_src --column-names --table -e "
    SELECT IF(TABLE_NAME LIKE 'small\\_%', 'small_*', TABLE_NAME) AS tables, COUNT(*) AS n,
           SUM(TABLE_ROWS) AS rows_estimate, ROUND(SUM(DATA_LENGTH) / 1048576) AS data_mb,
           ROUND(SUM(INDEX_LENGTH) / 1048576) AS index_mb
      FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB'
     GROUP BY 1 ORDER BY 1 LIKE 'small%', 1"
  TABLES=()
  while read -r t; do TABLES+=("$t"); done < <(sql_src -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")
  log "computing the source's row counts and CHECKSUM TABLE of the ${#TABLES[@]} tables"
  contents_of "$SRC_PORT" >"$WORK/expected"
  TABLE_COUNTS="$(head -n 1 "$WORK/expected"), $(awk 'NR > 1 { s += $2 } END { print s }' "$WORK/expected") rows"
  echo "dataset: $TABLE_COUNTS"
}

# contents_of PORT: the tables and indexes of DB, then one line per table of the source: name, exact
# row count, CHECKSUM TABLE. The same text on both sides is the check after each trial.
contents_of() {
  local port="$1" t counts="" list=""
  for t in "${TABLES[@]}"; do
    counts+="${counts:+ UNION ALL }SELECT '$t', COUNT(*) FROM \`$t\`"
    list+="${list:+, }\`$t\`"
  done
  sql_at "$port" -e "SELECT CONCAT(COUNT(DISTINCT TABLE_NAME), ' tables, ',
      COUNT(DISTINCT TABLE_NAME, INDEX_NAME), ' indexes')
      FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$DB'" 2>&1
  paste <(sql_at "$port" "$DB" -e "$counts" 2>&1) <(sql_at "$port" "$DB" -e "CHECKSUM TABLE $list" 2>&1 | cut -f 2)
}

check_destination() {  # check_destination TOOL: sets CHECK_NOTE; FAILED=1 when it differs
  local tool="$1" got="$WORK/got" n
  contents_of "$DST_PORT" >"$got" 2>&1 || true
  if cmp -s "$got" "$WORK/expected"; then
    CHECK_NOTE="contents ok"
  else
    diff "$WORK/expected" "$got" >"$WORK/got.diff" || true
    n="$(grep -c '^>' "$WORK/got.diff" || true)"
    CHECK_NOTE="CONTENTS DIFFER ($n lines)"
    echo "$tool: the destination differs from the source (< source, > destination):" >&2
    head -n 20 "$WORK/got.diff" | sed 's/^/    /' >&2
    FAILED=1
  fi
}

# --- the destination, per trial ----------------------------------------------------------------------

# Absent database, no replication, no binary log of earlier trials; the source without anything
# a relocation left (db_relocate cleanup has run by then; this is the backstop).
fresh_destination() {
  if sql_dst -e "SHOW ALL SLAVES STATUS" | cut -f 1 | grep -qx db_relocate; then
    sql_dst -e "STOP SLAVE 'db_relocate'; RESET SLAVE 'db_relocate' ALL"
  fi
  sql_dst -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS db_relocate; DROP USER IF EXISTS dbr_repl; RESET MASTER"
  sql_src -e "DROP DATABASE IF EXISTS db_relocate; DROP USER IF EXISTS dbr_repl"
}

# rss_of FILE: peak RSS in MB from the last line of /usr/bin/time -f "%M %U %S"; cpu_of: CPU s.
rss_of() { { tail -n 1 "$1" 2>/dev/null || true; } | awk '$1 ~ /^[0-9]+$/ { printf "%.1f", $1 / 1024; ok = 1 } END { if (!ok) print "-" }'; }
cpu_of() { { tail -n 1 "$1" 2>/dev/null || true; } | awk '$1 ~ /^[0-9]+$/ { printf "%.1f", $2 + $3; ok = 1 } END { if (!ok) print "-" }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }

# --- A: db_relocate ------------------------------------------------------------------------------------

write_dbr_config() {  # write_dbr_config DIR: DIR/config.yaml, state in DIR/state
  local dir="$1"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<YAML
engine: mysql
log_level: info
src: {host: 127.0.0.1, port: $SRC_PORT, name: $DB, user: ops, password: secret}
dst: {host: 127.0.0.1, port: $DST_PORT}
upgrade: {user: dbr_repl}
jobs: $JOBS
heartbeat_interval: 1
state_dir: $dir/state
verify: false
YAML
  chmod 600 "$dir/config.yaml"
}

# step_breakdown LOG: where db_relocate's time went, from its "step NAME done in Ns" lines: the
# snapshot step (schema and rows under one consistent snapshot) and the rest (pre-flight,
# heartbeat writer, replication started, catch-up, heartbeat verification, counters).
step_breakdown() {
  awk '/ step [a-z_-]+ done in [0-9.]+s/ {
         for (i = 1; i <= NF; i++) if ($i == "step") name = $(i + 1)
         secs = $NF; sub(/s$/, "", secs)
         if (name == "snapshot") snap += secs; else other += secs
       }
       END { if (snap != "") printf "snapshot (schema + rows) %.1f s, other steps %.1f s", snap, other }' "$1"
}

run_db_relocate() {  # run_db_relocate ROUND: sets RSS_MB, CPU_S, VERIFY_NOTE, V_SECS, BREAKDOWN
  local dir="$WORK/a$1"
  # verify: false: "until synced", as the peers end (they do not compare anything); the same
  # relocation's `db_relocate verify` is timed right after, apart.
  write_dbr_config "$dir"
  run_trial "$dir/out" "$dir/log" /usr/bin/time -f "%M %U %S" -o "$dir/rss" "$BIN" run --config "$dir/config.yaml"
  RSS_MB="$(rss_of "$dir/rss")" CPU_S="$(cpu_of "$dir/rss")"
  A_SECS="$TRIAL_SECS" A_RC="$TRIAL_RC"
  if [[ $A_RC != 0 ]]; then
    echo "db_relocate run FAILED (exit $A_RC) after $A_SECS s; last log lines:" >&2
    tail -n 15 "$dir/log" | sed 's/^/    /' >&2
    return
  fi
  check_destination db_relocate
  BREAKDOWN="$(step_breakdown "$dir/log")"
  run_trial "$dir/verify.out" "$dir/verify.log" "$BIN" verify --config "$dir/config.yaml"
  V_SECS="$TRIAL_SECS"
  if [[ $TRIAL_RC == 0 ]]; then
    VERIFY_NOTE="verify afterwards (not counted) $V_SECS s"
  else
    VERIFY_NOTE="VERIFY FAILED (exit $TRIAL_RC after $V_SECS s)"; V_SECS=""
    echo "db_relocate verify FAILED (exit $TRIAL_RC); its output:" >&2
    tail -n 15 "$dir/verify.out" "$dir/verify.log" | sed 's/^/    /' >&2
    FAILED=1
  fi
}

teardown_db_relocate() {  # teardown_db_relocate ROUND: db_relocate cleanup, the writer stopped
  local dir="$WORK/a$1"
  [[ -f "$dir/config.yaml" ]] || return 0
  "$BIN" cleanup --config "$dir/config.yaml" >"$dir/cleanup.out" 2>"$dir/cleanup.log" \
    || { echo "db_relocate cleanup failed; its last lines:" >&2; tail -n 10 "$dir/cleanup.log" | sed 's/^/    /' >&2; }
  stop_heartbeat_writer "$dir/state"
}

# --- B: mariadb-dump | mariadb -----------------------------------------------------------------------

run_dump_pipe() {  # run_dump_pipe ROUND: both ends of the pipe, timed together
  local dir="$WORK/b$1"
  mkdir -p "$dir"
  # mysqldump's defaults (--opt: extended inserts, --quick, keys disabled while loading) with a
  # consistent snapshot and the binary log position, as one would run it to seed a replica; the
  # routines, events and triggers, which db_relocate copies too; CREATE DATABASE from --databases.
  # shellcheck disable=SC2016  # expanded by the inner bash
  run_trial "$dir/out" "$dir/log" bash -c '
    set -o pipefail
    /usr/bin/time -f "%M %U %S" -o "$1/dump.rss" mariadb-dump --no-defaults --protocol=TCP \
        -h 127.0.0.1 -P "$2" -u ops --single-transaction --master-data=2 --routines --events \
        --triggers --databases "$4" 2>"$1/dump.log" \
      | /usr/bin/time -f "%M %U %S" -o "$1/load.rss" mariadb --no-defaults --protocol=TCP \
        -h 127.0.0.1 -P "$3" -u ops' _ "$dir" "$SRC_PORT" "$DST_PORT" "$DB"
  B_NOTE="peak RSS mariadb-dump $(rss_of "$dir/dump.rss") MB, mariadb $(rss_of "$dir/load.rss") MB; CPU mariadb-dump $(cpu_of "$dir/dump.rss") s, mariadb $(cpu_of "$dir/load.rss") s"
  if [[ $TRIAL_RC != 0 ]]; then
    echo "mariadb-dump | mariadb FAILED (exit $TRIAL_RC):" >&2
    tail -n 10 "$dir/dump.log" "$dir/log" | sed 's/^/    /' >&2
  fi
}

# --- C: mydumper + myloader --------------------------------------------------------------------------

run_mydumper() {  # run_mydumper ROUND: mydumper to a directory, then myloader; timed together
  local dir="$WORK/c$1" secs
  mkdir -p "$dir"
  # --trx-consistency-only: one consistent snapshot, the global read lock only while the threads
  # start (0.10's equivalent of a single transaction). --rows: large tables in chunks, so both
  # halves run JOBS threads on one table too. No compression: the dump is thrown away at once.
  run_trial "$dir/dump.out" "$dir/dump.log" /usr/bin/time -f "%M %U %S" -o "$dir/mydumper.rss" \
    mydumper -h 127.0.0.1 -P "$SRC_PORT" -u ops -p secret -B "$DB" -o "$dir/dump" \
    --threads "$JOBS" --trx-consistency-only --rows "$MYDUMPER_ROWS" --routines --events --triggers -v 2
  secs="$TRIAL_SECS"
  C_NOTE="peak RSS mydumper $(rss_of "$dir/mydumper.rss") MB"
  if [[ $TRIAL_RC != 0 ]]; then
    C_WHAT=mydumper; return
  fi
  # --enable-binlog: myloader turns the binary log off for its sessions by default; the
  # destination's binary log is written by db_relocate and by the mariadb pipe, so by C too.
  run_trial "$dir/load.out" "$dir/load.log" /usr/bin/time -f "%M %U %S" -o "$dir/myloader.rss" \
    myloader -h 127.0.0.1 -P "$DST_PORT" -u ops -p secret -d "$dir/dump" --threads "$JOBS" \
    --enable-binlog -v 2
  C_NOTE="mydumper $secs s; peak RSS mydumper $(rss_of "$dir/mydumper.rss") MB, myloader $(rss_of "$dir/myloader.rss") MB"
  TRIAL_SECS="$(add "$secs" "$TRIAL_SECS")"
  C_WHAT=myloader
  [[ $TRIAL_RC == 0 ]] && rm -rf "$dir/dump"
}

c_errors() {  # c_errors ROUND N: the first N errors of mydumper/myloader
  cat "$WORK/c$1"/dump.log "$WORK/c$1"/dump.out "$WORK/c$1"/load.log "$WORK/c$1"/load.out 2>/dev/null \
    | grep -iE 'error|critical|fail' | head -n "${2:-3}" || true
}

# --- main ------------------------------------------------------------------------------------------------

start_servers
echo "mariadb-dump: $(mariadb-dump --version)"
[[ -z "$MYDUMPER_WHY" ]] && echo "mydumper: $(mydumper --version 2>&1 | head -n 1); myloader: $(myloader --version 2>&1 | head -n 1)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; JOBS=$JOBS"

build_dataset

declare -a T_A=() T_AV=() T_B=() T_C=() RSS=()
FAILED=0 LAST_A_OK=""
RESULTS="$WORK/results.txt"
: >"$RESULTS"
record() { printf '%-6s %-24s %9s  %s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS"; }

say "Timing $ROUNDS rounds of A (db_relocate) B (mariadb-dump | mariadb) C (mydumper + myloader), $JOBS jobs each"
echo "(load: 1-minute load average of the machine when the trial started; $(nproc) cores)"
printf '%-6s %-24s %9s  %s\n' round tool seconds notes
for r in $(seq 1 "$ROUNDS"); do
  # A
  fresh_destination
  RSS_MB="-" CPU_S="-" VERIFY_NOTE="" V_SECS="" BREAKDOWN="" LOAD="$(load1)"
  run_db_relocate "$r"
  if [[ $A_RC == 0 ]]; then
    T_A+=("$A_SECS"); RSS+=("$RSS_MB"); LAST_A_OK="$r"
    [[ -n "$V_SECS" ]] && T_AV+=("$(add "$A_SECS" "$V_SECS")")
    record "$r" "A db_relocate" "$A_SECS" "load $LOAD; $CHECK_NOTE; peak RSS $RSS_MB MB, CPU $CPU_S s; $BREAKDOWN; $VERIFY_NOTE"
  else
    FAILED=1; record "$r" "A db_relocate" "FAILED" "exit $A_RC after $A_SECS s (see above)"
  fi
  teardown_db_relocate "$r"
  # B
  fresh_destination
  LOAD="$(load1)"
  run_dump_pipe "$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_B+=("$TRIAL_SECS")
    check_destination "mariadb-dump | mariadb"
    record "$r" "B mariadb-dump|mariadb" "$TRIAL_SECS" "load $LOAD; $CHECK_NOTE; $B_NOTE"
  else
    FAILED=1; record "$r" "B mariadb-dump|mariadb" "FAILED" "exit $TRIAL_RC after $TRIAL_SECS s (see above)"
  fi
  # C
  if [[ -n "$MYDUMPER_WHY" ]]; then
    record "$r" "C mydumper+myloader" "NOT RUN" "$MYDUMPER_WHY"
    continue
  fi
  fresh_destination
  LOAD="$(load1)"
  run_mydumper "$r"
  if [[ $TRIAL_RC == 0 ]]; then
    T_C+=("$TRIAL_SECS")
    check_destination "mydumper + myloader"
    record "$r" "C mydumper+myloader" "$TRIAL_SECS" "load $LOAD; $CHECK_NOTE; $C_NOTE"
  else
    peer_trial_failed "$r" "C mydumper+myloader" "${#T_C[@]}" MYDUMPER_WHY "$C_WHAT" c_errors
  fi
done

MA="$(echo "${T_A[*]:-}" | median)"
MAV="$(echo "${T_AV[*]:-}" | median)"
MB="$(echo "${T_B[*]:-}" | median)"
MC="$(echo "${T_C[*]:-}" | median)"
RSS_MED="$(echo "${RSS[*]:-}" | median)"
RSS_MAX="$(echo "${RSS[*]:-}" | maxof)"; RSS_MAX="${RSS_MAX:--}"
R_B="$(ratio "$MA" "$MB")"
R_C="$(ratio "$MA" "$MC")"
peak() {  # peak FILE_NAME: the largest peak RSS of that tool over the trials, in MB
  local f v=""
  for f in "$WORK"/[abc]*/"$1"; do [[ -f "$f" ]] && v+=" $(rss_of "$f")"; done
  echo "$v" | maxof | awk 'NF { print; ok = 1 } END { if (!ok) print "-" }'
}

say "Summary: dataset $DATASET_SIZE, $TABLE_COUNTS; $(sql_src -e 'SELECT VERSION()') -> same, $JOBS jobs, $ROUNDS rounds"
printf '%-38s %10s %8s %22s\n' tool "median s" trials "db_relocate / tool"
printf '%-38s %10s %8s %22s\n' "A db_relocate run (until replicating)" "$MA" "${#T_A[@]}/$ROUNDS" "$(ratio "$MA" "$MA")"
printf '%-38s %10s %8s %22s\n' "  A + verify (informational)" "$MAV" "${#T_AV[@]}/$ROUNDS" "-"
printf '%-38s %10s %8s %22s\n' "B mariadb-dump | mariadb" "$MB" "${#T_B[@]}/$ROUNDS" "$R_B"
if [[ -n "$MYDUMPER_WHY" && ${#T_C[@]} == 0 ]]; then
  printf '%-38s %10s %8s %22s\n' "C mydumper + myloader" "-" "0/$ROUNDS" "- (could not run)"
else
  printf '%-38s %10s %8s %22s\n' "C mydumper + myloader" "$MC" "${#T_C[@]}/$ROUNDS" "$R_C"
fi
echo "(A ends replicating from the source, heartbeats proven, with verify: false; its verify is"
echo " timed apart. B and C end when the load ends and compare nothing.)"
echo "peak RSS: db_relocate median $RSS_MED MB, max $RSS_MAX MB; mariadb-dump $(peak dump.rss) MB," \
  "mariadb $(peak load.rss) MB; mydumper $(peak mydumper.rss) MB, myloader $(peak myloader.rss) MB (max over trials)"

verdict() {  # verdict RATIO: PASS when below 1
  awk -v r="$1" 'BEGIN { if (r == "-") print "n/a"; else if (r < 1) print "PASS"; else print "MISS" }'
}
echo
echo "Targets (informational):"
printf '  %-48s %s\n' "db_relocate faster than mariadb-dump | mariadb" "$(verdict "$R_B") (ratio $R_B)"
if [[ -n "$MYDUMPER_WHY" && ${#T_C[@]} == 0 ]]; then
  printf '  %-48s %s\n' "db_relocate faster than mydumper + myloader" "n/a: could not run ($MYDUMPER_WHY)"
else
  printf '  %-48s %s\n' "db_relocate faster than mydumper + myloader" "$(verdict "$R_C") (ratio $R_C)"
fi
printf '  %-48s %s\n' "db_relocate peak RSS under 200 MB" \
  "$(awk -v m="$RSS_MAX" 'BEGIN { if (m == "-") print "n/a"; else if (m < 200) print "PASS"; else print "MISS" }') (max $RSS_MAX MB)"

if [[ -n "$LAST_A_OK" ]]; then
  echo
  echo "db_relocate's own summary, round $LAST_A_OK:"
  grep -v '^$' "$WORK/a$LAST_A_OK/out" | sed 's/^/    /' || true
fi
exit "$FAILED"
