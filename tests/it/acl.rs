//! The README's ACL lines ("Production safety"), run exactly as written
//! (through redis-cli) against a real redis-server: the read-only user runs
//! every read-only command, the repair user enqueues and repairs with every
//! repair script, and the read-only user's writes fail with exit 3 and
//! write nothing. If jobq starts to need a permission the README does not
//! grant, or to send a command the README denies, this fails.

use std::process::Command;

use crate::common::*;

const RO_PASSWORD: &str = "ro-Secret-7781";
const REPAIR_PASSWORD: &str = "repair-Secret-5519";

/// The `redis-cli ACL SETUSER` lines of the README.
fn readme_acl_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let lines: Vec<String> = readme
        .lines()
        .filter(|l| l.starts_with("redis-cli ACL SETUSER "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "the README should hold the two ACL lines (jobq-ro, jobq-repair): {lines:?}"
    );
    assert!(lines[0].contains(" jobq-ro ") && lines[0].contains("'>RO-PASSWORD'"));
    assert!(lines[1].contains(" jobq-repair ") && lines[1].contains("'>REPAIR-PASSWORD'"));
    lines
}

/// Create the README's users on `r`; their URLs (read-only, repair).
fn create_users(r: &Redis) -> (String, String) {
    let ok = Command::new("redis-cli")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "redis-cli is not installed (or not on PATH); this test runs the README's ACL lines with it.\n\
         Install it with: sudo apt-get install redis-tools   (Debian/Ubuntu)"
    );
    let mut script =
        String::from("set -e\nredis-cli() { command redis-cli -s \"$SOCK\" \"$@\"; }\n");
    for line in readme_acl_lines() {
        script.push_str(
            &line
                .replace("RO-PASSWORD", RO_PASSWORD)
                .replace("REPAIR-PASSWORD", REPAIR_PASSWORD),
        );
        script.push('\n');
    }
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("SOCK", &r.sock)
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().all(|l| l == "OK") && stdout.lines().count() == 2,
        "the README's ACL lines failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sock = r.sock.display();
    (
        format!("unix://{sock}?user=jobq-ro&pass={RO_PASSWORD}"),
        format!("unix://{sock}?user=jobq-repair&pass={REPAIR_PASSWORD}"),
    )
}

fn as_user(url: &str, args: &[&str]) -> Run {
    let mut full = vec!["--url", url];
    full.extend_from_slice(args);
    let run = jobq(&full);
    for secret in [RO_PASSWORD, REPAIR_PASSWORD] {
        assert!(
            !run.stderr().contains(secret) && !run.stdout().contains(secret),
            "a password was shown\n{}",
            run.explain()
        );
    }
    run
}

#[track_caller]
fn no_permission_trouble(run: &Run) {
    let err = run.stderr().to_ascii_lowercase();
    assert!(
        !err.contains("noperm") && !err.contains("no permissions") && !err.contains("error"),
        "{}",
        run.explain()
    );
}

#[test]
fn read_only_user_reads_everything_and_writes_nothing() {
    let r = Redis::start();
    let (ro, _) = create_users(&r);
    let mut con = r.con();
    let keys = seed(&mut con, 3, "billing");
    popoto_create(&mut con, &job_id(9), "billing", "running", 1767225700.0);
    cmd(
        &mut con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:status:pending",
            keys[0].as_bytes(),
        ],
    );
    let before = snapshot(&mut con);
    let ids = write_file(
        r.dir.path(),
        "ids.txt",
        &format!("{}\n{}\n", job_id(1), job_id(9)),
    );
    let ids = ids.to_str().expect("path");
    for (args, code) in [
        (&["inspect"][..], 1),
        (&["--json", "inspect"], 1),
        (
            &["inspect", "--status", "pending", "--project", "billing"],
            0,
        ),
        (&["inspect", &job_id(1)], 1),
        (&["inspect", &job_id(2)], 0),
        (&["orphans", "scan", "--grace", "0"], 1),
        (&["orphans", "scan", "--grace", "0", "--deep"], 1),
        (&["reindex", "--dry-run", "--grace", "0"], 1),
        (&["drain", "--timeout", "1s"], 6),
        (&["drain", "--project", "billing", "--timeout", "1s"], 6),
        (&["drain", "--ids", ids, "--timeout", "1s"], 6),
        (
            &[
                "drain",
                "--project",
                "billing",
                "--ids",
                ids,
                "--timeout",
                "1s",
            ],
            6,
        ),
    ] {
        let run = as_user(&ro, args);
        run.expect_code(code);
        no_permission_trouble(&run);
    }
    // Writes are refused by the server: exit 3, one line saying why.
    for args in [
        &["enqueue", "--project", "billing"][..],
        &["enqueue", "--project", "billing", "--idempotency-key", "k1"],
        &["reindex", "--yes", "--grace", "0"],
    ] {
        let run = as_user(&ro, args);
        run.expect_code(3);
        let line = run.stderr().lines().last().unwrap_or_default().to_owned();
        assert!(
            line.starts_with("jobq: error: ")
                && line.contains("no permissions")
                && line.contains("the ACL user lacks a permission jobq needs"),
            "{}",
            run.explain()
        );
    }
    assert_eq!(
        snapshot(&mut con),
        before,
        "the read-only user wrote something"
    );
    assert_eq!(xlen(&mut con, "jobq:audit"), 0);
}

#[test]
fn repair_user_enqueues_and_runs_every_repair_script() {
    let r = Redis::start();
    let (ro, repair) = create_users(&r);
    as_user(
        &repair,
        &["enqueue", "--project", "billing", "--job-id", &job_id(1)],
    )
    .expect_code(0);
    for _ in 0..2 {
        as_user(
            &repair,
            &[
                "enqueue",
                "--project",
                "billing",
                "--job-id",
                &job_id(2),
                "--idempotency-key",
                "ci-1",
            ],
        )
        .expect_code(0);
    }
    let file = write_file(
        r.dir.path(),
        "jobs.jsonl",
        &format!(
            "{{\"job_id\": \"{}\", \"project_key\": \"billing\", \"idempotency_key\": \"ci-2\"}}\n\
             {{\"job_id\": \"{}\", \"project_key\": \"billing\", \"status\": \"running\"}}\n",
            job_id(3),
            job_id(4)
        ),
    );
    as_user(
        &repair,
        &["enqueue", "--file", file.to_str().expect("path")],
    )
    .expect_code(0);

    // Damage that needs each repair script: an orphan (reconcile), a ghost
    // (remove_ghost), a duplicate (remove_record).
    let mut con = r.con();
    let k1 = format!("RedisJob:{}:billing:pending", job_id(1));
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k1.as_bytes()],
    );
    let k3 = format!("RedisJob:{}:billing:pending", job_id(3));
    cmd(&mut con, &[b"DEL", k3.as_bytes()]);
    popoto_create(&mut con, &job_id(4), "billing", "completed", 1767225700.0);
    as_user(&ro, &["orphans", "scan", "--grace", "0"]).expect_code(1);

    let run = as_user(
        &repair,
        &[
            "--json",
            "reindex",
            "--yes",
            "--grace",
            "0",
            "--duplicates",
            "keep-latest",
        ],
    );
    run.expect_code(0);
    no_permission_trouble(&run);
    let j = run.json();
    assert_eq!(j["counts"]["orphan"]["applied"], 1, "{}", run.explain());
    assert_eq!(j["counts"]["dangling"]["applied"], 1, "{}", run.explain());
    assert_eq!(j["counts"]["duplicate"]["applied"], 1, "{}", run.explain());
    as_user(&ro, &["orphans", "scan", "--grace", "0"]).expect_code(0);
    assert!(xlen(&mut con, "jobq:audit") >= 7, "every write is audited");
}

#[test]
fn repair_user_reaps() {
    let r = Redis::start();
    let (_, repair) = create_users(&r);
    let mut con = r.con();
    let key = popoto_create(&mut con, &job_id(1), "billing", "running", 1.0);
    let run = as_user(&repair, &["--json", "reap", "--once", "--all", "--yes"]);
    run.expect_code(0);
    no_permission_trouble(&run);
    assert!(!smembers(&mut con, "$KeyF:RedisJob:status:running").contains(&key));
    assert_eq!(smembers(&mut con, "$KeyF:RedisJob:status:pending").len(), 1);
}

#[test]
fn repair_user_deletes_and_the_read_only_user_cannot() {
    let r = Redis::start();
    let (ro, repair) = create_users(&r);
    let mut con = r.con();
    let key = popoto_create(&mut con, &job_id(1), "billing", "failed", 1.0);
    let before = snapshot(&mut con);
    let run = as_user(&ro, &["delete", &job_id(1), "--yes"]);
    run.expect_code(3);
    assert_eq!(snapshot(&mut con), before, "{}", run.explain());
    let run = as_user(&repair, &["--json", "delete", &job_id(1), "--yes"]);
    run.expect_code(0);
    no_permission_trouble(&run);
    assert!(!smembers(&mut con, "$Class:RedisJob").contains(&key));
    assert!(hgetall_raw(&mut con, &key).is_empty());
}

/// A user who may SADD to the pending index but not to the running one: the
/// call's first action is applied, the second is refused before it writes,
/// the third is not run, and the run says how many were applied.
#[test]
fn a_refusal_partway_through_a_call_keeps_what_was_applied() {
    let r = Redis::start();
    let mut con = r.con();
    let k1 = popoto_create(&mut con, &job_id(1), "billing", "pending", 1.0);
    let k2 = popoto_create(&mut con, &job_id(2), "billing", "running", 2.0);
    let k3 = popoto_create(&mut con, &job_id(3), "billing", "pending", 3.0);
    cmd(
        &mut con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:status:pending",
            k1.as_bytes(),
            k3.as_bytes(),
        ],
    );
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:running", k2.as_bytes()],
    );
    cmd(
        &mut con,
        &[
            b"ACL",
            b"SETUSER",
            b"halfway",
            b"on",
            b">halfway-Secret-1",
            b"resetkeys",
            b"~*",
            b"+@all",
            b"-sadd",
            // SADD only to the pending index (a selector): the script call
            // itself, which names every key, is allowed.
            b"(+sadd ~$KeyF:RedisJob:status:pending)",
        ],
    );
    let url = format!(
        "unix://{}?user=halfway&pass=halfway-Secret-1",
        r.sock.display()
    );
    let run = jobq(&["--url", &url, "--json", "reindex", "--yes", "--grace", "0"]);
    run.expect_code(3);
    let line = run.stderr().lines().last().unwrap_or_default().to_owned();
    assert!(
        line.contains("NOPERM") && line.contains("1 repair(s) were applied"),
        "{}",
        run.explain()
    );
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:status:pending"),
        vec![k1.clone()],
        "the first action applied, the third not run"
    );
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").is_empty());
    let entries = xrange(&mut con, "jobq:audit");
    assert_eq!(entries.len(), 1, "only the applied action is audited");
    assert!(entries[0]
        .1
        .iter()
        .any(|(f, v)| f.as_slice() == b"key" && v.as_slice() == k1.as_bytes()));
}
