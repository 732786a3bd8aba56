#!/usr/bin/env bash
# Benchmark of `jobq reap`: one sweep over a big running index. Not run by CI.
#
#   bench/reap.sh                    # N=100000 running jobs, STALE=10000 of them stale
#   N=1000000 STALE=50000 bench/reap.sh
#
# 1. since_field: a Task model whose running jobs carry `started_at`; STALE
#    of them started two hours ago, the rest just now. One `reap --once
#    --lease 30m` sweep: wall time and peak RSS (/usr/bin/time), the CPU
#    seconds jobq and redis-server used (to read the wall time by on a busy
#    machine), jobs moved. The target is <= 3 s for 100,000 running / 10,000
#    stale.
# 2. since_field_idle: the next sweep, nothing stale (the usual cron run).
# 3. first_sighting: the default RedisJob model (no since field), N running
#    jobs: the first sweep notes every key (one HSETNX each), the second
#    reads the notes back; both with nothing stale.
# For every sweep, the slowest single Redis command (SLOWLOG, threshold
# 1 ms) shows that the server was never blocked.
#
# Prints `name: value` lines. Starts its own redis-server on a unix socket
# in a temp dir (--save ""), and kills it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
STALE=${STALE:-10000}

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
# Seconds of CPU the server has used (user + sys).
redis_cpu() {
    cli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f\n", s }'
}

cat >"$TMP/task.toml" <<'EOF'
class = "Task"
since_field = "started_at"
[[field]]
name = "task_id"
role = "auto"
[[field]]
name = "queue"
role = "key"
[[field]]
name = "state"
role = "key"
[[field]]
name = "payload"
[[field]]
name = "started_at"
type = "float"
[[field]]
name = "enqueued_at"
type = "float"
sorted = true
default_now = true
[status]
field = "state"
values = ["queued", "active", "done", "error"]
pending = "queued"
running = "active"
completed = "done"
failed = "error"
EOF

# sweep NAME GLOBAL_ARGS... -- REAP_ARGS...: one timed `jobq ... reap
# --once` run; prints its figures.
sweep() {
    local name=$1
    shift
    local global=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do global+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    cli CONFIG SET slowlog-log-slower-than 1000 >/dev/null
    cli SLOWLOG RESET >/dev/null
    local rc=0 cpu0 cpu1
    cpu0=$(redis_cpu)
    /usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "$JOBQ" --url "$URL" ${global[@]+"${global[@]}"} \
        --json reap --once "$@" >"$TMP/$name.json" || rc=$?
    cpu1=$(redis_cpu)
    read -r secs rss usr sys < <(tail -n 1 "$TMP/time")
    echo "${name}_exit: $rc"
    echo "${name}_seconds: $secs"
    echo "${name}_peak_rss_kb: $rss"
    # CPU actually used, to read the wall time on a busy machine by.
    echo "${name}_jobq_cpu_seconds: $(echo "$usr + $sys" | bc)"
    echo "${name}_redis_cpu_seconds: $(echo "$cpu1 - $cpu0" | bc)"
    python3 - "$TMP/$name.json" "$name" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
c, n = r["counts"], sys.argv[2]
for k in ("running", "stale", "to_pending", "skipped", "first_sightings"):
    print(f"{n}_{k}: {c[k]}")
EOF
    # The slowest command the server ran meanwhile (SLOWLOG keeps those over
    # 1 ms): name and microseconds.
    cli --json SLOWLOG GET 100000 | python3 -c '
import json, sys
entries = json.load(sys.stdin)
top = max(entries, key=lambda e: e[2], default=None)
print("'"$name"'_slowest_command:", f"{top[3][0]} {top[2]} us" if top else "none over 1 ms")
print("'"$name"'_commands_over_1ms:", len(entries))
'
}

# 1 + 2: since field.
NOW=$(date +%s)
awk -v n="$N" -v stale="$STALE" -v now="$NOW" 'BEGIN {
    for (i = 0; i < n; i++) {
        t = (i < stale) ? now - 7200 : now
        printf "{\"queue\":\"q%d\",\"state\":\"active\",\"payload\":\"job %d\",\"started_at\":%d.5}\n", i % 10, i, t
    }
}' >"$TMP/tasks.jsonl"
"$JOBQ" --url "$URL" --schema "$TMP/task.toml" enqueue --file "$TMP/tasks.jsonl" --batch 1000 >/dev/null
echo "running_jobs: $N"
echo "stale_jobs: $STALE"
sweep since_field --schema "$TMP/task.toml" -- --lease 30m
sweep since_field_idle --schema "$TMP/task.toml" -- --lease 30m

# 3: first sightings on the default model.
cli FLUSHALL >/dev/null
awk -v n="$N" 'BEGIN {
    for (i = 0; i < n; i++) printf "{\"project_key\":\"p%d\",\"status\":\"running\",\"message_text\":\"job %d\"}\n", i % 10, i
}' >"$TMP/jobs.jsonl"
"$JOBQ" --url "$URL" enqueue --file "$TMP/jobs.jsonl" --batch 1000 >/dev/null
sweep first_sighting_notes -- --lease 30m
sweep first_sighting_reads -- --lease 30m
