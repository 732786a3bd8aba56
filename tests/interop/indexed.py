"""Interop checks of jobq's scan and reindex under the indexed status layout
(issue 20; docs/layout.md, "The other status layout") against the real
popoto 1.10.1, the `Job` model of indexed_model.py:

  i1. popoto creates, moves and deletes jobs while jobq scans (--grace 1s,
      three scans back to back): no finding is ever confirmed, though the
      walks meet popoto's creates between its index script and its MULTI.
  i2. damage by hand (orphan, multi_indexed, wrong_index, pointer_mismatch,
      pointer_missing, dangling_pointer, dangling) and by interrupting
      popoto between its script and its MULTI (a create: partial; a status
      change: nothing to find) is found, kind by kind; `jobq reindex --yes`
      repairs all but the partial, which is reported and left as it was;
      afterwards popoto finds every job through Job.query.filter(status=...)
      with the right status and no record twice, and moves each job once
      more with the same result (its pointers were right).
  i3. records written by popoto 1.8.0 (the in-hash pointer field) and 1.8.2
      (the {K}\\x00idxptr\\x00{field} key), by indexed_legacy.py in their own
      venvs (run.sh runs them first): jobq reads them (inspect's verdict is
      legacy_pointer too), reports
      legacy_pointer (never malformed, --deep too), leaves them without
      --migrate-pointers and migrates them with it; popoto 1.10.1 then
      finds them by status, moves every one, and finds each once.

Every check prints `ok: <name>` or `FAIL: <name>: <details>`; the exit code
is 1 if anything failed.

    python indexed.py --jobq target/debug/jobq --url-base redis://127.0.0.1:PORT \\
        [--legacy 1.8.0=9:left180.json --legacy 1.8.2=10:left182.json]
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import traceback

p = argparse.ArgumentParser()
p.add_argument("--jobq", required=True)
p.add_argument("--url-base", required=True)
p.add_argument("--db", type=int, default=8)
p.add_argument("--legacy", action="append", default=[], help="VERSION=DB:JSON")
args = p.parse_args()


def db_url(db: int) -> str:
    base = args.url_base
    return f"{base}?db={db}" if base.startswith("unix://") else f"{base.rstrip('/')}/{db}"


os.environ["JOBQ_INTEROP_URL"] = db_url(args.db)
import redis  # noqa: E402

import indexed_model  # noqa: E402
from indexed_model import Job, STATUSES, SCHEMA, connect, raw_client  # noqa: E402

JOBQ = shlex.split(args.jobq)
TMP = tempfile.mkdtemp(prefix="jobq-indexed-")
SCHEMA_FILE = os.path.join(TMP, "job.toml")
with open(SCHEMA_FILE, "w") as f:
    f.write(SCHEMA)

passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print(f"ok: {name}")
        passed += 1
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: {name}: {e}")
        traceback.print_exc(file=sys.stdout)
        failed += 1


def jobq(db, *argv, code=None):
    cmd = JOBQ + ["--url", db_url(db), "--schema", SCHEMA_FILE, "--json", *argv]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOBQ_SCHEMA")}
    run = subprocess.run(cmd, capture_output=True, env=env, timeout=600)
    if code is not None and run.returncode != code:
        raise AssertionError(
            f"{' '.join(argv)}: exit {run.returncode}, wanted {code}\n"
            f"stdout: {run.stdout.decode(errors='replace')[-3000:]}\n"
            f"stderr: {run.stderr.decode(errors='replace')[-2000:]}"
        )
    try:
        return run.returncode, json.loads(run.stdout)
    except json.JSONDecodeError:
        return run.returncode, {"raw": run.stdout.decode(errors="replace")}


def use(db):
    connect(db_url(db))
    return raw_client(db_url(db))


def set_of(s):
    return f"$IndexF:Job:status:{s}".encode()


def ptr(k: bytes) -> bytes:
    return b"$IdxPtr:" + k + b":status"


def by_status(left_out=()):
    """What popoto's filter returns: {status: [job_id, ...]}, the jobs of
    `left_out` (a partial record jobq reports and leaves for a human:
    popoto loads it with its key fields and no others) left out."""
    out = {}
    for s in STATUSES:
        got = [j for j in Job.query.filter(status=s)]
        for j in got:
            assert j.status == s, f"filter(status={s}) loaded {j.job_id} with status {j.status}"
        out[s] = sorted(j.job_id for j in got if j.job_id and j.job_id not in left_out)
    return out


def assert_each_once(expected, left_out=()):
    """Every job found by filter under its status, and no job twice."""
    got = by_status(left_out)
    seen = [i for ids in got.values() for i in ids]
    dup = {i for i in seen if seen.count(i) > 1}
    assert not dup, f"found twice: {sorted(dup)[:5]}"
    for s in STATUSES:
        want = sorted(i for i, st in expected.items() if st == s)
        assert got[s] == want, f"filter(status={s}): {got[s][:5]}... != {want[:5]}..."


class Interrupted(Exception):
    pass


def interrupted(fn):
    """Run fn with popoto stopped between its INDEX_SWAP script and its
    MULTI: the pipeline's execute (the MULTI) raises."""
    orig = redis.client.Pipeline.execute

    def boom(self, *a, **kw):
        raise Interrupted()

    redis.client.Pipeline.execute = boom
    try:
        fn()
    except Interrupted:
        pass
    finally:
        redis.client.Pipeline.execute = orig


# ---------------------------------------------------------------- i1
def i1_no_false_finding_while_popoto_writes():
    r = use(args.db)
    r.flushdb()
    jobs = [Job.create(project_key=f"p{i % 3}", status="pending", created_at=float(i)) for i in range(300)]
    stop = threading.Event()
    errors = []

    def popoto_works():
        i = 1000
        try:
            while not stop.is_set():
                i += 1
                Job.create(project_key="p0", status="pending", created_at=float(i))
                j = jobs[i % len(jobs)]
                if j is not None:
                    if i % 7 == 0:
                        j.delete()
                        jobs[i % len(jobs)] = None
                    else:
                        j.status = STATUSES[i % 4]
                        j.save()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    # popoto's own creates and moves are slowed between their index script
    # and their MULTI, so that the walks meet the in-between state (the
    # record a partial for that moment); the second sighting, a second
    # later, finds it whole. Nothing here depends on timing for the verdict:
    # whatever the walks meet, no finding may be confirmed.
    orig = redis.client.Pipeline.execute

    def slow(self, *a, **kw):
        time.sleep(0.05)
        return orig(self, *a, **kw)

    redis.client.Pipeline.execute = slow
    t = threading.Thread(target=popoto_works)
    t.start()
    try:
        results = [
            jobq(args.db, "orphans", "scan", "--grace", "1s", "--batch", "20") for _ in range(4)
        ]
    finally:
        stop.set()
        t.join()
        redis.client.Pipeline.execute = orig
    assert not errors, errors
    for code, j in results:
        assert code == 0 and j.get("total") == 0, f"exit {code}: {json.dumps(j.get('counts'))} {j.get('findings', [])[:3]}"
    cand = sum(j["candidates"] for _, j in results)
    print(f"   note: {cand} candidate(s) seen at the first sighting, none confirmed")
    code, j = jobq(args.db, "orphans", "scan", "--grace", "0", "--deep", code=0)


# ---------------------------------------------------------------- i2
def i2_damage_found_repaired_and_popoto_reads_it():
    r = use(args.db)
    r.flushdb()
    jobs = [Job.create(project_key=f"p{i % 2}", status="pending", created_at=float(i)) for i in range(16)]
    for i, j in enumerate(jobs):
        if i % 4:
            j.status = STATUSES[i % 4]
            j.save()
    expected = {j.job_id: j.status for j in jobs}
    k = [j.db_key.redis_key.encode() for j in jobs]
    st = [j.status for j in jobs]
    # By hand, one kind each.
    r.srem(set_of(st[0]), k[0])  # orphan
    r.sadd(set_of("failed" if st[1] != "failed" else "running"), k[1])  # multi_indexed
    other = "completed" if st[2] != "completed" else "pending"
    r.smove(set_of(st[2]), set_of(other), k[2])  # wrong_index
    r.set(ptr(k[3]), set_of("failed" if st[3] != "failed" else "pending"))  # pointer_mismatch
    r.delete(ptr(k[4]))  # pointer_missing
    gone = jobs[5]
    p5 = r.get(ptr(k[5]))
    gone.delete()
    r.set(ptr(k[5]), p5)  # dangling_pointer
    del expected[gone.job_id]
    r.delete(k[6])  # dangling (its hash gone; sets and pointer left)
    del expected[jobs[6].job_id]
    # popoto interrupted between its script and its MULTI: a create
    # (partial) and a status change (nothing left to find).
    interrupted(lambda: Job.create(project_key="p0", status="pending", created_at=99.0))
    j7 = jobs[7]
    new7 = "completed" if j7.status != "completed" else "running"
    interrupted(lambda: (setattr(j7, "status", new7), j7.save()))
    expected[j7.job_id] = new7
    code, j = jobq(args.db, "orphans", "scan", "--grace", "0", code=1)
    c = j["counts"]
    want = {
        "orphan": 1, "multi_indexed": 1, "wrong_index": 1, "pointer_mismatch": 1,
        "pointer_missing": 1, "dangling_pointer": 1, "dangling": 1, "partial": 1,
        "malformed": 0, "legacy_pointer": 0,
    }
    for kind, n in want.items():
        assert c.get(kind) == n, f"{kind}: {c.get(kind)} != {n}: {json.dumps(c)}"
    assert len(c) == 15, f"every kind in counts: {sorted(c)}"
    partial_finding = [f for f in j["findings"] if f["kind"] == "partial"][0]
    partial = partial_finding["key"]
    partial_key = partial.encode() if isinstance(partial, str) else None
    left_out = (partial_finding["job_id"],)
    before = r.hgetall(partial_key) if partial_key else None
    code, j = jobq(args.db, "reindex", "--yes", "--grace", "0", code=0)
    assert j["applied"] == 7, json.dumps(j.get("counts"))
    if partial_key:
        assert r.hgetall(partial_key) == before, "the partial is never completed"
    code, j = jobq(args.db, "orphans", "scan", "--grace", "0", "--deep", code=1)
    assert j["total"] == 1 and j["counts"]["partial"] == 1, json.dumps(j["counts"])
    assert_each_once(expected, left_out)
    assert r.get(ptr(k[5])) is None and r.get(ptr(k[6])) is None, "dangling pointers removed"
    # popoto moves every job once more: its pointers were right, so no job
    # is left in two sets.
    for job in Job.query.all():
        if job.job_id in expected:
            new = STATUSES[(STATUSES.index(job.status) + 1) % 4]
            job.status = new
            job.save()
            expected[job.job_id] = new
    assert_each_once(expected, left_out)
    code, j = jobq(args.db, "orphans", "scan", "--grace", "0", code=1)
    assert j["total"] == 1, json.dumps(j["counts"])


# ---------------------------------------------------------------- i3
def i3_legacy(version, db, left_file):
    def run():
        with open(left_file) as f:
            left = json.load(f)
        assert left["popoto"] == version, left["popoto"]
        assert left["in_hash"] == (version == "1.8.0"), left
        assert left["side_key"] == (version != "1.8.0"), left
        expected = left["jobs"]
        r = use(db)
        n = len(expected)
        some = next(iter(expected))
        # inspect reads the old pointer as the scan does: one verdict.
        code, j = jobq(db, "inspect", some, code=1)
        assert j["verdict"]["kind"] == "legacy_pointer", json.dumps(j)[:800]
        for deep in ([], ["--deep"]):
            code, j = jobq(db, "orphans", "scan", "--grace", "0", *deep, code=1)
            c = j["counts"]
            assert c["legacy_pointer"] == n and c["malformed"] == 0 and j["total"] == n, json.dumps(c)
        code, j = jobq(db, "reindex", "--yes", "--grace", "0", code=4)
        assert j["applied"] == 0, json.dumps(j.get("counts"))
        code, j = jobq(db, "reindex", "--yes", "--grace", "0", "--migrate-pointers", code=0)
        assert j["applied"] == n, json.dumps(j.get("counts"))
        code, j = jobq(db, "orphans", "scan", "--grace", "0", "--deep", code=0)
        leftovers = [k for k in r.keys(b"*") if b"\x00idxptr\x00" in k]
        assert not leftovers, leftovers[:3]
        for k in r.keys(b"Job:*"):
            assert b"status\x00idxset" not in r.hkeys(k), k
            assert r.get(ptr(k)) is not None, k
        assert_each_once(expected)
        for job in Job.query.all():
            new = STATUSES[(STATUSES.index(job.status) + 1) % 4]
            job.status = new
            job.save()
            expected[job.job_id] = new
        assert_each_once(expected)
        code, j = jobq(db, "orphans", "scan", "--grace", "0", code=0)

    return run


check("i1 popoto 1.10.1 writes while jobq scans: nothing confirmed", i1_no_false_finding_while_popoto_writes)
check("i2 damage and interrupted popoto found, repaired, read back by popoto", i2_damage_found_repaired_and_popoto_reads_it)
for spec in args.legacy:
    version, rest = spec.split("=", 1)
    db, path = rest.split(":", 1)
    check(f"i3 popoto {version}'s records reported, migrated, moved by 1.10.1", i3_legacy(version, int(db), path))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
