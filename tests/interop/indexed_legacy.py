"""Records written by an older popoto (1.8.0 or 1.8.2, whichever this venv
has) with the IndexedField status model of indexed_model.py: jobs created,
some moved, in the db JOBQ_INTEROP_URL names (flushed first). Prints one
JSON object {job_id: status} of what it left, for indexed.py to check that
jobq reads, reports and migrates them and that popoto 1.10.1 then moves
them correctly.

    JOBQ_INTEROP_URL=redis://127.0.0.1:PORT/9 python indexed_legacy.py 12
"""

import importlib.metadata
import json
import os
import sys

from indexed_model import Job, STATUSES, raw_client

n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
r = raw_client(os.environ["JOBQ_INTEROP_URL"])
r.flushdb()
version = importlib.metadata.version("popoto")
left = {}
for i in range(n):
    job = Job.create(project_key=f"p{i % 2}", status="pending", created_at=1767225600.0 + i)
    status = STATUSES[i % len(STATUSES)]
    if status != "pending":
        job.status = status
        job.save()
    left[job.job_id] = status
# The pointer scheme this version writes, as a check of the premise.
keys = r.keys(b"*")
in_hash = any(
    f == b"status\x00idxset" for k in keys if r.type(k) == b"hash" for f in r.hkeys(k)
)
side = any(b"\x00idxptr\x00" in k for k in keys)
print(json.dumps({"popoto": version, "in_hash": in_hash, "side_key": side, "jobs": left}))
