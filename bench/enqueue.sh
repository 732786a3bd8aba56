#!/usr/bin/env bash
# Benchmark of `jobq enqueue --file` (issue 2). Not run by CI.
#
#   bench/enqueue.sh                    # N=100000 jobs, popoto at POPOTO_N=5000
#   N=200000 POPOTO_N=2000 bench/enqueue.sh
#   POPOTO=0 bench/enqueue.sh           # skip popoto's create() loop
#
# In one run, each on an empty database:
# - jobq enqueue --file of N plain jobs (popoto's MULTI/EXEC per job):
#   jobs/s, peak RSS, client CPU, server CPU (INFO cpu) and the rate each
#   side alone would allow (N / its CPU time), a PING probe beside it and
#   SLOWLOG entries over 10 ms;
# - the same with an idempotency key on every line (the guarded Lua script
#   per job), and a rerun of that file, which creates nothing;
# - a loop of popoto 1.10.1 RedisJob.create() (tests/interop venv) of
#   POPOTO_N jobs, and jobq's rate over popoto's.
# Prints `name: value` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-100000}
POPOTO_N=${POPOTO_N:-5000}
POPOTO=${POPOTO:-1}

bench_start
# The machine is shared: say how busy it was, as the figures depend on it.
echo "machine_load_1min: $(cut -d' ' -f1 /proc/loadavg) ($(nproc) cores)"

# N lines like a CI system would send: 20 projects, a message, a time;
# with IDEM=1 each line also carries its own idempotency key.
jobs_file() {
    python3 - "$1" "$2" <<'PY'
import json, sys
n, idem = int(sys.argv[1]), sys.argv[2] == "1"
for i in range(n):
    job = {"project_key": "proj%d" % (i % 20), "message_text": "job %d" % i,
           "priority": ("high", "normal", "low")[i % 3],
           "created_at": 1767225600.0 + i * 0.001}
    if idem:
        job["idempotency_key"] = "ci-run-%d" % i
    print(json.dumps(job))
PY
}

measure() {
    local label=$1 file=$2 flush=${3:-1}
    if [ "$flush" = 1 ]; then cli FLUSHALL >/dev/null; fi
    cli SLOWLOG RESET >/dev/null
    local c0 c1 t
    c0=$(server_cpu)
    prober_start
    t=$( { /usr/bin/time -f "%e %M %U %S" "$JOBQ" --url "$URL" -q enqueue --file "$file" >/dev/null; } 2>&1 | tail -1)
    prober_stop
    local probe
    probe=$(prober_result)
    c1=$(server_cpu)
    local jobs
    jobs=$(cli SCARD '$Class:RedisJob')
    read -r wall rss user sys <<<"$t"
    read -r pmax p99 samples <<<"$probe"
    read -r slow slowmax slowjobq _ <<<"$(slowlog_summary)"
    python3 - "$label" "$N" "$jobs" "$wall" "$rss" "$user" "$sys" "$c0" "$c1" "$pmax" "$p99" "$slow" "$slowmax" "$slowjobq" <<'PY'
import sys
(label, n, jobs, wall, rss, user, sys_, c0, c1, pmax, p99, slow, slowmax,
 slowjobq) = sys.argv[1:]
n, wall, cpu = int(n), float(wall), float(c1) - float(c0)
print(f"{label}_lines: {n}")
print(f"{label}_jobs_in_class_set: {jobs}")
print(f"{label}_jobq_seconds: {wall:.2f}")
print(f"{label}_jobq_jobs_per_s: {n / wall:.0f}")
print(f"{label}_jobq_peak_rss_mib: {int(rss) / 1024:.1f}")
client = float(user) + float(sys_)
print(f"{label}_jobq_client_cpu_s: {client:.2f}")
print(f"{label}_server_cpu_s: {cpu:.2f}")
print(f"{label}_server_floor_jobs_per_s: {n / cpu:.0f}" if cpu > 0 else f"{label}_server_floor_jobs_per_s: -")
# What one side alone would allow if the other took no time: which side
# limits (on a busy machine both are slowed by waiting for a core).
print(f"{label}_client_floor_jobs_per_s: {n / client:.0f}" if client > 0 else f"{label}_client_floor_jobs_per_s: -")
print(f"{label}_ping_max_ms: {pmax}")
print(f"{label}_ping_p99_ms: {p99}")
print(f"{label}_slowlog_over_10ms: {slow} (jobq: {slowjobq}, slowest {slowmax} ms)")
PY
    echo "$N $wall" >"$TMP/last_rate"
}

jobs_file "$N" 0 >"$TMP/plain.jsonl"
jobs_file "$N" 1 >"$TMP/idem.jsonl"
measure plain "$TMP/plain.jsonl"
read -r _ plain_wall <"$TMP/last_rate"
measure idem "$TMP/idem.jsonl"
measure idem_rerun "$TMP/idem.jsonl" 0

if [ "$POPOTO" = 1 ]; then
    PY=$(popoto_python)
    cli FLUSHALL >/dev/null
    JOBQ_INTEROP_URL="$URL" "$PY" tests/interop/popoto_bench.py create "$POPOTO_N" \
        --projects 20 --statuses pending 2>/dev/null >"$TMP/popoto.out"
    python3 - "$N" "$plain_wall" "$TMP/popoto.out" <<'PY'
import json, sys
n, wall, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
res = json.loads(open(out).read())
jobq = n / wall
print(f"popoto_create_jobs: {res['jobs']}")
print(f"popoto_create_jobs_per_s: {res['jobs_per_s']:.0f}")
print(f"jobq_vs_popoto_create: {jobq / res['jobs_per_s']:.1f}x")
PY
fi
