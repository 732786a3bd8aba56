#!/usr/bin/env bash
# Benchmark of `jobq reindex` (issues 5 and 17): N damaged jobs repaired,
# window by window, in bounded memory. Not run by CI.
#
#   bench/reindex.sh                      # N=100000, KIND="ghost mixed"
#   N=5000000 KIND=ghost bench/reindex.sh
#
# KIND (one or more, space-separated; see bench/damage.py for the bytes):
#   orphan  N jobs in no status index
#   ghost   N popoto-0.9 ghosts (old key left in the class set and its
#           indexes, hash gone) beside their N live completed records
#   mixed   by thirds: orphans, jobs also in the failed index, ghosts
# Each kind is loaded into an empty server with `redis-cli --pipe`. Prints,
# as `name: value`, the repairs applied, the whole reindex (scan, plan and
# guarded writes) in seconds and repairs/s, jobq's peak RSS, the server's
# CPU, PING latency beside it, SLOWLOG entries over 10 ms, and whether a
# rescan is clean.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-100000}
KINDS=${KIND:-ghost mixed}
bench_start
echo "N: $N"

run() {
    local label=$1
    cli SLOWLOG RESET >/dev/null
    local cpu0
    cpu0=$(server_cpu)
    prober_start
    local t
    t=$( { /usr/bin/time -f "%e %M" "$JOBQ" --url "$URL" -q --json reindex --yes --grace 0 >"$TMP/out.json"; } 2>&1 | tail -1)
    prober_stop
    local cpu1
    cpu1=$(server_cpu)
    local probe
    probe=$(prober_result)
    read -r wall rss <<<"$t"
    read -r pmax p99 _ <<<"$probe"
    read -r slow slowmax _ _ <<<"$(slowlog_summary)"
    python3 - "$label" "$wall" "$rss" "$TMP/out.json" "$pmax" "$p99" "$slow" "$slowmax" "$cpu0" "$cpu1" <<'PY'
import json, sys
label, wall, rss, out, pmax, p99, slow, slowmax, cpu0, cpu1 = sys.argv[1:]
r = json.load(open(out))
wall = float(wall)
found = sum(c["planned"] for c in r["counts"].values())
print(f"{label}_findings: {found}")
print(f"{label}_applied: {r['applied']} (skipped {r['skipped']}, failed {r['failed']}, listed {len(r['actions'])}, not listed {r['not_listed']['actions']})")
print(f"{label}_reindex_seconds: {wall:.2f}")
print(f"{label}_repairs_per_s: {r['applied'] / wall:.0f}")
print(f"{label}_peak_rss_mib: {int(rss) / 1024:.1f}")
print(f"{label}_server_cpu_seconds: {float(cpu1) - float(cpu0):.2f}")
print(f"{label}_ping_max_ms: {pmax}")
print(f"{label}_ping_p99_ms: {p99}")
print(f"{label}_slowlog_over_10ms: {slow} (slowest {slowmax} ms)")
PY
    "$JOBQ" --url "$URL" -q orphans scan --grace 0 >/dev/null && echo "${label}_rescan: clean" || echo "${label}_rescan: findings left"
}

for kind in $KINDS; do
    cli FLUSHALL >/dev/null
    t0=$SECONDS
    python3 bench/damage.py "$kind" "$N" | cli --pipe >/dev/null
    echo "${kind}_loaded_in_s: $((SECONDS - t0)) (keys: $(cli DBSIZE))"
    run "$kind"
done
