//! `jobq retry` against a real redis-server: jobs moved back to pending
//! popoto-style with every other field kept, each filter, every exit code,
//! the guard proven by a worker moving jobs while the prompt waits, and a
//! worker moving jobs during a retry.

use std::collections::HashMap;

use crate::common::*;
use crate::exit_codes::answer_prompt_after;

/// Long ago: --older-than takes these, --newer-than does not.
const OLD: f64 = 1767225600.5;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

fn in_set(con: &mut redis::Connection, set: &str, member: &str) -> bool {
    redis::cmd("SISMEMBER")
        .arg(set)
        .arg(member)
        .query::<bool>(con)
        .expect("SISMEMBER")
}

fn fields(con: &mut redis::Connection, key: &str) -> HashMap<Vec<u8>, Vec<u8>> {
    hgetall_raw(con, key).into_iter().collect()
}

fn pending_key(id: &str, project: &str) -> String {
    format!("RedisJob:{id}:{project}:pending")
}

#[test]
fn failed_jobs_of_a_project_go_back_to_pending_with_every_other_field_kept() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, "a", "p", "failed", OLD);
    let b = popoto_create(&mut con, "b", "p", "failed", OLD + 1.0);
    let c = popoto_create(&mut con, "c", "q", "failed", OLD);
    let d = popoto_create(&mut con, "d", "p", "completed", OLD);
    let before_a = fields(&mut con, &a);
    let run = r.jobq(&["--json", "retry", "--project", "p", "--yes"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["command"], "retry");
    assert_eq!(j["counts"]["applied"], 2, "{j}");
    let run_id = j["run_id"].as_str().expect("run_id").to_owned();
    for (old, id, score) in [(&a, "a", OLD), (&b, "b", OLD + 1.0)] {
        let new = pending_key(id, "p");
        assert!(hgetall_raw(&mut con, old).is_empty(), "{old} still there");
        for set in [
            "$Class:RedisJob",
            "$KeyF:RedisJob:status:pending",
            "$KeyF:RedisJob:project_key:p",
        ] {
            assert!(in_set(&mut con, set, &new), "{new} not in {set}");
            assert!(!in_set(&mut con, set, old), "{old} still in {set}");
        }
        assert!(!in_set(&mut con, "$KeyF:RedisJob:status:failed", old));
        let s: Option<f64> = redis::cmd("ZSCORE")
            .arg("$SortF:RedisJob:created_at")
            .arg(&new)
            .query(&mut con)
            .expect("ZSCORE");
        assert_eq!(s, Some(score));
    }
    // Every field but the status kept, byte for byte.
    let after_a = fields(&mut con, &pending_key("a", "p"));
    for (f, v) in &before_a {
        if f.as_slice() == b"status" {
            assert_eq!(after_a[f], pack("pending"));
        } else {
            assert_eq!(&after_a[f], v, "{}", String::from_utf8_lossy(f));
        }
    }
    assert_eq!(after_a.len(), before_a.len());
    for k in [&c, &d] {
        assert!(!hgetall_raw(&mut con, k).is_empty(), "{k} was touched");
    }
    let entries = xrange(&mut con, "jobq:audit");
    assert_eq!(entries.len(), 2);
    for (_, e) in &entries {
        let e: HashMap<_, _> = e.iter().cloned().collect();
        assert_eq!(e[&b"run".to_vec()], run_id.as_bytes());
        assert_eq!(e[&b"action".to_vec()], b"retry");
    }
}

#[test]
fn each_filter_and_the_priority() {
    let r = Redis::start();
    let mut con = r.con();
    let t = now();
    popoto_create(&mut con, "old", "p", "failed", OLD);
    popoto_create(&mut con, "new", "p", "failed", t - 10.0);
    popoto_create(&mut con, "x", "p", "completed", OLD);
    let retried = |run: &Run| -> Vec<String> {
        run.json()["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .filter(|j| j["outcome"] == "applied" || j["outcome"] == "planned")
            .map(|j| j["job_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let dry = |args: &[&str]| {
        let mut full = vec!["--json", "retry", "--dry-run"];
        full.extend_from_slice(args);
        r.jobq(&full)
    };
    assert_eq!(retried(&dry(&["--older-than", "1h"])), ["old"]);
    assert_eq!(retried(&dry(&["--newer-than", "1h"])), ["new"]);
    assert_eq!(retried(&dry(&["--match", "message_text=msg new"])), ["new"]);
    assert_eq!(
        retried(&dry(&["--match", "created_at=1767225600.5"])),
        ["old"]
    );
    assert_eq!(retried(&dry(&["--status", "completed"])), ["x"]);
    assert_eq!(retried(&dry(&["old", "x"])), ["old"]);
    assert_eq!(retried(&dry(&["--limit", "1"])).len(), 1);
    assert!(retried(&dry(&["--project", "zz"])).is_empty());
    let run = r.jobq(&[
        "--json",
        "retry",
        "--priority",
        "high",
        "--match",
        "job_id=new",
        "--yes",
    ]);
    run.expect_code(0);
    assert_eq!(retried(&run), ["new"]);
    let f = fields(&mut con, &pending_key("new", "p"));
    assert_eq!(f[&b"priority".to_vec()], pack("high"));
    // Nothing left to do: 0.
    r.jobq(&["retry", "--match", "job_id=new", "--yes"])
        .expect_code(0);
}

#[test]
fn retry_exit_codes() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "a", "p", "failed", OLD);
    popoto_create(&mut con, "r", "p", "running", OLD);
    let before = snapshot(&mut con);
    r.jobq(&["retry", "--dry-run"]).expect_code(1);
    for args in [
        &["retry"][..],
        &["retry", "--status", "pending", "--yes"],
        &["retry", "--status", "running", "--yes"],
        &["retry", "--status", "nope", "--yes"],
        // --include-running always asks: no terminal, no answer.
        &["retry", "--status", "running", "--include-running", "--yes"],
        &["retry", "--match", "nope=1", "--yes"],
        &["retry", "--match", "created_at=soon", "--yes"],
        &["retry", "--match", "novalue", "--yes"],
        &["retry", "--limit", "-1", "--yes"],
    ] {
        let run = r.jobq(args);
        run.expect_code(2);
        assert!(run.stdout().is_empty(), "{}", run.explain());
    }
    assert_eq!(snapshot(&mut con), before);
    assert_eq!(xlen(&mut con, "jobq:audit"), 0);
    let (code, shown) = answer_prompt_after(&r, "retry", b"n", || {});
    assert_eq!(code, Some(5), "{shown}");
    assert_eq!(snapshot(&mut con), before);
    jobq(&[
        "--url",
        "redis://127.0.0.1:1/0",
        "--connect-timeout",
        "1s",
        "retry",
        "--yes",
    ])
    .expect_code(3);
    // --include-running at a terminal, answered yes.
    let (code, shown) = answer_prompt_after(
        &r,
        "retry --status running --include-running --yes",
        b"y",
        || {},
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(!hgetall_raw(&mut con, &pending_key("r", "p")).is_empty());
}

#[test]
fn jobs_a_worker_took_while_the_prompt_waited_are_skipped_untouched() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, "a", "p", "failed", OLD);
    let b = popoto_create(&mut con, "b", "p", "failed", OLD);
    let c = popoto_create(&mut con, "c", "p", "failed", OLD);
    let mut moved = None;
    let (code, shown) = answer_prompt_after(&r, "retry", b"y", || {
        let mut w = r.con();
        moved = popoto_move(&mut w, &a, "running");
        cmd(
            &mut w,
            &[b"HSET", b.as_bytes(), b"status", &pack("completed")],
        );
    });
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("gone since it was selected"), "{shown}");
    assert!(
        shown.contains("field changed since it was selected"),
        "{shown}"
    );
    let moved = moved.expect("moved");
    assert!(in_set(&mut con, "$KeyF:RedisJob:status:running", &moved));
    assert!(hgetall_raw(&mut con, &pending_key("a", "p")).is_empty());
    assert!(!hgetall_raw(&mut con, &b).is_empty());
    assert!(hgetall_raw(&mut con, &pending_key("b", "p")).is_empty());
    assert!(hgetall_raw(&mut con, &c).is_empty());
    assert!(!hgetall_raw(&mut con, &pending_key("c", "p")).is_empty());
}

#[test]
fn a_worker_moving_jobs_during_a_retry_never_has_one_retried_underneath_it() {
    let r = Redis::start();
    let mut con = r.con();
    let n = 600;
    let keys: Vec<String> = (1..=n)
        .map(|i| popoto_create(&mut con, &job_id(i), "p", "failed", OLD + i as f64))
        .collect();
    // The worker claims jobs as a worker must: WATCHing the record from
    // its read to its EXEC (an unguarded save of a stale instance would
    // re-create a job whatever moved it meanwhile; popoto itself has no
    // guard there).
    let worker = {
        let mut w = r.con();
        let keys = keys.clone();
        std::thread::spawn(move || {
            keys.iter()
                .rev()
                .filter_map(|k| popoto_move_watched(&mut w, k, "running"))
                .count()
        })
    };
    let run = r.jobq(&["--json", "retry", "--yes"]);
    let took = worker.join().expect("worker") as u64;
    // 4 when the worker took a job between its read and its move.
    assert!(matches!(run.code(), 0 | 4), "exit {}", run.code());
    let j = run.json();
    let applied = j["counts"]["applied"].as_u64().expect("applied");
    let skipped = j["counts"]["skipped"].as_u64().expect("skipped");
    assert_eq!(run.code() == 4, skipped > 0);
    for row in j["jobs"].as_array().expect("jobs") {
        if row["outcome"] == "skipped" {
            assert!(
                row["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("gone")),
                "{row}"
            );
        }
    }
    // Each job is in exactly one place, whole: pending (retried) or running
    // (the worker's); never both, never lost, never failed any more.
    for i in 1..=n {
        let id = job_id(i);
        let live: Vec<&str> = ["failed", "pending", "running"]
            .into_iter()
            .filter(|s| !hgetall_raw(&mut con, &format!("RedisJob:{id}:p:{s}")).is_empty())
            .collect();
        assert_eq!(live.len(), 1, "{id}: {live:?}");
        let k = format!("RedisJob:{id}:p:{}", live[0]);
        assert!(in_set(&mut con, "$Class:RedisJob", &k));
        assert!(in_set(
            &mut con,
            &format!("$KeyF:RedisJob:status:{}", live[0]),
            &k
        ));
        assert_ne!(live[0], "failed", "{id} left behind");
    }
    assert!(
        applied > 0 && took > 0,
        "no overlap: applied {applied}, worker took {took}"
    );
    assert_eq!(
        applied + took,
        n as u64,
        "applied {applied}, worker took {took}"
    );
}
