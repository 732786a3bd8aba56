#!/usr/bin/env bash
# Benchmark of `jobq prune` and `jobq restore` (issue 18): N completed jobs
# pruned (everything older than 30 days), backed up to a file first, then
# restored from it. Not run by CI.
#
#   bench/prune.sh             # N=1000000
#   N=100000 bench/prune.sh
#   RESTORE=0 bench/prune.sh   # the prune alone
#
# The jobs are loaded into an empty server with `redis-cli --pipe`
# (bench/damage.py completed). Prints, as `name: value`, per command: the
# jobs done, seconds and jobs/s, jobq's peak RSS, the server's CPU, PING
# latency beside it, the slowest command the server's latency monitor saw
# (LATENCY LATEST, "command" event), SLOWLOG entries over 10 ms, the audit
# entries written, the mean script call, and the backup file's size; then whether the restored
# queue is whole (`orphans scan` clean, the same DBSIZE).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-1000000}
RESTORE=${RESTORE:-1}
bench_start
echo "N: $N"

cli FLUSHALL >/dev/null
t0=$SECONDS
python3 bench/damage.py completed "$N" | cli --pipe >/dev/null
keys_before=$(cli DBSIZE)
echo "loaded_in_s: $((SECONDS - t0)) (keys: $keys_before)"

measure() {
    local label=$1
    shift
    cli SLOWLOG RESET >/dev/null
    cli CONFIG RESETSTAT >/dev/null
    cli CONFIG SET latency-monitor-threshold 1 >/dev/null
    cli LATENCY RESET >/dev/null
    local audit0 cpu0 cpu1 t probe
    audit0=$(cli XLEN jobq:audit)
    cpu0=$(server_cpu)
    prober_start
    t=$( { /usr/bin/time -f "%e %M" "$JOBQ" --url "$URL" -q --json "$@" >"$TMP/$label.json"; } 2>&1 | tail -1)
    prober_stop
    cpu1=$(server_cpu)
    probe=$(prober_result)
    read -r wall rss <<<"$t"
    read -r pmax p99 _ <<<"$probe"
    read -r slow slowmax _ slowest <<<"$(slowlog_summary)"
    local evalsha
    evalsha=$(cli INFO commandstats | tr -d "\r" | grep -E "^cmdstat_evalsha:" | sed -E "s/.*usec_per_call=([0-9.]+).*/\1/")
    # LATENCY LATEST: one row per event: name, time, latest ms, max ms.
    local lat
    lat=$(cli LATENCY LATEST | awk 'NR%4==1 {e=$0} NR%4==0 && e=="command" {print $0}')
    python3 - "$label" "$wall" "$rss" "$TMP/$label.json" "$pmax" "$p99" "$slow" "$slowmax" "$cpu0" "$cpu1" "${lat:-0}" "$audit0" "$(cli XLEN jobq:audit)" "$slowest" "${evalsha:-0}" <<'PY'
import json, sys
label, wall, rss, out, pmax, p99, slow, slowmax, cpu0, cpu1, lat, a0, a1, slowest, evalsha = sys.argv[1:]
r = json.load(open(out))
wall = float(wall)
done = r["counts"]["applied"]
left = {k: v for k, v in r["counts"].items() if v and k != "applied"}
print(f"{label}_jobs: {done} (other outcomes: {left or 'none'})")
print(f"{label}_seconds: {wall:.2f}")
print(f"{label}_jobs_per_s: {done / wall:.0f}")
print(f"{label}_peak_rss_mib: {int(rss) / 1024:.1f}")
print(f"{label}_server_cpu_seconds: {float(cpu1) - float(cpu0):.2f}")
print(f"{label}_ping_max_ms: {pmax}")
print(f"{label}_ping_p99_ms: {p99}")
print(f"{label}_max_command_ms: {lat} (LATENCY LATEST, command event)")
print(f"{label}_script_call_mean_ms: {float(evalsha) / 1000:.2f} (INFO commandstats, EVALSHA)")
print(f"{label}_slowlog_over_10ms: {slow} (slowest {slowmax} ms: {slowest})")
print(f"{label}_audit_entries: {int(a1) - int(a0)}")
PY
}

measure prune prune --older-than 30d --backup "$TMP/backup.jsonl" --yes
echo "backup_mib: $(du -m "$TMP/backup.jsonl" | cut -f1) ($(wc -l <"$TMP/backup.jsonl") lines)"
echo "keys_after_prune: $(cli DBSIZE)"
if [ "$RESTORE" = 1 ]; then
    measure restore restore "$TMP/backup.jsonl" --yes
    # The audit stream is the one key restore adds beside the jobs.
    echo "keys_after_restore: $(cli DBSIZE) (before the prune: $keys_before, plus the audit stream)"
    "$JOBQ" --url "$URL" -q orphans scan --grace 0 >/dev/null && echo "rescan: clean" || echo "rescan: findings left"
fi
