#!/usr/bin/env bash
# Benchmark of `jobq reindex` (issue 5): N damaged jobs repaired. Not run by CI.
#
#   bench/reindex.sh           # N=100000
#   N=300000 bench/reindex.sh
#
# Two datasets of N jobs each: every job an orphan (its status index was
# deleted), and a mix (a third orphans, a third in a second status index,
# a third ghosts whose hash is gone). Prints the whole reindex (scan, plan
# and guarded writes) in seconds and jobs/s, the peak RSS, the server's
# PING latency beside it and SLOWLOG entries over 10 ms, as `name: value`.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-100000}
bench_start

run() {
    local label=$1
    cli SLOWLOG RESET >/dev/null
    prober_start
    local t
    t=$( { /usr/bin/time -f "%e %M" "$JOBQ" --url "$URL" -q --json reindex --yes --grace 0 >"$TMP/out.json"; } 2>&1 | tail -1)
    prober_stop
    local probe
    probe=$(prober_result)
    read -r wall rss <<<"$t"
    read -r pmax p99 _ <<<"$probe"
    read -r slow slowmax _ _ <<<"$(slowlog_summary)"
    python3 - "$label" "$wall" "$rss" "$TMP/out.json" "$pmax" "$p99" "$slow" "$slowmax" <<'PY'
import json, sys
label, wall, rss, out, pmax, p99, slow, slowmax = sys.argv[1:]
r = json.load(open(out))
wall = float(wall)
print(f"{label}_applied: {r['applied']} (skipped {r['skipped']}, failed {r['failed']})")
print(f"{label}_reindex_seconds: {wall:.2f}")
print(f"{label}_repairs_per_s: {r['applied'] / wall:.0f}")
print(f"{label}_peak_rss_mib: {int(rss) / 1024:.1f}")
print(f"{label}_ping_max_ms: {pmax}")
print(f"{label}_ping_p99_ms: {p99}")
print(f"{label}_slowlog_over_10ms: {slow} (slowest {slowmax} ms)")
PY
    "$JOBQ" --url "$URL" -q orphans scan --grace 0 >/dev/null && echo "${label}_rescan: clean" || echo "${label}_rescan: findings left"
}

load_jobs "$N"
cli DEL '$KeyF:RedisJob:status:pending' >/dev/null
run orphans

# The mix: re-damage the repaired queue by thirds.
cli --scan --pattern 'RedisJob:*' >"$TMP/keys"
python3 - "$TMP/keys" "$N" >"$TMP/damage.txt" <<'PY'
import sys
keys = open(sys.argv[1]).read().split()
third = len(keys) // 3
for k in keys[:third]:
    print(f"SREM $KeyF:RedisJob:status:pending {k}")
for k in keys[third:2 * third]:
    print(f"SADD $KeyF:RedisJob:status:failed {k}")
for k in keys[2 * third:]:
    print(f"DEL {k}")
PY
cli <"$TMP/damage.txt" >/dev/null
run mixed
