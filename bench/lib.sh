# Shared helpers for the benchmark scripts (sourced, not run). Each script
# starts its own redis-server on a unix socket in a temp dir (--save ""),
# never the shared one on 6379, and kills it on exit. As for the tests, the
# server binary comes from JOBQ_TEST_REDIS_SERVER (default redis-server on
# PATH) and JOBQ_TEST_REDIS_CONF names a config file to start it with (the
# 6.0 stand-in: tests/servers/redis60-standin.conf).

bench_start() {
    cargo build --release --quiet
    JOBQ=$PWD/target/release/jobq
    TMP=$(mktemp -d)
    SOCK=$TMP/redis.sock
    URL="unix://$SOCK"
    local conf=()
    if [ -n "${JOBQ_TEST_REDIS_CONF:-}" ]; then conf=("$JOBQ_TEST_REDIS_CONF"); fi
    "${JOBQ_TEST_REDIS_SERVER:-redis-server}" "${conf[@]}" --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save "" \
        --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" --daemonize yes \
        --pidfile "$TMP/redis.pid" --slowlog-log-slower-than 10000 --slowlog-max-len 1024
    trap bench_stop EXIT
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
    echo "server: $(cli INFO server | tr -d '\r' | grep -E '^(redis_version|valkey_version):' | tr '\n' ' ')"
}

bench_stop() {
    if [ -n "${PROBER_PID:-}" ]; then kill "$PROBER_PID" 2>/dev/null || true; fi
    if [ -f "$TMP/redis.pid" ]; then kill "$(cat "$TMP/redis.pid")" 2>/dev/null || true; fi
    sleep 0.2
    rm -rf "$TMP"
}

cli() { redis-cli -s "$SOCK" "$@"; }

# Server CPU seconds so far (user + sys), from INFO cpu.
server_cpu() {
    cli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'
}

# N healthy pending jobs in 20 projects, written by jobq enqueue --file.
load_jobs() {
    local n=$1
    python3 - "$n" >"$TMP/jobs.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
for i in range(n):
    print(json.dumps({"project_key": "proj%d" % (i % 20), "message_text": "job %d" % i,
                      "created_at": 1767225600.0 + i}))
PY
    "$JOBQ" --url "$URL" -q enqueue --file "$TMP/jobs.jsonl" --batch 1000 >/dev/null
    rm -f "$TMP/jobs.jsonl"
}

# A PING prober beside the measured command: start, then stop (in this
# shell, not in $(...), where it could not wait for the prober) and read
# "max_ms p99_ms samples" with prober_result.
prober_start() {
    rm -f "$TMP/prober.stop" "$TMP/prober.out"
    python3 - "$SOCK" "$TMP/prober.stop" "$TMP/prober.out" <<'PY' &
import os, socket, sys, time
sock, stop, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
lat = []
while not os.path.exists(stop):
    t = time.perf_counter()
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(64)
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.002)
lat.sort()
p99 = lat[int(len(lat) * 0.99) - 1] if lat else 0
open(out, "w").write("%.2f %.2f %d\n" % (max(lat or [0]), p99, len(lat)))
PY
    PROBER_PID=$!
}

prober_stop() {
    touch "$TMP/prober.stop"
    wait "$PROBER_PID" 2>/dev/null || true
    PROBER_PID=
}

prober_result() {
    cat "$TMP/prober.out"
}

# SLOWLOG entries (slower than 10 ms) since the last reset:
# "entries max_ms jobq_entries".
slowlog_summary() {
    python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"*3\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n$4\r\n1024\r\n")
f = s.makefile("rb")
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if t == b":":
        return int(rest)
    return rest
entries = read()
durations = [e[2] for e in entries]
names = [e[5] if len(e) > 5 else b"" for e in entries]
# The slowest command and its first argument, as one word (-: none).
slowest = max(entries, key=lambda e: e[2], default=None)
what = "-" if slowest is None else "_".join(a.decode("utf-8", "replace") for a in slowest[3][:2]).replace(" ", "_")
print(len(entries), "%.2f" % (max(durations or [0]) / 1000), sum(1 for n in names if n == b"jobq"), what)
PY
}

# The popoto virtualenv of tests/interop (created like run.sh does).
popoto_python() {
    local venv=$PWD/.venv-interop
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >/dev/null
        "$venv/bin/pip" install -q -r tests/interop/requirements.txt
    fi
    echo "$venv/bin/python"
}
