//! `jobq reindex` against a real redis-server: every kind repaired into
//! exactly the healthy popoto record set, every guard proven by changing the
//! state between plan and apply, and a second run that changes nothing.

use crate::common::*;
use serde_json::Value as J;

fn reindex(r: &Redis, extra: &[&str]) -> (Run, J) {
    let mut args = vec!["--json", "reindex", "--yes", "--grace", "0"];
    args.extend_from_slice(extra);
    let run = r.jobq(&args);
    let j = run.json();
    (run, j)
}

/// After a repair: a scan finds nothing, and a second reindex writes nothing.
fn assert_settled(r: &Redis) {
    let mut con = r.con();
    let before = xlen(&mut con, "jobq:audit");
    let (run, j) = reindex(r, &["--prefer", "key", "--duplicates", "keep-latest"]);
    run.expect_code(0);
    assert_eq!(
        j["applied"],
        0,
        "second run must write nothing: {}",
        run.explain()
    );
    assert_eq!(xlen(&mut con, "jobq:audit"), before);
    let scan = r.jobq(&["--json", "orphans", "scan", "--grace", "0", "--deep"]);
    scan.expect_code(0);
}

/// Damage a healthy queue, repair it, and get exactly the healthy state back.
fn repairs_to_healthy(
    damage: impl FnOnce(&mut redis::Connection, &[String]),
    extra: &[&str],
    kind: &str,
) {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 6, "projA");
    popoto_move(&mut con, &keys[5], "running").expect("move");
    let healthy = snapshot(&mut con);
    damage(&mut con, &keys);
    assert_ne!(
        snapshot(&mut con),
        healthy,
        "{kind}: the damage must change something"
    );
    let (run, j) = reindex(&r, extra);
    run.expect_code(0);
    assert_eq!(j["counts"][kind]["applied"], 1, "{kind}: {}", run.explain());
    let after = snapshot(&mut con);
    assert!(
        after == healthy,
        "{kind}: not the healthy state:\n{}",
        diff(&healthy, &after)
    );
    assert_settled(&r);
}

#[test]
fn orphan_is_repaired() {
    repairs_to_healthy(
        |c, k| {
            cmd(
                c,
                &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
            );
        },
        &[],
        "orphan",
    );
}

#[test]
fn unlisted_is_repaired() {
    repairs_to_healthy(
        |c, k| {
            cmd(c, &[b"SREM", b"$Class:RedisJob", k[1].as_bytes()]);
        },
        &[],
        "unlisted",
    );
}

#[test]
fn multi_indexed_is_repaired() {
    repairs_to_healthy(
        |c, k| {
            cmd(
                c,
                &[b"SADD", b"$KeyF:RedisJob:status:completed", k[2].as_bytes()],
            );
            cmd(
                c,
                &[b"SADD", b"$KeyF:RedisJob:status:failed", k[2].as_bytes()],
            );
        },
        &[],
        "multi_indexed",
    );
}

#[test]
fn wrong_index_is_repaired() {
    repairs_to_healthy(
        |c, k| {
            cmd(
                c,
                &[
                    b"SMOVE",
                    b"$KeyF:RedisJob:status:pending",
                    b"$KeyF:RedisJob:status:completed",
                    k[3].as_bytes(),
                ],
            );
        },
        &[],
        "wrong_index",
    );
}

#[test]
fn secondary_gap_is_repaired() {
    repairs_to_healthy(
        |c, k| {
            cmd(
                c,
                &[
                    b"SREM",
                    b"$KeyF:RedisJob:project_key:projA",
                    k[4].as_bytes(),
                ],
            );
            cmd(
                c,
                &[b"ZREM", b"$SortF:RedisJob:created_at", k[4].as_bytes()],
            );
        },
        &[],
        "secondary_gap",
    );
}

#[test]
fn field_mismatch_with_prefer_key() {
    repairs_to_healthy(
        |c, k| {
            cmd(c, &[b"HSET", k[0].as_bytes(), b"status", &pack("failed")]);
        },
        &["--prefer", "key"],
        "field_mismatch",
    );
}

#[test]
fn field_mismatch_with_prefer_field_moves_the_record() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
    // The healthy state to get back: job 0 failed, popoto-style.
    let failed = popoto_move(&mut con, &k[0], "failed").expect("move");
    let expected = snapshot(&mut con);
    // The damage: the record sits under the pending key, its field says failed.
    let back = popoto_move(&mut con, &failed, "pending").expect("move back");
    cmd(
        &mut con,
        &[b"HSET", back.as_bytes(), b"status", &pack("failed")],
    );
    let (run, j) = reindex(&r, &["--prefer", "field"]);
    run.expect_code(0);
    assert_eq!(
        j["counts"]["field_mismatch"]["applied"],
        1,
        "{}",
        run.explain()
    );
    let after = snapshot(&mut con);
    assert!(after == expected, "{}", diff(&expected, &after));
    // The move is audited with the record's before-image.
    let entries = xrange(&mut con, "jobq:audit");
    let moved = entries
        .iter()
        .find(|(_, f)| f.iter().any(|(n, v)| n == b"action" && v == b"move"))
        .expect("audit entry of the move");
    assert!(moved
        .1
        .iter()
        .any(|(n, v)| n == b"before.status" && *v == pack("failed")));
    assert_settled(&r);
}

#[test]
fn field_mismatch_needs_a_policy() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2, "p");
    cmd(
        &mut con,
        &[b"HSET", k[0].as_bytes(), b"status", &pack("failed")],
    );
    let before = snapshot(&mut con);
    let (run, j) = reindex(&r, &[]);
    run.expect_code(4);
    assert_eq!(j["counts"]["field_mismatch"]["needs_policy"], 1);
    assert_eq!(j["applied"], 0);
    assert_eq!(
        snapshot(&mut con),
        before,
        "nothing touched without a policy"
    );
}

#[test]
fn dangling_and_stale_keys_are_removed() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 4, "p");
    // The healthy state without job 0, and with job 1 moved to running.
    cmd(&mut con, &[b"DEL", k[0].as_bytes()]);
    let live = popoto_move(&mut con, &k[1], "running").expect("move");
    // Leave the ghosts behind (popoto 0.9's non-atomic residue).
    for set in [
        "$Class:RedisJob",
        "$KeyF:RedisJob:status:pending",
        "$KeyF:RedisJob:project_key:p",
    ] {
        cmd(&mut con, &[b"SREM", set.as_bytes(), k[0].as_bytes()]);
    }
    cmd(
        &mut con,
        &[b"ZREM", b"$SortF:RedisJob:created_at", k[0].as_bytes()],
    );
    let expected = snapshot(&mut con);
    for set in [
        "$Class:RedisJob",
        "$KeyF:RedisJob:status:pending",
        "$KeyF:RedisJob:project_key:p",
    ] {
        cmd(&mut con, &[b"SADD", set.as_bytes(), k[0].as_bytes()]);
    }
    cmd(
        &mut con,
        &[
            b"ZADD",
            b"$SortF:RedisJob:created_at",
            b"5",
            k[0].as_bytes(),
        ],
    );
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", k[1].as_bytes()]);
    cmd(
        &mut con,
        &[b"SADD", b"$KeyF:RedisJob:status:pending", k[1].as_bytes()],
    );
    let (run, j) = reindex(&r, &[]);
    run.expect_code(0);
    assert_eq!(j["counts"]["dangling"]["applied"], 1, "{}", run.explain());
    assert_eq!(j["counts"]["stale_key"]["applied"], 1, "{}", run.explain());
    let after = snapshot(&mut con);
    assert!(after == expected, "{}", diff(&expected, &after));
    assert!(
        after.contains_key(live.as_bytes()),
        "the live record is untouched"
    );
    assert_settled(&r);
}

#[test]
fn partial_gets_its_key_fields_back_and_nothing_invented() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2, "p");
    cmd(&mut con, &[b"DEL", k[0].as_bytes()]);
    cmd(
        &mut con,
        &[b"HSET", k[0].as_bytes(), b"status", &pack("pending")],
    );
    let (run, j) = reindex(&r, &[]);
    run.expect_code(0);
    assert_eq!(j["counts"]["partial"]["applied"], 1, "{}", run.explain());
    let fields = hgetall_raw(&mut con, &k[0]);
    let mut names: Vec<String> = fields
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["job_id", "project_key", "status"],
        "key fields restored, nothing invented"
    );
    let id = fields
        .iter()
        .find(|(n, _)| n == b"job_id")
        .map(|(_, v)| v.clone())
        .expect("job_id");
    assert_eq!(id, pack(&job_id(1)));
    // Still missing its other fields: reported as partial, never "repaired".
    let scan = r.jobq(&["--json", "orphans", "scan", "--grace", "0"]);
    let sj = scan.json();
    assert_eq!(sj["counts"]["partial"], 1, "{}", scan.explain());
    assert!(sj["findings"][0]["repair"]
        .as_str()
        .expect("repair")
        .contains("cannot be recovered"));
    let (run, j) = reindex(&r, &[]);
    run.expect_code(0);
    assert_eq!(j["applied"], 0, "{}", run.explain());
    assert_eq!(smembers(&mut con, "$KeyF:RedisJob:status:pending").len(), 2);
}

#[test]
fn duplicates_keep_the_latest_with_a_before_image() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
    // Job 0 also lives as completed (popoto 1.0.x).
    let done = popoto_create(&mut con, &job_id(1), "p", "completed", 1767225600.0);
    let (run, j) = reindex(&r, &[]);
    run.expect_code(4);
    assert!(
        j["counts"]["duplicate"]["needs_policy"]
            .as_u64()
            .expect("n")
            >= 1,
        "{}",
        run.explain()
    );
    let (run, j) = reindex(&r, &["--duplicates", "keep-latest"]);
    run.expect_code(0);
    assert_eq!(j["counts"]["duplicate"]["applied"], 1, "{}", run.explain());
    assert!(
        hgetall_raw(&mut con, &k[0]).is_empty(),
        "the pending copy is gone"
    );
    assert!(
        !hgetall_raw(&mut con, &done).is_empty(),
        "the completed copy stays"
    );
    assert!(!smembers(&mut con, "$KeyF:RedisJob:status:pending").contains(&k[0]));
    // The removed record's before-image is in the audit stream.
    let entries = xrange(&mut con, "jobq:audit");
    let e = entries
        .iter()
        .find(|(_, f)| {
            f.iter()
                .any(|(n, v)| n == b"action" && v == b"remove_duplicate")
        })
        .expect("audit entry");
    let get = |name: &[u8]| e.1.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(get(b"before.status"), Some(pack("pending")));
    assert_eq!(get(b"before.job_id"), Some(pack(&job_id(1))));
    assert_eq!(get(b"key"), Some(k[0].as_bytes().to_vec()));
    assert!(get(b"host").is_some() && get(b"pid").is_some() && get(b"time_ms").is_some());
    assert_settled(&r);
}

#[test]
fn malformed_is_never_touched() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 2, "p");
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", b"garbage"]);
    cmd(&mut con, &[b"SET", b"RedisJob:s:p:pending", b"x"]);
    cmd(
        &mut con,
        &[b"SADD", b"$Class:RedisJob", b"RedisJob:s:p:pending"],
    );
    let before = snapshot(&mut con);
    let (run, j) = reindex(&r, &[]);
    run.expect_code(0);
    assert_eq!(
        j["counts"]["malformed"]["untouched"],
        2,
        "{}",
        run.explain()
    );
    assert_eq!(snapshot(&mut con), before);
}

#[test]
fn dry_run_and_confirmation() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
    // Nothing to do: 0, for dry runs too.
    r.jobq(&["reindex", "--dry-run", "--grace", "0"])
        .expect_code(0);
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
    );
    let before = snapshot(&mut con);
    let run = r.jobq(&["--json", "reindex", "--dry-run", "--grace", "0"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["actions"][0]["outcome"], "planned");
    assert_eq!(snapshot(&mut con), before, "a dry run writes nothing");
    // No terminal and no --yes: refuse, exit 2, nothing written.
    let run = r.jobq(&["reindex", "--grace", "0"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--yes"), "{}", run.explain());
    assert_eq!(snapshot(&mut con), before);
}

#[test]
fn every_guard_skips_a_changed_state() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 6, "p");
    // reconcile (orphan): the job completes meanwhile.
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
    );
    // reconcile (partial): the field is written meanwhile.
    cmd(&mut con, &[b"HDEL", k[1].as_bytes(), b"job_id"]);
    // remove_ghost: the record is re-created meanwhile.
    cmd(&mut con, &[b"DEL", k[2].as_bytes()]);
    // remove_record (duplicate): the record to keep is deleted meanwhile.
    let done = popoto_create(&mut con, &job_id(4), "p", "completed", 1.0);
    // reconcile (--prefer key): the status field changes again.
    cmd(
        &mut con,
        &[b"HSET", k[4].as_bytes(), b"status", &pack("failed")],
    );
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path");
    let run = r.jobq(&[
        "--json",
        "reindex",
        "--dry-run",
        "--grace",
        "0",
        "--prefer",
        "key",
        "--duplicates",
        "keep-latest",
        "--plan-out",
        plan_s,
    ]);
    run.expect_code(1);
    assert_eq!(
        run.json()["actions"].as_array().expect("actions").len(),
        5,
        "{}",
        run.explain()
    );

    // Change every state between plan and apply.
    let moved = popoto_move(&mut con, &k[0], "completed").expect("move");
    cmd(
        &mut con,
        &[b"HSET", k[1].as_bytes(), b"job_id", &pack("someone")],
    );
    popoto_create(&mut con, &job_id(3), "p", "pending", 9.0);
    cmd(&mut con, &[b"DEL", done.as_bytes()]);
    cmd(
        &mut con,
        &[b"HSET", k[4].as_bytes(), b"status", &pack("completed")],
    );
    let before = snapshot(&mut con);
    let audit_before = xlen(&mut con, "jobq:audit");

    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", plan_s]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["skipped"], 5, "{}", run.explain());
    assert_eq!(j["applied"], 0, "{}", run.explain());
    let reason = |kind: &str| -> String {
        j["actions"]
            .as_array()
            .expect("a")
            .iter()
            .find(|a| a["kind"] == kind)
            .expect(kind)["reason"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(reason("orphan").contains("gone"), "{}", run.explain());
    assert!(reason("partial").contains("job_id"), "{}", run.explain());
    assert!(
        reason("dangling").contains("exists again"),
        "{}",
        run.explain()
    );
    assert!(
        reason("duplicate").contains("to keep is gone"),
        "{}",
        run.explain()
    );
    assert!(
        reason("field_mismatch").contains("status field changed"),
        "{}",
        run.explain()
    );
    assert_eq!(snapshot(&mut con), before, "nothing touched");
    assert_eq!(
        xlen(&mut con, "jobq:audit"),
        audit_before,
        "a skipped step writes no audit entry"
    );
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:completed").contains(&moved));
    assert!(
        !smembers(&mut con, "$KeyF:RedisJob:status:pending").contains(&k[0]),
        "a completed job never returns to pending"
    );
}

#[test]
fn type_guards_skip_a_record_or_index_that_changed_type() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2, "p");
    // Two orphans: each needs SADD to the pending index.
    for key in &k {
        cmd(
            &mut con,
            &[b"SREM", b"$KeyF:RedisJob:status:pending", key.as_bytes()],
        );
    }
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path");
    let run = r.jobq(&["reindex", "--dry-run", "--grace", "0", "--plan-out", plan_s]);
    run.expect_code(1);

    // Between plan and apply: the first record becomes a string, and the
    // index both steps write to becomes a string too.
    cmd(&mut con, &[b"DEL", k[0].as_bytes()]);
    cmd(&mut con, &[b"SET", k[0].as_bytes(), b"not a hash"]);
    cmd(&mut con, &[b"SET", b"$KeyF:RedisJob:status:pending", b"x"]);
    let before = snapshot(&mut con);
    let audit_before = xlen(&mut con, "jobq:audit");

    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", plan_s]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["skipped"], 2, "{}", run.explain());
    let reasons: Vec<String> = j["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("is now a string")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("$KeyF:RedisJob:status:pending is a string")),
        "{reasons:?}"
    );
    assert_eq!(snapshot(&mut con), before, "nothing touched");
    assert_eq!(xlen(&mut con, "jobq:audit"), audit_before);
}

#[test]
fn a_plan_for_another_model_is_refused() {
    let r = Redis::start();
    let plan = write_file(
        r.dir.path(),
        "p.json",
        r#"{"format":1,"model":"Task","actions":[],"needs_policy":[],"untouched":[]}"#,
    );
    let run = r.jobq(&["reindex", "--yes", "--plan", plan.to_str().expect("path")]);
    run.expect_code(2);
    assert!(run.stderr().contains("Task"), "{}", run.explain());
    let junk = write_file(r.dir.path(), "j.json", "not json");
    r.jobq(&["reindex", "--yes", "--plan", junk.to_str().expect("path")])
        .expect_code(2);
}

fn evalsha_calls(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(con)
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn one_call_carries_many_actions_and_a_failed_guard_skips_only_its_own() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
    for key in &k {
        cmd(
            &mut con,
            &[b"SREM", b"$KeyF:RedisJob:status:pending", key.as_bytes()],
        );
    }
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path");
    r.jobq(&["reindex", "--dry-run", "--grace", "0", "--plan-out", plan_s])
        .expect_code(1);
    // The middle job moves on meanwhile: only its action's guard fails.
    let moved = popoto_move(&mut con, &k[1], "running").expect("move");
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");

    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", plan_s]);
    run.expect_code(4);
    let j = run.json();
    let outcomes: Vec<&str> = j["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        outcomes,
        ["applied", "skipped", "applied"],
        "{}",
        run.explain()
    );
    assert_eq!(j["actions"][1]["reason"], "the record is gone");
    assert_eq!(
        evalsha_calls(&mut con),
        1,
        "the three actions go in one call"
    );
    let pending = smembers(&mut con, "$KeyF:RedisJob:status:pending");
    assert!(pending.contains(&k[0]) && pending.contains(&k[2]));
    assert!(!pending.contains(&k[1]) && !pending.contains(&moved));
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:status:running"),
        vec![moved]
    );
    let audited: Vec<Vec<u8>> = xrange(&mut con, "jobq:audit")
        .into_iter()
        .filter_map(|(_, fields)| {
            fields
                .into_iter()
                .find(|(f, _)| f.as_slice() == b"key")
                .map(|(_, v)| v)
        })
        .collect();
    assert_eq!(
        audited,
        vec![k[0].as_bytes().to_vec(), k[2].as_bytes().to_vec()],
        "one audit entry per applied action, none for the skipped one"
    );
    // The call's audit entries open with the header (format version and run
    // first), then the action, then what it changed (the orphan's SADD).
    let first = &xrange(&mut con, "jobq:audit")[0].1;
    let names: Vec<&[u8]> = first.iter().map(|(f, _)| f.as_slice()).collect();
    assert_eq!(
        names,
        [
            &b"v"[..],
            b"run",
            b"command",
            b"host",
            b"pid",
            b"time_ms",
            b"action",
            b"kind",
            b"job",
            b"key",
            b"sadd.1"
        ]
    );
    assert_settled(&r);
}
