#!/usr/bin/env bash
# Benchmark `jobq inspect` on a large queue: wall time and peak RSS of the
# overview (with and without the keyspace walk that discovers undeclared
# status indexes), one job by job_id (a keyspace walk), and job lists (one
# filter, and two filters walking the smaller set). Also counts commands the
# server logged as slower than 10 ms while jobq ran: inspect must never
# block Redis.
#
#   bash bench/inspect.sh            # 200000 jobs
#   JOBS=1000000 bash bench/inspect.sh
#
# Builds `cargo build --release`, starts its own redis-server on a unix
# socket in a temp dir (--save ""), killed on exit. Prints `name: value`
# lines. Needs redis-server, redis-cli and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS="${JOBS:-200000}"
PROJECTS="${PROJECTS:-100}"

cargo build --release --quiet
JOBQ="$PWD/target/release/jobq"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/jobq-bench-inspect.XXXXXX")"
SOCK="$TMP/redis.sock"
REDIS_PID=""
cleanup() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save "" \
    --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" &
REDIS_PID=$!
for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && redis-cli -s "$SOCK" ping >/dev/null 2>&1 && break
    sleep 0.05
done
URL="unix://$SOCK"
rcli() { redis-cli -s "$SOCK" "$@"; }

# Load: JOBS jobs over PROJECTS projects, 70% pending, 10% running, 15%
# completed, 5% failed; job 0 has a known id for the one-job lookup.
awk -v n="$JOBS" -v p="$PROJECTS" 'BEGIN {
    for (i = 0; i < n; i++) {
        r = i % 20
        s = (r < 14) ? "pending" : (r < 16) ? "running" : (r < 19) ? "completed" : "failed"
        pr = (i % 3 == 0) ? "high" : (i % 3 == 1) ? "normal" : "low"
        id = (i == 0) ? ",\"job_id\":\"bench-known-job\"" : ""
        printf "{\"project_key\":\"p%d\",\"status\":\"%s\",\"priority\":\"%s\",\"message_text\":\"job %d\",\"created_at\":%d.5%s}\n", i % p, s, pr, i, 1767225600 + i, id
    }
}' > "$TMP/jobs.jsonl"
start=$(date +%s.%N)
"$JOBQ" --url "$URL" -q enqueue --file "$TMP/jobs.jsonl" --batch 1000 >/dev/null
end=$(date +%s.%N)
echo "jobs: $JOBS"
echo "keys_in_db: $(rcli dbsize)"
echo "load_seconds: $(echo "$end - $start" | bc)"

rcli config set slowlog-log-slower-than 10000 >/dev/null
rcli slowlog reset >/dev/null

# measure NAME ARGS...: wall seconds and peak RSS (KiB) of one jobq run.
measure() {
    local name="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$JOBQ" --url "$URL" --json "$@" >"$TMP/out" || true
    read -r secs rss < "$TMP/time"
    echo "${name}_seconds: $secs"
    echo "${name}_peak_rss_kib: $rss"
}

measure overview inspect
measure overview_no_discover inspect --no-discover
measure one_job inspect bench-known-job
measure one_job_no_discover inspect bench-known-job --no-discover
measure list_status inspect --status pending --limit 50
measure list_status_project inspect --status pending --project p7 --limit 50
measure list_rare_intersection inspect --status failed --project p3 --limit 1000

echo "slowlog_over_10ms: $(rcli slowlog len)"
