//! Bad data, a million-member index, and a plan applied twice.

use super::*;

#[test]
fn bad_data_is_reported_untouched_and_the_repair_goes_on() {
    let r = watched(&[]);
    let mut con = r.con();
    let keys = seed(&mut con, 20, "p");
    orphan_all(&mut con, &keys[..3]);
    // Wrong key types: a record that is a string, a project index that is
    // a list.
    cmd(&mut con, &[b"SET", b"RedisJob:str:p:pending", b"x"]);
    cmd(
        &mut con,
        &[b"SADD", CLASS.as_bytes(), b"RedisJob:str:q:pending"],
    );
    cmd(&mut con, &[b"SET", b"RedisJob:str:q:pending", b"x"]);
    let q = popoto_create(&mut con, &job_id(500), "q", "pending", 5.0);
    cmd(&mut con, &[b"DEL", project_index("q").as_bytes()]);
    cmd(&mut con, &[b"RPUSH", project_index("q").as_bytes(), b"x"]);
    // Invalid msgpack in the status field, and in the sorted field.
    let badpack = popoto_create(&mut con, &job_id(501), "p", "pending", 6.0);
    cmd(&mut con, &[b"HSET", badpack.as_bytes(), b"status", b"\xc1"]);
    let badscore = popoto_create(&mut con, &job_id(502), "p", "pending", 7.0);
    cmd(
        &mut con,
        &[b"HSET", badscore.as_bytes(), b"created_at", b"\xd9"],
    );
    cmd(&mut con, &[b"ZREM", ZSET.as_bytes(), badscore.as_bytes()]);
    // Non-UTF-8 keys: a record, and a member of a status index.
    let raw: &[u8] = b"RedisJob:\xff\xfe:p:pending";
    cmd(&mut con, &[b"HSET", raw, b"status", &pack("pending")]);
    cmd(&mut con, &[b"SADD", CLASS.as_bytes(), raw]);
    cmd(
        &mut con,
        &[
            b"SADD",
            status_index("failed").as_bytes(),
            b"RedisJob:\x80:p:failed",
        ],
    );
    // A 100 MB field on a healthy record: never read whole.
    let big = vec![b'x'; 100 * 1024 * 1024];
    cmd(
        &mut con,
        &[b"HSET", keys[10].as_bytes(), b"message_text", &big],
    );
    drop(big);
    let untouchable: Vec<&[u8]> = vec![
        b"RedisJob:str:p:pending",
        b"RedisJob:str:q:pending",
        badpack.as_bytes(),
        badscore.as_bytes(),
        raw,
        q.as_bytes(),
    ];
    let values = |con: &mut redis::Connection| -> Vec<redis::Value> {
        untouchable
            .iter()
            .map(|k| {
                redis::cmd("DUMP")
                    .arg(*k)
                    .query::<redis::Value>(con)
                    .expect("DUMP")
            })
            .collect()
    };
    let untouched_before = values(&mut con);
    let audit_before = xlen(&mut con, AUDIT);

    let (run, peak_kib) = jobq_peak_rss(&r, &["--json", "reindex", "--yes", "--grace", "0"]);
    assert!(matches!(run.code(), 0 | 4), "{}", run.explain());
    let j = run.json();
    assert_eq!(j["counts"]["orphan"]["applied"], 3, "{}", run.explain());
    assert!(
        j["counts"]["malformed"]["untouched"].as_u64().expect("n") >= 4,
        "{}",
        run.explain()
    );
    let reported: Vec<&J> = j["untouched"]
        .as_array()
        .expect("untouched")
        .iter()
        .map(|u| &u["key"])
        .collect();
    for k in [
        J::from("RedisJob:str:q:pending"),
        J::from(badpack.as_str()),
        J::from(badscore.as_str()),
        serde_json::json!({ "hex": jobq::bytes::hex(raw) }),
        J::from(project_index("q").as_str()),
    ] {
        assert!(reported.contains(&&k), "{k} not reported: {reported:?}");
    }
    assert_eq!(values(&mut con), untouched_before, "bad data never touched");
    assert!(
        peak_kib < 100 * 1024,
        "peak RSS {peak_kib} KiB with a 100 MB field"
    );
    let pending = smembers(&mut con, &status_index("pending"));
    for k in &keys[..3] {
        assert!(pending.contains(k), "the orphan {k} was repaired");
    }
    // A second run writes nothing more.
    let audit = xlen(&mut con, AUDIT);
    assert!(audit > audit_before);
    let again = r.jobq(&["--json", "reindex", "--yes", "--grace", "0"]);
    assert!(matches!(again.code(), 0 | 4), "{}", again.explain());
    assert_eq!(again.json()["applied"], 0, "{}", again.explain());
    assert_eq!(xlen(&mut con, AUDIT), audit);
    check_i5(&mut con);
}

#[test]
fn million_member_index_with_ten_damaged() {
    // The full million with JOBQ_LONG_TESTS (.ci/run); a smaller index
    // otherwise, same checks.
    let n = if long_tests() { 1_000_000 } else { 50_000 };
    let r = watched(&[]);
    let mut con = r.con();
    let keys = seed_fast(&mut con, n, "big");
    let before = Before::capture(&mut con);
    orphan_all(&mut con, &keys[..4]);
    for k in &keys[n / 2..n / 2 + 3] {
        cmd(
            &mut con,
            &[b"SADD", status_index("failed").as_bytes(), k.as_bytes()],
        );
    }
    for i in 0..3 {
        let ghost = format!("RedisJob:{}:big:pending", job_id(n + 10 + i));
        cmd(
            &mut con,
            &[
                b"SADD",
                status_index("pending").as_bytes(),
                ghost.as_bytes(),
            ],
        );
    }
    let (scan, scan_kib) = jobq_peak_rss(&r, &["--json", "orphans", "scan", "--grace", "0"]);
    scan.expect_code(1);
    let j = scan.json();
    assert_eq!(j["total"], 10, "{}", scan.explain());
    assert_eq!(j["counts"]["orphan"], 4);
    assert_eq!(j["counts"]["multi_indexed"], 3);
    assert_eq!(j["counts"]["dangling"], 3);
    let (fix, fix_kib) = jobq_peak_rss(&r, &["--json", "reindex", "--yes", "--grace", "0"]);
    fix.expect_code(0);
    assert_eq!(fix.json()["applied"], 10, "{}", fix.explain());
    eprintln!("{n} jobs: peak RSS scan {scan_kib} KiB, reindex {fix_kib} KiB");
    for kib in [scan_kib, fix_kib] {
        assert!(kib < 100 * 1024, "peak RSS {kib} KiB over {n} jobs");
    }
    check_i1(&mut con, &before, &WorkerLog::default(), true);
    check_i5(&mut con);
    // I2 and I3 over the big index, by scan (the KEYS-based checks would
    // take long): a second run finds nothing and writes nothing.
    let audit = xlen(&mut con, AUDIT);
    let again = r.jobq(&["--json", "reindex", "--yes", "--grace", "0"]);
    again.expect_code(0);
    assert_eq!(again.json()["applied"], 0);
    assert_eq!(xlen(&mut con, AUDIT), audit);
}

// ---- a step applied before ---------------------------------------------

#[test]
fn a_plan_applied_twice_writes_once() {
    // A rerun of a plan whose replies were lost (a restart, a timeout) must
    // not apply, nor audit, a step a second time; every step's end state
    // holds, so it says so (`already_applied`) and exits 0, not 4.
    let r = watched(&[]);
    let mut con = r.con();
    let keys = seed(&mut con, 12, "p");
    orphan_all(&mut con, &keys[..3]);
    damage(&mut con, &keys[3], Damage::SecondaryGap, 0);
    damage(&mut con, &keys[4], Damage::MultiIndexed, 1);
    damage(&mut con, &keys[5], Damage::Unlisted, 0);
    damage(&mut con, &keys[6], Damage::Dangling, 0);
    damage(&mut con, &keys[7], Damage::Partial, 1);
    damage(&mut con, &keys[8], Damage::Duplicate, 1);
    damage(&mut con, &keys[9], Damage::FieldMismatch, 2);
    let before = Before::capture(&mut con);
    let plan = r.dir.path().join("plan.json");
    let plan = plan.to_str().expect("path");
    r.jobq(&[
        "reindex",
        "--dry-run",
        "--grace",
        "0",
        "--prefer",
        "key",
        "--duplicates=keep-latest",
        "--plan-out",
        plan,
    ])
    .expect_code(1);
    let first = r.jobq(&["--json", "reindex", "--yes", "--plan", plan]);
    first.expect_code(0);
    assert_eq!(first.json()["applied"], 10, "{}", first.explain());
    let snap = snapshot(&mut con);
    let audit = xlen(&mut con, AUDIT);
    let again = r.jobq(&["--json", "reindex", "--yes", "--plan", plan]);
    again.expect_code(0);
    let j = again.json();
    assert_eq!(j["applied"], 0, "{}", again.explain());
    assert_eq!(j["skipped"], 0, "{}", again.explain());
    assert_eq!(j["already_applied"], 10, "{}", again.explain());
    for a in j["actions"].as_array().expect("actions") {
        assert_eq!(a["outcome"], "already_applied", "{a}");
    }
    assert_eq!(j["counts"]["duplicate"]["already_applied"], 1);
    assert_eq!(snapshot(&mut con), snap, "nothing written");
    assert_eq!(xlen(&mut con, AUDIT), audit, "nothing audited");
    assert_no_step_twice(&mut con);
    // The table says it too.
    let text = r.jobq(&["reindex", "--yes", "--plan", plan]);
    text.expect_code(0);
    assert!(
        text.stdout()
            .contains("0 applied, 10 already applied, 0 skipped"),
        "{}",
        text.explain()
    );
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
    // A step whose state really changed is still skipped, exit 4.
    let ghost = keys[10].clone();
    cmd(&mut con, &[b"DEL", ghost.as_bytes()]);
    r.jobq(&["reindex", "--dry-run", "--grace", "0", "--plan-out", plan])
        .expect_code(1);
    popoto_create(&mut con, &id_of(&ghost), "p", "pending", 1.0);
    let changed = r.jobq(&["--json", "reindex", "--yes", "--plan", plan]);
    changed.expect_code(4);
    assert_eq!(changed.json()["skipped"], 1, "{}", changed.explain());
    assert_eq!(changed.json()["already_applied"], 0);
}
