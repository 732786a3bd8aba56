#!/usr/bin/env bash
# Benchmark of `--read-from` (issue 17, part 2). Not run by CI.
#
#   bench/read_from.sh                  # N=300000 healthy jobs, DAMAGED=100 orphans
#   N=1000000 bench/read_from.sh
#   JOBQ=target/debug/jobq bench/read_from.sh   # skip the release build
#
# One primary and one replica of it (`--replicaof`, over TCP on 127.0.0.1),
# the same `orphans scan` twice on the same data: against the primary
# alone, then with `--read-from` the replica. For each run: wall time, the
# server CPU (INFO cpu) each server spent, and the commands the primary
# ran (INFO commandstats). Prints `name: value` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-300000}
DAMAGED=${DAMAGED:-100}
SERVER=${JOBQ_TEST_REDIS_SERVER:-redis-server}
if [ -z "${JOBQ:-}" ]; then
    cargo build --release --quiet
    JOBQ=$PWD/target/release/jobq
fi
TMP=$(mktemp -d)
SOCK=$TMP/primary/redis.sock
URL="unix://$SOCK"
REPLICA_SOCK=$TMP/replica/redis.sock

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() { # NAME PORT [ARGS...]
    local name=$1 port=$2
    shift 2
    mkdir -p "$TMP/$name"
    "$SERVER" --port "$port" --bind 127.0.0.1 --unixsocket "$TMP/$name/redis.sock" \
        --unixsocketperm 700 --save "" --appendonly no --dir "$TMP/$name" \
        --logfile "$TMP/$name/redis.log" --daemonize yes --pidfile "$TMP/$name/redis.pid" \
        --repl-diskless-sync-delay 0 "$@"
    for _ in $(seq 100); do [ -S "$TMP/$name/redis.sock" ] && break; sleep 0.05; done
}

stop() {
    for n in primary replica; do
        if [ -f "$TMP/$n/redis.pid" ]; then kill "$(cat "$TMP/$n/redis.pid")" 2>/dev/null || true; fi
    done
    sleep 0.2
    rm -rf "$TMP"
}
trap stop EXIT

rcli() { redis-cli -s "$REPLICA_SOCK" "$@"; }
replica_cpu() {
    rcli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'
}
# "calls" of each command the primary ran since RESETSTAT, as cmd=calls.
primary_commands() {
    cli INFO commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1=\2/p' | sort | tr '\n' ' '
}

PRIMARY_PORT=$(free_port)
start primary "$PRIMARY_PORT"
start replica "$(free_port)" --replicaof 127.0.0.1 "$PRIMARY_PORT"
echo "server: $(cli INFO server | tr -d '\r' | grep -E '^(redis_version|valkey_version):' | tr '\n' ' ')"

load_jobs "$N"
for key in $(cli SRANDMEMBER '$KeyF:RedisJob:status:pending' "$DAMAGED"); do
    cli SREM '$KeyF:RedisJob:status:pending' "$key" >/dev/null
done
target=$(cli INFO replication | tr -d '\r' | awk -F: '/^master_repl_offset:/ { print $2 }')
for _ in $(seq 600); do
    got=$(rcli INFO replication | tr -d '\r' | awk -F: '/^slave_repl_offset:/ { print $2 }')
    [ "${got:-0}" -ge "$target" ] && break
    sleep 0.1
done
echo "jobs: $N"
echo "damaged: $DAMAGED"

measure() { # LABEL [ARGS...]
    local label=$1 p0 p1 r0 r1 t rc=0
    shift
    cli CONFIG RESETSTAT >/dev/null
    p0=$(server_cpu)
    r0=$(replica_cpu)
    t=$( { /usr/bin/time -f "%e %M" "$JOBQ" --url "$URL" "$@" -q --json orphans scan --grace 1s >"$TMP/out.json"; } 2>&1 | tail -1) || rc=$?
    p1=$(server_cpu)
    r1=$(replica_cpu)
    read -r wall rss <<<"$t"
    python3 - "$label" "$wall" "$rss" "$p0" "$p1" "$r0" "$r1" "$TMP/out.json" <<'PY'
import json, sys
label, wall, rss, p0, p1, r0, r1, out = sys.argv[1:]
report = json.load(open(out))
print(f"{label}_seconds: {float(wall):.2f}")
print(f"{label}_peak_rss_mib: {int(rss) / 1024:.1f}")
print(f"{label}_primary_cpu_s: {float(p1) - float(p0):.2f}")
print(f"{label}_replica_cpu_s: {float(r1) - float(r0):.2f}")
print(f"{label}_findings: {report['total']} (candidates {report['candidates']}, transient {report['transient']})")
if "read_from" in report:
    rf = report["read_from"]
    print(f"{label}_lag_bytes: {rf['lag_bytes']}")
PY
    echo "${label}_primary_commands: $(primary_commands)"
    echo "${label}_exit: $rc"
}

measure primary_only
measure read_from --read-from "unix://$REPLICA_SOCK"
