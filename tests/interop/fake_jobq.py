"""A stand-in for the jobq binary, used to test check.py itself (run.sh --self-test).

It implements only the slice of the jobq CLI contract that check.py drives
(`--url U enqueue ... --json`, `enqueue --file F --json`, `inspect JOB_ID
--json`, `reap --once --all --yes --json`) and writes the bytes of LAYOUT.md *by hand* with redis-py: its own
key escaping and its own msgpack encoder, no popoto and no msgpack library on
the write path.  So a self-test run of check.py also checks LAYOUT.md against
the real popoto 1.10.1.

FAKE_JOBQ_BUG=<name> makes it deliberately wrong, to prove check.py notices:
  int-float        integral created_at packed as a msgpack int, not float64
  no-status-index  no SADD into $KeyF:RedisJob:status:<s>
  unescaped        record key built without esc()
  bin-strings      strings packed as msgpack bin (c4..) instead of str
  field-order      HSET fields in reverse order (check.py only notes this)
  audit            also XADD to jobq:audit (check.py only notes this)
  verdict          inspect says kind "orphan"
  reap-priority    reap leaves the priority as it was (not "high")
"""

import argparse
import json
import os
import re
import struct
import sys
import time
import uuid

import msgpack  # read path only (inspect)
import redis

BUG = os.environ.get("FAKE_JOBQ_BUG", "")
MODEL = "RedisJob"
FIELDS = ("job_id", "project_key", "status", "priority", "message_text", "created_at")


def esc(value: str) -> str:
    if BUG == "unescaped":
        return value
    value = value.replace("/", "//")
    for ch in "'?*^[]-":
        value = value.replace(ch, "/" + ch)
    value = value.replace("{&#58;}", "/{&#58;}")
    return value.replace(":", "{&#58;}")


def pack(value, as_float=False) -> bytes:
    """msgpack, shortest headers, str not bin, float64 for float fields (LAYOUT.md)."""
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if as_float:
        if BUG == "int-float" and float(value).is_integer():
            return pack(int(value))
        return b"\xcb" + struct.pack(">d", float(value))
    if isinstance(value, int):
        if 0 <= value <= 0x7F:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack(">b", value)
        for lo, hi, fmt, tag in ((0, 0xFF, ">B", 0xCC), (0, 0xFFFF, ">H", 0xCD),
                                 (0, 0xFFFFFFFF, ">I", 0xCE), (0, 2**64 - 1, ">Q", 0xCF),
                                 (-128, 127, ">b", 0xD0), (-2**15, 2**15 - 1, ">h", 0xD1),
                                 (-2**31, 2**31 - 1, ">i", 0xD2), (-2**63, 2**63 - 1, ">q", 0xD3)):
            if lo <= value <= hi:
                return bytes([tag]) + struct.pack(fmt, value)
        raise ValueError("int out of range")
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        b = value.encode("utf-8")
        n = len(b)
        if BUG == "bin-strings":
            return (bytes([0xC4, n]) if n < 256 else b"\xc5" + struct.pack(">H", n)) + b
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n < 256:
            return bytes([0xD9, n]) + b
        if n < 65536:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    raise TypeError(f"cannot pack {type(value).__name__}")


def record_key(f) -> str:
    return f"{MODEL}:{esc(f['job_id'])}:{esc(f['project_key'])}:{esc(f['status'])}"


def create(r, f) -> str:
    key = record_key(f)
    mapping = {name: pack(f[name], as_float=(name == "created_at")) for name in FIELDS}
    if BUG == "field-order":
        mapping = dict(reversed(list(mapping.items())))
    pipe = r.pipeline(transaction=True)
    pipe.hset(key, mapping=mapping)
    pipe.sadd(f"$Class:{MODEL}", key)
    pipe.sadd(f"$KeyF:{MODEL}:project_key:{esc(f['project_key'])}", key)
    if BUG != "no-status-index":
        pipe.sadd(f"$KeyF:{MODEL}:status:{esc(f['status'])}", key)
    pipe.zadd(f"$SortF:{MODEL}:created_at", {key: float(f["created_at"])})
    if BUG == "audit":
        pipe.xadd("jobq:audit", {"command": "enqueue", "key": key})
    pipe.execute()
    return key


def normalise(fields: dict) -> dict:
    f = {"job_id": uuid.uuid4().hex, "priority": "normal", "status": "pending",
         "message_text": None, "created_at": time.time()}
    f.update(fields)
    if not re.fullmatch(r"[0-9a-f]{32}", f["job_id"]):
        sys.exit(f"fake_jobq: bad job_id {f['job_id']!r}")
    f["created_at"] = float(f["created_at"])
    return f


def cmd_enqueue(r, a):
    if a.file:
        with open(a.file, encoding="utf-8") as fh:
            batch = [normalise(json.loads(line)) for line in fh if line.strip()]
    else:
        fields = {"project_key": a.project, "message_text": a.message, "status": a.status}
        if a.priority:
            fields["priority"] = a.priority
        if a.job_id:
            fields["job_id"] = a.job_id
        for item in a.set or []:
            name, _, value = item.partition("=")
            fields[name] = float(value) if name == "created_at" else value
        batch = [normalise(fields)]
    jobs = [{"job_id": f["job_id"], "key": create(r, f), "created": True} for f in batch]
    print(json.dumps({"schema": 1, "command": "enqueue", "jobs": jobs}))


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[\]\\^-])", r"\\\1", s)


def cmd_inspect(r, a):
    jid = a.job_id
    records, sets = [], []
    for key in r.scan_iter(match=f"{MODEL}:{glob_escape(esc(jid))}:*", count=1000):
        if r.type(key) != b"hash" or key.count(b":") != 3:
            continue
        raw = r.hgetall(key)
        fields = {k.decode(): msgpack.unpackb(v) for k, v in raw.items()}
        missing = [f for f in FIELDS if f not in fields]
        records.append({"key": key.decode(), "type": "hash", "fields": fields,
                        "missing_fields": missing})
    verdict = {"kind": "healthy"}
    if len(records) != 1:
        verdict = {"kind": "missing" if not records else "duplicate"}
    else:
        key = records[0]["key"]
        f = records[0]["fields"]
        for s in r.scan_iter(match="$*", count=1000):
            t = r.type(s)
            if (t == b"set" and r.sismember(s, key)) or (t == b"zset" and r.zscore(s, key) is not None):
                sets.append(s.decode())
        status_sets = [s for s in sets if s.startswith(f"$KeyF:{MODEL}:status:")]
        seg = key.rsplit(":", 1)[1]
        want = {f"$Class:{MODEL}", f"$KeyF:{MODEL}:status:{seg}",
                f"$KeyF:{MODEL}:project_key:{esc(f.get('project_key') or 'None')}",
                f"$SortF:{MODEL}:created_at"}
        if f"$Class:{MODEL}" not in sets:
            verdict = {"kind": "unlisted"}
        elif not status_sets:
            verdict = {"kind": "orphan"}
        elif len(status_sets) > 1:
            verdict = {"kind": "multi_indexed"}
        elif esc(f.get("status") or "None") != seg:
            verdict = {"kind": "field_mismatch"}
        elif not want <= set(sets):
            verdict = {"kind": "wrong_index" if status_sets != [f"$KeyF:{MODEL}:status:{seg}"]
                       else "secondary_gap"}
    if BUG == "verdict":
        verdict = {"kind": "orphan"}
    for rec in records:
        rec["member_of"] = sets
    print(json.dumps({"schema": 1, "command": "inspect", "job_id": jid, "found": bool(records),
                      "records": records, "sets": sets, "verdict": verdict}, ensure_ascii=False))
    # jobq's contract: exit 1 when the job is unknown or not healthy.
    sys.exit(0 if verdict["kind"] == "healthy" else 1)


def cmd_reap(r, a):
    """Every running job back to pending, priority high, popoto's status
    change by hand: HSET all fields at the new key, drop the old key from
    every set and the zset, DEL it, add the new key."""
    moved = []
    running = f"$KeyF:{MODEL}:status:running"
    for old in sorted(r.smembers(running)):
        old = old.decode()
        raw = r.hgetall(old)
        f = {k.decode(): msgpack.unpackb(v) for k, v in raw.items()}
        new = record_key(dict(f, status="pending"))
        raw[b"status"] = pack("pending")
        if BUG != "reap-priority":
            raw[b"priority"] = pack("high")
        score = r.zscore(f"$SortF:{MODEL}:created_at", old)
        project = f"$KeyF:{MODEL}:project_key:{esc(f['project_key'])}"
        pipe = r.pipeline(transaction=True)
        pipe.hset(new, mapping=raw)
        pipe.sadd(f"$Class:{MODEL}", new)
        pipe.srem(project, old)
        pipe.srem(running, old)
        pipe.zrem(f"$SortF:{MODEL}:created_at", old)
        pipe.srem(f"$Class:{MODEL}", old)
        pipe.delete(old)
        pipe.sadd(project, new)
        pipe.sadd(f"$KeyF:{MODEL}:status:pending", new)
        if score is not None:
            pipe.zadd(f"$SortF:{MODEL}:created_at", {new: score})
        pipe.execute()
        moved.append({"job_id": f["job_id"], "old_key": old, "new_key": new, "to": "pending"})
    print(json.dumps({"schema": 1, "command": "reap", "counts": {"to_pending": len(moved)},
                      "moved": moved}, ensure_ascii=False))


def main():
    ap = argparse.ArgumentParser(prog="fake_jobq")
    ap.add_argument("--url", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("enqueue")
    e.add_argument("--project")
    e.add_argument("--message")
    e.add_argument("--priority")
    e.add_argument("--status", default="pending")
    e.add_argument("--set", action="append")
    e.add_argument("--job-id")
    e.add_argument("--file")
    e.add_argument("--json", action="store_true")
    i = sub.add_parser("inspect")
    i.add_argument("job_id")
    i.add_argument("--json", action="store_true")
    p = sub.add_parser("reap")
    for flag in ("--once", "--all", "--yes", "--json"):
        p.add_argument(flag, action="store_true")
    a = ap.parse_args()
    r = redis.Redis.from_url(a.url, protocol=2)
    {"enqueue": cmd_enqueue, "inspect": cmd_inspect, "reap": cmd_reap}[a.cmd](r, a)


if __name__ == "__main__":
    main()
