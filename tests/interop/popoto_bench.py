"""popoto 1.10.1 reference timings for the jobq benchmark.

Measures, against the Redis named by JOBQ_INTEROP_URL (a throwaway server
you started; never the shared 6379):
  create N   a plain loop of N RedisJob.create() calls (one SCARD round trip
             plus one MULTI/EXEC each, as popoto does), jobs/s
  check      one RedisJob.check_indexes() over whatever is in the db,
             jobs/s = class-set size / seconds

Each run prints one JSON object on stdout, e.g.
  {"op": "create", "jobs": 10000, "seconds": 4.2, "jobs_per_s": 2380.9, "popoto": "1.10.1"}
and a human line on stderr.  The functions bench_create() / bench_check()
return the same dict for a driver script.

Usage:
  JOBQ_INTEROP_URL=redis://127.0.0.1:PORT/1 python popoto_bench.py create 10000
  JOBQ_INTEROP_URL=redis://127.0.0.1:PORT/1 python popoto_bench.py check
Options for create: --projects K (distinct project keys, default 10),
--statuses pending,running (cycled, default pending), --message-bytes B (default 64).
"""

import argparse
import importlib.metadata
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402  (binds popoto to JOBQ_INTEROP_URL)
from model import RedisJob  # noqa: E402

POPOTO_VERSION = importlib.metadata.version("popoto")


def _result(op, jobs, seconds, **extra) -> dict:
    return {"op": op, "jobs": jobs, "seconds": round(seconds, 6),
            "jobs_per_s": round(jobs / seconds, 1) if seconds > 0 else None,
            "popoto": POPOTO_VERSION, **extra}


def bench_create(n: int, projects: int = 10, statuses=("pending",), message_bytes: int = 64) -> dict:
    """Time a loop of n RedisJob.create() calls."""
    message = ("x" * message_bytes)
    base = time.time()
    start = time.perf_counter()
    for i in range(n):
        RedisJob.create(
            project_key=f"proj-{i % projects}",
            status=statuses[i % len(statuses)],
            priority=("high", "normal", "low")[i % 3],
            message_text=message,
            created_at=base + i * 0.001,
        )
    return _result("create", n, time.perf_counter() - start)


def bench_check() -> dict:
    """Time one RedisJob.check_indexes() over the current db."""
    raw = model.raw_client(model._url)
    jobs = raw.scard("$Class:RedisJob")
    start = time.perf_counter()
    res = RedisJob.check_indexes()
    return _result("check_indexes", jobs, time.perf_counter() - start, total=res["total"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="op", required=True)
    c = sub.add_parser("create")
    c.add_argument("n", type=int)
    c.add_argument("--projects", type=int, default=10)
    c.add_argument("--statuses", default="pending")
    c.add_argument("--message-bytes", type=int, default=64)
    sub.add_parser("check")
    a = ap.parse_args()
    if a.op == "create":
        res = bench_create(a.n, a.projects, tuple(a.statuses.split(",")), a.message_bytes)
    else:
        res = bench_check()
    print(json.dumps(res), flush=True)
    print(f"popoto {res['popoto']} {res['op']}: {res['jobs']} jobs in {res['seconds']:.3f} s "
          f"= {res['jobs_per_s']} jobs/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
