# shellcheck shell=bash
# Shared by the benchmarks that drive an application through db_relocate's managed proxy
# (bench/cutover_pause.sh, bench/soak.sh); sourced, not run. Only functions; they read no globals.

free_ports() {  # free_ports N: N distinct free loopback TCP ports
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# sleep_until EPOCH: sleeps until that time (seconds since the epoch, fractions allowed).
sleep_until() {
  local s
  s="$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
  sleep "$s"
}

# teardown_managed_relocation NAME BIN CONFIG STATE LOG: what a benchmark's exit trap does to a
# relocation run with `cutover.manage: true`: `db_relocate cleanup` (subscriptions, slots,
# publications, the heartbeat writer), the heartbeat writer stopped if it is still there, then
# the managed proxy (cleanup leaves it running: applications go through it). Output goes to LOG;
# failures are reported on stderr under NAME and do not stop the teardown.
teardown_managed_relocation() {
  local name="$1" bin="$2" config="$3" state="$4" logf="$5" pid
  if [[ -f "$state/state.json" ]]; then
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "db_relocate cleanup (subscriptions, slots, publications, heartbeat writer)"
    "$bin" cleanup --config "$config" >>"$logf" 2>&1 \
      || echo "$name: db_relocate cleanup failed (see $logf); stopping everything anyway" >&2
  fi
  touch "$state/heartbeat.stop" 2>/dev/null || true
  pid="$(cat "$state/heartbeat.pid" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]]; then
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill "$pid" 2>/dev/null || true
  fi
  if [[ -f "$config" ]]; then
    if "$bin" proxy --stop --config "$config" >>"$logf" 2>&1; then
      printf '[%s] %s\n' "$(date +%H:%M:%S)" "stopped the managed proxy"
    else
      echo "$name: db_relocate proxy --stop failed (see $logf)" >&2
    fi
  fi
}

# write_managed_config FILE WRITER SRC_PORT DST_PORT DB STATE PROXY PROXY_PORT [EXTRA]: a
# provider-postgres config for two loopback servers (superuser ops/secret) with a managed PROXY
# listening on PROXY_PORT; EXTRA (YAML lines) goes before the cutover block. Mode 0600.
write_managed_config() {
  local file="$1" writer="$2" src_port="$3" dst_port="$4" db="$5" state="$6" proxy="$7"
  local proxy_port="$8" extra="${9:-}"
  cat >"$file" <<YAML
# Written by $writer
provider: postgres
src:
  host: 127.0.0.1
  port: $src_port
  name: $db
  user: ops
  password: secret
  schema: public
dst:
  host: 127.0.0.1
  port: $dst_port
  name: $db
  user: ops
  password: secret
jobs: 2
state_dir: $state
${extra}cutover:
  type: $proxy
  manage: true
  listen: 127.0.0.1:$proxy_port
YAML
  chmod 600 "$file"
}
