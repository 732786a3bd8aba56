"""The `Job` model of issue 20, its status an IndexedField, bound to the Redis
named by JOBQ_INTEROP_URL (set before popoto is imported, as model.py does).

Works with popoto 1.8.0, 1.8.2 and 1.10.1: the three pointer schemes of
docs/layout.md ("The other status layout") are written by the same model.
SCHEMA is the jobq schema file that describes it.
"""

import os
import sys

_url = os.environ.get("JOBQ_INTEROP_URL", "")
if not _url:
    sys.exit("JOBQ_INTEROP_URL is not set: the URL of a test redis-server you started yourself")
os.environ["REDIS_URL"] = _url

import redis  # noqa: E402
from popoto import AutoKeyField, Field, KeyField, Model, SortedField  # noqa: E402
from popoto.fields.shortcuts import IndexedField  # noqa: E402
from popoto.redis_db import set_REDIS_DB_settings  # noqa: E402

STATUSES = ("pending", "running", "completed", "failed")

SCHEMA = """
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


def connect(url: str) -> None:
    pool = redis.BlockingConnectionPool.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, max_connections=16
    )
    set_REDIS_DB_settings(connection_pool=pool)


def raw_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=False, protocol=2)


class Job(Model):
    job_id = AutoKeyField()
    project_key = KeyField()
    status = IndexedField(type=str)
    priority = Field(type=str, default="normal")
    created_at = SortedField(type=float)


connect(_url)
