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
