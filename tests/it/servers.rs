//! Every server jobq supports gives the same reports and exit codes for the
//! same data. Each test runs on the server under test (the harness takes it
//! from `JOBQ_TEST_REDIS_SERVER`, and `JOBQ_TEST_REDIS_CONF`) twice: as it
//! is, and with the commands newer servers added renamed away, which is how
//! some managed services ship them and how Redis 6.0 (no SMISMEMBER or
//! ZMSCORE) and 6.2 (no SINTERCARD) look to jobq. The reports of the two
//! must match once times are taken out, and must match what Redis 7.0
//! reports for this data (the expected figures below).
//!
//! Then each read command is refused by an ACL, one at a time: the answer
//! must be unknown (exit 3), never "no damage".

use crate::common::*;
use serde_json::Value as J;

/// The commands jobq uses that not every supported server has.
const NEWER: [&str; 3] = ["SMISMEMBER", "ZMSCORE", "SINTERCARD"];

const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";

/// Of [`NEWER`], those the server under test has: a server refuses to start
/// when asked to rename a command it does not know.
fn newer_commands_present() -> Vec<&'static str> {
    let r = Redis::start();
    let mut con = r.con();
    NEWER
        .into_iter()
        .filter(|c| {
            let v: redis::Value = redis::cmd("COMMAND")
                .arg("INFO")
                .arg(*c)
                .query(&mut con)
                .expect("COMMAND INFO");
            matches!(&v, redis::Value::Array(a) if a.first().is_some_and(|x| *x != redis::Value::Nil))
        })
        .collect()
}

/// The server under test as it is, and with [`NEWER`] renamed away.
fn both_servers() -> Vec<(String, Redis)> {
    let present = newer_commands_present();
    let mut args: Vec<String> = Vec::new();
    for c in &present {
        args.extend(["--rename-command".into(), (*c).into(), String::new()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    vec![
        ("as shipped".into(), Redis::start()),
        (
            format!("with {} renamed away", present.join(", ")),
            Redis::start_with(&args),
        ),
    ]
}

/// A queue with one of most kinds of damage: 40 jobs of p1 (5 running,
/// 5 completed, 2 failed), 10 pending of p2; then an orphan, a ghost, a job
/// in two indexes, one missing from its project index and one from the
/// created_at zset. The keys of p1, in order.
fn damaged_queue(con: &mut redis::Connection) -> Vec<String> {
    let mut keys = seed(con, 40, "p1");
    for (i, to) in [
        (0, "running"),
        (1, "running"),
        (2, "running"),
        (3, "running"),
        (4, "running"),
    ]
    .into_iter()
    .chain((5..10).map(|i| (i, "completed")))
    .chain([(10, "failed"), (11, "failed")])
    {
        keys[i] = popoto_move(con, &keys[i], to).expect("move");
    }
    for i in 0..10 {
        popoto_create(
            con,
            &job_id(100 + i),
            "p2",
            "pending",
            1767300000.0 + i as f64,
        );
    }
    let b = |s: &str| s.as_bytes().to_vec();
    let raw = |con: &mut redis::Connection, args: Vec<Vec<u8>>| {
        let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        cmd(con, &a);
    };
    raw(con, vec![b("SREM"), b(PENDING), b(&keys[20])]);
    raw(
        con,
        vec![b("SADD"), b(RUNNING), b("RedisJob:ffff:p1:running")],
    );
    raw(con, vec![b("SADD"), b(PENDING), b(&keys[6])]);
    raw(
        con,
        vec![b("SREM"), b("$KeyF:RedisJob:project_key:p1"), b(&keys[21])],
    );
    raw(
        con,
        vec![b("ZREM"), b("$SortF:RedisJob:created_at"), b(&keys[22])],
    );
    keys
}

/// A report with what changes from run to run taken out: times, ages,
/// durations, run ids, and the order of lists of objects (jobs come in the order a
/// set walk meets them, which is the server's hashing, not jobq's).
fn timeless(mut j: J) -> J {
    fn strip(v: &mut J) {
        match v {
            J::Object(m) => {
                m.retain(|k, _| {
                    !(k == "elapsed_seconds"
                        || k == "server_time"
                        || k == "age_seconds"
                        || k == "waited_seconds"
                        || k == "recheck_seconds"
                        || k == "duration_ms"
                        || k == "run_id"
                        || k.ends_with("_at")
                        || k == "time")
                });
                m.values_mut().for_each(strip);
            }
            J::Array(a) => {
                a.iter_mut().for_each(strip);
                if a.iter().all(J::is_object) {
                    a.sort_by_key(|v| v.to_string());
                }
            }
            _ => {}
        }
    }
    strip(&mut j);
    j
}

/// One command on each server: its exit code and timeless report, which
/// must agree; the first server's.
fn same_on_both(servers: &[(String, Redis)], args: &[&str]) -> (i32, J) {
    let mut first: Option<(i32, J, String)> = None;
    for (name, r) in servers {
        let run = r.jobq(args);
        let j = timeless(run.json());
        match &first {
            None => first = Some((run.code(), j, run.explain())),
            Some((code, want, explain)) => {
                assert_eq!(
                    (run.code(), &j),
                    (*code, want),
                    "`jobq {}` differs {name}\n--- as shipped ---\n{explain}\n--- {name} ---\n{}",
                    args.join(" "),
                    run.explain()
                );
            }
        }
    }
    let (code, j, _) = first.expect("two servers");
    (code, j)
}

fn count(j: &J, kind: &str) -> u64 {
    j["counts"][kind]
        .as_u64()
        .unwrap_or_else(|| panic!("counts.{kind} in {j}"))
}

#[test]
fn every_command_reports_the_same_without_the_newer_commands() {
    let servers = both_servers();
    let mut p1 = Vec::new();
    for (_, r) in &servers {
        p1 = damaged_queue(&mut r.con());
    }
    let orphan_id = job_id(21);

    // inspect: overview, both lists, one job.
    let (code, j) = same_on_both(&servers, &["--json", "inspect"]);
    assert_eq!(code, 1, "the sizes do not add up: {j}");
    assert_eq!(j["class_set"]["size"], 50);
    let (code, j) = same_on_both(&servers, &["--json", "inspect", "--status", "pending"]);
    assert_eq!(code, 0, "{j}");
    let (code, j) = same_on_both(&servers, &["--json", "inspect", "--project", "p1"]);
    assert_eq!(code, 0, "{j}");
    let (code, j) = same_on_both(&servers, &["--json", "inspect", &orphan_id]);
    assert_eq!(code, 1, "{j}");
    assert!(j.to_string().contains("orphan"), "{j}");

    // orphans scan, with and without --deep.
    for deep in [false, true] {
        let mut args = vec!["--json", "orphans", "scan", "--grace", "0"];
        if deep {
            args.push("--deep");
        }
        let (code, j) = same_on_both(&servers, &args);
        assert_eq!(code, 1, "{j}");
        assert_eq!(count(&j, "orphan"), 1, "{j}");
        assert_eq!(count(&j, "dangling"), 1, "{j}");
        assert_eq!(count(&j, "multi_indexed"), 1, "{j}");
        assert_eq!(count(&j, "secondary_gap"), 2, "{j}");
        assert_eq!(j["total"], 5, "{j}");
    }

    // reindex: the plan, the repair, and a clean scan after.
    let (code, j) = same_on_both(
        &servers,
        &["--json", "reindex", "--dry-run", "--grace", "0"],
    );
    assert_eq!(code, 1, "{j}");
    let (code, j) = same_on_both(&servers, &["--json", "reindex", "--yes", "--grace", "0"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["applied"], 5, "{j}");
    let (code, _) = same_on_both(&servers, &["--json", "orphans", "scan", "--grace", "0"]);
    assert_eq!(code, 0);

    // drain by project while jobs are pending: the exact count (SINTERCARD)
    // and the walk agree.
    let (code, j) = same_on_both(
        &servers,
        &["--json", "drain", "--project", "p2", "--timeout", "300ms"],
    );
    assert_eq!(code, 6, "{j}");
    assert_eq!(j["end"], serde_json::json!({"pending": 10, "running": 0}));
    let (code, j) = same_on_both(
        &servers,
        &["--json", "drain", "--project", "p1", "--timeout", "300ms"],
    );
    assert_eq!(code, 6, "{j}");
    assert_eq!(j["end"], serde_json::json!({"pending": 28, "running": 5}));

    // reap: every running job back to pending, each exactly once.
    let (code, j) = same_on_both(&servers, &["--json", "reap", "--all", "--yes"]);
    assert_eq!(code, 0, "{j}");
    let (code, j) = same_on_both(
        &servers,
        &["--json", "drain", "--project", "p1", "--timeout", "300ms"],
    );
    assert_eq!(code, 6, "{j}");
    assert_eq!(j["end"], serde_json::json!({"pending": 33, "running": 0}));

    // With the queue finished, drain says so.
    for (_, r) in &servers {
        let mut con = r.con();
        for k in smembers(&mut con, PENDING) {
            popoto_move(&mut con, &k, "completed").expect("move");
        }
    }
    let (code, j) = same_on_both(&servers, &["--json", "drain", "--project", "p1"]);
    assert_eq!((code, &j["drained"]), (0, &J::Bool(true)), "{j}");

    // enqueue, and the scan still finds nothing.
    let (code, j) = same_on_both(
        &servers,
        &[
            "--json",
            "enqueue",
            "--set",
            "project_key=p3",
            "--set",
            "job_id=j-1",
        ],
    );
    assert_eq!(code, 0, "{j}");
    let (code, _) = same_on_both(
        &servers,
        &["--json", "orphans", "scan", "--grace", "0", "--deep"],
    );
    assert_eq!(code, 0);
    assert_eq!(p1.len(), 40);
}

#[test]
fn without_the_newer_commands_a_lost_job_is_still_found() {
    // The field report: 50 jobs, one removed from the pending index, on a
    // server without SMISMEMBER/ZMSCORE, was reported "No damage found".
    for (name, r) in both_servers() {
        let mut con = r.con();
        let keys = seed(&mut con, 50, "p1");
        cmd(
            &mut con,
            &[b"SREM", PENDING.as_bytes(), keys[17].as_bytes()],
        );
        let run = r.jobq(&["orphans", "scan", "--grace", "0"]);
        run.expect_code(1);
        assert!(
            run.stdout().contains("orphan") && !run.stdout().contains("No damage found"),
            "{name}\n{}",
            run.explain()
        );
        let run = r.jobq(&["--json", "reindex", "--yes", "--grace", "0"]);
        run.expect_code(0);
        assert_eq!(run.json()["applied"], 1, "{name}\n{}", run.explain());
        let v = r.jobq(&["-v", "inspect"]);
        assert!(v.stderr().contains("server: "), "{}", v.explain());
        if name != "as shipped" {
            assert!(
                v.stderr().contains("disabled on this server"),
                "says which commands it does without\n{}",
                v.explain()
            );
        }
    }
}

/// The commands a scan reads with, each denied in turn: the scan must end
/// unknown (exit 3), never healthy (0) or with a partial answer (1).
#[test]
fn a_refused_read_makes_the_answer_unknown() {
    for (name, r) in both_servers() {
        let mut con = r.con();
        let keys = seed(&mut con, 30, "p1");
        popoto_move(&mut con, &keys[3], "running").expect("move");
        cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[5].as_bytes()]);
        // Deny what this server answers memberships with: the newer
        // command where it has it, else the one jobq uses in its place.
        let mut has = |c: &str| {
            let v: redis::Value = redis::cmd("COMMAND")
                .arg("INFO")
                .arg(c)
                .query(&mut con)
                .expect("COMMAND INFO");
            matches!(&v, redis::Value::Array(a) if a.first().is_some_and(|x| *x != redis::Value::Nil))
        };
        let members = if has("SMISMEMBER") {
            "smismember"
        } else {
            "sismember"
        };
        let scores = if has("ZMSCORE") { "zmscore" } else { "zscore" };
        let denied = [members, scores, "hlen", "hmget", "exists", "sscan"];
        for d in &denied {
            let user = format!("no{d}");
            let _: () = redis::cmd("ACL")
                .arg("SETUSER")
                .arg(&user)
                .arg("on")
                .arg(">pw")
                .arg("~*")
                .arg("&*")
                .arg("+@all")
                .arg(format!("-{d}"))
                .query(&mut con)
                .expect("ACL SETUSER");
            let url = format!("{}?user={user}&pass=pw", r.url());
            for args in [
                &["orphans", "scan", "--grace", "0"][..],
                &["orphans", "scan", "--grace", "0", "--deep"],
                &["reindex", "--dry-run", "--grace", "0"],
            ] {
                let run = run_jobq(
                    &[&["--url", url.as_str()][..], args]
                        .concat()
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>(),
                    None,
                    r.log_path(),
                );
                assert_eq!(
                    run.code(),
                    3,
                    "{name}, {d} denied: `{}`\n{}",
                    args.join(" "),
                    run.explain()
                );
                assert!(
                    run.stderr().contains("NOPERM"),
                    "says what was refused\n{}",
                    run.explain()
                );
            }
        }
    }
}
