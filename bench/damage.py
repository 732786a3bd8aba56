"""Write a damaged RedisJob queue as Redis protocol, for `redis-cli --pipe`
(bench/reindex.sh). The bytes are popoto's (LAYOUT.md): msgpack str for the
text fields, float64 for created_at, keys and index members as popoto names
them. Writing the protocol directly loads millions of jobs in seconds, where
a client round trip per job would take minutes.

    python3 bench/damage.py KIND N > damage.resp

KIND:
  orphan  N jobs in no status index (their pending index is never written)
  ghost   N jobs moved pending -> completed by popoto 0.9, which left the
          old key in the class set, the pending index, the project index
          and the zset, with its hash gone: N ghosts (stale keys) beside N
          healthy completed jobs
  mixed   N jobs by thirds: orphans, jobs also in the failed index, and
          ghosts whose hash is gone (in the class set and pending index)
  completed  N healthy completed jobs, created in 2026 a second apart, in
          every index popoto puts them (bench/prune.sh prunes them)
"""

import struct
import sys


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    if len(b) < 256:
        return b"\xd9" + bytes([len(b)]) + b
    return b"\xda" + struct.pack(">H", len(b)) + b


def mp_float(f):
    return b"\xcb" + struct.pack(">d", f)


CLASS = "$Class:RedisJob"
ZSET = "$SortF:RedisJob:created_at"


def index(status):
    return "$KeyF:RedisJob:status:" + status


def record(out, job_id, project, status, created):
    key = "RedisJob:%s:%s:%s" % (job_id, project, status)
    out.write(
        resp(
            "HSET", key,
            "job_id", mp_str(job_id),
            "project_key", mp_str(project),
            "status", mp_str(status),
            "priority", mp_str("normal"),
            "message_text", mp_str("job " + job_id[-6:]),
            "created_at", mp_float(created),
        )
    )
    return key


def member_of_all(out, key, project, created, status):
    out.write(resp("SADD", CLASS, key))
    out.write(resp("SADD", "$KeyF:RedisJob:project_key:" + project, key))
    out.write(resp("ZADD", ZSET, repr(created), key))
    if status is not None:
        out.write(resp("SADD", index(status), key))


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    out = sys.stdout.buffer
    for i in range(n):
        job_id = "%032x" % (i + 1)
        project = "proj%d" % (i % 20)
        created = 1767225600.0 + i
        if kind == "orphan" or (kind == "mixed" and i % 3 == 0):
            key = record(out, job_id, project, "pending", created)
            member_of_all(out, key, project, created, None)
        elif kind == "mixed" and i % 3 == 1:
            key = record(out, job_id, project, "pending", created)
            member_of_all(out, key, project, created, "pending")
            out.write(resp("SADD", index("failed"), key))
        elif kind == "mixed":
            key = "RedisJob:%s:%s:pending" % (job_id, project)
            member_of_all(out, key, project, created, "pending")
        elif kind == "completed":
            key = record(out, job_id, project, "completed", created)
            member_of_all(out, key, project, created, "completed")
        elif kind == "ghost":
            live = record(out, job_id, project, "completed", created)
            member_of_all(out, live, project, created, "completed")
            old = "RedisJob:%s:%s:pending" % (job_id, project)
            member_of_all(out, old, project, created, "pending")
        else:
            sys.exit("KIND is orphan, ghost, mixed or completed")


if __name__ == "__main__":
    main()
