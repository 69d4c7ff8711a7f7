#!/usr/bin/env bash
# `make demo`: relocate a live PostgreSQL 15 database to PostgreSQL 17 on this machine.
#
# Starts a PostgreSQL 15 source with a pgbench dataset plus a table of random jsonb/text rows and
# an application load writing to it, and an empty PostgreSQL 17 destination; runs
# `db_relocate run --config examples/demo.yaml` while the load goes on; shows `status`; moves
# the load (which goes through a PgBouncer db_relocate runs) to the destination with `cutover`;
# stops the load and proves that both databases hold the same rows, the source fed back by the
# return replication. Clusters live under demo-work/ and are stopped at the end (DEMO_KEEP=1
# keeps them running).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath "${1:-$REPO/build/db_relocate}")"
WORK="$REPO/demo-work"
# Fixed ports (examples/demo.yaml names them), below Linux's ephemeral range (32768-60999): a
# busy machine's outgoing loopback connections then never hold one of them.
SRC_PORT=25415 DST_PORT=25417
PGBIN=/usr/lib/postgresql/15/bin
export DEMO_PASSWORD=secret PGPASSWORD=secret
CONFIG="$REPO/examples/demo.yaml"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
psql_src() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $SRC_PORT -U ops -d demo "$@"; }
psql_dst() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $DST_PORT -U ops -d demo "$@"; }

LOAD_PID=""
finish() {
  [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null || true
  [[ "${DEMO_KEEP:-0}" != 1 ]] && "$BIN" proxy --stop --config "$CONFIG" >/dev/null 2>&1 || true
  touch "$WORK/state/heartbeat.stop" 2>/dev/null || true
  if [[ "${DEMO_KEEP:-0}" != 1 ]]; then
    sleep 2  # let the heartbeat writer see its stop file
    "$REPO/scripts/pg-cluster.sh" stop 15 "$WORK/src" >/dev/null 2>&1 || true
    "$REPO/scripts/pg-cluster.sh" stop 17 "$WORK/dst" >/dev/null 2>&1 || true
  fi
}
trap finish EXIT

say "Starting PostgreSQL 15 (source, port $SRC_PORT) and PostgreSQL 17 (destination, port $DST_PORT)"
"$REPO/scripts/pg-cluster.sh" stop 15 "$WORK/src" >/dev/null 2>&1 || true
"$REPO/scripts/pg-cluster.sh" stop 17 "$WORK/dst" >/dev/null 2>&1 || true
pkill -f "db_relocate heartbeat --config $CONFIG" 2>/dev/null || true
[[ -f /tmp/db_relocate-demo-proxy/pgbouncer.pid ]] &&
  kill "$(cat /tmp/db_relocate-demo-proxy/pgbouncer.pid)" 2>/dev/null || true
rm -rf "$WORK" /tmp/db_relocate-demo-proxy
mkdir -p "$WORK" && chmod 755 "$WORK"
"$REPO/scripts/pg-cluster.sh" start 15 "$WORK/src" $SRC_PORT
"$REPO/scripts/pg-cluster.sh" start 17 "$WORK/dst" $DST_PORT
"$PGBIN/createdb" -h 127.0.0.1 -p $SRC_PORT -U ops demo
"$PGBIN/createdb" -h 127.0.0.1 -p $DST_PORT -U ops demo

say "Loading the source: pgbench scale 10 and 50,000 rows of random jsonb and text"
"$PGBIN/pgbench" -h 127.0.0.1 -p $SRC_PORT -U ops -i -s 10 -q demo 2>&1 | tail -n 1
psql_src <<'SQL'
-- pgbench_history has no key; give it one so UPDATE/DELETE keep working once it is published.
ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY;
CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer text NOT NULL,
  state order_state NOT NULL DEFAULT 'new',
  amount numeric(12, 2) NOT NULL,
  items jsonb NOT NULL,
  tags text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders (customer, state, amount, items, tags)
SELECT md5(random()::text), (ARRAY['new','paid','shipped'])[1 + (g % 3)]::order_state,
       round((random() * 1000)::numeric, 2),
       jsonb_build_object('sku', md5(random()::text), 'qty', (random() * 10)::int),
       ARRAY[md5(random()::text), md5(random()::text)]
  FROM generate_series(1, 50000) g;
-- The application's own role: the one cut-over fences on the old side.
CREATE ROLE app LOGIN PASSWORD 'apppw';
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app;
SQL

say "Starting the application load on the source (pgbench, 4 clients, 200 transactions/s)"
PGPASSWORD=apppw "$PGBIN/pgbench" -h 127.0.0.1 -p $SRC_PORT -U app -c 4 -R 200 -T 3600 -n demo \
  >"$WORK/load.log" 2>&1 &
LOAD_PID=$!
sleep 2

say "db_relocate check --config examples/demo.yaml"
"$BIN" check --config "$CONFIG" || true

say "db_relocate run --config examples/demo.yaml   (the load keeps writing)"
"$BIN" run --config "$CONFIG"

say "db_relocate status --config examples/demo.yaml"
sleep 3
"$BIN" status --config "$CONFIG"

say "The application now connects through PgBouncer (port 25416), which db_relocate started"
kill "$LOAD_PID" 2>/dev/null || { echo "the load stopped early:"; cat "$WORK/load.log"; exit 1; }
wait "$LOAD_PID" 2>/dev/null || true
PGPASSWORD=apppw "$PGBIN/pgbench" -h 127.0.0.1 -p 25416 -U app -c 4 -R 200 -T 12 -n demo \
  >"$WORK/load.log" 2>&1 &
LOAD_PID=$!
sleep 3
"$BIN" proxy --config "$CONFIG"

say "db_relocate cutover --config examples/demo.yaml   (the load keeps writing through PgBouncer)"
"$BIN" cutover --config "$CONFIG"
sleep 3
"$BIN" proxy --config "$CONFIG"

say "db_relocate verify --config examples/demo.yaml   (PostgreSQL 17 -> 15 now, the load still writing)"
"$BIN" verify --config "$CONFIG"

say "Letting the load finish (pgbench's own summary: no failed transaction through the switch)"
load_rc=0
wait "$LOAD_PID" || load_rc=$?
LOAD_PID=""
grep -E "actually processed|failed transactions|aborted" "$WORK/load.log" || true
if [[ $load_rc != 0 ]]; then
  echo "pgbench failed (exit $load_rc):"; cat "$WORK/load.log"; exit 1
fi

say "Waiting until the source has applied everything back"
touch "$WORK/state/heartbeat.stop"  # the heartbeat writer stops too, so nothing changes any more
sleep 2
# The insert position: with asynchronous commit the write position may lag the last commits.
target=$(psql_dst -At -c "SELECT pg_current_wal_insert_lsn()")
for _ in $(seq 1 120); do
  done_=$(psql_dst -At -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'db_relocate_rev_slot_demo'")
  [[ "$done_" == t ]] && break
  sleep 0.5
done

say "Comparing every table, row for row (count and md5 of all rows in order)"
tables=$(psql_src -At -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('public', 'db_relocate') ORDER BY 1")
checksum='SELECT count(*) || '"' '"' || md5(COALESCE(string_agg(t::text, '"','"' ORDER BY t::text), '"''"')) FROM %s t'
differs=0
printf '%-28s %-44s %s\n' TABLE "SOURCE (rows md5)" RESULT
for t in $tables; do
  q=$(printf "$checksum" "$t")
  a=$(psql_src -At -c "$q"); b=$(psql_dst -At -c "$q")
  if [[ "$a" == "$b" ]]; then r=OK; else r="DIFFERS (destination: $b)"; differs=1; fi
  printf '%-28s %-44s %s\n' "$t" "$a" "$r"
done
say "db_relocate report --config examples/demo.yaml"
"$BIN" report --config "$CONFIG"
if [[ $differs == 0 ]]; then
  say "Success: the application writes to PostgreSQL 17, and the source, kept in sync by the return replication, holds exactly the same rows (\`db_relocate rollback\` would lose nothing)."
else
  say "FAILED: some tables differ"; exit 1
fi
