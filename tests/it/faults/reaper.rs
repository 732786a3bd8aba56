//! `reap` under faults: SIGKILL at random points, a restart, a replica and
//! ACL users.

use super::*;

const REAP_LOCK: &str = "jobq:reap:RedisJob:lock";
const REAP_ARGS: [&str; 5] = ["-q", "reap", "--once", "--all", "--yes"];

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
    seed_status(&mut con, n, "running");
    let t0 = Instant::now();
    r.jobq(&REAP_ARGS).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed_status(&mut con, n, "running");
        let before = Before::capture(&mut con);
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &REAP_ARGS), delay);
        let moved = moves_whole(&mut con, &before, n, "running", "reap_requeue");
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
        assert_eq!(
            moves_whole(&mut con, &before, n, "running", "reap_requeue"),
            n
        );
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
    seed_status(&mut con, n, "running");
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
    let moved = moves_whole(&mut con, &before, n, "running", "reap_requeue");
    assert!(moved > 0, "acknowledged moves survive the restart");
    // The lock is in Redis too: it survived and keeps other reapers off
    // until it expires (unless the sweep released it before the restart).
    expire_the_left_lock(&mut con);
    let again = r.jobq(&args);
    again.expect_code(0);
    assert_eq!(
        moves_whole(&mut con, &before, n, "running", "reap_requeue"),
        n
    );
    assert_eq!(smembers(&mut con, &status_index("running")).len(), 0);
    // No I5 here: under `appendfsync always` on a loaded machine, SLOWLOG
    // catches reap's SSCAN COUNT 1000 pages (about 1 ms) at 5-13 ms again
    // and again; reap_sigkill_at_random_points checks I5 for reap.
}

#[test]
fn reap_on_a_replica_and_without_permission() {
    let primary = watched_tcp(&[]);
    let mut pcon = primary.con();
    seed_status(&mut pcon, 30, "running");
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
            // The refused run's start entry stays (README, "Production
            // safety": the attempt is audited); it must record no change.
            if *user == "nomove" {
                assert_eq!(
                    xlen(&mut pcon, "jobq:audit"),
                    0,
                    "{user} {args:?}: a change was audited"
                );
                cmd(&mut pcon, &[b"DEL", b"jobq:audit"]);
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
