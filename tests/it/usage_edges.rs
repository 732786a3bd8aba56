//! Input at the edges of what the flags and files allow: each is refused up
//! front (exit 2, nothing written) with a message that names what is wrong,
//! or, for a sweep that would move every running job, asks first.

use std::time::{Duration, Instant};

use crate::common::*;

/// Run jobq against `r`, killing it after `limit` (a hang fails the test
/// rather than stalling it).
fn run_within(r: &Redis, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(jobq_bin())
        .arg("--url")
        .arg(r.url())
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let t0 = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (code, err)
}

#[track_caller]
fn refused(run: &Run, says: &str) {
    run.expect_code(2);
    assert!(
        run.stderr().contains(says),
        "expected {says:?} in the message\n{}",
        run.explain()
    );
}

#[test]
fn negative_numbers_are_refused_as_negative() {
    let r = Redis::start();
    for args in [
        &["inspect", "--limit", "-1"][..],
        &["orphans", "scan", "--limit", "-3"],
        &["orphans", "scan", "--grace", "-1"],
        &["orphans", "scan", "--grace", "-2s"],
        &["reap", "--once", "--max-jobs", "-5"],
        &["drain", "--timeout", "-1m"],
        &["--connect-timeout", "-1", "inspect"],
    ] {
        let run = r.jobq(args);
        refused(&run, "must be 0 or more");
        assert!(
            !run.stderr().contains("unexpected argument"),
            "{}",
            run.explain()
        );
    }
    assert!(keys(&mut r.con()).is_empty());
}

#[test]
fn an_absurd_grace_is_capped_with_the_reason() {
    let r = Redis::start();
    let mut con = r.con();
    // A job in no status index: a candidate the re-check waits on.
    let key = popoto_create(&mut con, "o1", "p", "pending", 1_767_225_600.0);
    let _: () = redis::cmd("SREM")
        .arg("$KeyF:RedisJob:status:pending")
        .arg(&key)
        .query(&mut con)
        .expect("SREM");
    for cmd in [&["orphans", "scan"][..], &["reindex", "--dry-run"]] {
        let mut args = cmd.to_vec();
        args.extend(["--grace", "99999999999h"]);
        let (code, err) = run_within(&r, &args, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("--grace") && err.contains("at most"), "{err}");
    }
}

#[test]
fn a_project_flag_and_a_project_set_that_disagree_are_refused() {
    let r = Redis::start();
    let run = r.jobq(&["enqueue", "--project", "p", "--set", "project_key=q"]);
    refused(&run, "--project");
    assert!(run.stderr().contains("project_key"), "{}", run.explain());
    assert!(keys(&mut r.con()).is_empty(), "nothing written");
    // Saying the same thing twice is no conflict.
    r.jobq(&["enqueue", "--project", "p", "--set", "project_key=p"])
        .expect_code(0);
}

#[test]
fn inspect_limit_without_a_list_is_refused() {
    let r = Redis::start();
    let run = r.jobq(&["inspect", "--limit", "5"]);
    refused(&run, "--limit");
    assert!(run.stderr().contains("--status"), "{}", run.explain());
    // With a filter it lists as before.
    r.jobq(&["inspect", "--status", "pending", "--limit", "5"])
        .expect_code(0);
}

#[test]
fn a_bad_port_is_named() {
    let r = Redis::start();
    let _ = &r;
    for url in ["redis://127.0.0.1:99999/0", "redis://127.0.0.1:port/0"] {
        let run = jobq(&["--url", url, "inspect"]);
        refused(&run, "port");
        assert!(
            !run.stderr().contains("InvalidClientConfig"),
            "{}",
            run.explain()
        );
    }
}

#[test]
fn a_bad_json_line_names_the_file_line_and_column_only() {
    let r = Redis::start();
    let file = write_file(
        r.dir.path(),
        "jobs.jsonl",
        "{\"project_key\": \"p\"}\n{\"project_key\": \"p\",, }\n",
    );
    let run = r.jobq(&["enqueue", "--file", file.to_str().expect("path")]);
    refused(&run, "line 2, column 21");
    assert!(!run.stderr().contains("line 1"), "{}", run.explain());
    assert!(keys(&mut r.con()).is_empty(), "nothing written");
}

#[test]
fn a_toml_schema_error_keeps_its_caret_under_the_mistake() {
    let r = Redis::start();
    let schema = write_file(
        r.dir.path(),
        "schema.toml",
        "class = \"Task\"\n[[field]]\nname = 7\n",
    );
    let run = r.jobq(&["--schema", schema.to_str().expect("path"), "inspect"]);
    run.expect_code(2);
    let err = run.stderr();
    let lines: Vec<&str> = err.lines().collect();
    let code = lines
        .iter()
        .position(|l| l.contains("name = 7"))
        .unwrap_or_else(|| panic!("the offending line is quoted on its own\n{err}"));
    let caret = lines
        .get(code + 1)
        .and_then(|l| l.find('^'))
        .unwrap_or_else(|| panic!("a caret on the line below\n{err}"));
    let at = lines[code].find('7').expect("the 7");
    assert_eq!(caret, at, "the caret points at the value\n{err}");
}

#[test]
fn a_lease_under_a_minute_asks_like_all() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, "r1", "p", "running", 1_767_225_600.0);
    // The first sweep notes the job as running.
    r.jobq(&["reap", "--once", "--lease", "1h"]).expect_code(0);
    std::thread::sleep(Duration::from_millis(50));
    let run = r.jobq(&["reap", "--once", "--lease", "0s"]);
    refused(&run, "--yes");
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:status:running"),
        [key.as_str()],
        "nothing moved"
    );
    // A dry run needs no answer; --yes proceeds.
    r.jobq(&["reap", "--dry-run", "--lease", "0s"]);
    r.jobq(&["reap", "--once", "--lease", "0s", "--yes"])
        .expect_code(0);
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").is_empty());
}
