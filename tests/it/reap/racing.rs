//! Reap racing others: a worker completing jobs during a sweep, four
//! reapers at once, and the poison-pill cap.

use super::*;

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
