//! jobq killed (SIGKILL) and Redis restarted or its scripts flushed
//! under a scan or a repair.

use super::*;

#[test]
fn enqueue_file_sigkill_at_random_points() {
    let r = watched(&[]);
    let mut con = r.con();
    let n = 3000;
    let keyed = jobs_file(&r, "keyed.jsonl", n, true);
    let plain = jobs_file(&r, "plain.jsonl", n, false);
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 30 } else { 20 };
    let args = |f: &str| -> Vec<String> {
        ["-q", "enqueue", "--file", f, "--batch", "25"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    // How long an uninterrupted run takes, so that kills land all over it.
    let t0 = Instant::now();
    let a = args(&keyed);
    r.jobq(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = [0, 0];
    for point in 0..points {
        for (which, file) in [&keyed, &plain].into_iter().enumerate() {
            flushall(&mut con);
            let delay = Duration::from_millis(rng.below(full + 20));
            eprintln!("kill point {point} ({file}): after {delay:?} of ~{full} ms");
            let a = args(file);
            let child = spawn_jobq(&r, &a.iter().map(String::as_str).collect::<Vec<_>>());
            kill_after(child, delay);
            // Every job written is whole: never half a create.
            let written = assert_records_whole(&mut con);
            if !written.is_empty() && written.len() < n {
                mid[which] += 1;
            }
            if which == 1 {
                continue;
            }
            // Each claim names a whole record, each record has its claim:
            // the claim and the create are one step.
            let c = claims(&mut con);
            assert_eq!(c.len(), written.len(), "claims vs records");
            for (claim, key) in &c {
                assert!(written.contains(key), "{claim} names a missing {key}");
            }
            // A rerun of the same file completes the set, no duplicates.
            let run = r.jobq(&["--json", "enqueue", "--file", &keyed]);
            run.expect_code(0);
            let j = run.json();
            assert_eq!(j["existing"], written.len(), "{}", run.explain());
            assert_eq!(j["created"], n - written.len(), "{}", run.explain());
            let all = assert_records_whole(&mut con);
            assert_eq!(all.len(), n, "exactly one record per line");
            let c = claims(&mut con);
            let distinct: std::collections::BTreeSet<&String> = c.iter().map(|(_, k)| k).collect();
            assert_eq!((c.len(), distinct.len()), (n, n), "one job per key");
        }
    }
    eprintln!("kills mid-write (keyed, plain): {mid:?}");
    assert!(
        mid.iter().all(|m| *m >= 3),
        "kills landed mid-write only {mid:?} times; the delays need tuning"
    );
    check_i5(&mut con);
}

// ---- Redis restarted -----------------------------------------------------

#[test]
fn persistent_restart_mid_scan_starts_over_or_fails() {
    let mut r = persistent();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 30_000, "p");
    orphan_all(&mut con, &keys[..20]);
    let before = Before::capture(&mut con);
    drop(con);
    let args = [
        "--json", "orphans", "scan", "--grace", "2s", "--batch", "10",
    ];
    let child = spawn_jobq(&r, &args);
    std::thread::sleep(Duration::from_millis(300));
    let mut child = child;
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the scan must still be running at the restart"
    );
    r.restart();
    let run = finish(&r, &args, child);
    match run.code() {
        // Failed: no report of a partial scan, one line saying why.
        3 => {
            assert!(run.stdout().is_empty(), "{}", run.explain());
            let line = one_line_error(&run);
            assert!(
                line.contains("restart") || line.contains("connection"),
                "{}",
                run.explain()
            );
        }
        // Started over: the whole answer.
        1 => assert_eq!(run.json()["counts"]["orphan"], 20, "{}", run.explain()),
        _ => panic!("exit 3 or a complete scan\n{}", run.explain()),
    }
    let mut con = r.con();
    check_i1(&mut con, &before, &WorkerLog::default(), true);
    let again = r.jobq(&["--json", "orphans", "scan", "--grace", "0"]);
    again.expect_code(1);
    assert_eq!(again.json()["counts"]["orphan"], 20);
    r.jobq(&SETTLE).expect_code(0);
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
}

#[test]
fn persistent_restart_mid_repair_reports_only_what_was_applied() {
    let mut r = persistent();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 20_000, "p");
    orphan_all(&mut con, &keys);
    let before = Before::capture(&mut con);
    let plan = plan_file(&r);
    let args = [
        "--json",
        "reindex",
        "--yes",
        "--show",
        "all",
        "--plan",
        plan.as_str(),
    ];
    let child = spawn_jobq(&r, &args);
    // Restart once the repair is writing.
    assert!(
        wait_for(Duration::from_secs(30), || xlen(&mut con, AUDIT) > 0),
        "the repair never started"
    );
    r.restart();
    let run = finish(&r, &args, child);
    let mut con = r.con();
    match run.code() {
        4 => {
            let j = run.json();
            let applied = applied_actions_hold(&mut con, &j);
            assert_eq!(j["applied"], applied);
            assert!(
                j["unknown"].as_u64().expect("unknown") > 0,
                "{}",
                run.explain()
            );
            assert!(run.stderr().contains("unknown"), "{}", run.explain());
        }
        3 => {
            one_line_error(&run);
        }
        _ => panic!("exit 3 or 4 after a restart mid-repair\n{}", run.explain()),
    }
    assert!(xlen(&mut con, AUDIT) > 0, "acknowledged writes survive");
    check_i1(&mut con, &before, &WorkerLog::default(), true);
    // The same plan again, on a server that forgot its scripts: what was
    // done is not done twice, the rest is done.
    let again = r.jobq(&["--json", "reindex", "--yes", "--plan", &plan]);
    assert!(matches!(again.code(), 0 | 4), "{}", again.explain());
    assert_no_step_twice(&mut con);
    assert_eq!(smembers(&mut con, &status_index("pending")).len(), 20_000);
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
}

#[test]
fn scripts_are_reloaded_after_a_script_flush() {
    let r = watched(&[]);
    let mut con = r.con();
    let keys = seed_fast(&mut con, 4000, "p");
    orphan_all(&mut con, &keys);
    let before = Before::capture(&mut con);
    let plan = plan_file(&r);
    // Flushed before the run.
    cmd(&mut con, &[b"SCRIPT", b"FLUSH"]);
    let partial = plan_file_of(&r, &plan, 100);
    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", &partial]);
    run.expect_code(0);
    assert_eq!(run.json()["applied"], 100, "{}", run.explain());
    // Flushed again and again while it runs: every NOSCRIPT is reloaded
    // and re-sent, nothing is sent twice.
    let flusher = flush_scripts_until_stopped(&r);
    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", &plan]);
    let flushes = flusher.stop();
    assert!(flushes > 3, "only {flushes} flushes");
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["failed"], 0, "{}", run.explain());
    assert_eq!(j["unknown"], 0, "{}", run.explain());
    assert_eq!(j["skipped"], 0, "{}", run.explain());
    // The first 100 were applied by the partial plan.
    assert_eq!(j["already_applied"], 100, "{}", run.explain());
    assert_eq!(j["applied"], 3900, "{}", run.explain());
    assert_no_step_twice(&mut con);
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);

    // enqueue's guarded script too.
    flushall(&mut con);
    let file = jobs_file(&r, "keyed.jsonl", 3000, true);
    let flusher = flush_scripts_until_stopped(&r);
    let run = r.jobq(&["--json", "enqueue", "--file", &file, "--batch", "20"]);
    let flushes = flusher.stop();
    assert!(flushes > 3, "only {flushes} flushes");
    run.expect_code(0);
    assert_eq!(run.json()["created"], 3000, "{}", run.explain());
    assert_eq!(assert_records_whole(&mut con).len(), 3000);
}

/// The first `n` actions of a plan file, as another plan file (in the
/// format-1 shape, one JSON object, which jobq still reads).
fn plan_file_of(r: &Redis, plan: &str, n: usize) -> String {
    let mut p = read_plan(std::path::Path::new(plan));
    p["format"] = J::from(1);
    p.as_object_mut().expect("object").remove("end");
    let actions = p["actions"].as_array_mut().expect("actions");
    actions.truncate(n);
    write_file(r.dir.path(), "part.json", &p.to_string())
        .to_str()
        .expect("path")
        .to_owned()
}

struct Flusher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<usize>,
}

impl Flusher {
    fn stop(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().expect("flusher")
    }
}

/// SCRIPT FLUSH every few milliseconds from another connection.
fn flush_scripts_until_stopped(r: &Redis) -> Flusher {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let mut c = r.con();
    let handle = std::thread::spawn(move || {
        let mut n = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let _: () = redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query(&mut c)
                .expect("SCRIPT FLUSH");
            n += 1;
            std::thread::sleep(Duration::from_millis(15));
        }
        n
    });
    Flusher { stop, handle }
}
