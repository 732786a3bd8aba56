#!/usr/bin/env bash
# Interop check of jobq against the real popoto (PyPI, pinned in requirements.txt).
#
#   bash tests/interop/run.sh path/to/jobq   # the CI entry point: runs check.py
#   bash tests/interop/run.sh --self-test    # check.py against fake_jobq.py (no jobq needed)
#   bash tests/interop/run.sh --damage-090   # damage_090.py with popoto 0.9.0 (own venv)
#   bash tests/interop/run.sh --indexed path/to/jobq   # indexed.py alone (the IndexedField status)
#
# Needs python3 (with pip) and redis-server on PATH, and PyPI.  It creates or
# reuses the venv .venv-interop at the repo root (.venv-interop-090 for
# --damage-090), reinstalling only when the requirements file changed; starts
# its own redis-server on a free 127.0.0.1 port in a temp dir (never the
# shared 6379), killed on exit, its log printed on failure.  The exit code is
# check.py's: 0 all passed, 1 a check failed, 2 a setup problem.
#
# Debian's python3 without the python3-venv package has no ensurepip, so
# `python3 -m venv` fails there; this script then builds the venv with
# --without-pip and installs into it with the system pip (`pip --python`,
# pip >= 22.3).  If that fails too: `apt-get install python3-venv`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${JOBQ_INTEROP_PYTHON:-python3}"

die() { echo "interop: $*" >&2; exit 2; }

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 1 ] || usage
MODE=check
case "$1" in
    -h|--help) usage ;;
    --self-test) MODE=self-test ;;
    --damage-090) MODE=damage-090 ;;
    --indexed)
        MODE=indexed
        shift
        [ $# -ge 1 ] || usage
        JOBQ="$1"
        [ -x "$JOBQ" ] || die "jobq binary not found or not executable: $JOBQ"
        JOBQ="$(cd "$(dirname "$JOBQ")" && pwd)/$(basename "$JOBQ")"
        ;;
    -*) usage ;;
    *)
        JOBQ="$1"
        [ -f "$JOBQ" ] || die "jobq binary not found: $JOBQ (build it first: cargo build --release)"
        [ -x "$JOBQ" ] || die "jobq binary is not executable: $JOBQ"
        JOBQ="$(cd "$(dirname "$JOBQ")" && pwd)/$(basename "$JOBQ")"
        ;;
esac

if [ "$MODE" = damage-090 ]; then
    VENV="$ROOT/.venv-interop-090"
    REQ="$HERE/requirements-090.txt"
else
    VENV="$ROOT/.venv-interop"
    REQ="$HERE/requirements.txt"
fi

command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH"
command -v redis-server >/dev/null ||
    die "redis-server not found on PATH (Debian/Ubuntu: apt-get install redis-server)"

# ---------------------------------------------------------------- the venv
ensure_venv() {
    local want have=""
    want="$(sha256sum "$REQ" | cut -d' ' -f1)"
    [ -f "$VENV/.requirements.sha256" ] && have="$(cat "$VENV/.requirements.sha256")"
    if [ -x "$VENV/bin/python" ] && [ "$want" = "$have" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "interop: creating $VENV" >&2
        local err
        err="$(mktemp)"
        if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>"$err"; then
            echo "interop: '$PYTHON -m venv' failed ($(grep -v '^\s*$' "$err" | tail -n1)); retrying with --without-pip" >&2
            rm -rf "$VENV"
            "$PYTHON" -m venv --without-pip "$VENV" ||
                { rm -f "$err"; die "cannot create a venv; install python3-venv (apt-get install python3-venv)"; }
        fi
        rm -f "$err"
    fi
    echo "interop: installing $(basename "$REQ") into $VENV" >&2
    if [ -x "$VENV/bin/pip" ]; then
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" ||
            die "pip install -r $REQ failed"
    else
        "$PYTHON" -m pip --python "$VENV/bin/python" install -q --disable-pip-version-check -r "$REQ" ||
            die "the venv has no pip and '$PYTHON -m pip --python' failed (needs pip >= 22.3); apt-get install python3-venv"
    fi
    echo "$want" > "$VENV/.requirements.sha256"
}
ensure_venv
PY="$VENV/bin/python"

# ---------------------------------------------------------------- redis-server
TMP="$(mktemp -d "${TMPDIR:-/tmp}/jobq-interop.XXXXXX")"
REDIS_PID=""
cleanup() {
    local rc=$?
    if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ] && [ -f "$TMP/redis.log" ]; then
        echo "---- redis-server log ($TMP/redis.log) ----" >&2
        tail -n 60 "$TMP/redis.log" >&2 || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ping() {  # ping PORT -> 0 when the server answers
    "$PY" -c 'import sys, redis; redis.Redis(port=int(sys.argv[1]), socket_timeout=1).ping()' "$1" 2>/dev/null
}

start_redis() {
    local tries port i
    for tries in 1 2 3; do
        port="$(free_port)"
        : > "$TMP/redis.log"
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
        REDIS_PID=$!
        for i in $(seq 1 50); do
            if ping "$port"; then PORT="$port"; return 0; fi
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
        echo "interop: redis-server did not start on port $port (try $tries):" >&2
        tail -n 20 "$TMP/redis.log" >&2 || true
    done
    die "could not start redis-server"
}
start_redis
BASE="redis://127.0.0.1:$PORT"
echo "interop: redis-server pid $REDIS_PID on $BASE, $("$PY" -c "import importlib.metadata as m; print('popoto', m.version('popoto'))")" >&2

# The IndexedField status (issue 20): popoto 1.8.0 and 1.8.2 write their
# records first, each in its own venv and db (9, 10), then indexed.py checks
# jobq against them and against popoto 1.10.1 (db 8).
run_indexed() {
    local legacy=() v db
    for v in 180 182; do
        VENV="$ROOT/.venv-interop-$v" REQ="$HERE/requirements-$v.txt"
        ensure_venv
        db=$([ "$v" = 180 ] && echo 9 || echo 10)
        (cd "$HERE" && JOBQ_INTEROP_URL="$BASE/$db" "$VENV/bin/python" indexed_legacy.py 12) > "$TMP/left$v.json" ||
            die "indexed_legacy.py (popoto $v) failed: $(tail -c 400 "$TMP/left$v.json")"
        legacy+=(--legacy "1.8.${v:2}=$db:$TMP/left$v.json")
    done
    (cd "$HERE" && "$PY" indexed.py --jobq "$(printf '%q' "$JOBQ")" --url-base "$BASE" "${legacy[@]}")
}

# ---------------------------------------------------------------- run
set +e
case "$MODE" in
    check)
        # popoto 0.9.0 first (its own venv), to leave its residue in db 5.
        if [ "${JOBQ_INTEROP_SKIP_090:-0}" != 1 ]; then
            VENV="$ROOT/.venv-interop-090" REQ="$HERE/requirements-090.txt"
            ensure_venv
            JOBQ_INTEROP_URL="$BASE/5" "$VENV/bin/python" "$HERE/damage_090.py" > "$TMP/residue.json" ||
                die "damage_090.py (popoto 0.9.0) failed: $(tail -c 400 "$TMP/residue.json")"
            "$PY" "$HERE/check.py" --jobq "$(printf '%q' "$JOBQ")" --url-base "$BASE" \
                --residue-090 "$TMP/residue.json" --db-090 5
        else
            "$PY" "$HERE/check.py" --jobq "$(printf '%q' "$JOBQ")" --url-base "$BASE"
        fi
        rc=$?
        if [ "${JOBQ_INTEROP_SKIP_INDEXED:-0}" != 1 ]; then
            run_indexed || rc=1
        fi
        (exit "$rc") ;;
    indexed)
        run_indexed ;;
    self-test)
        "$PY" "$HERE/check.py" --jobq "$(printf '%q %q' "$PY" "$HERE/fake_jobq.py")" --url-base "$BASE" ;;
    damage-090)
        JOBQ_INTEROP_URL="$BASE/1" "$PY" "$HERE/damage_090.py" ;;
esac
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "interop: FAILED ($MODE, exit $rc)" >&2
fi
exit "$rc"
