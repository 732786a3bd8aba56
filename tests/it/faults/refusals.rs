//! A server that refuses or stalls: a read-only replica, a client timeout
//! shorter than a slow server, users without permission, a full server.

use super::*;

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
        "--show",
        "all",
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

    let run = r.jobq(&[
        "--json", "reindex", "--yes", "--show", "all", "--grace", "0",
    ]);
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
