//! `jobq reap` against a real redis-server: each staleness rule with
//! controlled timestamps, the popoto-exact move, the guard (a stale plan
//! touches nothing), a worker racing the reaper, four reapers at once, the
//! poison-pill cap, the lock, `--min-interval`, `--interval` with Ctrl-C,
//! dry runs and damaged members.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jobq::schema::msgpack::encode;
use jobq::schema::Value as V;

mod edges;
mod lock;
mod moves;
mod racing;
mod staleness;

const RUNNING: &str = "$KeyF:RedisJob:status:running";
const PENDING: &str = "$KeyF:RedisJob:status:pending";
const COMPLETED: &str = "$KeyF:RedisJob:status:completed";
const FAILED: &str = "$KeyF:RedisJob:status:failed";
const CLASS: &str = "$Class:RedisJob";
const ZSET: &str = "$SortF:RedisJob:created_at";
const LOCK: &str = "jobq:reap:RedisJob:lock";
const SEEN: &str = "jobq:reap:RedisJob:seen";
const ATTEMPTS: &str = "jobq:reap:RedisJob:attempts";

// ---- helpers -------------------------------------------------------------

fn id(n: usize) -> String {
    format!("{n:032x}")
}

fn scard(con: &mut redis::Connection, key: &str) -> usize {
    redis::cmd("SCARD").arg(key).query(con).expect("SCARD")
}

fn exists(con: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query::<i64>(con)
        .expect("EXISTS")
        == 1
}

fn hget(con: &mut redis::Connection, key: &str, field: &str) -> Option<Vec<u8>> {
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query(con)
        .expect("HGET")
}

/// `n` running RedisJobs of one project, pipelined (setup only; each job
/// as popoto's create writes it). Their keys.
fn bulk_running(con: &mut redis::Connection, first: usize, n: usize, project: &str) -> Vec<String> {
    let esc = |s: &str| jobq::schema::escape::escape_str(s);
    let mut keys = Vec::with_capacity(n);
    for chunk in (first..first + n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let key = format!("RedisJob:{}:{}:running", id(i), esc(project));
            let t = 1767225600.0 + i as f64;
            pipe.cmd("HSET")
                .arg(&key)
                .arg("job_id")
                .arg(encode(&V::Str(id(i))))
                .arg("project_key")
                .arg(encode(&V::Str(project.into())))
                .arg("status")
                .arg(encode(&V::Str("running".into())))
                .arg("priority")
                .arg(encode(&V::Str("normal".into())))
                .arg("message_text")
                .arg(encode(&V::Str(format!("msg {i}"))))
                .arg("created_at")
                .arg(encode(&V::Float(t)))
                .ignore();
            pipe.cmd("SADD").arg(CLASS).arg(&key).ignore();
            pipe.cmd("SADD")
                .arg(format!("$KeyF:RedisJob:project_key:{}", esc(project)))
                .arg(&key)
                .ignore();
            pipe.cmd("SADD").arg(RUNNING).arg(&key).ignore();
            pipe.cmd("ZADD").arg(ZSET).arg(t).arg(&key).ignore();
            keys.push(key);
        }
        pipe.query::<()>(con).expect("bulk create");
    }
    keys
}

/// popoto's status change (`job.status = to; job.save(migrate_key=True)`):
/// one transaction re-creating the record under its new key. With `guard`,
/// the worker WATCHes the old key and gives up if the job is no longer its
/// own (gone or moved meanwhile): a worker that can only complete a job it
/// still holds. Whether it moved the job.
fn popoto_move(con: &mut redis::Connection, old: &str, to: &str, guard: bool) -> bool {
    let parts: Vec<&str> = old.split(':').collect();
    let (job, project_esc, from) = (parts[1], parts[2], parts[3]);
    let new = format!("RedisJob:{job}:{project_esc}:{to}");
    loop {
        if guard {
            redis::cmd("WATCH")
                .arg(old)
                .query::<()>(con)
                .expect("WATCH");
        }
        let fields: Vec<(Vec<u8>, Vec<u8>)> =
            redis::cmd("HGETALL").arg(old).query(con).expect("HGETALL");
        if fields.is_empty() {
            if guard {
                redis::cmd("UNWATCH").query::<()>(con).expect("UNWATCH");
            }
            return false;
        }
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(ZSET)
            .arg(old)
            .query(con)
            .expect("ZSCORE");
        let mut pipe = redis::pipe();
        pipe.atomic();
        let h = pipe.cmd("HSET").arg(&new);
        for (f, v) in &fields {
            if f == b"status" {
                h.arg(f.as_slice()).arg(encode(&V::Str(to.into())));
            } else {
                h.arg(f.as_slice()).arg(v.as_slice());
            }
        }
        h.ignore();
        let pidx = format!("$KeyF:RedisJob:project_key:{project_esc}");
        pipe.cmd("SADD").arg(CLASS).arg(&new).ignore();
        pipe.cmd("SREM").arg(&pidx).arg(old).ignore();
        pipe.cmd("SREM")
            .arg(format!("$KeyF:RedisJob:status:{from}"))
            .arg(old)
            .ignore();
        pipe.cmd("ZREM").arg(ZSET).arg(old).ignore();
        pipe.cmd("SREM").arg(CLASS).arg(old).ignore();
        pipe.cmd("DEL").arg(old).ignore();
        pipe.cmd("SADD").arg(&pidx).arg(&new).ignore();
        pipe.cmd("SADD")
            .arg(format!("$KeyF:RedisJob:status:{to}"))
            .arg(&new)
            .ignore();
        if let Some(s) = score {
            pipe.cmd("ZADD").arg(ZSET).arg(s).arg(&new).ignore();
        }
        let r: Option<()> = pipe.query(con).expect("EXEC");
        if r.is_some() {
            return true;
        }
        // EXEC aborted: the old key changed under the WATCH; look again.
    }
}

/// Every key with its type and full content (tests only: small data).
fn dump(con: &mut redis::Connection) -> BTreeMap<Vec<u8>, String> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    let mut out = BTreeMap::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(con).expect("TYPE");
        let content = match t.as_str() {
            "hash" => {
                let mut v: Vec<(Vec<u8>, Vec<u8>)> =
                    redis::cmd("HGETALL").arg(&k).query(con).expect("HGETALL");
                v.sort();
                format!("{v:?}")
            }
            "set" => {
                let mut v: Vec<Vec<u8>> =
                    redis::cmd("SMEMBERS").arg(&k).query(con).expect("SMEMBERS");
                v.sort();
                format!("{v:?}")
            }
            "zset" => {
                let v: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(con)
                    .expect("ZRANGE");
                format!("{v:?}")
            }
            "string" => {
                let v: Vec<u8> = redis::cmd("GET").arg(&k).query(con).expect("GET");
                format!("{v:?}")
            }
            "stream" => {
                let n: i64 = redis::cmd("XLEN").arg(&k).query(con).expect("XLEN");
                format!("{n} entries")
            }
            other => other.to_string(),
        };
        out.insert(k, format!("{t}: {content}"));
    }
    out
}

type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// The audit stream's entries as field maps.
fn audit(con: &mut redis::Connection) -> Vec<BTreeMap<String, Vec<u8>>> {
    let v: Vec<StreamEntry> = redis::cmd("XRANGE")
        .arg("jobq:audit")
        .arg("-")
        .arg("+")
        .query(con)
        .expect("XRANGE");
    // A run's start entry records no change.
    v.into_iter()
        .map(|(_, f)| f.into_iter().collect::<BTreeMap<String, Vec<u8>>>())
        .filter(|f| f.get("action").map(Vec::as_slice) != Some(b"start"))
        .collect()
}

fn json_of(run: &Run) -> serde_json::Value {
    let j = run.json();
    assert_eq!(j["schema"], 1, "{}", run.explain());
    assert_eq!(j["command"], "reap", "{}", run.explain());
    j
}

fn moved_ids(j: &serde_json::Value) -> BTreeSet<String> {
    j["moved"]
        .as_array()
        .expect("moved list")
        .iter()
        .map(|m| m["job_id"].as_str().expect("job_id").to_string())
        .collect()
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}
