#!/usr/bin/env bash
# Benchmark of `jobq drain`: what waiting costs. Not run by CI.
#
#   bench/drain.sh            # WAIT=10 seconds per idle run, N=100000 jobs
#   WAIT=30 N=1000000 bench/drain.sh
#
# 1. idle: one pending job nobody works on, a long --stall-timeout, drain
#    for $WAIT s (until --timeout): CPU seconds of jobq (/usr/bin/time) and
#    the commands it sent (INFO commandstats). No busy loop means a few
#    commands a second and next to no CPU.
# 2. project_idle: the same for --project on a project with $N finished jobs
#    and one pending: drain walks the smaller side (the status indexes), so
#    the cost does not grow with the project's history.
# 3. exit latency: how long after the last running job finishes drain
#    exits, with the default --settle 200ms, after the poll interval has
#    backed off to its 1 s ceiling.
# 4. ids: drain --ids on $IDS pending jobs nobody works on, for $WAIT s:
#    polls, commands per poll (INFO commandstats), CPU and peak RSS of jobq.
#
# Prints `name: value` lines. Starts its own redis-server on a unix socket
# in a temp dir (--save ""), and kills it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

WAIT=${WAIT:-10}
N=${N:-100000}
IDS=${IDS:-100000}

cargo build --release --quiet
JOBQ=$PWD/target/release/jobq

TMP=$(mktemp -d)
SOCK=$TMP/redis.sock
redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save "" \
    --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" --daemonize yes \
    --pidfile "$TMP/redis.pid"
cleanup() {
    if [ -f "$TMP/redis.pid" ]; then kill "$(cat "$TMP/redis.pid")" 2>/dev/null || true; fi
    sleep 0.2
    rm -rf "$TMP"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done

URL="unix://$SOCK"
cli() { redis-cli -s "$SOCK" "$@"; }

# Sum of calls in INFO commandstats, but for the CONFIG RESETSTAT that
# started the count; "name=calls ..." for the breakdown.
commands_total() {
    cli INFO commandstats | tr -d '\r' |
        awk -F'[:,=]' '/^cmdstat_/ && $1 !~ /^cmdstat_config/ { s += $3 } END { print s + 0 }'
}
commands_by_type() {
    cli INFO commandstats | tr -d '\r' |
        awk -F'[:,=]' '/^cmdstat_/ && $1 !~ /^cmdstat_config/ { sub("cmdstat_", "", $1); printf "%s%s=%s", sep, $1, $3; sep=" " } END { print "" }'
}

# idle NAME ARGS...: run drain for $WAIT s and report its cost.
idle() {
    local name=$1
    shift
    cli CONFIG RESETSTAT >/dev/null
    local code=0
    /usr/bin/time -f "%U %S %M %e" -o "$TMP/time" \
        "$JOBQ" --url "$URL" -q drain "$@" --timeout "${WAIT}s" --stall-timeout 1h \
        >/dev/null || code=$?
    if [ "$code" -ne 6 ]; then
        echo "error: drain exited $code, expected 6 (timeout)" >&2
        exit 1
    fi
    local user sys rss wall total
    # /usr/bin/time puts "Command exited with non-zero status 6" first.
    read -r user sys rss wall < <(tail -n 1 "$TMP/time")
    total=$(commands_total)
    echo "${name}_wall_s: $wall"
    echo "${name}_cpu_user_s: $user"
    echo "${name}_cpu_sys_s: $sys"
    echo "${name}_cpu_total_s: $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    echo "${name}_cpu_percent: $(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.2f", 100 * (u + s) / w }')"
    echo "${name}_peak_rss_kb: $rss"
    echo "${name}_commands: $total"
    echo "${name}_commands_per_s: $(awk -v c="$total" -v w="$wall" 'BEGIN { printf "%.1f", c / w }')"
    echo "${name}_commands_by_type: $(commands_by_type)"
}

# 1. One pending job, nobody working.
"$JOBQ" --url "$URL" -q enqueue --project idle >/dev/null
idle idle

# 2. A project with a long history and one pending job.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "{\"project_key\":\"big\",\"status\":\"completed\"}" }' \
    >"$TMP/big.jsonl"
t0=$(date +%s.%N)
"$JOBQ" --url "$URL" -q enqueue --file "$TMP/big.jsonl" >/dev/null
t1=$(date +%s.%N)
"$JOBQ" --url "$URL" -q enqueue --project big >/dev/null
echo "project_jobs: $((N + 1))"
echo "project_load_s: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
idle project_idle --project big

# 3. Exit latency: one running job, finished once the polling has backed
# off; SMOVE is enough for what drain reads (the status indexes).
cli FLUSHALL >/dev/null
"$JOBQ" --url "$URL" -q enqueue --project lat --status running >/dev/null
key=$(cli SRANDMEMBER '$KeyF:RedisJob:status:running')
"$JOBQ" --url "$URL" -q drain --timeout 60s >/dev/null &
drain_pid=$!
sleep 3
finished=$(date +%s.%N)
cli SMOVE '$KeyF:RedisJob:status:running' '$KeyF:RedisJob:status:completed' "$key" >/dev/null
wait "$drain_pid"
exited=$(date +%s.%N)
echo "exit_latency_ms: $(awk -v a="$finished" -v b="$exited" 'BEGIN { printf "%.0f", 1000 * (b - a) }')"

# 4. --ids: many pending jobs, nobody working: what a poll of them costs.
cli FLUSHALL >/dev/null
awk -v n="$IDS" 'BEGIN { for (i = 0; i < n; i++) print "{\"project_key\":\"ids\"}" }' \
    >"$TMP/ids.jsonl"
"$JOBQ" --url "$URL" -q enqueue --file "$TMP/ids.jsonl" >"$TMP/ids.txt"
cli CONFIG RESETSTAT >/dev/null
code=0
/usr/bin/time -f "%U %S %M %e" -o "$TMP/time" \
    "$JOBQ" --url "$URL" -q --json drain --project ids --ids "$TMP/ids.txt" \
    --timeout "${WAIT}s" --stall-timeout 1h >"$TMP/ids.json" || code=$?
if [ "$code" -ne 6 ]; then
    echo "error: drain --ids exited $code, expected 6 (timeout)" >&2
    exit 1
fi
read -r user sys rss wall < <(tail -n 1 "$TMP/time")
# The polls after the first read, and the first read.
polls=$(($(grep -o '"reads":[0-9]*' "$TMP/ids.json" | cut -d: -f2) + 1))
total=$(commands_total)
echo "ids_jobs: $IDS"
echo "ids_wall_s: $wall"
echo "ids_polls: $polls"
echo "ids_commands: $total"
echo "ids_commands_per_poll: $(awk -v c="$total" -v p="$polls" 'BEGIN { printf "%.1f", c / p }')"
echo "ids_commands_by_type: $(commands_by_type)"
echo "ids_cpu_total_s: $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
echo "ids_peak_rss_kb: $rss"
