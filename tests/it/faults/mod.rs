//! Reliability under faults (README, "Reliability"): jobq killed, Redis
//! restarted, a replica, a slow server, missing permissions, a full server,
//! bad data. After each fault the invariants of `common::faults` hold:
//! nothing lost (I1), every job in its one index after a repair (I2), a
//! second run changes nothing (I3), nothing a worker did undone (I4), and
//! Redis never blocked by jobq (I5). `reap` under SIGKILL, a restart, a
//! replica and ACL users is in `reaper`; `retry` and `delete` under SIGKILL
//! in `admin`.
//!
//! SIGKILL during `reindex`, and a worker moving jobs while it repairs, are
//! in `reindex_live`; random damage interleaved with a worker is in
//! `concurrency`.

use std::time::{Duration, Instant};

use crate::common::faults::*;
use crate::common::*;
use serde_json::Value as J;

mod admin;
mod bad_data;
mod killed;
mod reaper;
mod refusals;
mod reversal;

/// A JSON Lines file of `n` jobs in five projects, with idempotency keys
/// when `keyed`.
fn jobs_file(r: &Redis, name: &str, n: usize, keyed: bool) -> String {
    let mut text = String::new();
    for i in 0..n {
        let idem = if keyed {
            format!(",\"idempotency_key\":\"line-{i}\"")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{{\"project_key\":\"p{}\",\"message_text\":\"m{i}\",\"created_at\":{i}.25{idem}}}\n",
            i % 5
        ));
    }
    write_file(r.dir.path(), name, &text)
        .to_str()
        .expect("path")
        .to_owned()
}

fn flushall(con: &mut redis::Connection) {
    let _: () = redis::cmd("FLUSHALL").query(con).expect("FLUSHALL");
}

/// Idempotency claims: claim key -> the record key it names (a claim holds
/// the record key, a newline and the digest of the job's content).
fn claims(con: &mut redis::Connection) -> Vec<(String, String)> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("jobq:idem:RedisJob:*")
        .query(con)
        .expect("KEYS");
    keys.into_iter()
        .map(|k| {
            let v: String = redis::cmd("GET").arg(&k).query(con).expect("GET");
            let record = v.split('\n').next().unwrap_or_default().to_owned();
            (k, record)
        })
        .collect()
}

/// Make every job of `keys` an orphan (out of its status index).
fn orphan_all(con: &mut redis::Connection, keys: &[String]) {
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("SREM")
                .arg(status_index("pending"))
                .arg(k)
                .ignore();
        }
        let _: () = pipe.query(con).expect("damage");
    }
}

/// Write the repair plan for the current damage; its path.
fn plan_file(r: &Redis) -> String {
    let plan = r.dir.path().join("plan.json");
    let p = plan.to_str().expect("path").to_owned();
    r.jobq(&["orphans", "scan", "--grace", "0", "--plan-out", &p])
        .expect_code(1);
    p
}

/// Every action a report says was applied shows in the state (an orphan
/// repair: the key is in its status index); returns how many were applied.
fn applied_actions_hold(con: &mut redis::Connection, j: &J) -> usize {
    let pending: std::collections::BTreeSet<String> = smembers(con, &status_index("pending"))
        .into_iter()
        .collect();
    let mut n = 0;
    for a in j["actions"].as_array().expect("actions") {
        if a["outcome"] == "applied" {
            let key = a["key"].as_str().expect("key");
            assert!(
                pending.contains(key),
                "reported applied, but not in the state: {key}"
            );
            n += 1;
        }
    }
    n
}

/// The single line of an error on stderr.
#[track_caller]
fn one_line_error(run: &Run) -> String {
    let err = run.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", run.explain());
    lines[0].to_string()
}

/// `n` jobs of `status` in project `p`, popoto's bytes, pipelined; keys.
pub fn seed_status(con: &mut redis::Connection, n: usize, status: &str) -> Vec<String> {
    use jobq::schema::msgpack::encode;
    use jobq::schema::Value as V;
    let mut keys = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let id = job_id(i + 1);
            let key = format!("RedisJob:{id}:p:{status}");
            let t = 1767225600.0 + i as f64;
            pipe.cmd("HSET")
                .arg(&key)
                .arg("job_id")
                .arg(encode(&V::Str(id.clone())))
                .arg("project_key")
                .arg(encode(&V::Str("p".into())))
                .arg("status")
                .arg(encode(&V::Str(status.into())))
                .arg("priority")
                .arg(encode(&V::Str("normal".into())))
                .arg("message_text")
                .arg(encode(&V::Str(format!("m{i}"))))
                .arg("created_at")
                .arg(encode(&V::Float(t)))
                .ignore();
            pipe.cmd("SADD").arg(CLASS).arg(&key).ignore();
            pipe.cmd("SADD").arg(project_index("p")).arg(&key).ignore();
            pipe.cmd("SADD")
                .arg(status_index(status))
                .arg(&key)
                .ignore();
            pipe.cmd("ZADD").arg(ZSET).arg(t).arg(&key).ignore();
            keys.push(key);
        }
        let _: () = pipe.query(con).expect("seed");
    }
    keys
}

/// After a move of jobs from `from` to pending (reap, retry; whole or cut
/// short): every job whole in exactly one of the two indexes (I1, I2: a
/// move is one script), each pending one with exactly one `action` audit
/// entry, none half-done, none twice, none unaudited. Returns how many
/// moved.
pub fn moves_whole(
    con: &mut redis::Connection,
    before: &Before,
    n: usize,
    from: &str,
    action: &str,
) -> usize {
    check_i1(con, before, &WorkerLog::default(), true);
    check_i2(con, &[]);
    assert_no_step_twice(con);
    let pending = smembers(con, &status_index("pending"));
    let left = smembers(con, &status_index(from));
    assert_eq!(pending.len() + left.len(), n, "every job in one index");
    let audited: std::collections::BTreeSet<Vec<u8>> = audit_counts(con)
        .into_iter()
        .filter(|((_, a), _)| a.as_slice() == action.as_bytes())
        .map(|((k, _), _)| k)
        .collect();
    assert_eq!(audited.len(), pending.len(), "one audit entry per move");
    for k in &pending {
        let old = k.replace(":pending", &format!(":{from}"));
        assert!(audited.contains(old.as_bytes()), "{k} moved, not audited");
    }
    pending.len()
}
