//! `jobq delete` against a real redis-server: every record of each job_id
//! deleted popoto-style with its before-image audited, the running-job
//! rule, every exit code, the guard proven by a worker moving the job while
//! the prompt waits, and a worker moving jobs during a large delete.

use std::collections::HashMap;

use crate::common::*;
use crate::exit_codes::answer_prompt_after;

const T0: f64 = 1767225600.5;

/// A record's raw fields by its key.
type Images = HashMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

fn fields(entry: &[(Vec<u8>, Vec<u8>)]) -> HashMap<String, Vec<u8>> {
    entry
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.clone()))
        .collect()
}

fn in_set(con: &mut redis::Connection, set: &str, member: &str) -> bool {
    redis::cmd("SISMEMBER")
        .arg(set)
        .arg(member)
        .query::<bool>(con)
        .expect("SISMEMBER")
}

#[test]
fn every_record_of_each_id_goes_with_its_before_image_in_the_audit_stream() {
    let r = Redis::start();
    let mut con = r.con();
    let a1 = popoto_create(&mut con, "a", "p", "completed", T0);
    // A duplicate of a: a second live record under another status.
    let a2 = popoto_create(&mut con, "a", "q", "failed", T0 + 1.0);
    let b = popoto_create(&mut con, "b", "p", "failed", T0 + 2.0);
    let keep = popoto_create(&mut con, "c", "p", "completed", T0 + 3.0);
    let images: Images = [&a1, &a2, &b]
        .iter()
        .map(|k| ((*k).clone(), hgetall_raw(&mut con, k)))
        .collect();
    let run = r.jobq(&["--json", "delete", "a", "b", "a", "--yes"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["schema"], 1);
    assert_eq!(j["command"], "delete");
    assert_eq!(j["counts"]["applied"], 3, "{j}");
    let run_id = j["run_id"].as_str().expect("run_id").to_owned();
    for k in [&a1, &a2, &b] {
        assert!(hgetall_raw(&mut con, k).is_empty(), "{k} still there");
    }
    let left = keys(&mut con);
    assert!(
        left.iter()
            .all(|k| !k.contains(":a:") && !k.contains(":b:")),
        "{left:?}"
    );
    for set in [
        "$Class:RedisJob",
        "$KeyF:RedisJob:status:completed",
        "$KeyF:RedisJob:status:failed",
        "$KeyF:RedisJob:project_key:p",
        "$KeyF:RedisJob:project_key:q",
    ] {
        for k in [&a1, &a2, &b] {
            assert!(!in_set(&mut con, set, k), "{k} still in {set}");
        }
    }
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg("$SortF:RedisJob:created_at")
        .arg(&a1)
        .query(&mut con)
        .expect("ZSCORE");
    assert_eq!(score, None);
    // The job not named is untouched.
    assert!(in_set(&mut con, "$KeyF:RedisJob:status:completed", &keep));
    assert!(!hgetall_raw(&mut con, &keep).is_empty());

    // One entry per record, each enough to re-create it exactly.
    let entries = xrange(&mut con, "jobq:audit");
    assert_eq!(entries.len(), 3, "{entries:?}");
    for (_, e) in &entries {
        let f = fields(e);
        assert_eq!(f["run"], run_id.as_bytes());
        assert_eq!(f["action"], b"delete");
        assert_eq!(f["deleted"], b"1");
        let key = String::from_utf8(f["key"].clone()).expect("key");
        for (name, value) in &images[&key] {
            let field = format!("before.{}", String::from_utf8_lossy(name));
            assert_eq!(&f[&field], value, "{field} of {key}");
        }
        let sets: Vec<&[u8]> = (1..=3)
            .filter_map(|i| f.get(&format!("srem.{i}")).map(Vec::as_slice))
            .collect();
        assert_eq!(sets.len(), 3, "{key}: status, project and class set: {f:?}");
        assert!(sets.contains(&b"$Class:RedisJob".as_slice()));
        assert_eq!(f["zrem.1"], b"$SortF:RedisJob:created_at");
        let want = if key == a1 {
            T0
        } else if key == a2 {
            T0 + 1.0
        } else {
            T0 + 2.0
        };
        let got: f64 = String::from_utf8_lossy(&f["zrem.1.score"])
            .parse()
            .expect("score");
        assert_eq!(got, want);
    }
}

#[test]
fn a_running_job_needs_force_and_an_unknown_id_is_reported() {
    let r = Redis::start();
    let mut con = r.con();
    let run_key = popoto_create(&mut con, "r", "p", "running", T0);
    let done = popoto_create(&mut con, "d", "p", "completed", T0);
    let out = r.jobq(&["--json", "delete", "r", "d", "nope", "--yes"]);
    out.expect_code(4);
    let j = out.json();
    assert_eq!(j["counts"]["refused"], 1, "{j}");
    assert_eq!(j["counts"]["not_found"], 1, "{j}");
    assert_eq!(j["counts"]["applied"], 1, "{j}");
    assert!(!hgetall_raw(&mut con, &run_key).is_empty());
    assert!(hgetall_raw(&mut con, &done).is_empty());
    let out = r.jobq(&["delete", "r", "--force", "--yes"]);
    out.expect_code(0);
    assert!(out.stdout().contains("deleted"), "{}", out.explain());
    assert!(hgetall_raw(&mut con, &run_key).is_empty());
    assert!(!in_set(&mut con, "$KeyF:RedisJob:status:running", &run_key));
}

#[test]
fn dry_run_no_terminal_and_unreachable_write_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "a", "p", "failed", T0);
    let before = snapshot(&mut con);
    let out = r.jobq(&["delete", "a", "--dry-run"]);
    out.expect_code(1);
    assert!(
        out.stdout().contains("would be deleted"),
        "{}",
        out.explain()
    );
    // No --yes and no terminal to ask on.
    r.jobq(&["delete", "a"]).expect_code(2);
    r.jobq(&["delete"]).expect_code(2);
    r.jobq(&["delete", ""]).expect_code(2);
    assert_eq!(snapshot(&mut con), before);
    assert_eq!(xlen(&mut con, "jobq:audit"), 0);
    jobq(&[
        "--url",
        "redis://127.0.0.1:1/0",
        "--connect-timeout",
        "1s",
        "delete",
        "a",
        "--yes",
    ])
    .expect_code(3);
}

#[test]
fn declining_the_prompt_writes_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "a", "p", "failed", T0);
    let before = snapshot(&mut con);
    let (code, shown) = answer_prompt_after(&r, "delete a", b"n", || {});
    assert_eq!(code, Some(5), "{shown}");
    assert!(shown.contains("would be deleted"), "{shown}");
    assert_eq!(snapshot(&mut con), before);
}

#[test]
fn a_job_a_worker_took_while_the_prompt_waited_is_skipped_untouched() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, "a", "p", "pending", T0);
    let b = popoto_create(&mut con, "b", "p", "failed", T0);
    let c = popoto_create(&mut con, "c", "p", "failed", T0);
    let mut moved = None;
    let (code, shown) = answer_prompt_after(&r, "delete a b c", b"y", || {
        let mut w = r.con();
        // A worker takes a (popoto re-creates it under its running key)...
        moved = popoto_move(&mut w, &a, "running");
        // ...and something rewrites c's status field in place.
        cmd(
            &mut w,
            &[b"HSET", c.as_bytes(), b"status", &pack("pending")],
        );
    });
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("gone since it was read"), "{shown}");
    assert!(shown.contains("field changed since it was read"), "{shown}");
    let moved = moved.expect("the worker moved a");
    assert!(!hgetall_raw(&mut con, &moved).is_empty());
    assert!(in_set(&mut con, "$KeyF:RedisJob:status:running", &moved));
    assert!(in_set(&mut con, "$Class:RedisJob", &moved));
    assert!(!hgetall_raw(&mut con, &c).is_empty());
    assert!(in_set(&mut con, "$Class:RedisJob", &c));
    assert!(hgetall_raw(&mut con, &b).is_empty());
    assert_eq!(xlen(&mut con, "jobq:audit"), 1);
}

#[test]
fn a_worker_moving_jobs_during_a_delete_never_loses_one_it_took() {
    let r = Redis::start();
    let mut con = r.con();
    let n = 2000;
    let keys = seed_fast(&mut con, n, "p");
    let ids: Vec<String> = (1..=n).map(job_id).collect();
    // The worker claims jobs as a worker must: WATCHing the record from
    // its read to its EXEC (an unguarded save of a stale instance would
    // re-create a job whatever moved it meanwhile; popoto itself has no
    // guard there).
    let worker = {
        let mut w = r.con();
        let keys = keys.clone();
        std::thread::spawn(move || {
            let mut took = Vec::new();
            for k in keys.iter().rev() {
                if let Some(new) = popoto_move_watched(&mut w, k, "running") {
                    took.push(new);
                }
            }
            took
        })
    };
    let mut args = vec!["--json", "delete", "--yes"];
    args.extend(ids.iter().map(String::as_str));
    let out = r.jobq(&args);
    let took = worker.join().expect("worker");
    assert!(matches!(out.code(), 0 | 4), "{}", out.explain());
    let j = out.json();
    // Every job is in exactly one state: deleted whole, or running whole
    // (the worker's), never half of either.
    for id in &ids {
        let pending = format!("RedisJob:{id}:p:pending");
        let running = format!("RedisJob:{id}:p:running");
        assert!(
            hgetall_raw(&mut con, &pending).is_empty(),
            "{pending} survived"
        );
        let live = !hgetall_raw(&mut con, &running).is_empty();
        for set in ["$Class:RedisJob", "$KeyF:RedisJob:status:running"] {
            assert_eq!(in_set(&mut con, set, &running), live, "{running} in {set}");
        }
        assert!(!in_set(&mut con, "$KeyF:RedisJob:status:pending", &pending));
    }
    // The worker's moves that landed before the delete read the job are
    // live running jobs, unless --force was... never given: refused.
    let applied = j["counts"]["applied"].as_u64().expect("applied");
    let live_running = ids
        .iter()
        .filter(|id| !hgetall_raw(&mut con, &format!("RedisJob:{id}:p:running")).is_empty())
        .count() as u64;
    assert_eq!(applied + live_running, n as u64, "{j}");
    assert!(took.len() as u64 >= live_running);
    assert!(
        applied > 0 && live_running > 0,
        "no overlap: deleted {applied}, worker took {live_running}"
    );
}
