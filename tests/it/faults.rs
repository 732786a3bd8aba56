//! Reliability under faults (README, "Reliability"): jobq killed, Redis
//! restarted, a replica, a slow server, missing permissions, a full server,
//! bad data. After each fault the invariants of `common::faults` hold:
//! nothing lost (I1), every job in its one index after a repair (I2), a
//! second run changes nothing (I3), nothing a worker did undone (I4), and
//! Redis never blocked by jobq (I5). `reap` under SIGKILL, a restart, a
//! replica and ACL users is at the end.
//!
//! SIGKILL during `reindex`, and a worker moving jobs while it repairs, are
//! in `reindex_live`; random damage interleaved with a worker is in
//! `concurrency`.

use std::time::{Duration, Instant};

use crate::common::faults::*;
use crate::common::*;
use serde_json::Value as J;

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

// ---- SIGKILL -------------------------------------------------------------

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
    let args = ["--json", "reindex", "--yes", "--plan", plan.as_str()];
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

/// The first `n` actions of a plan file, as another plan file.
fn plan_file_of(r: &Redis, plan: &str, n: usize) -> String {
    let mut p: J =
        serde_json::from_str(&std::fs::read_to_string(plan).expect("plan")).expect("plan json");
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

// ---- a read-only replica -------------------------------------------------

#[test]
fn replica_serves_reads_and_refuses_writes() {
    let primary = watched_tcp(&[]);
    let mut pcon = primary.con();
    let keys = seed(&mut pcon, 30, "p");
    orphan_all(&mut pcon, &keys[..3]);
    let replica = replica_of(&primary);
    let mut rcon = replica.con();
    let p_before = snapshot(&mut pcon);
    let r_before = snapshot(&mut rcon);
    assert_eq!(p_before, r_before, "the replica has synced");

    // Reads work as on the primary.
    let scan = replica.jobq(&["--json", "orphans", "scan", "--grace", "0"]);
    scan.expect_code(1);
    assert_eq!(scan.json()["counts"]["orphan"], 3);
    let inspect = replica.jobq(&["--json", "inspect"]);
    assert!(matches!(inspect.code(), 0 | 1), "{}", inspect.explain());
    inspect.json();
    replica.jobq(&["inspect", &job_id(5)]).expect_code(0);
    replica
        .jobq(&["reindex", "--dry-run", "--grace", "0"])
        .expect_code(1);

    // Writes are refused before anything is written, naming the problem.
    let plan = plan_file(&replica);
    let file = jobs_file(&replica, "jobs.jsonl", 10, true);
    for args in [
        vec!["reindex", "--yes", "--grace", "0"],
        vec!["reindex", "--yes", "--plan", plan.as_str()],
        vec!["enqueue", "--project", "p"],
        vec!["enqueue", "--file", file.as_str()],
    ] {
        let run = replica.jobq(&args);
        run.expect_code(3);
        let line = one_line_error(&run);
        assert!(
            line.contains("read-only replica") && line.contains("primary"),
            "{}",
            run.explain()
        );
    }
    // A user who may not ask ROLE is still refused up front (INFO says the
    // role), with the same message.
    acl_user(
        &mut rcon,
        "norole",
        "norolepw",
        &["~*", "&*", "+@all", "-role"],
    );
    let url = format!(
        "redis://norole:norolepw@127.0.0.1:{}/0",
        replica.port.expect("port")
    );
    for args in [
        vec!["reindex", "--yes", "--grace", "0"],
        vec!["enqueue", "--file", file.as_str()],
    ] {
        let mut full = vec!["--url".to_string(), url.clone()];
        full.extend(args.iter().map(|s| s.to_string()));
        let run = run_jobq(&full, None, replica.log_path());
        run.expect_code(3);
        let line = one_line_error(&run);
        assert!(
            line.contains("read-only replica") && line.contains("primary"),
            "{}",
            run.explain()
        );
    }

    assert_eq!(snapshot(&mut pcon), p_before, "nothing written");
    assert_eq!(snapshot(&mut rcon), r_before, "nothing written");
    assert_eq!(xlen(&mut pcon, AUDIT), 0);
    check_i5(&mut rcon);
}

// ---- a client timeout shorter than a slow server -------------------------

#[test]
fn slow_server_makes_the_outcome_unknown_never_twice() {
    let r = watched(&["--enable-debug-command", "yes"]);
    let mut con = r.con();
    let keys = seed_fast(&mut con, 20_000, "p");
    orphan_all(&mut con, &keys);
    let before = Before::capture(&mut con);
    let plan = plan_file(&r);
    let args = [
        "--json",
        "--response-timeout",
        "200ms",
        "reindex",
        "--yes",
        "--plan",
        plan.as_str(),
    ];
    let child = spawn_jobq(&r, &args);
    // Once the repair writes, the server stops answering for a second.
    let sleeper = debug_sleep_when(&r.sock, 1.0, |c| xlen(c, AUDIT) > 0);
    let run = finish(&r, &args, child);
    assert!(sleeper.join().expect("sleeper"), "DEBUG SLEEP was sent");
    run.expect_code(4);
    let j = run.json();
    let outcomes: Vec<&str> = j["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["outcome"].as_str().expect("outcome"))
        .collect();
    assert!(outcomes.contains(&"unknown"), "{}", run.explain());
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(*o, "applied" | "unknown" | "not_attempted")),
        "{}",
        run.explain()
    );
    assert!(
        run.stderr().contains("warning") && run.stderr().contains("unknown"),
        "{}",
        run.explain()
    );
    // What it says was applied was; nothing was applied twice, even what
    // the server ran after jobq stopped waiting.
    applied_actions_hold(&mut con, &j);
    assert_no_step_twice(&mut con);
    check_i1(&mut con, &before, &WorkerLog::default(), true);
    // A rerun settles, still never twice.
    r.jobq(&SETTLE).expect_code(0);
    assert_no_step_twice(&mut con);
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
}

// ---- permissions -----------------------------------------------------------

#[test]
fn users_without_permission_get_one_line_and_nothing_written() {
    let r = watched_tcp(&[]);
    let mut con = r.con();
    let keys = seed(&mut con, 40, "p");
    orphan_all(&mut con, &keys[..10]);
    let before = Before::capture(&mut con);
    let plan = plan_file(&r);
    let file = jobs_file(&r, "keyed.jsonl", 20, true);
    let plain = jobs_file(&r, "plain.jsonl", 20, false);
    let reads = [
        "~*",
        "&*",
        "+@read",
        "+@connection",
        "+info",
        "+role",
        "+time",
    ];
    let reindex_scan = vec!["reindex", "--yes", "--grace", "0"];
    let reindex_plan = vec!["reindex", "--yes", "--plan", plan.as_str()];
    let enqueue_keyed = vec!["enqueue", "--file", file.as_str()];
    let enqueue_plain = vec!["enqueue", "--file", plain.as_str()];
    let every = vec![
        reindex_scan.clone(),
        reindex_plan.clone(),
        enqueue_keyed.clone(),
        enqueue_plain,
    ];
    // (user, ACL rules, what it must be refused)
    type User<'a> = (&'a str, Vec<&'a str>, Vec<Vec<&'a str>>);
    let users: [User; 3] = [
        // No scripts at all (enqueue without idempotency keys needs none).
        (
            "noscript",
            vec!["~*", "&*", "+@all", "-eval", "-evalsha", "-script"],
            vec![reindex_scan, reindex_plan, enqueue_keyed],
        ),
        // Scripts, but no writes.
        (
            "nowrite",
            [&reads[..], &["+evalsha", "+script|load"]].concat(),
            every.clone(),
        ),
        // Everything but the audit entry.
        ("noaudit", vec!["~*", "&*", "+@all", "-xadd"], every),
    ];
    let snap = snapshot(&mut con);
    for (user, rules, refused) in &users {
        acl_user(&mut con, user, "pw-secret", rules);
        let url = r.tcp_url(&format!("{user}:pw-secret@"));
        for args in refused {
            let mut full = vec!["--url".to_string(), url.clone()];
            full.extend(args.iter().map(|s| s.to_string()));
            let run = run_jobq(&full, None, r.log_path());
            run.expect_code(3);
            let line = one_line_error(&run);
            assert!(!line.contains("pw-secret"), "{}", run.explain());
            assert!(
                line.contains("NOPERM") || line.contains("permission"),
                "{user}: {}",
                run.explain()
            );
            let now = snapshot(&mut con);
            assert!(now == snap, "{user} {args:?} wrote:\n{}", diff(&snap, &now));
            assert_eq!(xlen(&mut con, AUDIT), 0, "{user} {args:?}");
        }
    }
    // A wrong password.
    let run = run_jobq(
        &[
            "--url".into(),
            r.tcp_url("noaudit:wrong-pw-1@"),
            "reindex".into(),
            "--yes".into(),
        ],
        None,
        r.log_path(),
    );
    run.expect_code(3);
    let line = one_line_error(&run);
    assert!(
        line.contains("authentication failed") && !line.contains("wrong-pw-1"),
        "{}",
        run.explain()
    );
    assert_eq!(snapshot(&mut con), snap);
    // The default user repairs it all.
    r.jobq(&SETTLE).expect_code(0);
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
}

// ---- a full server ---------------------------------------------------------

#[test]
fn maxmemory_refuses_writes_cleanly() {
    let r = watched(&["--maxmemory-policy", "noeviction"]);
    let mut con = r.con();
    let keys = seed_fast(&mut con, 5000, "p");
    orphan_all(&mut con, &keys);
    let before = Before::capture(&mut con);
    let snap = snapshot(&mut con);
    let used = info_number(&mut con, "memory", "used_memory");
    config_set(&mut con, "maxmemory", &(used + 256 * 1024).to_string());

    let run = r.jobq(&["--json", "reindex", "--yes", "--grace", "0"]);
    assert!(matches!(run.code(), 3 | 4), "{}", run.explain());
    let line = one_line_error(&run);
    assert!(
        line.contains("OOM") || line.contains("memory"),
        "{}",
        run.explain()
    );
    // Each job fully as before, or fully repaired with its audit entry.
    let audited: std::collections::BTreeSet<Vec<u8>> =
        audit_counts(&mut con).into_keys().map(|(k, _)| k).collect();
    let pending: std::collections::BTreeSet<String> = smembers(&mut con, &status_index("pending"))
        .into_iter()
        .collect();
    for k in &keys {
        assert_eq!(
            pending.contains(k),
            audited.contains(k.as_bytes()),
            "{k}: repaired without its audit entry, or audited and not repaired"
        );
    }
    assert!(pending.len() < keys.len(), "the limit must have been hit");
    let mut after = snapshot(&mut con);
    after.remove(status_index("pending").as_bytes());
    let mut was = snap.clone();
    was.remove(status_index("pending").as_bytes());
    assert!(
        after == was,
        "only the index changed:\n{}",
        diff(&was, &after)
    );
    if run.code() == 4 || !run.stdout().is_empty() {
        applied_actions_hold(&mut con, &run.json());
    }

    // enqueue: refused cleanly, whole records only.
    let file = jobs_file(&r, "keyed.jsonl", 4000, true);
    let plain = jobs_file(&r, "plain.jsonl", 4000, false);
    for f in [&file, &plain] {
        let run = r.jobq(&["enqueue", "--file", f]);
        assert!(matches!(run.code(), 3 | 4), "{}", run.explain());
        let line = one_line_error(&run);
        assert!(
            line.contains("OOM") || line.contains("memory"),
            "{}",
            run.explain()
        );
        assert_records_whole_or_damaged(&mut con, &keys);
    }
    // With room again, a rerun completes both without duplicates.
    config_set(&mut con, "maxmemory", "0");
    r.jobq(&SETTLE).expect_code(0);
    let run = r.jobq(&["--json", "enqueue", "--file", &file]);
    run.expect_code(0);
    let c = claims(&mut con);
    assert_eq!(c.len(), 4000, "one claim per line");
    check_settled(&r, &before, &WorkerLog::default(), &SETTLE);
    check_i5(&mut con);
}

/// Every record but the seeded (damaged) ones is whole.
fn assert_records_whole_or_damaged(con: &mut redis::Connection, seeded: &[String]) {
    let seeded: std::collections::BTreeSet<&String> = seeded.iter().collect();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("RedisJob:*")
        .query(con)
        .expect("KEYS");
    for k in keys.iter().filter(|k| !seeded.contains(k)) {
        let fields = hgetall_raw(con, k);
        assert_eq!(fields.len(), 6, "{k}: half a create");
        for set in [
            CLASS.to_string(),
            project_index(k.split(':').nth(2).expect("p")),
        ] {
            let m: bool = redis::cmd("SISMEMBER")
                .arg(&set)
                .arg(k)
                .query(con)
                .expect("SISMEMBER");
            assert!(m, "{k}: half a create (not in {set})");
        }
    }
}

// ---- bad data --------------------------------------------------------------

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

// ---- reap under faults -----------------------------------------------------

const REAP_LOCK: &str = "jobq:reap:RedisJob:lock";
const REAP_ARGS: [&str; 5] = ["-q", "reap", "--once", "--all", "--yes"];

/// `n` running jobs in project `p`, popoto's bytes, one pipeline; keys.
fn seed_running(con: &mut redis::Connection, n: usize) -> Vec<String> {
    use jobq::schema::msgpack::encode;
    use jobq::schema::Value as V;
    let mut keys = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let id = job_id(i + 1);
            let key = format!("RedisJob:{id}:p:running");
            let t = 1767225600.0 + i as f64;
            pipe.cmd("HSET")
                .arg(&key)
                .arg("job_id")
                .arg(encode(&V::Str(id.clone())))
                .arg("project_key")
                .arg(encode(&V::Str("p".into())))
                .arg("status")
                .arg(encode(&V::Str("running".into())))
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
                .arg(status_index("running"))
                .arg(&key)
                .ignore();
            pipe.cmd("ZADD").arg(ZSET).arg(t).arg(&key).ignore();
            keys.push(key);
        }
        let _: () = pipe.query(con).expect("seed running");
    }
    keys
}

/// After a reap (whole or cut short): every job in exactly one status
/// index, whole (I1, I2: a reap move is one script); every job in pending
/// has exactly one `reap_requeue` audit entry and none in running has one
/// (no move half-done, none twice, none unaudited). Returns how many moved.
fn reap_moves_whole(con: &mut redis::Connection, before: &Before, n: usize) -> usize {
    check_i1(con, before, &WorkerLog::default(), true);
    check_i2(con, &[]);
    assert_no_step_twice(con);
    let pending = smembers(con, &status_index("pending"));
    let running = smembers(con, &status_index("running"));
    assert_eq!(pending.len() + running.len(), n, "every job in one index");
    let audited: std::collections::BTreeSet<Vec<u8>> = audit_counts(con)
        .into_iter()
        .filter(|((_, a), _)| a.as_slice() == b"reap_requeue")
        .map(|((k, _), _)| k)
        .collect();
    assert_eq!(audited.len(), pending.len(), "one audit entry per move");
    for k in &pending {
        let old = k.replace(":pending", ":running");
        assert!(audited.contains(old.as_bytes()), "{k} moved, not audited");
    }
    pending.len()
}

/// The lock a killed reaper left expires by itself within its PX (30 s);
/// the test lets it expire at once.
fn expire_the_left_lock(con: &mut redis::Connection) {
    let ttl: i64 = redis::cmd("PTTL").arg(REAP_LOCK).query(con).expect("PTTL");
    assert!(
        ttl == -2 || (0..=30_000).contains(&ttl),
        "a killed reaper's lock must expire by itself (PTTL {ttl})"
    );
    cmd(con, &[b"DEL", REAP_LOCK.as_bytes()]);
}

#[test]
fn reap_sigkill_at_random_points() {
    let r = watched(&[]);
    let mut con = r.con();
    let n = 4000;
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 30 } else { 20 };
    seed_running(&mut con, n);
    let t0 = Instant::now();
    r.jobq(&REAP_ARGS).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed_running(&mut con, n);
        let before = Before::capture(&mut con);
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &REAP_ARGS), delay);
        let moved = reap_moves_whole(&mut con, &before, n);
        if moved > 0 && moved < n {
            mid += 1;
        }
        // While the lock lives, another reaper keeps off (exit 75) and
        // writes nothing.
        if redis::cmd("EXISTS")
            .arg(REAP_LOCK)
            .query::<i64>(&mut con)
            .expect("EXISTS")
            == 1
        {
            let snap = snapshot(&mut con);
            r.jobq(&REAP_ARGS).expect_code(75);
            assert_eq!(snapshot(&mut con), snap, "a locked-out reaper wrote");
        }
        expire_the_left_lock(&mut con);
        // A rerun moves the rest, each job once in all.
        r.jobq(&REAP_ARGS).expect_code(0);
        assert_eq!(reap_moves_whole(&mut con, &before, n), n);
        let attempts: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg("jobq:reap:RedisJob:attempts")
            .query(&mut con)
            .expect("HVALS");
        assert_eq!(attempts.len(), n);
        assert!(attempts.iter().all(|a| a == b"1"), "a job reaped twice");
        // I3: nothing left to reap, nothing written.
        let snap = snapshot(&mut con);
        let audit = xlen(&mut con, AUDIT);
        let again = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
        again.expect_code(0);
        assert_eq!(again.json()["moved"].as_array().map(Vec::len), Some(0));
        assert_eq!(snapshot(&mut con), snap);
        assert_eq!(xlen(&mut con, AUDIT), audit);
    }
    eprintln!("kills mid-sweep: {mid} of {points}");
    assert!(
        mid >= 3,
        "only {mid} kills landed mid-sweep; the delays need tuning"
    );
    check_i5(&mut con);
}

#[test]
fn reap_across_a_restart() {
    let mut r = persistent();
    let mut con = r.con();
    let n = 30_000;
    seed_running(&mut con, n);
    let before = Before::capture(&mut con);
    let args = ["--json", "reap", "--once", "--all", "--yes"];
    let child = spawn_jobq(&r, &args);
    assert!(
        wait_for(Duration::from_secs(30), || xlen(&mut con, AUDIT) > 0),
        "the sweep never started moving"
    );
    r.restart();
    let run = finish(&r, &args, child);
    let mut con = r.con();
    // The sweep failed (exit 3), or had finished just before.
    match run.code() {
        3 => {
            let j = run.json();
            assert_eq!(j["stopped"], "error", "{}", run.explain());
            assert!(run.stderr().contains("reap sweep 1"), "{}", run.explain());
            // What it reports moved was moved.
            let pending: std::collections::BTreeSet<String> =
                smembers(&mut con, &status_index("pending"))
                    .into_iter()
                    .collect();
            for m in j["moved"].as_array().expect("moved") {
                let k = m["new_key"].as_str().expect("new_key");
                assert!(pending.contains(k), "reported moved, not in the state: {k}");
            }
        }
        0 => {}
        _ => panic!("exit 3 (or 0) after a restart mid-sweep\n{}", run.explain()),
    }
    // Every acknowledged move survived, whole.
    let moved = reap_moves_whole(&mut con, &before, n);
    assert!(moved > 0, "acknowledged moves survive the restart");
    // The lock is in Redis too: it survived and keeps other reapers off
    // until it expires (unless the sweep released it before the restart).
    expire_the_left_lock(&mut con);
    let again = r.jobq(&args);
    again.expect_code(0);
    assert_eq!(reap_moves_whole(&mut con, &before, n), n);
    assert_eq!(smembers(&mut con, &status_index("running")).len(), 0);
    // No I5 here: under `appendfsync always` on a loaded machine, SLOWLOG
    // catches reap's SSCAN COUNT 1000 pages (about 1 ms) at 5-13 ms again
    // and again; reap_sigkill_at_random_points checks I5 for reap.
}

#[test]
fn reap_on_a_replica_and_without_permission() {
    let primary = watched_tcp(&[]);
    let mut pcon = primary.con();
    seed_running(&mut pcon, 30);
    let replica = replica_of(&primary);
    let mut rcon = replica.con();
    let every_key = |con: &mut redis::Connection| -> Vec<String> { keys(con) };
    let p_before = snapshot(&mut pcon);
    let p_keys = every_key(&mut pcon);
    let r_keys = every_key(&mut rcon);
    // The first-sighting mode writes notes, --all moves: both refused on a
    // replica, before anything is written, naming the primary.
    for args in [
        vec!["reap", "--once", "--lease", "1s", "--yes"],
        vec!["reap", "--once", "--all", "--yes"],
    ] {
        let run = replica.jobq(&args);
        run.expect_code(3);
        let line = one_line_error(&run);
        assert!(
            line.contains("read-only replica") && line.contains("primary"),
            "{}",
            run.explain()
        );
        assert_eq!(every_key(&mut rcon), r_keys, "{args:?} wrote");
    }
    // A dry run only reads.
    replica.jobq(&["reap", "--dry-run", "--all"]).expect_code(1);

    // ACL users that may not make reap's writes: exit 3, one line, no job
    // moved, no audit entry, and no lock or note left behind.
    let reads = [
        "~*",
        "&*",
        "+@read",
        "+@connection",
        "+info",
        "+role",
        "+time",
    ];
    type User<'a> = (&'a str, Vec<&'a str>);
    let users: [User; 4] = [
        (
            "noscript",
            vec!["~*", "&*", "+@all", "-eval", "-evalsha", "-script"],
        ),
        (
            "nowrite",
            [&reads[..], &["+evalsha", "+script|load"]].concat(),
        ),
        ("noaudit", vec!["~*", "&*", "+@all", "-xadd"]),
        (
            "nomove",
            vec!["~*", "&*", "+@all", "-hset", "-del", "-sadd", "-srem"],
        ),
    ];
    for (user, rules) in &users {
        acl_user(&mut pcon, user, "pw-secret", rules);
        let url = primary.tcp_url(&format!("{user}:pw-secret@"));
        for args in [
            vec!["reap", "--once", "--all", "--yes"],
            vec!["reap", "--once", "--lease", "1s", "--yes"],
        ] {
            if *user == "noaudit" && args.contains(&"--lease") {
                // First sightings are notes, not moves: nothing to audit.
                continue;
            }
            let mut full = vec!["--url".to_string(), url.clone()];
            full.extend(args.iter().map(|s| s.to_string()));
            let run = run_jobq(&full, None, primary.log_path());
            run.expect_code(3);
            let err = run.stderr();
            assert!(!err.contains("pw-secret"), "{}", run.explain());
            assert!(
                err.contains("NOPERM") || err.contains("permission"),
                "{user} {args:?}: {}",
                run.explain()
            );
            assert_eq!(snapshot(&mut pcon), p_before, "{user} {args:?} moved a job");
            // A user who may not DEL cannot release the lock either: it
            // expires by itself.
            expire_the_left_lock(&mut pcon);
            // First-sighting notes (jobq's own bookkeeping, no job touched)
            // are written when the user may write them (nomove may HSETNX).
            if *user == "nomove" {
                cmd(&mut pcon, &[b"DEL", b"jobq:reap:RedisJob:seen"]);
            }
            let now = every_key(&mut pcon);
            let extra: Vec<&String> = now.iter().filter(|k| !p_keys.contains(k)).collect();
            let gone: Vec<&String> = p_keys.iter().filter(|k| !now.contains(k)).collect();
            assert!(
                extra.is_empty() && gone.is_empty(),
                "{user} {args:?}: keys left {extra:?}, keys gone {gone:?}"
            );
        }
    }
    assert_eq!(xlen(&mut pcon, AUDIT), 0);
    // The default user reaps them all.
    primary
        .jobq(&["reap", "--once", "--all", "--yes"])
        .expect_code(0);
    assert_eq!(smembers(&mut pcon, &status_index("pending")).len(), 30);
    check_i5(&mut pcon);
}
