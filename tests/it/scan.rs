//! `jobq orphans scan` against a real redis-server: every kind built by hand
//! with the raw commands of docs/layout.md's damage table, mixed datasets with
//! known counts, bad input, and the two-sightings rule under live writers.

use crate::common::*;
use serde_json::Value as J;

fn scan(r: &Redis, extra: &[&str]) -> (Run, J) {
    let mut args = vec!["--json", "orphans", "scan", "--grace", "0"];
    args.extend_from_slice(extra);
    let run = r.jobq(&args);
    let j = run.json();
    (run, j)
}

fn findings_of<'a>(j: &'a J, kind: &str) -> Vec<&'a J> {
    j["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

#[test]
fn healthy_queue_is_clean() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 300, "projA");
    popoto_move(&mut con, &keys[0], "running").expect("move");
    popoto_move(&mut con, &keys[1], "completed").expect("move");
    let (run, j) = scan(&r, &["--batch", "50", "--show", "all"]);
    run.expect_code(0);
    assert_eq!(j["command"], "orphans scan");
    assert_eq!(j["total"], 0, "{}", run.explain());
    assert_eq!(j["scanned"]["class_members"], 300);
    let counts = j["counts"].as_object().expect("counts");
    assert_eq!(
        counts.len(),
        jobq::diagnose::Kind::ALL.len(),
        "every kind, 0 included: {counts:?}"
    );
    assert!(counts.values().all(|v| v == 0));
    assert_eq!(j["deep"], false);
    // Text form too.
    let text = r.jobq(&["orphans", "scan", "--grace", "0"]);
    text.expect_code(0);
    assert!(
        text.stdout().contains("No damage found"),
        "{}",
        text.explain()
    );
    assert!(
        text.stdout().contains("--deep"),
        "says the keyspace was not walked"
    );
}

#[test]
fn every_kind_built_by_hand() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 12, "projA");
    let id = |i: usize| job_id(i + 1);
    // orphan: in no status index.
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
    );
    // unlisted: not in the class set (still in its indexes).
    cmd(&mut con, &[b"SREM", b"$Class:RedisJob", k[1].as_bytes()]);
    // multi_indexed: also in running.
    cmd(
        &mut con,
        &[b"SADD", b"$KeyF:RedisJob:status:running", k[2].as_bytes()],
    );
    // wrong_index: only in running.
    cmd(
        &mut con,
        &[
            b"SMOVE",
            b"$KeyF:RedisJob:status:pending",
            b"$KeyF:RedisJob:status:running",
            k[3].as_bytes(),
        ],
    );
    // field_mismatch: the hash says completed.
    cmd(
        &mut con,
        &[b"HSET", k[4].as_bytes(), b"status", &pack("completed")],
    );
    // dangling: the hash is gone, every set still holds it.
    cmd(&mut con, &[b"DEL", k[5].as_bytes()]);
    // stale_key: popoto 0.9 residue of a status change.
    let live = popoto_create(&mut con, &id(6), "projA", "running", 1767225606.0);
    cmd(&mut con, &[b"DEL", k[6].as_bytes()]);
    // duplicate: two live records for one job_id.
    let dup = popoto_create(&mut con, &id(7), "projA", "completed", 1767225607.0);
    // partial: only the status field.
    cmd(&mut con, &[b"DEL", k[8].as_bytes()]);
    cmd(
        &mut con,
        &[b"HSET", k[8].as_bytes(), b"status", &pack("pending")],
    );
    // secondary_gap: missing from the project index and the zset.
    cmd(
        &mut con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:project_key:projA",
            k[9].as_bytes(),
        ],
    );
    cmd(
        &mut con,
        &[b"ZREM", b"$SortF:RedisJob:created_at", k[9].as_bytes()],
    );
    // malformed: the status field is not msgpack.
    cmd(
        &mut con,
        &[b"HSET", k[10].as_bytes(), b"status", b"pending"],
    );
    // k[11] stays healthy.

    let (run, j) = scan(&r, &[]);
    run.expect_code(1);
    let one = |kind: &str| -> J {
        let f = findings_of(&j, kind);
        assert_eq!(f.len(), 1, "{kind}: {}", run.explain());
        f[0].clone()
    };
    let f = one("orphan");
    assert_eq!(f["job_id"], id(0));
    assert_eq!(f["key"], k[0]);
    assert_eq!(
        f["sets"],
        serde_json::json!(["$KeyF:RedisJob:status:pending"])
    );
    assert!(f["repair"]
        .as_str()
        .expect("repair")
        .contains("add it to $KeyF:RedisJob:status:pending"));
    assert_eq!(one("unlisted")["key"], k[1]);
    let f = one("multi_indexed");
    assert_eq!(f["key"], k[2]);
    assert!(f["repair"]
        .as_str()
        .expect("repair")
        .contains("remove it from $KeyF:RedisJob:status:running"));
    assert_eq!(one("wrong_index")["key"], k[3]);
    let f = one("field_mismatch");
    assert_eq!(f["key"], k[4]);
    assert!(f["repair"].as_str().expect("repair").contains("--prefer"));
    let f = one("dangling");
    assert_eq!(f["key"], k[5]);
    assert_eq!(
        f["sets"],
        serde_json::json!([
            "$Class:RedisJob",
            "$KeyF:RedisJob:status:pending",
            "$KeyF:RedisJob:project_key:projA",
            "$SortF:RedisJob:created_at"
        ]),
        "one finding listing every set"
    );
    let f = one("stale_key");
    assert_eq!(f["key"], k[6]);
    assert!(f["seen"].as_str().expect("seen").contains(&live));
    // Each record of the job_id is a finding, naming the one to keep.
    let dups = findings_of(&j, "duplicate");
    let mut keys: Vec<&str> = dups.iter().filter_map(|f| f["key"].as_str()).collect();
    keys.sort();
    let mut want = vec![k[7].as_str(), dup.as_str()];
    want.sort();
    assert_eq!(keys, want, "{}", run.explain());
    for f in dups {
        assert!(
            f["repair"]
                .as_str()
                .expect("repair")
                .contains(&format!("keep {dup}")),
            "{f}"
        );
    }
    let f = one("partial");
    assert_eq!(f["key"], k[8]);
    assert!(
        f["repair"]
            .as_str()
            .expect("repair")
            .contains("restore job_id, project_key"),
        "{f}"
    );
    let f = one("secondary_gap");
    assert_eq!(f["key"], k[9]);
    assert!(
        f["repair"]
            .as_str()
            .expect("repair")
            .contains("with score 1767225609.0"),
        "{f}"
    );
    assert_eq!(one("malformed")["key"], k[10]);
    // Eleven kinds; the duplicate is both of its records. The indexed
    // status layout's own kinds (tests/it/idxptr.rs) cannot occur here.
    assert_eq!(j["total"], 12);
    for (kind, n) in j["counts"].as_object().expect("counts") {
        let want = match kind.as_str() {
            "duplicate" => 2,
            k if k.contains("pointer") => 0,
            _ => 1,
        };
        assert_eq!(n, want, "{kind}");
    }
}

#[test]
fn unlisted_in_no_set_needs_deep() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
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
    let (run, j) = scan(&r, &[]);
    run.expect_code(0);
    assert_eq!(j["total"], 0);
    let (run, j) = scan(&r, &["--deep"]);
    run.expect_code(1);
    let f = findings_of(&j, "orphan");
    assert_eq!(f.len(), 1, "{}", run.explain());
    assert_eq!(f[0]["key"], k[0]);
    assert!(f[0]["also"]
        .as_array()
        .expect("also")
        .iter()
        .any(|k| k == "unlisted"));
    assert_eq!(j["deep"], true);
    assert!(j["scanned"]["keyspace_keys"].as_u64().expect("n") >= 3);
}

#[test]
fn mixed_dataset_with_known_counts() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2000, "bulk");
    for key in &k[0..37] {
        cmd(
            &mut con,
            &[b"SREM", b"$KeyF:RedisJob:status:pending", key.as_bytes()],
        );
    }
    for key in &k[100..123] {
        cmd(&mut con, &[b"DEL", key.as_bytes()]);
    }
    for key in &k[200..211] {
        cmd(
            &mut con,
            &[b"SADD", b"$KeyF:RedisJob:status:failed", key.as_bytes()],
        );
    }
    let (run, j) = scan(&r, &["--batch", "100"]);
    run.expect_code(1);
    assert_eq!(j["counts"]["orphan"], 37, "{}", run.explain());
    assert_eq!(j["counts"]["dangling"], 23);
    assert_eq!(j["counts"]["multi_indexed"], 11);
    assert_eq!(j["total"], 71);
}

#[test]
fn a_mostly_damaged_class_set_is_read_in_full_and_nothing_is_missed() {
    // Most keys damaged: after a light page of mostly suspects, pass A reads
    // pages in full at once, light again every few pages. Every kind must
    // still be found exactly, healthy keys included in between.
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3000, "bulk");
    let mut orphans = std::collections::BTreeSet::new();
    for (i, key) in k.iter().enumerate() {
        // 80% orphans, the rest healthy, spread over every page.
        if i % 5 != 0 {
            cmd(
                &mut con,
                &[b"SREM", b"$KeyF:RedisJob:status:pending", key.as_bytes()],
            );
            orphans.insert(key.clone());
        }
    }
    for key in &k[0..50] {
        if !orphans.contains(key) {
            cmd(
                &mut con,
                &[b"SADD", b"$KeyF:RedisJob:status:failed", key.as_bytes()],
            );
        }
    }
    let (run, j) = scan(&r, &["--batch", "50", "--show", "all"]);
    run.expect_code(1);
    let found: std::collections::BTreeSet<String> = findings_of(&j, "orphan")
        .iter()
        .map(|f| f["key"].as_str().expect("key").to_owned())
        .collect();
    assert_eq!(found, orphans, "{}", run.explain());
    assert_eq!(j["counts"]["multi_indexed"], 10, "{}", run.explain());
    assert_eq!(j["total"], 2410, "{}", run.explain());
    assert_eq!(j["scanned"]["class_members"], 3000, "{}", run.explain());
}

#[test]
fn bad_input_is_reported_and_the_scan_goes_on() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 5, "p");
    // A member that does not parse, and one that is not UTF-8.
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", b"garbage"]);
    cmd(
        &mut con,
        &[b"SADD", b"$Class:RedisJob", b"RedisJob:\xff\xfe:p:pending"],
    );
    cmd(
        &mut con,
        &[
            b"HSET",
            b"RedisJob:\xff\xfe:p:pending",
            b"status",
            &pack("pending"),
        ],
    );
    // A job key that is a string.
    cmd(&mut con, &[b"SET", b"RedisJob:str:p:pending", b"x"]);
    cmd(
        &mut con,
        &[b"SADD", b"$Class:RedisJob", b"RedisJob:str:p:pending"],
    );
    // An index of the wrong type.
    cmd(
        &mut con,
        &[b"ZADD", b"$KeyF:RedisJob:status:failed", b"1", b"x"],
    );
    // A status the schema does not declare.
    let odd = popoto_create(&mut con, &job_id(99), "p", "archived", 1.0);
    // A 100 MB field: never read whole.
    let big = vec![b'x'; 100 * 1024 * 1024];
    cmd(&mut con, &[b"HSET", k[0].as_bytes(), b"message_text", &big]);
    drop(big);

    let run = r.jobq(&["--json", "orphans", "scan", "--grace", "0"]);
    run.expect_code(1);
    let j = run.json();
    let mal = findings_of(&j, "malformed");
    let keys: Vec<&J> = mal.iter().map(|f| &f["key"]).collect();
    assert!(keys.contains(&&J::from("garbage")), "{}", run.explain());
    assert!(
        keys.contains(
            &&serde_json::json!({"hex": jobq::bytes::hex(b"RedisJob:\xff\xfe:p:pending")})
        ),
        "{keys:?}"
    );
    assert!(
        keys.contains(&&J::from("RedisJob:str:p:pending")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&&J::from("$KeyF:RedisJob:status:failed")),
        "{keys:?}"
    );
    assert!(keys.contains(&&J::from(odd.as_str())), "{keys:?}");
    assert_eq!(mal.len(), 5, "{}", run.explain());
    assert_eq!(
        j["total"],
        5,
        "the 100 MB record is healthy: {}",
        run.explain()
    );
    // The text form escapes the non-UTF-8 member.
    let text = r.jobq(&["orphans", "scan", "--grace", "0"]);
    assert!(
        text.stdout().contains("RedisJob:\\xff\\xfe:p:pending"),
        "{}",
        text.explain()
    );
}

#[test]
fn grace_recheck_drops_transient_states() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 10, "p");
    // A non-atomic writer (popoto 0.9 style): hash and class set now, the
    // status index only 1.5 s later.
    let key = popoto_create(
        &mut con,
        "aaaa0000aaaa0000aaaa0000aaaa0000",
        "p",
        "pending",
        5.0,
    );
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", key.as_bytes()],
    );
    let sock = r.sock.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let client = redis::Client::open(format!("unix://{}", sock.display())).expect("client");
        let mut c = client.get_connection().expect("con");
        let _: () = redis::cmd("SADD")
            .arg("$KeyF:RedisJob:status:pending")
            .arg(&key)
            .query(&mut c)
            .expect("sadd");
    });
    // Without a grace period the half-written job is reported...
    let (quick, qj) = scan(&r, &[]);
    quick.expect_code(1);
    assert_eq!(findings_of(&qj, "orphan").len(), 1, "{}", quick.explain());
    // ...with one, the re-check sees it finished.
    let run = r.jobq(&["--json", "orphans", "scan", "--grace", "3s"]);
    writer.join().expect("writer");
    run.expect_code(0);
    let j = run.json();
    assert!(findings_of(&j, "orphan").is_empty(), "{}", run.explain());
    assert!(
        j["transient"].as_u64().expect("transient") >= 1,
        "{}",
        run.explain()
    );
}

#[test]
fn atomic_worker_during_scan_gives_zero_confirmed() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 3000, "live");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Changes the worker made, so that the test can check it was busy
    // during the scan itself, whatever the machine's load.
    let changes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = changes.clone();
    let sock = r.sock.clone();
    let flag = stop.clone();
    let worker = std::thread::spawn(move || {
        let client = redis::Client::open(format!("unix://{}", sock.display())).expect("client");
        let mut c = client.get_connection().expect("con");
        let mut n = 0usize;
        let mut moves = 0usize;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            // Create a job, and move an older one a step along.
            let k = popoto_create(
                &mut c,
                &format!("{:032x}", 1_000_000 + n),
                "live",
                "pending",
                1.0,
            );
            if let Some(k2) = popoto_move(&mut c, &k, "running") {
                if n.is_multiple_of(2) {
                    popoto_move(&mut c, &k2, "completed");
                }
            }
            let old = job_id(n % 3000 + 1);
            for st in ["pending", "running"] {
                let key = format!("RedisJob:{old}:live:{st}");
                if popoto_move(
                    &mut c,
                    &key,
                    if st == "pending" {
                        "running"
                    } else {
                        "completed"
                    },
                )
                .is_some()
                {
                    moves += 1;
                }
            }
            n += 1;
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        (n, moves)
    });
    // Start the scan only once the worker is under way.
    while changes.load(std::sync::atomic::Ordering::Relaxed) < 10 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = changes.load(std::sync::atomic::Ordering::Relaxed);
    let run = r.jobq(&[
        "--json", "orphans", "scan", "--grace", "500ms", "--batch", "100",
    ]);
    let during = changes.load(std::sync::atomic::Ordering::Relaxed) - before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (created, moved) = worker.join().expect("worker");
    assert!(
        during >= 1 && moved > 0,
        "the worker must have been busy during the scan: {during} rounds during it, {created} created, {moved} moved"
    );
    run.expect_code(0);
    assert_eq!(run.json()["total"], 0, "{}", run.explain());
}

#[test]
fn plan_out_writes_a_plan() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "p");
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
    );
    let plan = r.dir.path().join("plan.json");
    let run = r.jobq(&[
        "orphans",
        "scan",
        "--grace",
        "0",
        "--plan-out",
        plan.to_str().expect("path"),
    ]);
    run.expect_code(1);
    let p = read_plan(&plan);
    assert_eq!(p["model"], "RedisJob");
    assert_eq!(p["end"]["complete"], true);
    assert_eq!(p["end"]["actions"], 1);
    assert_eq!(p["actions"][0]["kind"], "orphan");
    assert_eq!(p["actions"][0]["step"]["op"], "reconcile");
    assert_eq!(
        p["actions"][0]["step"]["sadd"],
        serde_json::json!(["$KeyF:RedisJob:status:pending"])
    );
    assert!(
        run.stdout().contains("jobq reindex --plan"),
        "{}",
        run.explain()
    );
}

#[test]
fn restart_mid_scan_is_not_reported_complete() {
    let mut r = Redis::start();
    let mut con = r.con();
    seed_fast(&mut con, 150_000, "p");
    drop(con);
    let url = r.url();
    let child = std::process::Command::new(jobq_bin())
        .args([
            "--url", &url, "--json", "orphans", "scan", "--grace", "2s", "--batch", "10",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut child = child;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the scan must still be running at the restart"
    );
    r.restart();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no report for a partial scan");
}

/// Calls of `command` the server has counted since its stats were reset.
fn calls(con: &mut redis::Connection, command: &str) -> u64 {
    faults::command_calls(con)
        .get(command)
        .copied()
        .unwrap_or(0)
}

#[test]
fn a_healthy_queue_is_judged_by_the_joint_walk_without_lookups() {
    // The class set, the status index, the project index and the zset are
    // about the same size: all are walked together, and whether each holds
    // a member is read off the others' pages over the same stretch of the
    // order. No membership is asked of the server.
    let r = Redis::start();
    let mut con = r.con();
    seed_fast(&mut con, 3000, "projA");
    cmd(&mut con, &[b"CONFIG", b"RESETSTAT"]);
    let (run, j) = scan(&r, &["--batch", "100"]);
    run.expect_code(0);
    assert_eq!(j["scanned"]["class_members"], 3000, "{}", run.explain());
    assert_eq!(j["scanned"]["index_members"], 9000);
    // At most the one call of each that asks at connect whether the
    // server has the command.
    assert!(calls(&mut con, "smismember") <= 1, "{}", run.explain());
    assert!(calls(&mut con, "zmscore") <= 1);
    assert!(calls(&mut con, "sscan") >= 60, "pages of 100 or so");
}

#[test]
fn damage_in_large_and_small_sets_is_found_exactly() {
    // Sets of very different sizes: the large ones are walked together with
    // the class set, the small ones (the `tiny` project, the completed
    // index) are looked up member by member. Damage of each kind in each,
    // spread over many pages, is found exactly: nothing missed, nothing
    // made up.
    let r = Redis::start();
    let mut con = r.con();
    let mut keys: Vec<(String, String, String)> = Vec::new(); // (project, status, key)
    let mut n = 0;
    for (proj, count) in [("big", 3000), ("mid", 900), ("tiny", 30)] {
        for _ in 0..count {
            n += 1;
            let status = if n % 7 == 0 {
                "running"
            } else if n % 200 == 1 {
                "completed"
            } else {
                "pending"
            };
            let key = popoto_create(&mut con, &job_id(n), proj, status, 1767225600.0 + n as f64);
            keys.push((proj.into(), status.into(), key));
        }
    }
    let pick = |proj: &str, status: &str, skip: usize, take: usize| -> Vec<String> {
        keys.iter()
            .filter(|(p, s, _)| p == proj && s == status)
            .skip(skip)
            .step_by(37)
            .take(take)
            .map(|(_, _, k)| k.clone())
            .collect()
    };
    let mut expect: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> =
        Default::default();
    let mut damage = |kind: &'static str, key: &str, c: &[&[u8]]| {
        cmd(&mut con, c);
        assert!(
            expect.entry(kind).or_default().insert(key.to_owned()),
            "{key} damaged twice"
        );
    };
    let pending = b"$KeyF:RedisJob:status:pending".as_slice();
    for k in pick("big", "pending", 0, 5)
        .into_iter()
        .chain(pick("tiny", "pending", 0, 1))
    {
        damage("orphan", &k, &[b"SREM", pending, k.as_bytes()]);
    }
    for k in pick("big", "completed", 0, 1) {
        let idx = b"$KeyF:RedisJob:status:completed".as_slice();
        damage("orphan", &k, &[b"SREM", idx, k.as_bytes()]);
    }
    for k in pick("mid", "pending", 1, 4) {
        let idx = b"$KeyF:RedisJob:project_key:mid".as_slice();
        damage("secondary_gap", &k, &[b"SREM", idx, k.as_bytes()]);
    }
    for k in pick("tiny", "pending", 2, 1) {
        let idx = b"$KeyF:RedisJob:project_key:tiny".as_slice();
        damage("secondary_gap", &k, &[b"SREM", idx, k.as_bytes()]);
    }
    for k in pick("big", "pending", 3, 3) {
        let z = b"$SortF:RedisJob:created_at".as_slice();
        damage("secondary_gap", &k, &[b"ZREM", z, k.as_bytes()]);
    }
    for k in pick("big", "pending", 5, 3) {
        let idx = b"$KeyF:RedisJob:status:running".as_slice();
        damage("multi_indexed", &k, &[b"SADD", idx, k.as_bytes()]);
    }
    // Ghosts: members of one index or zset only, their hash never written.
    for i in 0..3 {
        let k = format!("RedisJob:{}:big:pending", job_id(100_000 + i));
        let idx = b"$KeyF:RedisJob:project_key:big".as_slice();
        damage("dangling", &k, &[b"SADD", idx, k.as_bytes()]);
    }
    for i in 0..2 {
        let k = format!("RedisJob:{}:mid:pending", job_id(200_000 + i));
        let z = b"$SortF:RedisJob:created_at".as_slice();
        damage("dangling", &k, &[b"ZADD", z, b"1", k.as_bytes()]);
    }
    let k = format!("RedisJob:{}:tiny:completed", job_id(300_000));
    let idx = b"$KeyF:RedisJob:status:completed".as_slice();
    damage("dangling", &k, &[b"SADD", idx, k.as_bytes()]);

    let (run, j) = scan(&r, &["--batch", "100"]);
    run.expect_code(1);
    let total: usize = expect.values().map(|s| s.len()).sum();
    assert_eq!(j["total"], total, "{}", run.explain());
    for (kind, want) in &expect {
        let found: std::collections::BTreeSet<String> = findings_of(&j, kind)
            .iter()
            .map(|f| f["key"].as_str().expect("key").to_owned())
            .collect();
        assert_eq!(&found, want, "{kind}: {}", run.explain());
    }
}
