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
    v.into_iter()
        .map(|(_, f)| f.into_iter().collect())
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

// ---- staleness rules ------------------------------------------------------

#[test]
fn first_sighting_needs_two_sweeps_and_the_lease() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, &id(1), "team:ops-1", "running", 1767225600.5);
    let b = popoto_create(&mut con, &id(2), "p", "running", 1767225601.0);

    // First sweep: both seen for the first time, noted, nothing stale. (A
    // lease under a minute asks first, like --all; --yes answers.)
    let first = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    first.expect_code(0);
    let j = json_of(&first);
    assert_eq!(j["counts"]["running"], 2);
    assert_eq!(j["counts"]["first_sightings"], 2);
    assert_eq!(j["counts"]["stale"], 0);
    let noted: i64 = redis::cmd("HLEN").arg(SEEN).query(&mut con).expect("HLEN");
    assert_eq!(noted, 2);
    let note_a = hget(&mut con, SEEN, &a).expect("a noted");

    // Within the lease: still nothing, and the first sighting is kept.
    let again = r.jobq(&["--json", "reap", "--once", "--lease", "1h"]);
    again.expect_code(0);
    assert_eq!(json_of(&again)["counts"]["stale"], 0);
    assert_eq!(
        hget(&mut con, SEEN, &a),
        Some(note_a),
        "a note is never overwritten"
    );

    // A worker finishes b: its note goes on the next sweep.
    assert!(popoto_move(&mut con, &b, "completed", true));
    std::thread::sleep(Duration::from_millis(1200));
    let second = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    second.expect_code(0);
    let j = json_of(&second);
    assert_eq!(j["counts"]["running"], 1);
    assert_eq!(j["counts"]["to_pending"], 1);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(1)]));
    assert_eq!(j["moved"][0]["basis"], "first_sighting");
    assert!(j["moved"][0]["running_for_s"].as_f64().expect("age") >= 1.0);
    assert_eq!(j["counts"]["pruned"], 1, "b's note is pruned");
    let pending = format!("RedisJob:{}:team{{&#58;}}ops/-1:pending", id(1));
    assert_eq!(smembers(&mut con, PENDING), [pending.as_str()]);
    assert!(
        !exists(&mut con, SEEN),
        "the move forgets a's note, the prune b's"
    );

    // A worker takes the requeued job again: the same key is running once
    // more, and must not be reaped on its first sighting.
    assert!(popoto_move(&mut con, &pending, "running", true));
    let third = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    third.expect_code(0);
    let j = json_of(&third);
    assert_eq!(j["counts"]["first_sightings"], 1);
    assert_eq!(j["counts"]["stale"], 0);
    assert!(exists(&mut con, &a), "still running under its old key");
}

#[test]
fn first_sighting_notes_map_back_to_their_keys_across_pages_and_chunks() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = bulk_running(&mut con, 0, 2600, "p");
    // Every third job was first seen long ago; the rest are new.
    let mut old = BTreeSet::new();
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let _: () = redis::cmd("HSET")
            .arg(SEEN)
            .arg(k)
            .arg("1000.000000")
            .query(&mut con)
            .expect("HSET");
        old.insert(id(i));
    }
    let run = r.jobq(&["--json", "reap", "--once", "--lease", "1h"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["first_sightings"], 2600 - old.len());
    assert_eq!(moved_ids(&j), old);
    let noted: i64 = redis::cmd("HLEN").arg(SEEN).query(&mut con).expect("HLEN");
    assert_eq!(
        noted as usize,
        2600 - old.len(),
        "moved jobs' notes are forgotten"
    );
}

fn task_toml() -> String {
    task_schema(
        r#"since_field = "started_at""#,
        r#"
[[field]]
name = "attempts"
type = "int"
default = 0
[[field]]
name = "started_at"
type = "float"
[[field]]
name = "begun"
type = "datetime"
"#,
    )
}

#[test]
fn since_field_from_the_schema_and_from_the_flag() {
    let r = Redis::start();
    let schema = write_file(r.dir.path(), "task.toml", &task_toml());
    let schema = schema.to_str().expect("path");
    let now = now_secs();
    let enqueue = |task: &str, started: Option<f64>, begun: Option<f64>| {
        let mut a = vec![
            "--schema".to_string(),
            schema.into(),
            "enqueue".into(),
            "--job-id".into(),
            task.into(),
        ];
        a.extend(["--status", "active", "--set", "queue=q:1"].map(String::from));
        if let Some(t) = started {
            a.extend(["--set".into(), format!("started_at={t}")]);
        }
        if let Some(t) = begun {
            a.extend([
                "--set".into(),
                format!("begun={}", jobq::schema::record::iso_utc(t)),
            ]);
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        r.jobq(&a).expect_code(0);
    };
    let (old, recent, unset) = (id(1), id(2), id(3));
    enqueue(&old, Some(now - 3600.0), Some(now - 60.0));
    enqueue(&recent, Some(now - 10.0), Some(now - 7200.0));
    enqueue(&unset, None, None);
    let mut con = r.con();
    let key = |t: &str, st: &str| format!("Task:q{{&#58;}}1:{st}:{t}");
    let before: Vec<(Vec<u8>, Vec<u8>)> = hgetall_raw(&mut con, &key(&old, "active"));

    // The schema's since_field: started_at an hour ago is past a 30m lease.
    let run = r.jobq(&[
        "--schema", schema, "--json", "reap", "--once", "--lease", "30m",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["rules"]["since_field"], "started_at");
    assert_eq!(j["counts"]["running"], 3);
    assert_eq!(moved_ids(&j), BTreeSet::from([old.clone()]));
    assert_eq!(j["moved"][0]["to"], "queued");
    assert_eq!(j["moved"][0]["basis"], "since_field");
    assert_eq!(j["moved"][0]["new_key"], key(&old, "queued"));
    let age = j["moved"][0]["running_for_s"].as_f64().expect("age");
    assert!((3590.0..3700.0).contains(&age), "{age}");
    // Only the job without a since value is noted for first sighting.
    assert_eq!(j["counts"]["first_sightings"], 1);
    let noted: Vec<String> = redis::cmd("HKEYS")
        .arg("jobq:reap:Task:seen")
        .query(&mut con)
        .expect("HKEYS");
    assert_eq!(noted, [key(&unset, "active")]);
    // Every field as it was but the status (the Task model has no priority).
    let after: Vec<(Vec<u8>, Vec<u8>)> = hgetall_raw(&mut con, &key(&old, "queued"));
    let expect: Vec<(Vec<u8>, Vec<u8>)> = before
        .into_iter()
        .map(|(f, v)| {
            if f == b"state" {
                (f, encode(&V::Str("queued".into())))
            } else {
                (f, v)
            }
        })
        .collect();
    assert_eq!(after, expect);
    assert_eq!(
        smembers(&mut con, "$KeyF:Task:state:queued"),
        [key(&old, "queued")]
    );
    assert_eq!(scard(&mut con, "$KeyF:Task:state:active"), 2);

    // --since-field names another (datetime) field: `begun` two hours ago.
    let run = r.jobq(&[
        "--schema",
        schema,
        "--json",
        "reap",
        "--once",
        "--lease",
        "30m",
        "--since-field",
        "begun",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(moved_ids(&j), BTreeSet::from([recent.clone()]));
    assert!(exists(&mut con, &key(&unset, "active")));
}

#[test]
fn heartbeat_present_stays_expired_is_reaped() {
    let r = Redis::start();
    let mut con = r.con();
    let alive = popoto_create(&mut con, &id(1), "team:ops-1", "running", 1.0);
    popoto_create(&mut con, &id(2), "b", "running", 2.0);
    // The template's value is escaped as popoto escapes key values.
    let _: () = redis::cmd("SET")
        .arg("worker:team{&#58;}ops/-1:alive")
        .arg("1")
        .arg("EX")
        .arg(60)
        .query(&mut con)
        .expect("SET");
    let _: () = redis::cmd("SET")
        .arg("worker:b:alive")
        .arg("1")
        .arg("PX")
        .arg(100)
        .query(&mut con)
        .expect("SET");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!exists(&mut con, "worker:b:alive"), "b's heartbeat expired");

    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--heartbeat-key",
        "worker:{project_key}:alive",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["alive"], 1);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(2)]));
    assert_eq!(j["rules"]["heartbeat_key"], "worker:{project_key}:alive");
    assert!(
        exists(&mut con, &alive),
        "a job whose worker is alive is never taken away"
    );
    assert_eq!(smembers(&mut con, RUNNING), [alive]);
}

#[test]
fn all_needs_yes_without_a_terminal() {
    let r = Redis::start();
    let mut con = r.con();
    bulk_running(&mut con, 0, 3, "p");
    let before = dump(&mut con);
    let run = r.jobq(&["reap", "--all"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--yes"), "{}", run.explain());
    assert_eq!(dump(&mut con), before, "nothing written");

    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["to_pending"], 3);
    assert_eq!(j["moved"][0]["basis"], "all");
    assert_eq!(scard(&mut con, RUNNING), 0);
    assert_eq!(scard(&mut con, PENDING), 3);
}

// ---- the move -------------------------------------------------------------

#[test]
fn the_move_is_popoto_exact_and_audited() {
    let r = Redis::start();
    let mut con = r.con();
    let old = popoto_create(&mut con, &id(7), "team:ops-1", "running", 1767225600.5);
    let before = hgetall_raw(&mut con, &old);
    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let new = format!("RedisJob:{}:team{{&#58;}}ops/-1:pending", id(7));
    let j = json_of(&run);
    assert_eq!(j["moved"][0]["old_key"], old);
    assert_eq!(j["moved"][0]["new_key"], new);
    assert_eq!(j["moved"][0]["attempts"], 1);
    assert_eq!(j["lock"]["status"], "acquired");

    // The record: every field in its order, status and priority rewritten.
    let want: Vec<(Vec<u8>, Vec<u8>)> = before
        .iter()
        .map(|(f, v)| match f.as_slice() {
            b"status" => (f.clone(), b"\xa7pending".to_vec()),
            b"priority" => (f.clone(), b"\xa4high".to_vec()),
            _ => (f.clone(), v.clone()),
        })
        .collect();
    assert_eq!(hgetall_raw(&mut con, &new), want);
    assert!(!exists(&mut con, &old));
    assert_eq!(smembers(&mut con, CLASS), [new.as_str()]);
    assert_eq!(smembers(&mut con, PENDING), [new.as_str()]);
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:project_key:team{&#58;}ops/-1"),
        [new.as_str()]
    );
    assert!(!exists(&mut con, RUNNING));
    let z: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(ZSET)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .expect("ZRANGE");
    assert_eq!(z, [(new.clone(), 1767225600.5)]);
    assert_eq!(hget(&mut con, ATTEMPTS, &id(7)), Some(b"1".to_vec()));

    // The audit entry: what, why, and the old hash's raw fields.
    let entries = audit(&mut con);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["command"], b"reap");
    assert_eq!(e["action"], b"reap_requeue");
    assert_eq!(e["job"], id(7).as_bytes());
    assert_eq!(e["key"], old.as_bytes());
    assert_eq!(e["new_key"], new.as_bytes());
    for (f, v) in &before {
        assert_eq!(&e[&format!("before.{}", String::from_utf8_lossy(f))], v);
    }
    // A second run finds nothing.
    let again = r.jobq(&["--json", "reap", "--all", "--yes"]);
    again.expect_code(0);
    assert_eq!(json_of(&again)["counts"]["running"], 0);
}

/// A plan made from a read, then the state changes before the move is
/// applied: the move reports `skipped` with the reason, and writes nothing.
#[test]
fn a_stale_plan_is_skipped_and_touches_nothing() {
    use jobq::cmd::reap::stale::{classify, plan_move, Basis, Policy, Seen, Staleness};
    use jobq::store::moves::{MoveOutcome, SkipReason};

    let r = Redis::start();
    let model = jobq::schema::Model::redis_job();
    let ns = jobq::schema::Namespace::new("jobq");
    let args = match <jobq::cli::Cli as clap::Parser>::try_parse_from([
        "jobq",
        "reap",
        "--all",
        "--yes",
        "--heartbeat-key",
        "hb:{project_key}",
    ])
    .expect("args")
    .command
    {
        jobq::cli::Command::Reap(a) => a,
        _ => unreachable!(),
    };
    let policy = Policy::new(&model, &args).expect("policy");
    let audit_header = jobq::store::audit::Audit::new(ns.audit(), "reap");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let connect = jobq::settings::ConnectSettings {
        url: r.url(),
        display_url: r.url(),
        secret: None,
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(30),
        tls: Default::default(),
    };
    let mut store = rt
        .block_on(jobq::store::Store::connect(&connect))
        .expect("connect");

    type Change = fn(&mut redis::Connection, &str, &str);
    let cases: Vec<(&str, Change, MoveOutcome)> = vec![
        (
            "a worker completed it",
            |c, k, _| assert!(popoto_move(c, k, "completed", true)),
            MoveOutcome::Skipped(SkipReason::Gone),
        ),
        (
            "its status field now says completed",
            |c, k, _| {
                let _: () = redis::cmd("HSET")
                    .arg(k)
                    .arg("status")
                    .arg(b"\xa9completed".as_slice())
                    .query(c)
                    .expect("HSET");
            },
            MoveOutcome::Skipped(SkipReason::FieldChanged),
        ),
        (
            "it left the running index",
            |c, k, _| {
                let _: () = redis::cmd("SREM")
                    .arg(RUNNING)
                    .arg(k)
                    .query(c)
                    .expect("SREM");
            },
            MoveOutcome::Skipped(SkipReason::NotInSet),
        ),
        (
            "a pending record exists for it",
            |c, _, id| {
                popoto_create(c, id, "p", "pending", 5.0);
            },
            MoveOutcome::Skipped(SkipReason::TargetExists),
        ),
        (
            "a completed record of the same job appeared (a duplicate)",
            |c, _, id| {
                popoto_create(c, id, "p", "completed", 5.0);
            },
            MoveOutcome::Skipped(SkipReason::KeyExists),
        ),
        (
            "its worker's heartbeat is back",
            |c, _, _| {
                let _: () = redis::cmd("SET")
                    .arg("hb:p")
                    .arg("1")
                    .query(c)
                    .expect("SET");
            },
            MoveOutcome::Skipped(SkipReason::KeyExists),
        ),
        (
            "another reaper reaped it meanwhile",
            |c, _, id| {
                let _: () = redis::cmd("HINCRBY")
                    .arg(ATTEMPTS)
                    .arg(id)
                    .arg(1)
                    .query(c)
                    .expect("HINCRBY");
            },
            MoveOutcome::Skipped(SkipReason::CounterChanged),
        ),
        (
            "the pending index is not a set",
            |c, _, _| {
                let _: () = redis::cmd("SET")
                    .arg(PENDING)
                    .arg("oops")
                    .query(c)
                    .expect("SET");
            },
            MoveOutcome::WrongType(PENDING.as_bytes().to_vec()),
        ),
        (
            "nothing changed",
            |_, _, _| {},
            MoveOutcome::Moved { count: 1 },
        ),
    ];
    for (what, change, want) in cases {
        let mut con = r.con();
        let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("FLUSHALL");
        let job = id(42);
        let key = popoto_create(&mut con, &job, "p", "running", 5.0);
        // Plan from what is read now.
        let read: Vec<Option<Vec<u8>>> = {
            let mut c = redis::cmd("HMGET");
            c.arg(&key);
            for f in &policy.read_fields {
                c.arg(f);
            }
            c.query(&mut con).expect("HMGET")
        };
        let Seen::Running(running) = classify(&model, &policy, key.as_bytes(), &Ok(read)) else {
            panic!("{what}: not classified as running");
        };
        let st = Staleness {
            basis: Basis::All,
            age: None,
        };
        let plan = plan_move(&model, &ns, &policy, &audit_header, &running, 0, &st);
        // The state changes; then the stale plan is applied.
        change(&mut con, &key, &job);
        let before = dump(&mut con);
        let got = rt
            .block_on(store.move_records(std::slice::from_ref(&plan.record)))
            .expect("round trip");
        assert_eq!(got, vec![want.clone()], "{what}");
        if matches!(want, MoveOutcome::Moved { .. }) {
            assert!(
                exists(&mut con, &format!("RedisJob:{job}:p:pending")),
                "{what}"
            );
            assert_eq!(audit(&mut con).len(), 1, "{what}");
        } else {
            assert_eq!(
                dump(&mut con),
                before,
                "{what}: the skipped move wrote something"
            );
        }
    }
}

// ---- concurrency ----------------------------------------------------------

/// A worker completes running jobs (only those it still holds, popoto-style)
/// while reap --all moves them back: no job is ever both completed and
/// pending, and none is lost.
#[test]
fn a_worker_completing_jobs_during_a_sweep_never_sees_them_requeued() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 3000;
    let mut keys = bulk_running(&mut con, 0, N, "race");
    // Complete them in an order unrelated to SSCAN's.
    keys.sort_by_key(|k| k.bytes().rev().collect::<Vec<u8>>());
    let worker_con = r.con();
    let worker = std::thread::spawn(move || {
        let mut con = worker_con;
        let mut done = BTreeSet::new();
        for k in keys {
            if popoto_move(&mut con, &k, "completed", true) {
                done.insert(k.split(':').nth(1).expect("id").to_string());
            }
        }
        done
    });
    let run = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
    let completed = worker.join().expect("worker");
    assert!(matches!(run.code(), 0 | 4), "{}", run.explain());
    let j = json_of(&run);
    let requeued = moved_ids(&j);
    assert!(
        !completed.is_empty() && !requeued.is_empty(),
        "no overlap: worker {} reap {}",
        completed.len(),
        requeued.len()
    );
    assert!(
        completed.is_disjoint(&requeued),
        "a completed job was requeued"
    );
    assert_eq!(completed.len() + requeued.len(), N);
    // The data agrees: every job exactly once, in the state its mover left it.
    assert_eq!(scard(&mut con, RUNNING), 0);
    assert_eq!(scard(&mut con, COMPLETED), completed.len());
    assert_eq!(scard(&mut con, PENDING), requeued.len());
    assert_eq!(scard(&mut con, CLASS), N);
    for idn in &completed {
        assert!(
            !exists(&mut con, &format!("RedisJob:{idn}:race:pending")),
            "{idn} completed and pending"
        );
    }
    let audited: BTreeSet<String> = audit(&mut con)
        .iter()
        .map(|e| String::from_utf8_lossy(&e["job"]).into_owned())
        .collect();
    assert_eq!(audited, requeued);
    // Every skip is a job the worker got first.
    for s in j["skipped"].as_array().expect("skipped") {
        assert!(completed.contains(s["job_id"].as_str().expect("id")), "{s}");
    }
}

#[test]
fn four_reapers_at_once_move_each_stale_job_exactly_once() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 10_000;
    bulk_running(&mut con, 0, N, "p");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(jobq_bin())
                .args([
                    "--url",
                    &r.url(),
                    "--json",
                    "reap",
                    "--once",
                    "--all",
                    "--yes",
                ])
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn jobq")
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let mut moved_total = 0;
    let mut idle = 0;
    for o in &outs {
        let code = o.status.code();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            matches!(code, Some(0 | 75)),
            "exit {code:?}\n{text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let j: serde_json::Value = serde_json::from_str(&text).expect("one JSON report");
        let moved = j["moved"].as_array().expect("moved").len();
        moved_total += moved;
        if code == Some(75) || j["counts"]["stale"] == 0 {
            assert_eq!(moved, 0);
            idle += 1;
        }
    }
    assert_eq!(
        idle, 3,
        "one reaper does the work, three find the lock held or nothing to do"
    );
    assert_eq!(moved_total, N);
    let entries = audit(&mut con);
    assert_eq!(entries.len(), N, "one audit entry per move");
    let ids: HashSet<Vec<u8>> = entries.iter().map(|e| e["job"].clone()).collect();
    assert_eq!(ids.len(), N, "no job moved twice");
    assert_eq!(scard(&mut con, RUNNING), 0);
    assert_eq!(scard(&mut con, PENDING), N);
    assert_eq!(scard(&mut con, CLASS), N);
    let counts: Vec<Vec<u8>> = redis::cmd("HVALS")
        .arg(ATTEMPTS)
        .query(&mut con)
        .expect("HVALS");
    assert_eq!(counts.len(), N);
    assert!(counts.iter().all(|c| c == b"1"));
    assert!(!exists(&mut con, LOCK), "the lock is released");
}

// ---- the poison-pill cap ---------------------------------------------------

#[test]
fn a_job_reaped_max_attempts_times_ends_in_failed() {
    let r = Redis::start();
    let mut con = r.con();
    let running = popoto_create(&mut con, &id(9), "p", "running", 1.0);
    let pending = format!("RedisJob:{}:p:pending", id(9));
    let failed = format!("RedisJob:{}:p:failed", id(9));
    for attempt in 1..=2 {
        let run = r.jobq(&[
            "--json",
            "reap",
            "--once",
            "--all",
            "--yes",
            "--max-attempts",
            "3",
        ]);
        run.expect_code(0);
        let j = json_of(&run);
        assert_eq!(j["moved"][0]["to"], "pending", "reap {attempt}");
        assert_eq!(j["moved"][0]["attempts"], attempt);
        assert_eq!(
            hget(&mut con, &pending, "priority"),
            Some(b"\xa4high".to_vec())
        );
        // A worker picks it up again and dies again.
        assert!(popoto_move(&mut con, &pending, "running", true));
    }
    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--max-attempts",
        "3",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["to_failed"], 1);
    assert_eq!(j["moved"][0]["to"], "failed");
    assert_eq!(j["moved"][0]["attempts"], 3);
    assert!(!exists(&mut con, &running) && !exists(&mut con, &pending));
    assert_eq!(smembers(&mut con, FAILED), [failed.as_str()]);
    assert_eq!(
        hget(&mut con, &failed, "status"),
        Some(b"\xa6failed".to_vec())
    );
    assert_eq!(hget(&mut con, ATTEMPTS, &id(9)), Some(b"3".to_vec()));
    let last = audit(&mut con).pop().expect("audit entry");
    assert_eq!(last["action"], b"reap_fail");
    assert_eq!(last["reason"], b"reaped 3 times (--max-attempts 3)");
}

// ---- lock, min-interval, interval -----------------------------------------

#[test]
fn a_held_lock_exits_75_at_once() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg(LOCK)
        .arg("otherhost:1:abc")
        .arg("PX")
        .arg(60_000)
        .query(&mut con)
        .expect("SET");
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
    run.expect_code(75);
    assert!(t0.elapsed() < Duration::from_secs(20), "did not wait");
    let j = json_of(&run);
    assert_eq!(j["ran"], false);
    assert_eq!(j["not_run"], "lock_held");
    assert_eq!(j["lock"]["status"], "held");
    assert_eq!(j["lock"]["holder"], "otherhost:1:abc");
    assert!(exists(&mut con, &key), "nothing moved");
    let v: Vec<u8> = redis::cmd("GET").arg(LOCK).query(&mut con).expect("GET");
    assert_eq!(v, b"otherhost:1:abc", "another reaper's lock is left alone");
}

#[test]
fn wait_lock_waits_for_the_holder() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg(LOCK)
        .arg("otherhost:1:abc")
        .arg("PX")
        .arg(1500)
        .query(&mut con)
        .expect("SET");
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "reap", "--once", "--all", "--yes", "--wait-lock"]);
    run.expect_code(0);
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "it did not wait for the lock to expire"
    );
    let j = json_of(&run);
    assert_eq!(j["lock"]["status"], "waited");
    assert_eq!(j["counts"]["to_pending"], 1);
    assert!(!exists(&mut con, LOCK), "released after the sweep");
}

#[test]
fn min_interval_skips_when_a_sweep_finished_recently() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    r.jobq(&["reap", "--once", "--all", "--yes"]).expect_code(0);
    assert!(
        exists(&mut con, "jobq:reap:RedisJob:last"),
        "the sweep's end is recorded"
    );
    let second = popoto_create(&mut con, &id(2), "p", "running", 2.0);

    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--min-interval",
        "1h",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["ran"], false);
    assert_eq!(j["not_run"], "min_interval");
    assert!(j["last_sweep_age_s"].as_f64().expect("age") < 3600.0);
    assert!(exists(&mut con, &second), "skipped sweep moved nothing");
    assert!(!exists(&mut con, LOCK));

    std::thread::sleep(Duration::from_millis(50));
    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--min-interval",
        "10ms",
    ]);
    run.expect_code(0);
    assert_eq!(moved_ids(&json_of(&run)), BTreeSet::from([id(2)]));
}

#[test]
fn interval_reports_each_sweep_and_ctrl_c_exits_130() {
    use std::io::BufRead;
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let mut child = Command::new(jobq_bin())
        .args([
            "--url",
            &r.url(),
            "--json",
            "reap",
            "--interval",
            "100ms",
            "--all",
            "--yes",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.len() < 3 && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
            if lines.len() == 1 {
                // A job that goes stale between sweeps is reaped by a later
                // one, even though the server forgot every script meanwhile.
                let _: () = redis::cmd("SCRIPT")
                    .arg("FLUSH")
                    .query(&mut con)
                    .expect("SCRIPT FLUSH");
                popoto_create(&mut con, &id(2), "p", "running", 2.0);
            }
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    reader.join().expect("reader");
    lines.extend(rx.try_iter());
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lines.len() >= 3, "{lines:?}");
    let reports: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    for (i, j) in reports.iter().enumerate() {
        assert_eq!(j["command"], "reap");
        assert_eq!(j["sweep"], i as u64 + 1);
    }
    let all: BTreeSet<String> = reports.iter().flat_map(moved_ids).collect();
    assert_eq!(all, BTreeSet::from([id(1), id(2)]));
    assert!(!exists(&mut con, LOCK), "lock released");
}

#[test]
fn ctrl_c_mid_sweep_stops_between_steps_and_releases_the_lock() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 30_000;
    bulk_running(&mut con, 0, N, "p");
    let child = Command::new(jobq_bin())
        .args([
            "--url",
            &r.url(),
            "--json",
            "reap",
            "--interval",
            "1h",
            "--all",
            "--yes",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    // The lock is held exactly while a sweep runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exists(&mut con, LOCK) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let j: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a report")).expect("JSON");
    let moved = j["moved"].as_array().expect("moved").len();
    if j["stopped"] == "interrupted" {
        assert!(moved < N, "stopped early");
    } else {
        // The sweep was already over when the signal came.
        assert_eq!(moved, N, "{j}");
    }
    // No half move: every job is in exactly one place, every move audited.
    assert!(!exists(&mut con, LOCK), "lock released");
    assert_eq!(scard(&mut con, PENDING), moved);
    assert_eq!(scard(&mut con, RUNNING), N - moved);
    assert_eq!(scard(&mut con, CLASS), N);
    assert_eq!(audit(&mut con).len(), moved);
}

#[test]
fn ctrl_c_mid_sweep_text_report_says_what_was_done() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 30_000;
    bulk_running(&mut con, 0, N, "p");
    let child = Command::new(jobq_bin())
        .args(["--url", &r.url(), "reap", "--once", "--all", "--yes"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    // The lock is taken as the sweep starts, long before 30,000 moves end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exists(&mut con, LOCK) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{text}\nstderr: {stderr}");
    let moved = scard(&mut con, PENDING);
    assert!(moved < N, "stopped early: {moved}");
    assert!(
        text.contains(&format!("{moved} to pending")),
        "the report counts what was moved ({moved}):\n{text}"
    );
    assert!(
        text.contains("stopped early: interrupted: run again to finish"),
        "{text}"
    );
    assert!(!exists(&mut con, LOCK), "lock released");
    // A rerun moves the rest.
    r.jobq(&["reap", "--once", "--all", "--yes"]).expect_code(0);
    assert_eq!(scard(&mut con, PENDING), N);
}

// ---- dry run, budgets, damage, errors -------------------------------------

#[test]
fn dry_run_lists_stale_jobs_and_writes_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    let empty = r.jobq(&["--json", "reap", "--dry-run", "--all"]);
    empty.expect_code(0);
    bulk_running(&mut con, 0, 2, "p");
    let before = dump(&mut con);
    // First-sighting mode: a dry run notes nothing, so nothing is stale.
    let run = r.jobq(&["--json", "reap", "--dry-run", "--lease", "0"]);
    run.expect_code(0);
    assert_eq!(json_of(&run)["counts"]["first_sightings"], 0);
    let run = r.jobq(&["--json", "reap", "--dry-run", "--all"]);
    run.expect_code(1);
    let j = json_of(&run);
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["lock"]["status"], "not_taken");
    assert_eq!(j["would_move"].as_array().expect("list").len(), 2);
    assert_eq!(j["would_move"][0]["to"], "pending");
    assert!(j["moved"].as_array().expect("list").is_empty());
    let text = r.jobq(&["reap", "--dry-run", "--all"]);
    text.expect_code(1);
    assert!(text.stdout().contains("would move"), "{}", text.explain());
    assert_eq!(dump(&mut con), before, "a dry run writes nothing");
}

#[test]
fn max_jobs_stops_the_sweep() {
    let r = Redis::start();
    let mut con = r.con();
    bulk_running(&mut con, 0, 5, "p");
    let run = r.jobq(&["--json", "reap", "--all", "--yes", "--max-jobs", "2"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["to_pending"], 2);
    assert_eq!(j["stopped"], "max_jobs");
    assert_eq!(scard(&mut con, RUNNING), 3);

    let run = r.jobq(&["--json", "reap", "--all", "--yes", "--max-duration", "0"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["stopped"], "max_duration");
    assert_eq!(
        scard(&mut con, RUNNING),
        3,
        "nothing moved after the budget ran out"
    );
}

#[test]
fn damaged_members_are_left_alone() {
    let r = Redis::start();
    let mut con = r.con();
    // Key says running, hash says completed (field_mismatch).
    let k1 = popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("HSET")
        .arg(&k1)
        .arg("status")
        .arg(b"\xa9completed".as_slice())
        .query(&mut con)
        .expect("HSET");
    // A completed record in the running index (wrong_index).
    let k2 = popoto_create(&mut con, &id(2), "p", "completed", 2.0);
    let _: () = redis::cmd("SADD")
        .arg(RUNNING)
        .arg(&k2)
        .query(&mut con)
        .expect("SADD");
    // Members that are not record keys, or not hashes, or not UTF-8.
    for (k, string) in [
        (b"RedisJob:only-two".to_vec(), false),
        (b"RedisJob:x:p:running".to_vec(), true),
        (b"RedisJob:\xff:p:running".to_vec(), false),
    ] {
        if string {
            let _: () = redis::cmd("SET")
                .arg(&k)
                .arg("x")
                .query(&mut con)
                .expect("SET");
        } else {
            let _: () = redis::cmd("HSET")
                .arg(&k)
                .arg("status")
                .arg(b"\xa7running".as_slice())
                .query(&mut con)
                .expect("HSET");
        }
        let _: () = redis::cmd("SADD")
            .arg(RUNNING)
            .arg(&k)
            .query(&mut con)
            .expect("SADD");
    }
    // A dangling member (no record): nothing to reap.
    let _: () = redis::cmd("SADD")
        .arg(RUNNING)
        .arg(format!("RedisJob:{}:p:running", id(3)))
        .query(&mut con)
        .expect("SADD");
    let good = popoto_create(&mut con, &id(4), "p", "running", 4.0);
    let before = dump(&mut con);

    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["ignored"], 5, "{}", run.explain());
    assert_eq!(j["counts"]["vanished"], 1);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(4)]));
    assert!(run.stderr().contains("orphans scan"), "{}", run.explain());
    // Everything but the healthy job is exactly as it was.
    let after = dump(&mut con);
    for (k, v) in &before {
        if k.as_slice() == good.as_bytes()
            || [
                RUNNING,
                PENDING,
                CLASS,
                ZSET,
                "$KeyF:RedisJob:project_key:p",
            ]
            .iter()
            .any(|s| k.as_slice() == s.as_bytes())
        {
            continue;
        }
        assert_eq!(after.get(k), Some(v), "{}", String::from_utf8_lossy(k));
    }
    let mut running: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
        .arg(RUNNING)
        .query(&mut con)
        .expect("SMEMBERS");
    running.sort();
    assert_eq!(
        running.len(),
        6,
        "only the healthy job left the running index"
    );
    let ignored_keys: Vec<&serde_json::Value> = j["ignored"]
        .as_array()
        .expect("list")
        .iter()
        .map(|i| &i["key"])
        .collect();
    assert!(
        ignored_keys.contains(&&serde_json::json!({"hex": hex_of(b"RedisJob:\xff:p:running")})),
        "{ignored_keys:?}"
    );
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_failing_sweep_exits_3_says_why_on_stderr_and_frees_the_lock() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg(SEEN)
        .arg("not a hash")
        .query(&mut con)
        .expect("SET");
    let run = r.jobq(&["--json", "-q", "reap", "--once"]);
    run.expect_code(3);
    let j = json_of(&run);
    assert_eq!(j["stopped"], "error");
    let err = j["errors"][0].as_str().expect("an error");
    assert!(err.contains(SEEN), "{err}");
    assert!(
        run.stderr().contains("jobq: error: reap sweep 1:"),
        "{}",
        run.explain()
    );
    assert!(!exists(&mut con, LOCK), "lock released");
    assert!(
        !exists(&mut con, "jobq:reap:RedisJob:last"),
        "a failed sweep is not a completed one"
    );
    assert!(exists(&mut con, &key));
}

#[test]
fn bad_flags_are_usage_errors() {
    let r = Redis::start();
    for args in [
        vec!["reap", "--since-field", "message_text"],
        vec!["reap", "--since-field", "nope"],
        vec!["reap", "--heartbeat-key", "w:{worker}"],
        vec!["reap", "--heartbeat-key", "w:{project_key"],
        vec!["reap", "--interval", "0"],
        vec!["reap", "--max-jobs", "0"],
        vec!["reap", "--once", "--interval", "1s"],
    ] {
        r.jobq(&args).expect_code(2);
    }
}

#[test]
fn a_read_only_replica_is_refused_before_any_write() {
    let primary = Redis::start_tcp(&[]);
    let port = primary.port.expect("port").to_string();
    let replica = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    let run = replica.jobq(&["reap", "--all", "--yes"]);
    run.expect_code(3);
    assert!(run.stderr().contains("replica"), "{}", run.explain());
    // A dry run only reads: fine on a replica.
    replica.jobq(&["reap", "--dry-run", "--all"]).expect_code(0);
}

/// Issue 15, item 1: a running job whose job_id another live record holds
/// (completed under another project, or under another status of its own
/// project) is a duplicate: reap leaves it where it is and says why, and
/// requeues the rest. (A twin made after the class-set walk is caught by
/// the move's guard: see `plans_popoto_style_moves` in `reap::stale`.)
#[test]
fn a_running_job_with_a_twin_is_not_requeued() {
    let r = Redis::start();
    let mut con = r.con();
    let cross = popoto_create(&mut con, &id(1), "billing", "running", 1.0);
    let done = popoto_create(&mut con, &id(1), "ops", "completed", 2.0);
    let same = popoto_create(&mut con, &id(2), "billing", "running", 3.0);
    let failed = popoto_create(&mut con, &id(2), "billing", "failed", 4.0);
    let plain = popoto_create(&mut con, &id(3), "billing", "running", 5.0);
    let before = dump(&mut con);

    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(3)]), "{}", run.explain());
    let ignored: Vec<(String, String)> = j["ignored"]
        .as_array()
        .expect("ignored")
        .iter()
        .map(|i| {
            (
                i["key"].as_str().expect("key").to_owned(),
                i["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    assert_eq!(ignored.len(), 2, "{}", run.explain());
    for ((key, reason), twin) in ignored.iter().zip([&done, &failed]) {
        assert!(
            [&cross, &same].contains(&key) && reason.contains("duplicate"),
            "{}",
            run.explain()
        );
        assert!(
            ignored.iter().any(|(_, r)| r.contains(twin.as_str())),
            "{}",
            run.explain()
        );
    }
    let after = dump(&mut con);
    for k in [&cross, &done, &same, &failed] {
        assert_eq!(
            after.get(k.as_bytes()),
            before.get(k.as_bytes()),
            "{k} untouched"
        );
    }
    assert!(
        !exists(&mut con, &plain),
        "the plain stale job was requeued"
    );
}
