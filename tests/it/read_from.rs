//! `--read-from`: the walks on a real replica (`redis-server --replicaof`),
//! the second sightings and the writes on the primary. A replica that
//! shows damage the primary does not have (one that really lags, its link
//! held by `common::link`, or a writable one written to alone) gets it
//! counted transient and never repaired; `drain` never believes an empty
//! queue on the replica alone; a replica whose link is down, one of
//! another primary, and a primary given as `--read-from` are refused with
//! exit 3 and one line, nothing written.

use std::time::Duration;

use crate::common::faults::{info_number, replica_of, wait_for, AUDIT, CLASS};
use crate::common::link::Link;
use crate::common::*;

const PENDING: &str = "$KeyF:RedisJob:status:pending";

/// A primary that syncs a new replica at once (diskless sync otherwise
/// waits 5 s on Redis 7 and Valkey for more replicas to join).
const FAST_SYNC: &[&str] = &["--repl-diskless-sync-delay", "0"];

/// jobq against `primary`, reading from `replica`.
fn via(primary: &Redis, replica: &Redis, args: &[&str]) -> Run {
    let mut full = vec!["--read-from".to_string(), replica.url()];
    full.extend(args.iter().map(|s| s.to_string()));
    let full: Vec<&str> = full.iter().map(String::as_str).collect();
    primary.jobq(&full)
}

/// Wait until the replica has applied everything the primary wrote.
fn caught_up(primary: &Redis, replica: &Redis) {
    let (mut p, mut r) = (primary.con(), replica.con());
    let target = info_number(&mut p, "replication", "master_repl_offset");
    assert!(
        wait_for(Duration::from_secs(20), || info_number(
            &mut r,
            "replication",
            "slave_repl_offset"
        ) >= target),
        "the replica did not catch up\n{}",
        replica.log()
    );
}

/// The replica's link is up and its first sync done.
fn in_sync(replica: &Redis) -> bool {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut replica.con())
        .expect("INFO");
    info.contains("master_link_status:up") && info.contains("master_sync_in_progress:0")
}

/// Times the server ran `name` (INFO commandstats), 0 if never.
fn calls(r: &Redis, name: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut r.con())
        .expect("INFO");
    let prefix = format!("cmdstat_{name}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn in_pending(r: &Redis, key: &str) -> bool {
    redis::cmd("SISMEMBER")
        .arg(PENDING)
        .arg(key)
        .query(&mut r.con())
        .expect("SISMEMBER")
}

fn audit_len(r: &Redis) -> u64 {
    xlen(&mut r.con(), AUDIT) as u64
}

#[test]
fn scan_and_reindex_through_a_replica_find_and_repair_on_the_primary() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 200, "projA");
    // Two orphans, one unlisted.
    for k in &keys[..2] {
        cmd(&mut con, &[b"SREM", PENDING.as_bytes(), k.as_bytes()]);
    }
    cmd(&mut con, &[b"SREM", CLASS.as_bytes(), keys[2].as_bytes()]);
    let replica = replica_of(&primary);
    caught_up(&primary, &replica);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");

    let scan = via(
        &primary,
        &replica,
        &["--json", "orphans", "scan", "--grace", "100ms"],
    );
    scan.expect_code(1);
    let j = scan.json();
    assert_eq!(j["counts"]["orphan"], 2, "{}", scan.explain());
    assert_eq!(j["counts"]["unlisted"], 1, "{}", scan.explain());
    assert_eq!(j["transient"], 0);
    let rf = &j["read_from"];
    assert_eq!(rf["url"], replica.url(), "{}", scan.explain());
    assert!(rf["lag_bytes"].is_u64(), "{rf}");
    assert!(rf["master_last_io_seconds_ago"].is_i64(), "{rf}");
    assert_eq!(rf["lagging"], false);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for key in rf.as_object().expect("read_from is an object").keys() {
        assert!(
            readme.contains(&format!("\"{key}\"")),
            "README does not document read_from.{key}"
        );
    }
    assert!(
        scan.stderr().contains("reading from") && scan.stderr().contains("bytes behind"),
        "the lag is told at start\n{}",
        scan.explain()
    );
    // The walks went to the replica: the primary was asked no SSCAN, only
    // the second sightings' reads.
    assert_eq!(calls(&primary, "sscan"), 0, "{}", scan.explain());
    assert!(calls(&replica, "sscan") > 0);
    assert!(calls(&primary, "hmget") + calls(&primary, "evalsha") + calls(&primary, "hlen") > 0);

    // The same findings as without --read-from.
    let plain = primary.jobq(&["--json", "orphans", "scan", "--grace", "100ms"]);
    assert_eq!(plain.json()["counts"], j["counts"]);

    let fix = via(
        &primary,
        &replica,
        &["--json", "reindex", "--yes", "--grace", "100ms"],
    );
    fix.expect_code(0);
    let f = fix.json();
    assert_eq!(f["applied"], 3, "{}", fix.explain());
    assert_eq!(f["read_from"]["url"], replica.url());
    // Written on the primary, and the replica has it from there.
    assert!(keys[..2].iter().all(|k| in_pending(&primary, k)));
    assert!(audit_len(&primary) > 0);
    caught_up(&primary, &replica);
    assert!(keys[..2].iter().all(|k| in_pending(&replica, k)));
    let again = via(
        &primary,
        &replica,
        &["--json", "orphans", "scan", "--grace", "100ms"],
    );
    again.expect_code(0);
    assert_eq!(again.json()["total"], 0, "{}", again.explain());
}

#[test]
fn damage_only_the_replica_shows_is_transient_and_not_repaired() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 50, "projA");
    let replica = replica_of(&primary);
    caught_up(&primary, &replica);
    // What a replica behind its primary shows: an index entry the primary
    // already has. A writable replica written to alone stands for it,
    // deterministically, on every server of the matrix.
    let mut rc = replica.con();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-read-only")
        .arg("no")
        .query(&mut rc)
        .expect("CONFIG SET");
    cmd(&mut rc, &[b"SREM", PENDING.as_bytes(), keys[7].as_bytes()]);
    assert!(!in_pending(&replica, &keys[7]) && in_pending(&primary, &keys[7]));

    let run = via(
        &primary,
        &replica,
        &["--json", "reindex", "--yes", "--grace", "100ms"],
    );
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["applied"], 0, "{}", run.explain());
    assert_eq!(j["counts"]["orphan"]["planned"], 0, "{}", run.explain());
    let scan = via(
        &primary,
        &replica,
        &["--json", "orphans", "scan", "--grace", "100ms"],
    );
    scan.expect_code(0);
    let s = scan.json();
    assert_eq!(
        (s["candidates"].as_u64(), s["transient"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        scan.explain()
    );
    assert_eq!(s["total"], 0);
    // Nothing written anywhere.
    assert_eq!(audit_len(&primary), 0);
    assert!(!in_pending(&replica, &keys[7]));
}

/// A replica behind its primary: damage it still shows was repaired on the
/// primary meanwhile. The scan through it counts that `transient` and the
/// repair through it writes nothing; the lag is reported, and past 1 MiB
/// warned about.
#[test]
fn a_lagging_replica_s_stale_damage_is_transient_and_not_repaired_twice() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 40, "projA");
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[3].as_bytes()]);
    let link = Link::to(primary.port.expect("tcp"));
    let port = link.port.to_string();
    let replica = Redis::start_tcp(&["--replicaof", "127.0.0.1", &port]);
    assert!(
        wait_for(Duration::from_secs(20), || in_sync(&replica)),
        "the replica did not sync\n{}",
        replica.log()
    );
    caught_up(&primary, &replica);

    link.hold();
    // Repaired on the primary by another run; over a MiB written besides,
    // which the replica has not received either.
    primary
        .jobq(&["reindex", "--yes", "--grace", "0"])
        .expect_code(0);
    let audited = audit_len(&primary);
    assert!(audited > 0 && in_pending(&primary, &keys[3]));
    let big = vec![b'x'; 1_200_000];
    cmd(&mut con, &[b"SET", b"unrelated", &big]);
    assert!(!in_pending(&replica, &keys[3]), "the replica lags");

    let scan = via(
        &primary,
        &replica,
        &["--json", "orphans", "scan", "--grace", "100ms"],
    );
    scan.expect_code(0);
    let j = scan.json();
    assert_eq!(j["candidates"], 1, "{}", scan.explain());
    assert_eq!(j["transient"], 1, "{}", scan.explain());
    assert_eq!(j["total"], 0);
    let lag = j["read_from"]["lag_bytes"].as_u64().expect("lag_bytes");
    assert!(lag > 1_200_000, "{}", scan.explain());
    assert_eq!(j["read_from"]["lagging"], true);
    assert!(
        scan.stderr().contains("warning:") && scan.stderr().contains("(lagging)"),
        "{}",
        scan.explain()
    );
    let fix = via(
        &primary,
        &replica,
        &["--json", "reindex", "--yes", "--grace", "100ms"],
    );
    fix.expect_code(0);
    let f = fix.json();
    assert_eq!(
        (
            f["applied"].as_u64(),
            f["counts"]["orphan"]["planned"].as_u64()
        ),
        (Some(0), Some(0)),
        "{}",
        fix.explain()
    );
    assert_eq!(audit_len(&primary), audited, "not repaired twice");

    link.release();
    caught_up(&primary, &replica);
    assert!(in_pending(&replica, &keys[3]));
}

/// A replica behind its primary shows the queue empty while the primary
/// has a pending job: drain reads the primary before it believes an empty
/// queue, so it waits (here until --timeout, exit 6) and reports the job.
#[test]
fn drain_never_finds_the_queue_empty_on_a_replica_alone() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    for k in seed(&mut con, 5, "projA") {
        popoto_move(&mut con, &k, "completed").expect("move");
    }
    let link = Link::to(primary.port.expect("tcp"));
    let replica = Redis::start_tcp(&["--replicaof", "127.0.0.1", &link.port.to_string()]);
    assert!(
        wait_for(Duration::from_secs(20), || in_sync(&replica)),
        "{}",
        replica.log()
    );
    caught_up(&primary, &replica);
    link.hold();
    popoto_create(&mut con, &job_id(99), "projA", "pending", 1767225700.0);

    let run = via(
        &primary,
        &replica,
        &[
            "--json",
            "drain",
            "--settle",
            "200ms",
            "--timeout",
            "2s",
            "--stall-timeout",
            "60s",
        ],
    );
    run.expect_code(6);
    let d = run.json();
    assert_eq!(d["drained"], false, "{}", run.explain());
    assert_eq!(d["end"]["pending"], 1, "{}", run.explain());
    link.release();
}

#[test]
fn a_replica_whose_link_is_down_is_refused() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 20, "projA");
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[0].as_bytes()]);
    let replica = replica_of(&primary);
    // Its primary moves to a port where nothing listens: the link is down.
    let dead = free_port().to_string();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(&dead)
        .query(&mut replica.con())
        .expect("REPLICAOF");
    for args in [
        &["orphans", "scan", "--grace", "0"][..],
        &["reindex", "--yes", "--grace", "0"],
        &["inspect"],
        &["drain", "--timeout", "5s"],
    ] {
        let run = via(&primary, &replica, args);
        run.expect_code(3);
        let err = run.stderr();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line\n{}",
            run.explain()
        );
        assert!(
            err.contains("--read-from")
                && err.contains(&format!("127.0.0.1:{dead}"))
                && err.contains("is down"),
            "{}",
            run.explain()
        );
    }
    assert!(!in_pending(&primary, &keys[0]), "nothing written");
    assert_eq!(audit_len(&primary), 0);
}

#[test]
fn a_replica_of_another_primary_or_a_primary_is_refused() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 20, "projA");
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[0].as_bytes()]);
    let other = Redis::start_tcp(&["--requirepass", "s3cretpw"]);
    let other_free = Redis::start_tcp(FAST_SYNC);
    let stranger = replica_of(&other_free);

    let run = via(&primary, &stranger, &["reindex", "--yes", "--grace", "0"]);
    run.expect_code(3);
    assert_eq!(
        run.stderr().trim_end().lines().count(),
        1,
        "{}",
        run.explain()
    );
    assert!(
        run.stderr().contains("which is not --url"),
        "{}",
        run.explain()
    );

    // A primary (with a password in its URL, never printed).
    let url = other.tcp_url(":s3cretpw@");
    let run = primary.jobq(&["--read-from", &url, "reindex", "--yes", "--grace", "0"]);
    run.expect_code(3);
    let err = run.stderr();
    assert_eq!(err.trim_end().lines().count(), 1, "{}", run.explain());
    assert!(err.contains("is not a replica"), "{}", run.explain());
    assert!(
        !err.contains("s3cretpw") && err.contains(":***@"),
        "{}",
        run.explain()
    );
    assert!(!in_pending(&primary, &keys[0]), "nothing written");
    assert_eq!(audit_len(&primary), 0);

    // --read-from the primary itself: read as without it, with a warning.
    let run = primary.jobq(&[
        "--json",
        "--read-from",
        &primary.url(),
        "orphans",
        "scan",
        "--grace",
        "0",
    ]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("is --url's server itself"),
        "{}",
        run.explain()
    );
    assert_eq!(run.json()["counts"]["orphan"], 1);
    assert!(run.json().get("read_from").is_none());
}

#[test]
fn inspect_and_drain_read_the_replica() {
    let primary = Redis::start_tcp(FAST_SYNC);
    let mut con = primary.con();
    let keys = seed(&mut con, 30, "projA");
    let replica = replica_of(&primary);
    caught_up(&primary, &replica);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");

    let run = via(&primary, &replica, &["--json", "inspect"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["class_set"]["size"], 30, "{}", run.explain());
    assert_eq!(j["read_from"]["url"], replica.url());
    let run = via(
        &primary,
        &replica,
        &["--json", "inspect", "--status", "pending", "--limit", "5"],
    );
    run.expect_code(0);
    assert_eq!(
        run.json()["jobs"].as_array().map(Vec::len),
        Some(5),
        "{}",
        run.explain()
    );
    assert_eq!(run.json()["read_from"]["url"], replica.url());
    assert_eq!(
        calls(&primary, "scard") + calls(&primary, "sscan"),
        0,
        "the primary was not walked"
    );

    // Drain: the polls read the replica; the empty read that ends the wait
    // is the primary's. Every job finishes on the primary.
    for k in &keys {
        popoto_move(&mut con, k, "completed").expect("move");
    }
    let run = via(
        &primary,
        &replica,
        &["--json", "drain", "--settle", "200ms", "--timeout", "20s"],
    );
    run.expect_code(0);
    let d = run.json();
    assert_eq!(d["drained"], true, "{}", run.explain());
    assert_eq!(d["read_from"]["url"], replica.url());
}

/// `--read-from` is checked as `--url` is, before anything connects (exit
/// 2); one where nothing answers is exit 3, one line naming it.
#[test]
fn a_read_from_that_is_not_a_url_or_does_not_answer() {
    let primary = Redis::start();
    for bad in ["http://h:1", "redis://h:99999"] {
        let run = primary.jobq(&["--read-from", bad, "inspect"]);
        run.expect_code(2);
        assert!(run.stderr().contains("--read-from"), "{}", run.explain());
    }
    let dead = format!("redis://127.0.0.1:{}/0", free_port());
    let run = primary.jobq(&["--read-from", &dead, "orphans", "scan"]);
    run.expect_code(3);
    let err = run.stderr();
    assert_eq!(err.trim_end().lines().count(), 1, "{}", run.explain());
    assert!(
        err.contains("--read-from") && err.contains(&dead),
        "{}",
        run.explain()
    );
}
