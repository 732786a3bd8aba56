#!/usr/bin/env bash
# Benchmark of `jobq orphans scan` (issue 4). Not run by CI.
#
#   bench/scan.sh                       # N=1000000 and SMALL=100000 healthy jobs
#   N=300000 SMALL=100000 bench/scan.sh
#   POPOTO=0 bench/scan.sh              # skip popoto's check_indexes()
#
# In one run, on the same data (N healthy jobs, loaded with jobq enqueue):
# - jobq: jobs/s, peak RSS, and the server CPU its walk cost (INFO cpu);
# - the Redis-side floor: N / that server CPU time, i.e. the rate if the
#   server did nothing but the walk's commands, back to back;
# - SLOWLOG entries over 10 ms while jobq ran, and a PING probe beside it;
# - popoto's own check_indexes() (tests/interop venv) on the same data;
# - the same jobq figures at SMALL jobs, to show memory does not grow;
# - issue 17's goals at N, each with "met" or "NOT met": server CPU per
#   healthy job <= 4 us, jobq >= 10x popoto's check_indexes() (wall time),
#   no command over 10 ms, PING max <= 20 ms.
# Prints `name: value` lines, with the load average beside the figures (the
# machine may be shared).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-1000000}
SMALL=${SMALL:-100000}
POPOTO=${POPOTO:-1}

bench_start

measure() {
    local label=$1 n=$2
    cli SLOWLOG RESET >/dev/null
    local c0 c1 t
    c0=$(server_cpu)
    prober_start
    t=$( { /usr/bin/time -f "%e %M %U" "$JOBQ" --url "$URL" -q orphans scan --grace 0 >/dev/null; } 2>&1 | tail -1)
    prober_stop
    local probe
    probe=$(prober_result)
    c1=$(server_cpu)
    read -r wall rss user <<<"$t"
    read -r pmax p99 samples <<<"$probe"
    read -r slow slowmax slowjobq slowcmd <<<"$(slowlog_summary)"
    echo "$wall $(echo "$c1 - $c0" | bc) $pmax $slow" >"$TMP/$label.figures"
    python3 - "$label" "$n" "$wall" "$rss" "$user" "$c0" "$c1" "$pmax" "$p99" "$slow" "$slowmax" "$slowjobq" "$slowcmd" <<'PY'
import sys
label, n, wall, rss, user, c0, c1, pmax, p99, slow, slowmax, slowjobq, slowcmd = sys.argv[1:]
n, wall, cpu = int(n), float(wall), float(c1) - float(c0)
print(f"{label}_load_average: {open('/proc/loadavg').read().split()[0]}")
print(f"{label}_jobs: {n}")
print(f"{label}_jobq_seconds: {wall:.2f}")
print(f"{label}_jobq_jobs_per_s: {n / wall:.0f}")
print(f"{label}_jobq_peak_rss_mib: {int(rss) / 1024:.1f}")
print(f"{label}_jobq_client_cpu_s: {float(user):.2f}")
print(f"{label}_server_cpu_s: {cpu:.2f}")
print(f"{label}_server_cpu_us_per_job: {cpu / n * 1e6:.2f}")
print(f"{label}_floor_jobs_per_s: {n / cpu:.0f}")
print(f"{label}_jobq_vs_floor: {100 * (n / wall) / (n / cpu):.0f}%")
print(f"{label}_ping_max_ms: {pmax}")
print(f"{label}_ping_p99_ms: {p99}")
print(f"{label}_slowlog_over_10ms: {slow} (jobq: {slowjobq}, slowest {slowmax} ms: {slowcmd})")
PY
}

load_jobs "$SMALL"
measure small "$SMALL"
load_jobs $((N - SMALL))
measure large "$N"

popoto_seconds=
if [ "$POPOTO" = 1 ]; then
    PY=$(popoto_python)
    t0=$(date +%s.%N)
    JOBQ_INTEROP_URL="$URL" "$PY" tests/interop/popoto_bench.py check >"$TMP/popoto.out"
    t1=$(date +%s.%N)
    popoto_seconds=$(echo "$t1 - $t0" | bc)
    python3 - "$N" "$t0" "$t1" <<'PY'
import sys
n, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"popoto_load_average: {open('/proc/loadavg').read().split()[0]}")
print(f"popoto_check_indexes_seconds: {t1 - t0:.1f}")
print(f"popoto_check_indexes_jobs_per_s: {n / (t1 - t0):.0f}")
PY
fi

# Issue 17's goals, from the run at N.
read -r wall cpu pmax slow <"$TMP/large.figures"
python3 - "$N" "$wall" "$cpu" "$pmax" "$slow" "$popoto_seconds" <<'PY'
import sys
n, wall, cpu, pmax, slow, popoto = sys.argv[1:]
n, wall, cpu, pmax, slow = int(n), float(wall), float(cpu), float(pmax), int(slow)
met = lambda ok: "met" if ok else "NOT met"
us = cpu / n * 1e6
print(f"goal_server_cpu_per_job: {us:.2f} us (goal <= 4 us: {met(us <= 4)})")
if popoto:
    ratio = float(popoto) / wall
    print(f"goal_vs_popoto: {ratio:.1f}x (goal >= 10x: {met(ratio >= 10)})")
else:
    print("goal_vs_popoto: not measured (POPOTO=0)")
print(f"goal_slowlog: {slow} commands over 10 ms (goal none: {met(slow == 0)})")
print(f"goal_ping_max: {pmax:.2f} ms (goal <= 20 ms: {met(pmax <= 20)})")
PY
