"""The RedisJob popoto model of LAYOUT.md, bound to the Redis named by JOBQ_INTEROP_URL.

Import this module (not popoto directly) from every interop script: it points
popoto at the test Redis before anything can touch the default
127.0.0.1:6379/0, and refuses to run without JOBQ_INTEROP_URL.

What popoto 1.10.1 really does (read from its installed source and checked
against a live redis-server with `redis-cli MONITOR`):

Connection
    popoto/redis_db.py builds its global client at import time from the env
    var REDIS_URL (redis.BlockingConnectionPool.from_url(REDIS_URL,
    socket_timeout=5, socket_connect_timeout=5, max_connections=128)); with
    REDIS_URL unset it falls back to 127.0.0.1:6379 db 0.  At run time
    popoto.redis_db.set_REDIS_DB_settings(**redis_kwargs) replaces the global
    client; it takes redis.Redis keyword args (host=, port=, db=, ...) or an
    explicit connection_pool=, not a URL.  Every 1.10.1 code path on our route
    (Model.save/create, Query.get/filter/count, check/clean/rebuild_indexes)
    calls get_REDIS_DB() at call time, so switching works mid-process; this
    module does both: REDIS_URL before the import, and connect(url) with a pool
    built by from_url (so redis:// and unix:// URLs both work).
    (popoto 0.9.0 is different: its modules do `from ..redis_db import
    POPOTO_REDIS_DB` at import, so only REDIS_URL set before the first
    `import popoto` works there; see damage_090.py.)

Explicit job_id
    Yes: RedisJob.create(job_id="<32 chars>", ...) stores and keys the record
    under that id.  AutoFieldMixin.is_valid only checks the length (32 for the
    uuid4 strategy, any characters); another length makes create() raise
    ModelException.  So check.py needs no job_id normalisation.

Status change
    `job.status = "running"; job.save()` RAISES popoto.exceptions.
    KeyMutationError in 1.10.1 (both for the instance create() returned and
    for one loaded with query.get): changing a KeyField needs
    `job.save(migrate_key=True)`.  LAYOUT.md already writes it that way.

Index maintenance (classmethods on the model; Redis backend)
    RedisJob.check_indexes(batch_size=1000) -> dict, read-only:
        {'class_set': int,          # class-set members whose hash is gone
         'partial_writes': int,     # hash exists but HGET job_id is nil/""
         'key_fields': {'project_key': int, 'status': int},  # dangling members
         'sorted_fields': {'created_at': int},               # dangling members
         'geo_fields': {}, 'composite_indexes': {},
         'legacy_hash': [], 'stale_bloom_staging': [],        # bloom filters, n/a
         'total': int}              # sum of the counts above
        It only runs EXISTS on index members (and HGET job_id on class-set
        members): a live job missing from an index, or in two status indexes,
        or with a key/field status disagreement, is NOT reported.
    RedisJob.clean_indexes(batch_size=1000) -> int: number of entries removed.
        SREMs/ZREMs dangling members, and SREMs + DELs "partial-write" hashes
        (hash without job_id) -- that loses the job.
    RedisJob.rebuild_indexes(batch_size=1000, bloom_hash_version=None)
        -> RebuildIndexesResult (an int subclass = number of records indexed,
        with .diverged_keys / .diverged_count for hashes whose key does not
        match the key derived from their fields; those are skipped, left in no
        index).  It first DELs the class set, every $SortF:RedisJob:created_at*
        key and every $KeyF:RedisJob:{project_key,status}:* key, then SCANs
        RedisJob:* and re-adds.  Workers see an empty queue meanwhile.

Query API notes
    RedisJob.query.get(job_id=J) -> instance or None (SCAN MATCH
    "RedisJob:J:*:*", TYPE, HGETALL).  RedisJob.query.filter(status=S) returns
    a lazy QueryBuilder in 1.10.1: wrap it in list() (SMEMBERS of the index,
    then HGETALL per member).  RedisJob.query.count() -> int.

Wire commands, popoto 1.10.1 (MONITOR, redis-py 8.1 opens with HELLO 3):

  create  RedisJob.create(project_key="team:ops-1", status="pending",
                          message_text="hello", created_at=1767225600.5)
    SCARD "$AutoKeyF:RedisJob:job_id:24bada64e5df44e8ac0d0be4ab158c7f"
    MULTI
    HSET "RedisJob:24bada64e5df44e8ac0d0be4ab158c7f:team{&#58;}ops/-1:pending"
         "job_id" "\\xd9 24bada64e5df44e8ac0d0be4ab158c7f" "project_key" "\\xaateam:ops-1"
         "status" "\\xa7pending" "priority" "\\xa6normal" "message_text" "\\xa5hello"
         "created_at" "\\xcbA\\xdaUn@ \\x00\\x00"
    SADD "$Class:RedisJob" "RedisJob:24ba...7f:team{&#58;}ops/-1:pending"
    SADD "$KeyF:RedisJob:project_key:team{&#58;}ops/-1" "RedisJob:24ba...:pending"
    SADD "$KeyF:RedisJob:status:pending" "RedisJob:24ba...:pending"
    ZADD "$SortF:RedisJob:created_at" "1767225600.5" "RedisJob:24ba...:pending"
    EXEC
  (an integral created_at=1767225600 is still sent as float64 cb..., and ZADD
  "1767225600.0"; identical to LAYOUT.md.)

  status change  job.status = "running"; job.save(migrate_key=True)
    SCARD "$AutoKeyF:RedisJob:job_id:24ba...7f"
    MULTI
    HSET  "RedisJob:24ba...:team{&#58;}ops/-1:running" <all six fields, status "\\xa7running">
    SADD  "$Class:RedisJob" <new key>
    SREM  "$KeyF:RedisJob:project_key:team{&#58;}ops/-1" <old key>
    SREM  "$KeyF:RedisJob:status:pending" <old key>
    ZREM  "$SortF:RedisJob:created_at" <old key>
    SREM  "$Class:RedisJob" <old key>
    DEL   <old key>
    SADD  "$KeyF:RedisJob:project_key:team{&#58;}ops/-1" <new key>
    SREM  "$KeyF:RedisJob:status:pending" <new key>      # extra, a no-op
    SADD  "$KeyF:RedisJob:status:running" <new key>
    ZADD  "$SortF:RedisJob:created_at" "1767225600.5" <new key>
    EXEC
  Matches LAYOUT.md's prose except: the SCARD probe also precedes the move,
  and one extra no-op SREM of the NEW key from the OLD status index.
"""

import os
import sys

URL_ENV = "JOBQ_INTEROP_URL"

_url = os.environ.get(URL_ENV, "")
if not _url:
    sys.exit(
        f"{URL_ENV} is not set: set it to the redis:// or unix:// URL of a "
        "test redis-server you started yourself (never the shared 6379)"
    )
# popoto builds its client from REDIS_URL at import time: make that our server
# too, so nothing can ever reach the 127.0.0.1:6379/0 fallback.
os.environ["REDIS_URL"] = _url

import redis  # noqa: E402
import popoto  # noqa: E402
from popoto import AutoKeyField, Field, KeyField, Model, SortedField  # noqa: E402
from popoto.fields.shortcuts import IndexedField  # noqa: E402
from popoto.redis_db import set_REDIS_DB_settings  # noqa: E402


def connect(url: str) -> None:
    """Point popoto's global client at `url` (redis://host:port/db or unix:///p?db=N)."""
    pool = redis.BlockingConnectionPool.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, max_connections=16
    )
    set_REDIS_DB_settings(connection_pool=pool)


def raw_client(url: str) -> redis.Redis:
    """A plain redis-py client returning raw bytes (decode_responses=False, RESP2)."""
    return redis.Redis.from_url(url, decode_responses=False, protocol=2)


class RedisJob(Model):
    job_id = AutoKeyField()  # uuid4().hex: 32 lowercase hex chars
    project_key = KeyField()
    status = KeyField()  # pending | running | completed | failed
    priority = Field(type=str, default="normal")  # "high" | "normal" | "low"
    message_text = Field(type=str)
    created_at = SortedField(type=float)  # unix seconds


FIELDS = ("job_id", "project_key", "status", "priority", "message_text", "created_at")


class Job(Model):
    """The other status layout (popoto 1.8+, LAYOUT.md's last section): the
    status is an IndexedField, not part of the key.  Key Job:{job_id}:{project_key};
    $IndexF:Job:status:{value} sets; a $IdxPtr:{key}:status pointer per record.
    popoto 1.10.1 creates with its INDEX_SWAP script then a MULTI, and changes
    the status in place with `job.status = X; job.save()` (no migrate_key)."""
    job_id = AutoKeyField()
    project_key = KeyField()
    status = IndexedField(type=str)
    priority = Field(type=str, default="normal")
    created_at = SortedField(type=float)


JOB_FIELDS = ("job_id", "project_key", "status", "priority", "created_at")

# The schema file jobq reads for Job.
JOB_SCHEMA = """
class = "Job"
[[field]]
name = "job_id"
role = "auto"
[[field]]
name = "project_key"
role = "key"
[[field]]
name = "status"
role = "indexed"
[[field]]
name = "priority"
default = "normal"
[[field]]
name = "created_at"
type = "float"
sorted = true
default_now = true
[status]
field = "status"
values = ["pending", "running", "completed", "failed"]
"""


def fields_of(job) -> dict:
    """The six field values of a loaded RedisJob as a plain dict."""
    return {name: getattr(job, name) for name in FIELDS}


connect(_url)
