//! Dry runs, budgets, damaged members, twins, failures and bad flags.

use super::*;

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
