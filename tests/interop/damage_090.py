"""Make the residue that popoto 0.9.0 status changes leave behind, and report it.

Run with popoto==0.9.0 (requirements-090.txt, venv .venv-interop-090):
    bash tests/interop/run.sh --damage-090
or, against a throwaway redis-server you started yourself:
    JOBQ_INTEROP_URL=redis://127.0.0.1:PORT/1 .venv-interop-090/bin/python tests/interop/damage_090.py

popoto 0.9.0 sends the create/move commands one by one (no MULTI/EXEC), and
its save() of a moved record never SREMs the old key from the class set; for
an instance that was never loaded from Redis (built from known values) it
also SREMs the old key from the NEW status index instead of the old one.  The
script FLUSHes its db, then creates and moves jobs the 0.9.0 way:

  untouched          create(pending), no move                   -> no residue
  created-moved      create(pending); status=running; save()     -> old key in $Class
  loaded-moved       create; query.get(job_id=..); status=completed; save()
                                                                 -> old key in $Class
  never-loaded-moved create(pending); RedisJob(job_id=<same>, <same values>);
                     status=failed; save()                       -> old key in $Class
                                                                    and in status:pending
  moved-twice        create; running; completed (same instance)  -> 2 old keys in $Class

It prints one JSON object: per job its live keys, every set/zset member that
belongs to it (with whether the member's hash exists), the dangling ones
("residue"), what LAYOUT.md predicts, and `matches_layout`.  Exit 0 when
everything matches LAYOUT.md, 1 when it does not (the JSON says what differs).
The damaged data stays in the db for whoever runs jobq on it next.

Note: in 0.9.0 popoto binds its client at import (`from ..redis_db import
POPOTO_REDIS_DB` in every module), so REDIS_URL must be set before the first
`import popoto`; set_REDIS_DB_settings() does not reach the models.
"""

import importlib.metadata
import json
import os
import sys

URL = os.environ.get("JOBQ_INTEROP_URL", "")
if not URL:
    sys.exit("JOBQ_INTEROP_URL is not set (a throwaway redis-server, never the shared 6379)")
os.environ["REDIS_URL"] = URL

import redis  # noqa: E402
import popoto  # noqa: E402
from popoto import AutoKeyField, Field, KeyField, Model, SortedField  # noqa: E402

VERSION = importlib.metadata.version("popoto")


class RedisJob(Model):
    job_id = AutoKeyField()
    project_key = KeyField()
    status = KeyField()
    priority = Field(type=str, default="normal")
    message_text = Field(type=str)
    created_at = SortedField(type=float)


def esc(value: str) -> str:  # LAYOUT.md
    value = value.replace("/", "//")
    for ch in "'?*^[]-":
        value = value.replace(ch, "/" + ch)
    value = value.replace("{&#58;}", "/{&#58;}")
    return value.replace(":", "{&#58;}")


def key(job_id, project, status):
    return f"RedisJob:{esc(job_id)}:{esc(project)}:{esc(status)}"


T0 = 1767225600.5


def make(raw):
    """Create and move the jobs; return [(name, job_id, project, final_status, expected)]."""
    out = []

    def new(project, i):
        return RedisJob.create(project_key=project, status="pending", priority="normal",
                               message_text=f"job {i}", created_at=T0 + i)

    j = new("team:ops-1", 0)
    out.append(("untouched", j.job_id, "team:ops-1", "pending", []))

    j = new("team:ops-1", 1)
    old = j.db_key.redis_key
    j.status = "running"
    j.save()
    out.append(("created-moved", j.job_id, "team:ops-1", "running",
                [("$Class:RedisJob", old)]))

    j = new("2026-01-01", 2)
    old = j.db_key.redis_key
    loaded = RedisJob.query.get(job_id=j.job_id)
    loaded.status = "completed"
    loaded.save()
    out.append(("loaded-moved", j.job_id, "2026-01-01", "completed",
                [("$Class:RedisJob", old)]))

    j = new("a*b?c", 3)
    old = j.db_key.redis_key
    fresh = RedisJob(job_id=j.job_id, project_key="a*b?c", status="pending", priority="normal",
                     message_text="job 3", created_at=T0 + 3)
    fresh.status = "failed"
    fresh.save()
    out.append(("never-loaded-moved", j.job_id, "a*b?c", "failed",
                [("$Class:RedisJob", old), ("$KeyF:RedisJob:status:pending", old)]))

    j = new("café", 4)
    old1 = j.db_key.redis_key
    j.status = "running"
    j.save()
    old2 = j.db_key.redis_key
    j.status = "completed"
    j.save()
    out.append(("moved-twice", j.job_id, "café", "completed",
                [("$Class:RedisJob", old1), ("$Class:RedisJob", old2)]))
    return out


def memberships(raw, job_id):
    """Every (set or zset, member) whose member is a key of this job_id."""
    prefix = f"RedisJob:{esc(job_id)}:".encode()
    found = []
    for s in sorted(raw.scan_iter(match="$*", count=1000)):
        t = raw.type(s)
        if t == b"set":
            members = raw.smembers(s)
        elif t == b"zset":
            members = [m for m, _ in raw.zrange(s, 0, -1, withscores=True)]
        else:
            continue
        for m in sorted(members):
            if m.startswith(prefix):
                found.append((s.decode(), m.decode()))
    return found


def main() -> int:
    raw = redis.Redis.from_url(URL, protocol=2)
    raw.flushdb()
    jobs = make(raw)

    report = {"popoto": VERSION, "url_db": URL.rsplit("/", 1)[-1], "jobs": [],
              "matches_layout": True}
    for name, job_id, project, status, expected in jobs:
        live = sorted(k.decode() for k in raw.scan_iter(match=f"RedisJob:{job_id}:*")
                      if raw.type(k) == b"hash")
        members = memberships(raw, job_id)
        residue = [(s, m) for s, m in members if not raw.exists(m)]
        want_live = [key(job_id, project, status)]
        # the healthy part LAYOUT.md predicts for the live record
        want_members = {("$Class:RedisJob", want_live[0]),
                        (f"$KeyF:RedisJob:project_key:{esc(project)}", want_live[0]),
                        (f"$KeyF:RedisJob:status:{esc(status)}", want_live[0]),
                        ("$SortF:RedisJob:created_at", want_live[0])}
        differences = []
        if live != want_live:
            differences.append(f"live hashes {live}, expected {want_live}")
        missing = want_members - set(members)
        if missing:
            differences.append(f"live key missing from {sorted(s for s, _ in missing)}")
        if sorted(residue) != sorted(expected):
            differences.append(f"residue {residue}, LAYOUT.md predicts {expected}")
        extra_live = [(s, m) for s, m in members if raw.exists(m) and (s, m) not in want_members]
        if extra_live:
            differences.append(f"unexpected live memberships {extra_live}")
        if differences:
            report["matches_layout"] = False
        report["jobs"].append({
            "scenario": name, "job_id": job_id, "status": status,
            "live_keys": live,
            "memberships": [{"set": s, "member": m, "hash_exists": bool(raw.exists(m))}
                            for s, m in members],
            "residue": [{"set": s, "member": m} for s, m in residue],
            "layout_predicts": [{"set": s, "member": m} for s, m in expected],
            "differences": differences,
        })
    report["class_set_size"] = raw.scard("$Class:RedisJob")
    report["live_records"] = sum(len(j["live_keys"]) for j in report["jobs"])
    report["status_index_sizes"] = {
        s.decode().rsplit(":", 1)[1]: raw.scard(s)
        for s in sorted(raw.scan_iter(match="$KeyF:RedisJob:status:*"))}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["matches_layout"] else 1


if __name__ == "__main__":
    sys.exit(main())
