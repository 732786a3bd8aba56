"""Interop checks between the jobq binary and the real popoto 1.10.1.

  a. popoto reads what jobq wrote: jobq enqueues jobs with tricky values
     (single enqueue and --file JSON Lines) into db 1; popoto's query.get /
     query.filter / query.count return them with identical field values and
     check_indexes() reports nothing; popoto's reads change nothing in db 1.
  b. byte-level equality: popoto create()s the same jobs (same job_id, same
     field values) into db 2; both whole key spaces are dumped raw (SCAN, TYPE,
     HGETALL / SMEMBERS / ZRANGE WITHSCORES with a bytes client) and must be
     identical: keys, every hash field's bytes, every set and zset membership
     and score.  popoto accepts an explicit job_id (32 chars), so no job_id
     normalisation is needed.  Keys in jobq's own namespace ("jobq:", e.g. an
     audit stream) are reported as a note and left out of the comparison.
  c. jobq reads what popoto wrote: popoto creates jobs in db 3 and moves some
     the popoto way (job.status = X; job.save(migrate_key=True)); `jobq
     inspect JOB_ID --json` must show exactly one record, under popoto's key,
     with the same field values, no missing field, membership of exactly the
     four sets popoto wrote (class set, status index, project index, zset),
     and verdict kind "healthy".  Then one popoto job is damaged by hand (an
     orphan: removed from its status index, which popoto's check_indexes()
     does not see): jobq must exit 1 with verdict "orphan"; an unknown
     job_id must exit 1 with "found": false.
  d. reindex repairs what popoto reads: popoto 1.10.1 creates jobs (db 4),
     they are damaged by hand (orphan, multi_indexed, wrong_index,
     secondary_gap, field_mismatch, duplicate, dangling); after `jobq
     reindex --yes --prefer key --duplicates keep-latest` popoto loads every
     job with the right status and check_indexes() finds nothing.
  e. popoto 0.9.0's residue (made by damage_090.py with the real 0.9.0,
     which run.sh runs first into db 5) is found as stale_key findings, and
     after `jobq reindex` popoto 1.10.1's check_indexes() finds nothing.
  g. popoto reads what `jobq retry` and `jobq delete` did: popoto creates
     jobs in db 7 and fails some; retry moves them back, delete removes the
     completed ones; popoto loads each retried job as pending with its other
     fields kept, finds no deleted one, and check_indexes() reports nothing.
  f. popoto reads what `jobq reap` moved: popoto creates jobs in db 6 and
     moves them to running the popoto way; `jobq reap --once --all --yes`
     gives them back; popoto's query.get loads each as pending with priority
     "high" and every other field unchanged, filter(status=...) and count()
     agree, and check_indexes() reports nothing.
  h. the other status layout (model.Job: status = IndexedField): jobq's
     enqueue is byte for byte popoto's create (db 8 vs db 9: records, hash
     field order, $IndexF sets, $IdxPtr pointers); popoto loads and filters
     what jobq wrote; jobq inspect reads popoto's records and pointers; after
     popoto moves jobs in place, jobq reap / retry / delete leave every job
     found once by Job.query.filter(status=...) with the right status, no
     pointer of a deleted record, and check_indexes() reporting nothing.
  i. popoto finds no job `jobq prune` deleted (db 10) and check_indexes()
     reports nothing; after `jobq restore` popoto loads each with identical
     fields and check_indexes() is still clean.
b runs before a's popoto reads, since popoto 1.9+ readers repair dangling
index members they meet (a then also checks that they changed nothing).

Every check prints `ok: <name>` or `FAIL: <name>: <details>`; the last line
is `N passed, M failed`; the exit code is 1 if anything failed.

Usage (run.sh does all this; the Redis must be a throwaway one you started):
    python check.py --jobq /path/to/jobq --url-base redis://127.0.0.1:PORT
`--jobq` is split like a shell command line, so `--jobq "python fake_jobq.py"`
works (that is run.sh --self-test).
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack

DB_JOBQ, DB_POPOTO, DB_INSPECT, DB_REPAIR, DB_REAP = 1, 2, 3, 4, 6  # 5: --db-090
DB_ADMIN = 7
DB_INDEXED_JOBQ, DB_INDEXED_POPOTO = 8, 9
DB_PRUNE = 10
JOBQ_NAMESPACE_PREFIX = b"jobq:"  # jobq's own keys (--namespace default "jobq")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def db_url(base: str, db: int) -> str:
    """redis://host:port + db -> redis://host:port/db; unix:///p -> unix:///p?db=N."""
    if base.startswith("unix://"):
        return f"{base}?db={db}"
    return f"{base.rstrip('/')}/{db}"


# Point model.py (popoto) at our server before it is imported.
_args_probe = argparse.ArgumentParser(add_help=False)
_args_probe.add_argument("--url-base")
_known, _ = _args_probe.parse_known_args()
if _known.url_base:
    os.environ["JOBQ_INTEROP_URL"] = db_url(_known.url_base, DB_POPOTO)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402
from model import FIELDS, JOB_FIELDS, JOB_SCHEMA, Job, RedisJob  # noqa: E402


# ---------------------------------------------------------------- reporting

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print(f"ok: {name}", flush=True)

    def fail(self, name, details):
        self.failed += 1
        details = str(details).replace("\n", "\n    ")
        print(f"FAIL: {name}: {details}", flush=True)

    def check(self, name, problems):
        """problems: list of strings; empty means ok."""
        if problems:
            self.fail(name, "; ".join(problems) if len(problems) < 4
                      else "\n" + "\n".join(problems))
        else:
            self.ok(name)

    def note(self, text):
        print(f"note: {text}", flush=True)


def guarded(report, name, fn, *args):
    """Run fn; an unexpected exception is a FAIL of `name`, not a crash."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        tb = traceback.format_exc(limit=3).strip().splitlines()
        report.fail(name, f"{type(exc).__name__}: {exc} ({' | '.join(tb[-3:])})")
        return None


# ---------------------------------------------------------------- layout helpers
# Written from LAYOUT.md, independently of popoto and jobq.

def esc(value: str) -> str:
    value = value.replace("/", "//")
    for ch in "'?*^[]-":
        value = value.replace(ch, "/" + ch)
    value = value.replace("{&#58;}", "/{&#58;}")
    return value.replace(":", "{&#58;}")


def record_key(job_id, project_key, status) -> str:
    return f"RedisJob:{esc(job_id)}:{esc(project_key)}:{esc(status)}"


def show(b) -> str:
    """Bytes for a human: text if printable UTF-8, else hex."""
    if isinstance(b, (bytes, bytearray)):
        try:
            s = b.decode("utf-8")
            if s.isprintable():
                return repr(s)
        except UnicodeDecodeError:
            pass
        return "hex:" + b.hex()
    return repr(b)


# ---------------------------------------------------------------- key space dump

def dump_keyspace(client) -> dict:
    """{key: (type, content)} for every key, all raw bytes: hash -> {field: value},
    set -> frozenset, zset -> {member: score}, string -> bytes, list -> list,
    stream -> list of entries' field maps."""
    out = {}
    for key in client.scan_iter(count=1000):
        typ = client.type(key).decode()
        if typ == "hash":
            content = client.hgetall(key)
        elif typ == "set":
            content = frozenset(client.smembers(key))
        elif typ == "zset":
            content = dict(client.zrange(key, 0, -1, withscores=True))
        elif typ == "string":
            content = client.get(key)
        elif typ == "list":
            content = client.lrange(key, 0, -1)
        elif typ == "stream":
            content = [fields for _id, fields in client.xrange(key)]
        else:
            content = None
        out[key] = (typ, content)
    return out


def hash_field_order(client, key) -> list:
    return list(client.hgetall(key).keys())


def diff_keyspaces(left: dict, right: dict, lname: str, rname: str) -> list:
    """Human-readable differences between two dumps (empty list if equal)."""
    problems = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            problems.append(f"key {show(key)} ({left[key][0]}) only in {lname}")
            continue
        if key not in left:
            problems.append(f"key {show(key)} ({right[key][0]}) only in {rname}")
            continue
        (lt, lc), (rt, rc) = left[key], right[key]
        if lt != rt:
            problems.append(f"key {show(key)}: type {lt} in {lname}, {rt} in {rname}")
            continue
        if lc == rc:
            continue
        if lt == "hash":
            for f in sorted(set(lc) | set(rc)):
                lv, rv = lc.get(f), rc.get(f)
                if lv != rv:
                    problems.append(
                        f"hash {show(key)} field {show(f)}: {lname}="
                        f"{'missing' if lv is None else 'hex:' + lv.hex()} "
                        f"{rname}={'missing' if rv is None else 'hex:' + rv.hex()}")
        elif lt == "set":
            for m in sorted(lc - rc):
                problems.append(f"set {show(key)}: member {show(m)} only in {lname}")
            for m in sorted(rc - lc):
                problems.append(f"set {show(key)}: member {show(m)} only in {rname}")
        elif lt == "zset":
            for m in sorted(set(lc) | set(rc)):
                if lc.get(m) != rc.get(m):
                    problems.append(f"zset {show(key)} member {show(m)}: score "
                                    f"{lname}={lc.get(m)!r} {rname}={rc.get(m)!r}")
        else:
            problems.append(f"{lt} {show(key)}: {lname}={lc!r} {rname}={rc!r}")
    return problems


# ---------------------------------------------------------------- jobq driver

class Jobq:
    def __init__(self, cmd: list):
        self.cmd = cmd

    def run(self, url: str, args: list, codes=(0,)) -> dict:
        """Run jobq; return its stdout parsed as one JSON object, or raise
        (also when the exit code is not one of `codes`)."""
        full = self.cmd + ["--url", url] + args
        proc = subprocess.run(full, capture_output=True, text=True, timeout=120)
        if proc.returncode not in codes:
            raise RuntimeError(
                f"`{' '.join(shlex.quote(a) for a in full)}` exited "
                f"{proc.returncode}; stderr: {proc.stderr.strip()[-800:]!r}; "
                f"stdout: {proc.stdout.strip()[-400:]!r}")
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"stdout is not one JSON object ({exc}): "
                               f"{proc.stdout[:400]!r}") from None


# ---------------------------------------------------------------- the cases

T0 = 1767225600.5  # 2026-01-01T00:00:00.5Z
LONG = ("0123456789 abcdefghij ABCDEFGHIJ :*?[]^-/'{} " * 7)[:300]
assert len(LONG) == 300

# created_at: a float, an int, or None meaning "not given: jobq uses now".
# priority None means "not given": jobq and popoto must both default to "normal".
CASES = [
    # via single enqueue
    dict(name="colon-project", via="single", project_key="team:ops-1", status="pending",
         priority="high", message_text="deploy: step 1/2", created_at=T0),
    dict(name="date-project", via="single", project_key="2026-01-01", status="running",
         priority="normal", message_text="", created_at=T0 + 1.25),
    dict(name="glob-project", via="single", project_key="a*b?c", status="completed",
         priority="low", message_text=LONG, created_at=T0 + 2),
    dict(name="literal-escape", via="single", project_key="{&#58;}", status="failed",
         priority="high", message_text="literal {&#58;} and a : colon", created_at=T0 + 3.75),
    dict(name="slash-default-priority", via="single", project_key="x/y", status="pending",
         priority=None, message_text="a/b//c", created_at=T0 + 4),
    dict(name="unicode-now", via="single", project_key="café", status="pending",
         priority="low", message_text="naïve ✓ 日本語 \U0001F680", created_at=None),
    dict(name="explicit-job-id", via="single", project_key="team:ops-1", status="completed",
         priority="normal", message_text="given id", created_at=1767225600,
         job_id="0123456789abcdef0123456789abcdef"),
    # via --file (JSON Lines)
    dict(name="file-colon", via="file", project_key="team:ops-1", status="running",
         priority="low", message_text="from file", created_at=T0 + 10.5),
    dict(name="file-brackets", via="file", project_key="a'b^c[d]-e", status="failed",
         priority="normal", message_text='quotes "x" \'y\' and\nnewline\ttab', created_at=T0 + 11),
    dict(name="file-unicode", via="file", project_key="café", status="completed",
         priority="high", message_text="", created_at=T0 + 12.125),
    dict(name="file-int-time", via="file", project_key="x/y", status="pending",
         priority="high", message_text="integral created_at", created_at=1767225700),
]


def enqueue_args(case) -> list:
    args = ["enqueue", "--project", case["project_key"], "--message", case["message_text"],
            "--status", case["status"]]
    if case["priority"] is not None:
        args += ["--priority", case["priority"]]
    if case["created_at"] is not None:
        args += ["--set", f"created_at={case['created_at']!r}"]
    if case.get("job_id"):
        args += ["--job-id", case["job_id"]]
    return args + ["--json"]


def file_line(case) -> str:
    obj = {"project_key": case["project_key"], "message_text": case["message_text"],
           "status": case["status"]}
    if case["priority"] is not None:
        obj["priority"] = case["priority"]
    if case["created_at"] is not None:
        obj["created_at"] = case["created_at"]
    return json.dumps(obj, ensure_ascii=False)


def check_enqueue_entry(case, entry) -> list:
    problems = []
    job_id = entry.get("job_id")
    if not isinstance(job_id, str) or not HEX32.match(job_id):
        return [f"job_id {job_id!r} is not 32 lowercase hex chars"]
    if case.get("job_id") and job_id != case["job_id"]:
        problems.append(f"job_id {job_id} != --job-id {case['job_id']}")
    want = record_key(job_id, case["project_key"], case["status"])
    if entry.get("key") != want:
        problems.append(f"key {entry.get('key')!r} != expected {want!r}")
    if entry.get("created") is not True:
        problems.append(f"created={entry.get('created')!r}, expected true")
    return problems


def check_envelope(out, command) -> list:
    problems = []
    if out.get("schema") != 1:
        problems.append(f"schema={out.get('schema')!r}, expected 1")
    if out.get("command") != command:
        problems.append(f"command={out.get('command')!r}, expected {command!r}")
    return problems


def run_enqueues(report, jobq, url, tmpdir):
    """Enqueue every case with jobq into `url`; fill case['id']. Returns (t_before, t_after)."""
    t_before = time.time()
    for case in [c for c in CASES if c["via"] == "single"]:
        name = f"a.enqueue[{case['name']}]"
        try:
            out = jobq.run(url, enqueue_args(case))
        except Exception as exc:  # noqa: BLE001
            report.fail(name, exc)
            continue
        jobs = out.get("jobs")
        problems = check_envelope(out, "enqueue")
        if not isinstance(jobs, list) or len(jobs) != 1:
            problems.append(f"expected jobs=[one entry], got {jobs!r}")
        else:
            problems += check_enqueue_entry(case, jobs[0])
            if HEX32.match(str(jobs[0].get("job_id"))):
                case["id"] = jobs[0]["job_id"]
        report.check(name, problems)

    file_cases = [c for c in CASES if c["via"] == "file"]
    path = os.path.join(tmpdir, "jobs.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        for case in file_cases:
            fh.write(file_line(case) + "\n")
    name = f"a.enqueue-file[{len(file_cases)} lines]"
    try:
        out = jobq.run(url, ["enqueue", "--file", path, "--json"])
        jobs = out.get("jobs")
        problems = check_envelope(out, "enqueue")
        if not isinstance(jobs, list) or len(jobs) != len(file_cases):
            problems.append(f"expected {len(file_cases)} jobs entries, got {jobs!r}")
        else:
            for case, entry in zip(file_cases, jobs):
                p = check_enqueue_entry(case, entry)
                problems += [f"line for {case['name']}: {x}" for x in p]
                if HEX32.match(str(entry.get("job_id"))):
                    case["id"] = entry["job_id"]
        report.check(name, problems)
    except Exception as exc:  # noqa: BLE001
        report.fail(name, exc)
    return t_before, time.time()


# ---------------------------------------------------------------- check a

MISSING = object()


def compare_fields(case, got: dict, t_window=None) -> list:
    problems = []
    want = {"job_id": case["id"], "project_key": case["project_key"], "status": case["status"],
            "priority": case["priority"] or "normal", "message_text": case["message_text"]}
    for f, v in want.items():
        g = got.get(f, MISSING)
        if g is MISSING or g != v:
            problems.append(f"{f}: got {'nothing' if g is MISSING else repr(g)}, expected {v!r}")
    ca = got.get("created_at")
    if case["created_at"] is None:
        lo, hi = t_window
        if not isinstance(ca, (int, float)) or not (lo - 5 <= ca <= hi + 5):
            problems.append(f"created_at {ca!r} is not the enqueue time ({lo:.1f}..{hi:.1f})")
    elif not isinstance(ca, (int, float)) or isinstance(ca, bool) or ca != case["created_at"]:
        problems.append(f"created_at: got {ca!r}, expected {float(case['created_at'])!r}")
    return problems


def check_a(report, cases, url, t_window):
    """popoto reads what jobq wrote (db DB_JOBQ)."""
    model.connect(url)
    for case in cases:
        def one(case=case):
            job = RedisJob.query.get(job_id=case["id"])
            if job is None:
                return [f"query.get(job_id={case['id']}) returned None"]
            problems = compare_fields(case, model.fields_of(job), t_window)
            if not isinstance(job.created_at, float):
                problems.append(f"created_at loads as {type(job.created_at).__name__}, not float")
            return problems
        res = guarded(report, f"a.get[{case['name']}]", one)
        if res is not None:
            report.check(f"a.get[{case['name']}]", res)

    def filter_check(kind, value, expected_ids):
        name = f"a.filter-{kind}[{value}]"
        def run():
            got = list(RedisJob.query.filter(**{kind: value}))
            got_ids = sorted(j.job_id for j in got)
            problems = []
            if got_ids != sorted(expected_ids):
                problems.append(f"filter({kind}={value!r}) -> {got_ids}, expected "
                                f"{sorted(expected_ids)}")
            for j in got:
                if getattr(j, kind) != value:
                    problems.append(f"{j.job_id}: {kind}={getattr(j, kind)!r}")
            return problems
        res = guarded(report, name, run)
        if res is not None:
            report.check(name, res)

    for status in ("pending", "running", "completed", "failed"):
        filter_check("status", status, [c["id"] for c in cases if c["status"] == status])
    for project in sorted({c["project_key"] for c in cases}):
        filter_check("project_key", project, [c["id"] for c in cases if c["project_key"] == project])

    n = guarded(report, "a.count", RedisJob.query.count)
    if n is not None:
        report.check("a.count", [] if n == len(cases) else
                     [f"query.count()={n}, expected {len(cases)}"])

    res = guarded(report, "a.check_indexes", RedisJob.check_indexes)
    if res is not None:
        problems = []
        if res.get("total") != 0:
            problems.append(f"check_indexes() total={res.get('total')}: {res}")
        if res.get("partial_writes"):
            problems.append(f"partial_writes={res['partial_writes']}")
        report.check("a.check_indexes", problems)


# ---------------------------------------------------------------- check b

def check_b(report, cases, url_jobq, url_popoto, raw_jobq, raw_popoto, dump_jobq):
    """Same values through popoto create() into db DB_POPOTO; compare raw bytes."""
    model.connect(url_popoto)
    for case in cases:
        kwargs = {"job_id": case["id"], "project_key": case["project_key"],
                  "status": case["status"], "message_text": case["message_text"]}
        if case["priority"] is not None:
            kwargs["priority"] = case["priority"]
        if case["created_at"] is not None:
            kwargs["created_at"] = case["created_at"]
        else:  # jobq chose "now": give popoto the value jobq stored
            raw = raw_jobq.hget(case["key"], "created_at")
            kwargs["created_at"] = msgpack.unpackb(raw) if raw is not None else time.time()
        guarded(report, f"b.popoto-create[{case['name']}]", lambda kw=kwargs: RedisJob.create(**kw))

    dump_popoto = dump_keyspace(raw_popoto)
    own = {k: v for k, v in dump_jobq.items() if k.startswith(JOBQ_NAMESPACE_PREFIX)}
    if own:
        report.note(f"db {DB_JOBQ} also holds jobq's own keys, not compared: "
                    + ", ".join(f"{show(k)} ({t})" for k, (t, _) in sorted(own.items())))
    dump_j = {k: v for k, v in dump_jobq.items() if k not in own}

    # per record: its hash and its memberships, for a focused message
    for case in cases:
        key = case["key"].encode()
        lj = {k: v for k, v in dump_j.items() if k == key or
              (v[0] in ("set", "zset") and key in v[1])}
        lp = {k: v for k, v in dump_popoto.items() if k == key or
              (v[0] in ("set", "zset") and key in v[1])}
        # restrict the sets to this member so other jobs do not show up here
        def only(d):
            out = {}
            for k, (t, c) in d.items():
                if t == "set":
                    out[k] = (t, frozenset([key]) & c)
                elif t == "zset":
                    out[k] = (t, {key: c[key]})
                else:
                    out[k] = (t, c)
            return out
        report.check(f"b.record[{case['name']}]",
                     diff_keyspaces(only(lj), only(lp), "jobq", "popoto"))
        # HGETALL order is the HSET order only while a hash is a listpack (a
        # field over 64 bytes makes it a hashtable, whose order is arbitrary)
        if (key in dump_j and key in dump_popoto and dump_j[key][0] == "hash"
                and raw_jobq.object("encoding", key) == raw_popoto.object("encoding", key)
                == b"listpack"):
            oj, op = hash_field_order(raw_jobq, key), hash_field_order(raw_popoto, key)
            if oj != op:
                report.note(f"hash field order differs for {case['name']}: jobq "
                            f"{[x.decode() for x in oj]} popoto {[x.decode() for x in op]} "
                            "(harmless for popoto; LAYOUT.md says declaration order)")

    report.check(f"b.keyspace[db{DB_JOBQ}-jobq == db{DB_POPOTO}-popoto]",
                 diff_keyspaces(dump_j, dump_popoto, f"db{DB_JOBQ}(jobq)",
                                f"db{DB_POPOTO}(popoto)"))


# ---------------------------------------------------------------- check c

C_CASES = [
    dict(name="c-pending-colon", project_key="team:ops-1", status="pending", priority="high",
         message_text="hello: world", created_at=T0),
    dict(name="c-moved-running", project_key="2026-01-01", status="pending", priority="normal",
         message_text="to be moved", created_at=T0 + 1, move_to="running", move_via="create"),
    dict(name="c-moved-completed-loaded", project_key="a*b?c", status="running",
         priority="low", message_text=LONG, created_at=T0 + 2, move_to="completed",
         move_via="get"),
    dict(name="c-literal-escape-none-message", project_key="{&#58;}", status="failed",
         priority="low", message_text=None, created_at=1767225600),
    dict(name="c-unicode-default-priority", project_key="café/x", status="pending",
         priority=None, message_text="ünï ✓", created_at=T0 + 4.25),
]


def check_c(report, jobq, url, raw):
    """popoto writes (db DB_INSPECT), jobq inspect reads."""
    model.connect(url)
    for case in C_CASES:
        kwargs = {k: case[k] for k in ("project_key", "status", "message_text", "created_at")}
        if case["priority"] is not None:
            kwargs["priority"] = case["priority"]
        job = guarded(report, f"c.popoto-create[{case['name']}]",
                      lambda kw=kwargs: RedisJob.create(**kw))
        if job is None:
            continue
        case["id"] = job.job_id
        if case.get("move_to"):
            def move(job=job, case=case):
                j = job if case["move_via"] == "create" else RedisJob.query.get(job_id=job.job_id)
                j.status = case["move_to"]
                j.save(migrate_key=True)  # plain save() raises KeyMutationError in 1.10.1
                return True
            if guarded(report, f"c.popoto-move[{case['name']}]", move):
                case["status"] = case["move_to"]

    res = guarded(report, "c.popoto-check_indexes", RedisJob.check_indexes)
    if res is not None:
        report.check("c.popoto-check_indexes",
                     [] if res.get("total") == 0 else [f"popoto's own data is not clean: {res}"])

    for case in [c for c in C_CASES if "id" in c]:
        name = f"c.inspect[{case['name']}]"
        try:
            out = jobq.run(url, ["inspect", case["id"], "--json"])
        except Exception as exc:  # noqa: BLE001
            report.fail(name, exc)
            continue
        problems = check_envelope(out, "inspect")
        if out.get("job_id") != case["id"]:
            problems.append(f"job_id={out.get('job_id')!r}, expected {case['id']!r}")
        recs = out.get("records")
        want_key = record_key(case["id"], case["project_key"], case["status"])
        if not isinstance(recs, list) or len(recs) != 1:
            problems.append(f"expected exactly 1 record, got {recs!r}")
        else:
            if recs[0].get("key") != want_key:
                problems.append(f"record key {recs[0].get('key')!r} != {want_key!r}")
            fields = recs[0].get("fields") or {}
            problems += compare_fields(case, fields)
            extra = set(fields) - set(FIELDS)
            if extra:
                problems.append(f"unexpected fields {sorted(extra)}")
            if recs[0].get("type") != "hash":
                problems.append(f"type {recs[0].get('type')!r}, expected 'hash'")
            if recs[0].get("missing_fields") != []:
                problems.append(f"missing_fields {recs[0].get('missing_fields')!r}, expected []")
            want_sets = {"$Class:RedisJob", f"$KeyF:RedisJob:status:{esc(case['status'])}",
                         f"$KeyF:RedisJob:project_key:{esc(case['project_key'])}",
                         "$SortF:RedisJob:created_at"}
            got_sets = recs[0].get("member_of")
            if not isinstance(got_sets, list) or set(got_sets) != want_sets:
                problems.append(f"member_of {got_sets!r}, expected {sorted(want_sets)}")
        if out.get("found") is not True:
            problems.append(f"found={out.get('found')!r}, expected true")
        verdict = out.get("verdict") or {}
        if verdict.get("kind") != "healthy":
            problems.append(f"verdict {verdict!r}, expected kind 'healthy'")
        report.check(name, problems)

    # Damage popoto's own check_indexes() cannot see: jobq must.
    victim = next((c for c in C_CASES if "id" in c and c["status"] == "pending"), None)
    if victim is not None:
        name = "c.inspect-orphan"
        key = record_key(victim["id"], victim["project_key"], victim["status"])
        try:
            raw.srem(f"$KeyF:RedisJob:status:{esc(victim['status'])}", key)
            out = jobq.run(url, ["inspect", victim["id"], "--json"], codes=(1,))
            verdict = out.get("verdict") or {}
            report.check(name, [] if verdict.get("kind") == "orphan" else
                         [f"verdict {verdict!r}, expected kind 'orphan' (and exit 1)"])
        except Exception as exc:  # noqa: BLE001
            report.fail(name, exc)
    name = "c.inspect-unknown"
    try:
        out = jobq.run(url, ["inspect", "f" * 32, "--json"], codes=(1,))
        problems = check_envelope(out, "inspect")
        if out.get("found") is not False:
            problems.append(f"found={out.get('found')!r}, expected false (and exit 1)")
        report.check(name, problems)
    except Exception as exc:  # noqa: BLE001
        report.fail(name, exc)


# ---------------------------------------------------------------- main

# ---------------------------------------------------------------- d. repair
# Damage built by hand (raw commands, as LAYOUT.md's damage table) on jobs
# popoto created; after `jobq reindex` popoto must load every job with the
# right status, and its own check_indexes() must find nothing.

def check_d(report, jobq, url, raw):
    model.connect(url)
    jobs = {}
    for i, name in enumerate(["orphan", "multi", "wrong", "gap", "mismatch",
                              "dup", "running", "ghost"]):
        job = guarded(report, f"d.popoto-create[{name}]",
                      lambda i=i, name=name: RedisJob.create(
                          project_key="repair", status="pending",
                          message_text=f"d {name}", created_at=T0 + i))
        if job is not None:
            jobs[name] = job
    if len(jobs) < 8:
        return
    def move(job, to):
        job.status = to
        job.save(migrate_key=True)
    move(jobs["running"], "running")
    key = {n: record_key(j.job_id, "repair", j.status) for n, j in jobs.items()}
    pending, running, failed = (f"$KeyF:RedisJob:status:{s}" for s in ("pending", "running", "failed"))
    raw.srem(pending, key["orphan"])
    raw.sadd(failed, key["multi"])
    raw.smove(pending, running, key["wrong"])
    raw.srem("$KeyF:RedisJob:project_key:repair", key["gap"])
    raw.zrem("$SortF:RedisJob:created_at", key["gap"])
    raw.hset(key["mismatch"], "status", msgpack.packb("failed"))
    # A second, further-along record of "dup" (popoto 1.0.x could leave one).
    guarded(report, "d.popoto-create[dup-completed]",
            lambda: RedisJob.create(job_id=jobs["dup"].job_id, project_key="repair",
                                    status="completed", message_text="d dup", created_at=T0 + 5))
    # A ghost: the hash is gone, every set still holds it.
    raw.delete(key["ghost"])
    expected = {n: ("running" if n == "running" else "completed" if n == "dup" else "pending")
                for n in jobs if n != "ghost"}

    out = guarded(report, "d.jobq-reindex", jobq.run, url,
                  ["--json", "reindex", "--yes", "--grace", "0", "--prefer", "key",
                   "--duplicates", "keep-latest"])
    if out is None:
        return
    problems = []
    applied = {k: v["applied"] for k, v in out["counts"].items() if v["applied"]}
    want = {"orphan": 1, "multi_indexed": 1, "wrong_index": 1, "secondary_gap": 1,
            "field_mismatch": 1, "duplicate": 1, "dangling": 1}
    if applied != want:
        problems.append(f"applied per kind {applied}, expected {want}")
    report.check("d.reindex-applied-each-repair", problems)

    problems = []
    for name, status in expected.items():
        job = RedisJob.query.get(job_id=jobs[name].job_id)
        if job is None:
            problems.append(f"{name}: popoto cannot load it")
        elif job.status != status:
            problems.append(f"{name}: status {job.status!r}, expected {status!r}")
        elif job.message_text != f"d {name}":
            problems.append(f"{name}: message_text {job.message_text!r}")
    for status in ("pending", "running", "completed", "failed"):
        got = sorted(j.job_id for j in RedisJob.query.filter(status=status))
        want_ids = sorted(jobs[n].job_id for n, s in expected.items() if s == status)
        if got != want_ids:
            problems.append(f"filter(status={status!r}) gives {len(got)} job(s), expected {len(want_ids)}")
    report.check("d.popoto-loads-repaired-jobs", problems)
    result = RedisJob.check_indexes(batch_size=1000)
    report.check("d.popoto-check-indexes-clean",
                 [] if result.get("total", 1) == 0 else [f"check_indexes() = {result}"])


# ---------------------------------------------------------------- e. popoto 0.9
# The residue popoto 0.9.0's non-atomic status changes leave (made by
# damage_090.py with the real popoto 0.9.0, run.sh runs it first) is found
# with the right kind, and repaired so that popoto 1.10.1 sees a clean queue.

def check_e(report, jobq, url, residue):
    want = sorted({m["member"] for j in residue["jobs"] for m in j["residue"]})
    out = guarded(report, "e.jobq-scan-090-residue", jobq.run, url,
                  ["--json", "orphans", "scan", "--grace", "0"], (0, 1))
    if out is None:
        return
    got = sorted(f["key"] for f in out["findings"] if f["kind"] == "stale_key")
    others = [f"{f['kind']} {f['key']}" for f in out["findings"] if f["kind"] != "stale_key"]
    problems = []
    if got != want:
        problems.append(f"stale_key findings {got}, residue {want}")
    if others:
        problems.append(f"other findings: {others}")
    report.check("e.scan-finds-090-residue-as-stale-keys", problems)
    guarded(report, "e.jobq-reindex-090", jobq.run, url, ["--json", "reindex", "--yes", "--grace", "0"])
    model.connect(url)
    result = RedisJob.check_indexes(batch_size=1000)
    report.check("e.popoto-check-indexes-clean-after-repair",
                 [] if result.get("total", 1) == 0 else [f"check_indexes() = {result}"])
    again = guarded(report, "e.jobq-rescan", jobq.run, url, ["--json", "orphans", "scan", "--grace", "0"])
    if again is not None:
        report.check("e.rescan-clean", [] if again["total"] == 0 else [str(again["counts"])])


# ---------------------------------------------------------------- f. reap

F_CASES = [
    dict(name="f-colon-project", project_key="team:ops-1", priority="low",
         message_text="reap me: step 1/2", created_at=T0 + 20.5),
    dict(name="f-glob-none-message", project_key="a*b?c", priority="normal",
         message_text=None, created_at=1767225700),
    dict(name="f-unicode-long", project_key="café/x", priority="high",
         message_text=LONG, created_at=T0 + 21.25),
]


def check_f(report, jobq, url, raw):
    """popoto moves jobs to running (db DB_REAP); jobq reap requeues; popoto reads."""
    model.connect(url)
    running = []
    for case in F_CASES:
        def start(case=case):
            job = RedisJob.create(project_key=case["project_key"], status="pending",
                                  priority=case["priority"], message_text=case["message_text"],
                                  created_at=case["created_at"])
            # a worker takes it: popoto's own status change
            job = RedisJob.query.get(job_id=job.job_id)
            job.status = "running"
            job.save(migrate_key=True)
            loaded = RedisJob.query.get(job_id=job.job_id)
            if loaded is None or loaded.status != "running":
                raise RuntimeError(f"popoto did not move {job.job_id} to running: {loaded!r}")
            case["id"] = job.job_id
            case["before"] = model.fields_of(loaded)
            return True
        if guarded(report, f"f.popoto-start[{case['name']}]", start):
            running.append(case)
    if not running:
        return

    name = "f.reap"
    try:
        out = jobq.run(url, ["reap", "--once", "--all", "--yes", "--json"])
    except Exception as exc:  # noqa: BLE001
        report.fail(name, exc)
        return
    problems = check_envelope(out, "reap")
    counts = out.get("counts") or {}
    if counts.get("to_pending") != len(running):
        problems.append(f"counts.to_pending={counts.get('to_pending')!r}, expected {len(running)}")
    moved = {m.get("job_id"): m for m in out.get("moved") or []}
    for case in running:
        m = moved.get(case["id"])
        if m is None:
            problems.append(f"{case['id']} is not in moved")
            continue
        want_old = record_key(case["id"], case["project_key"], "running")
        want_new = record_key(case["id"], case["project_key"], "pending")
        if m.get("old_key") != want_old or m.get("new_key") != want_new or m.get("to") != "pending":
            problems.append(f"moved entry {m!r}, expected {want_old!r} -> {want_new!r}")
    report.check(name, problems)

    for case in running:
        def one(case=case):
            job = RedisJob.query.get(job_id=case["id"])
            if job is None:
                return [f"query.get(job_id={case['id']}) returned None"]
            got = model.fields_of(job)
            want = dict(case["before"], status="pending", priority="high")
            problems = [f"{f}: got {got.get(f)!r}, expected {v!r}"
                        for f, v in want.items() if got.get(f) != v]
            if not isinstance(job.created_at, float):
                problems.append(f"created_at loads as {type(job.created_at).__name__}, not float")
            if raw.exists(record_key(case["id"], case["project_key"], "running")):
                problems.append("the running record is still there")
            return problems
        res = guarded(report, f"f.get[{case['name']}]", one)
        if res is not None:
            report.check(f"f.get[{case['name']}]", res)

    def filters():
        ids = sorted(c["id"] for c in running)
        pending = sorted(j.job_id for j in RedisJob.query.filter(status="pending"))
        still = [j.job_id for j in RedisJob.query.filter(status="running")]
        problems = []
        if pending != ids:
            problems.append(f"filter(status='pending') -> {pending}, expected {ids}")
        if still:
            problems.append(f"filter(status='running') -> {still}, expected []")
        if RedisJob.query.count() != len(running):
            problems.append(f"query.count()={RedisJob.query.count()}, expected {len(running)}")
        return problems
    res = guarded(report, "f.filter", filters)
    if res is not None:
        report.check("f.filter", res)

    res = guarded(report, "f.check_indexes", RedisJob.check_indexes)
    if res is not None:
        report.check("f.check_indexes",
                     [] if res.get("total") == 0 else [f"check_indexes() after reap: {res}"])


def check_g(report, jobq, url, raw):
    """popoto creates jobs and fails some (db DB_ADMIN); `jobq retry` moves the
    failed ones back; `jobq delete` removes the completed ones; popoto loads
    every retried job as pending with its other fields kept, finds no deleted
    one, and its check_indexes() reports nothing."""
    model.connect(url)
    made = {}
    for i, status in enumerate(["failed", "failed", "failed", "completed", "completed", "pending"]):
        def make(i=i, status=status):
            job = RedisJob.create(project_key=f"admin{i % 2}", status="pending",
                                  priority="low", message_text=f"admin job {i}: caf\u00e9",
                                  created_at=1767225600.5 + i)
            if status != "pending":
                job = RedisJob.query.get(job_id=job.job_id)
                job.status = status
                job.save(migrate_key=True)
            loaded = RedisJob.query.get(job_id=job.job_id)
            made[loaded.job_id] = (status, model.fields_of(loaded))
            return True
        guarded(report, f"g.popoto-create[{i}]", make)
    failed = sorted(j for j, (s, _) in made.items() if s == "failed")
    completed = sorted(j for j, (s, _) in made.items() if s == "completed")

    out = guarded(report, "g.jobq-retry", jobq.run, url, ["--json", "retry", "--yes"])
    if out is not None:
        problems = check_envelope(out, "retry")
        if (out.get("counts") or {}).get("applied") != len(failed):
            problems.append(f"counts {out.get('counts')!r}, expected {len(failed)} applied")
        report.check("g.jobq-retry", problems)
    out = guarded(report, "g.jobq-delete", jobq.run, url, ["--json", "delete", "--yes", *completed])
    if out is not None:
        problems = check_envelope(out, "delete")
        if (out.get("counts") or {}).get("applied") != len(completed):
            problems.append(f"counts {out.get('counts')!r}, expected {len(completed)} applied")
        report.check("g.jobq-delete", problems)

    def loads():
        problems = []
        for job_id in failed:
            job = RedisJob.query.get(job_id=job_id)
            if job is None:
                problems.append(f"retried {job_id}: query.get returned None")
                continue
            got = model.fields_of(job)
            want = dict(made[job_id][1], status="pending")
            problems += [f"{job_id} {f}: got {got.get(f)!r}, expected {v!r}"
                         for f, v in want.items() if got.get(f) != v]
        for job_id in completed:
            if RedisJob.query.get(job_id=job_id) is not None:
                problems.append(f"deleted {job_id}: popoto still loads it")
        pending = sorted(j.job_id for j in RedisJob.query.filter(status="pending"))
        want = sorted(failed + [j for j, (s, _) in made.items() if s == "pending"])
        if pending != want:
            problems.append(f"filter(status='pending') -> {pending}, expected {want}")
        for status in ("failed", "completed"):
            left = [j.job_id for j in RedisJob.query.filter(status=status)]
            if left:
                problems.append(f"filter(status={status!r}) -> {left}, expected []")
        if RedisJob.query.count() != len(made) - len(completed):
            problems.append(f"query.count()={RedisJob.query.count()}, expected {len(made) - len(completed)}")
        return problems
    res = guarded(report, "g.popoto-loads", loads)
    if res is not None:
        report.check("g.popoto-loads", res)
    res = guarded(report, "g.check_indexes", RedisJob.check_indexes)
    if res is not None:
        report.check("g.check_indexes",
                     [] if res.get("total") == 0 else [f"check_indexes() after retry/delete: {res}"])


def check_h(report, jobq, url_j, raw_j, url_p, raw_p, tmp):
    """The status as an IndexedField (model.Job, LAYOUT.md's last section).
    h.bytes: jobq enqueues jobs (a given job_id: the guarded script; none: the
    MULTI) into db DB_INDEXED_JOBQ, popoto 1.10.1 creates the same jobs into
    DB_INDEXED_POPOTO: both key spaces (records, hash field order, $IndexF
    sets, $IdxPtr pointers, class, key-field and sorted sets) are identical.
    h.popoto-loads-jobq: popoto loads and filters what jobq wrote.
    h.jobq-reads-popoto: `jobq inspect` shows popoto's record, its field
    values and its pointer naming the set it is in.
    h.reap / h.retry / h.delete: popoto moves jobs in place; jobq reaps the
    running ones, retries the failed ones, deletes the completed ones; popoto's
    Job.query.filter(status=...) then finds every job once, with the right
    status, and none deleted; check_indexes() reports nothing."""
    schema = os.path.join(tmp, "job.toml")
    with open(schema, "w") as f:
        f.write(JOB_SCHEMA)
    jq = ["--schema", schema]

    def fields_of(job):
        return {n: getattr(job, n) for n in JOB_FIELDS}

    cases = [
        dict(job_id="a" * 32, project_key="team:ops-1", status="pending", created_at=T0),
        dict(job_id="0123456789abcdef" * 2, project_key="2026-01-01", status="running",
             priority="high", created_at=T0 + 1),
        dict(project_key="p*q?[x]", status="failed", created_at=T0 + 2.25),
        dict(project_key="plain", status="completed", created_at=1767225600),
    ]
    made = []
    for i, c in enumerate(cases):
        args = jq + ["--json", "enqueue", "--project", c["project_key"], "--status", c["status"],
                     "--set", f"created_at={c['created_at']}"]
        if "job_id" in c:
            args += ["--set", f"job_id={c['job_id']}"]
        if "priority" in c:
            args += ["--priority", c["priority"]]
        out = guarded(report, f"h.jobq-enqueue[{i}]", jobq.run, url_j, args)
        if out is None:
            continue
        job_id = c.get("job_id") or out["jobs"][0]["job_id"]
        made.append(dict(c, job_id=job_id))
    model.connect(url_p)
    for c in made:
        guarded(report, f"h.popoto-create[{c['job_id']}]", lambda c=c: Job.create(**c))
    mine = {k: v for k, v in dump_keyspace(raw_j).items() if not k.startswith(JOBQ_NAMESPACE_PREFIX)}
    theirs = dump_keyspace(raw_p)
    problems = diff_keyspaces(theirs, mine, "popoto", "jobq")
    for k, (t, _) in theirs.items():
        if t == "hash" and hash_field_order(raw_p, k) != hash_field_order(raw_j, k):
            problems.append(f"{show(k)}: field order popoto {hash_field_order(raw_p, k)}, "
                            f"jobq {hash_field_order(raw_j, k)}")
    if not any(k.startswith(b"$IdxPtr:") for k in theirs):
        problems.append("popoto wrote no $IdxPtr pointer: is status an IndexedField?")
    report.check("h.bytes", problems)

    model.connect(url_j)

    def loads_jobq():
        problems = []
        for c in made:
            job = Job.query.get(job_id=c["job_id"])
            if job is None:
                problems.append(f"{c['job_id']}: query.get returned None")
                continue
            got = fields_of(job)
            want = {"priority": "normal", **c}
            problems += [f"{c['job_id']} {f}: got {got.get(f)!r}, expected {v!r}"
                         for f, v in want.items() if got.get(f) != v]
            found = [j.job_id for j in Job.query.filter(status=c["status"])]
            if c["job_id"] not in found:
                problems.append(f"filter(status={c['status']!r}) lacks {c['job_id']}")
        return problems
    res = guarded(report, "h.popoto-loads-jobq", loads_jobq)
    if res is not None:
        report.check("h.popoto-loads-jobq", res)

    # popoto's own jobs, moved in place the popoto way, in the popoto db.
    model.connect(url_p)
    raw_p.flushdb()
    plan = ["running", "running", "failed", "failed", "completed", "pending"]
    jobs = {}

    def make():
        for i, status in enumerate(plan):
            job = Job.create(project_key=f"h{i % 2}", status="pending", priority="low",
                             created_at=T0 + i)
            if status != "pending":
                job = Job.query.get(job_id=job.job_id)
                job.status = status
                job.save()
            jobs[job.job_id] = (status, fields_of(Job.query.get(job_id=job.job_id)))
        return True
    if guarded(report, "h.popoto-create-and-move", make) is None:
        return

    def reads_popoto():
        problems = []
        for job_id, (status, fields) in jobs.items():
            out = jobq.run(url_p, jq + ["--json", "inspect", job_id], codes=(0, 1))
            recs = out.get("records") or []
            if len(recs) != 1:
                problems.append(f"{job_id}: {len(recs)} records")
                continue
            r = recs[0]
            for f, v in fields.items():
                if r["fields"].get(f) != v:
                    problems.append(f"{job_id} {f}: jobq {r['fields'].get(f)!r}, popoto {v!r}")
            ptr = (r.get("pointers") or [{}])[0]
            if ptr.get("names") != f"$IndexF:Job:status:{status}" or ptr.get("names_member") is not True:
                problems.append(f"{job_id}: pointer {ptr!r}, expected one naming the {status} set")
        return problems
    res = guarded(report, "h.jobq-reads-popoto", reads_popoto)
    if res is not None:
        report.check("h.jobq-reads-popoto", res)

    by = lambda s: sorted(j for j, (st, _) in jobs.items() if st == s)  # noqa: E731
    steps = [
        ("h.reap", ["reap", "--once", "--all", "--yes"], "to_pending", len(by("running"))),
        ("h.retry", ["retry", "--yes"], "applied", len(by("failed"))),
        ("h.delete", ["delete", "--yes", *by("completed")], "applied", len(by("completed"))),
    ]
    for name, args, count, want in steps:
        out = guarded(report, name, jobq.run, url_p, jq + ["--json", *args])
        if out is not None:
            got = (out.get("counts") or {}).get(count)
            report.check(name, [] if got == want else [f"counts {out.get('counts')!r}, expected {count}={want}"])

    def after():
        problems = []
        want = {j: "pending" for j in by("running") + by("failed") + by("pending")}
        seen = {}
        for status in ("pending", "running", "completed", "failed"):
            for job in Job.query.filter(status=status):
                if job.job_id in seen:
                    problems.append(f"{job.job_id} found under {seen[job.job_id]!r} and {status!r}")
                seen[job.job_id] = status
                if job.status != status:
                    problems.append(f"{job.job_id} in filter({status!r}) says {job.status!r}")
        if seen != want:
            problems.append(f"filter(status=...) -> {seen}, expected {want}")
        for j in by("running"):
            job = Job.query.get(job_id=j)
            if job is None or job.priority != "high":
                problems.append(f"reaped {j}: priority {getattr(job, 'priority', None)!r}, expected 'high'")
        for j in by("completed"):
            if Job.query.get(job_id=j) is not None:
                problems.append(f"deleted {j}: popoto still loads it")
        if Job.query.count() != len(want):
            problems.append(f"query.count()={Job.query.count()}, expected {len(want)}")
        left = [k for k in raw_p.scan_iter(match=b"$IdxPtr:*")
                if not raw_p.exists(k[len(b"$IdxPtr:"):-len(b":status")])]
        if left:
            problems.append(f"pointers of deleted records left: {left}")
        # popoto moves a reaped job on: its pointer and sets are its own.
        for j in by("running")[:1]:
            job = Job.query.get(job_id=j)
            job.status = "completed"
            job.save()
            if [x.job_id for x in Job.query.filter(status="completed")] != [j]:
                problems.append(f"popoto's own move of {j} after jobq's reap is not found")
        return problems
    res = guarded(report, "h.popoto-after-jobq", after)
    if res is not None:
        report.check("h.popoto-after-jobq", res)
    res = guarded(report, "h.check_indexes", Job.check_indexes)
    if res is not None:
        report.check("h.check_indexes",
                     [] if res.get("total") == 0 else [f"check_indexes() after reap/retry/delete: {res}"])
def check_i(report, jobq, url, raw):
    """popoto creates jobs and completes most (db DB_PRUNE); `jobq prune`
    deletes the completed ones into a backup file: popoto finds none of them
    and its check_indexes() reports nothing; `jobq restore` puts them back:
    popoto loads each with identical fields, check_indexes() still clean."""
    model.connect(url)
    made = {}
    for i, status in enumerate(["completed", "completed", "completed", "completed", "failed", "pending"]):
        def make(i=i, status=status):
            job = RedisJob.create(project_key=f"prune{i % 2}", status="pending",
                                  priority="normal", message_text=f"prune job {i}: caf\u00e9",
                                  created_at=1767225600.5 + i)
            if status != "pending":
                job = RedisJob.query.get(job_id=job.job_id)
                job.status = status
                job.save(migrate_key=True)
            loaded = RedisJob.query.get(job_id=job.job_id)
            made[loaded.job_id] = (status, model.fields_of(loaded))
            return True
        guarded(report, f"i.popoto-create[{i}]", make)
    completed = sorted(j for j, (s, _) in made.items() if s == "completed")
    with tempfile.TemporaryDirectory(prefix="jobq-interop-prune-") as tmp:
        backup = os.path.join(tmp, "backup.jsonl")
        out = guarded(report, "i.jobq-prune", jobq.run, url,
                      ["--json", "prune", "--older-than", "1d", "--backup", backup, "--yes"])
        if out is not None:
            problems = check_envelope(out, "prune")
            if (out.get("counts") or {}).get("applied") != len(completed):
                problems.append(f"counts {out.get('counts')!r}, expected {len(completed)} applied")
            report.check("i.jobq-prune", problems)

        def gone():
            problems = [f"pruned {j}: popoto still loads it"
                        for j in completed if RedisJob.query.get(job_id=j) is not None]
            left = [j.job_id for j in RedisJob.query.filter(status="completed")]
            if left:
                problems.append(f"filter(status='completed') -> {left}, expected []")
            if RedisJob.query.count() != len(made) - len(completed):
                problems.append(f"query.count()={RedisJob.query.count()}, expected {len(made) - len(completed)}")
            return problems
        res = guarded(report, "i.popoto-finds-none-pruned", gone)
        if res is not None:
            report.check("i.popoto-finds-none-pruned", res)
        res = guarded(report, "i.check_indexes-after-prune", RedisJob.check_indexes)
        if res is not None:
            report.check("i.check_indexes-after-prune",
                         [] if res.get("total") == 0 else [f"check_indexes() after prune: {res}"])

        out = guarded(report, "i.jobq-restore", jobq.run, url, ["--json", "restore", backup, "--yes"])
        if out is not None:
            problems = check_envelope(out, "restore")
            if (out.get("counts") or {}).get("applied") != len(completed):
                problems.append(f"counts {out.get('counts')!r}, expected {len(completed)} applied")
            report.check("i.jobq-restore", problems)

    def back():
        problems = []
        for job_id in completed:
            job = RedisJob.query.get(job_id=job_id)
            if job is None:
                problems.append(f"restored {job_id}: query.get returned None")
                continue
            got, want = model.fields_of(job), made[job_id][1]
            problems += [f"{job_id} {f}: got {got.get(f)!r}, expected {v!r}"
                         for f, v in want.items() if got.get(f) != v]
        done = sorted(j.job_id for j in RedisJob.query.filter(status="completed"))
        if done != completed:
            problems.append(f"filter(status='completed') -> {done}, expected {completed}")
        if RedisJob.query.count() != len(made):
            problems.append(f"query.count()={RedisJob.query.count()}, expected {len(made)}")
        return problems
    res = guarded(report, "i.popoto-loads-restored", back)
    if res is not None:
        report.check("i.popoto-loads-restored", res)
    res = guarded(report, "i.check_indexes-after-restore", RedisJob.check_indexes)
    if res is not None:
        report.check("i.check_indexes-after-restore",
                     [] if res.get("total") == 0 else [f"check_indexes() after restore: {res}"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobq", required=True, help="jobq command (shell-split)")
    ap.add_argument("--url-base", required=True,
                    help="redis://127.0.0.1:PORT or unix:///path/r.sock of a throwaway server")
    ap.add_argument("--residue-090", help="JSON printed by damage_090.py, whose db holds its residue")
    ap.add_argument("--db-090", type=int, default=5, help="the db damage_090.py wrote to")
    args = ap.parse_args()
    jobq = Jobq(shlex.split(args.jobq))
    report = Report()

    url_j, url_p, url_c, url_f = (db_url(args.url_base, n)
                                  for n in (DB_JOBQ, DB_POPOTO, DB_INSPECT, DB_REAP))
    raw_j, raw_p, raw_c, raw_f = (model.raw_client(u) for u in (url_j, url_p, url_c, url_f))
    for r in (raw_j, raw_p, raw_c, raw_f):
        r.flushdb()

    with tempfile.TemporaryDirectory(prefix="jobq-interop-") as tmp:
        t_window = run_enqueues(report, jobq, url_j, tmp)
    done = [c for c in CASES if "id" in c]
    for c in done:
        c["key"] = record_key(c["id"], c["project_key"], c["status"])
    if len(done) < len(CASES):
        report.note(f"{len(CASES) - len(done)} case(s) not enqueued; a/b check the other {len(done)}")

    # b first: popoto's reads in a may repair (popoto 1.9+ purges dangling members)
    dump_before = dump_keyspace(raw_j)
    if done:
        check_b(report, done, url_j, url_p, raw_j, raw_p, dump_before)
        check_a(report, done, url_j, t_window)
        report.check(f"a.popoto-reads-changed-nothing[db{DB_JOBQ}]",
                     diff_keyspaces(dump_before, dump_keyspace(raw_j), "before", "after"))
    check_c(report, jobq, url_c, raw_c)
    url_d = db_url(args.url_base, DB_REPAIR)
    raw_d = model.raw_client(url_d)
    raw_d.flushdb()
    guarded(report, "d.repair", check_d, report, jobq, url_d, raw_d)
    if args.residue_090:
        residue = json.load(open(args.residue_090))
        guarded(report, "e.popoto-090", check_e, report, jobq, db_url(args.url_base, args.db_090), residue)
    check_f(report, jobq, url_f, raw_f)
    url_g = db_url(args.url_base, DB_ADMIN)
    raw_g = model.raw_client(url_g)
    raw_g.flushdb()
    check_g(report, jobq, url_g, raw_g)
    url_hj, url_hp = (db_url(args.url_base, n) for n in (DB_INDEXED_JOBQ, DB_INDEXED_POPOTO))
    raw_hj, raw_hp = (model.raw_client(u) for u in (url_hj, url_hp))
    for r in (raw_hj, raw_hp):
        r.flushdb()
    with tempfile.TemporaryDirectory(prefix="jobq-interop-") as tmp:
        guarded(report, "h.indexed", check_h, report, jobq, url_hj, raw_hj, url_hp, raw_hp, tmp)
    url_i = db_url(args.url_base, DB_PRUNE)
    raw_i = model.raw_client(url_i)
    raw_i.flushdb()
    check_i(report, jobq, url_i, raw_i)

    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
