//! The exit-code contract (the README's "Exit codes"), end to end: one test per code,
//! running the real binary against a real redis-server. Every error is
//! checked for the form users rely on: one line, starting `jobq: error:`,
//! naming what failed and what to do, and never showing a password.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// The error line of a failed run: the last line of stderr, the only one
/// starting `jobq: error:`, naming each of `mentions`, showing none of
/// `secrets` (on stdout or stderr).
#[track_caller]
fn assert_error_line(run: &Run, mentions: &[&str], secrets: &[&str]) -> String {
    let stderr = run.stderr();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one error line expected\n{}",
        run.explain()
    );
    let line = errors[0];
    assert!(
        line.starts_with("jobq: error: "),
        "the error line must start with `jobq: error: `: {line:?}\n{}",
        run.explain()
    );
    assert_eq!(
        stderr.lines().last(),
        Some(line),
        "the error is the last thing said\n{}",
        run.explain()
    );
    for m in mentions {
        assert!(
            line.contains(m),
            "the error line should mention {m:?}: {line:?}"
        );
    }
    for s in secrets {
        assert!(
            !stderr.contains(s) && !run.stdout().contains(s),
            "a password ({s:?}) was shown\n{}",
            run.explain()
        );
    }
    line.to_owned()
}

fn orphan_one(r: &Redis) -> (redis::Connection, Vec<String>) {
    let mut con = r.con();
    let keys = seed(&mut con, 3, "billing");
    cmd(
        &mut con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:status:pending",
            keys[0].as_bytes(),
        ],
    );
    (con, keys)
}

// ------------------------------------------------------------------- 0

#[test]
fn exit_0_success_and_nothing_found() {
    let r = Redis::start();
    let run = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--status",
        "completed",
    ]);
    run.expect_code(0);
    let id = run.json()["jobs"][0]["job_id"]
        .as_str()
        .expect("job_id")
        .to_owned();
    r.jobq(&["inspect"]).expect_code(0);
    r.jobq(&["inspect", &id]).expect_code(0);
    r.jobq(&["orphans", "scan", "--grace", "0"]).expect_code(0);
    r.jobq(&["reindex", "--dry-run", "--grace", "0"])
        .expect_code(0);
    r.jobq(&["reindex", "--grace", "0"]).expect_code(0);
    r.jobq(&["drain", "--timeout", "30s"]).expect_code(0);
    for run in [
        r.jobq(&["inspect"]),
        r.jobq(&["orphans", "scan", "--grace", "0"]),
    ] {
        assert!(
            !run.stderr().contains("error"),
            "a success says no error\n{}",
            run.explain()
        );
    }
}

// ------------------------------------------------------------------- 1

#[test]
fn exit_1_scan_findings_and_a_dry_run_with_actions() {
    let r = Redis::start();
    let (mut con, keys) = orphan_one(&r);
    let before = snapshot(&mut con);
    let run = r.jobq(&["--json", "orphans", "scan", "--grace", "0"]);
    run.expect_code(1);
    assert_eq!(run.json()["counts"]["orphan"], 1, "{}", run.explain());
    let run = r.jobq(&["--json", "reindex", "--dry-run", "--grace", "0"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["actions"][0]["outcome"], "planned", "{}", run.explain());
    assert_eq!(j["actions"][0]["key"], keys[0].as_str());
    r.jobq(&["inspect"]).expect_code(1);
    assert_eq!(snapshot(&mut con), before, "exit 1 writes nothing");
}

// ------------------------------------------------------------------- 2

#[test]
fn exit_2_a_bad_flag_is_one_line_naming_the_help_to_read() {
    let run = jobq(&["reindex", "--dry-rn"]);
    run.expect_code(2);
    assert_error_line(
        &run,
        &["'--dry-rn'", "'--dry-run'", "see 'jobq reindex --help'"],
        &[],
    );
    let run = jobq(&["orphans", "scan", "--grace", "soon"]);
    run.expect_code(2);
    assert_error_line(
        &run,
        &["--grace", "500ms", "see 'jobq orphans scan --help'"],
        &[],
    );
    let run = jobq(&[
        "--url",
        "http://ops:hunter2secret@redis.internal/0",
        "inspect",
    ]);
    run.expect_code(2);
    assert_error_line(&run, &["--url", "redis://"], &["hunter2secret"]);
}

#[test]
fn exit_2_reindex_without_yes_and_no_terminal_writes_nothing() {
    let r = Redis::start();
    let (mut con, _) = orphan_one(&r);
    let before = snapshot(&mut con);
    let run = r.jobq(&["reindex", "--grace", "0"]);
    run.expect_code(2);
    assert_error_line(&run, &["no terminal", "--yes"], &[]);
    assert_eq!(snapshot(&mut con), before);
    assert_eq!(xlen(&mut con, "jobq:audit"), 0, "nothing audited");
}

// ------------------------------------------------------------------- 3

#[test]
fn exit_3_redis_unreachable() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    for args in [&["inspect"][..], &["orphans", "scan"], &["drain"]] {
        let mut full = vec!["--url", &url, "--connect-timeout", "2s"];
        full.extend_from_slice(args);
        let run = jobq(&full);
        run.expect_code(3);
        assert_error_line(
            &run,
            &[
                &format!("cannot connect to Redis at {url}"),
                "is redis-server running there?",
            ],
            &[],
        );
        assert!(run.stdout().is_empty(), "{}", run.explain());
    }
}

#[test]
fn exit_3_wrong_password_never_shows_it() {
    let r = Redis::start_tcp(&["--requirepass", "the-right-one-42"]);
    for userinfo in [":wrong-pass-1234@", "default:wrong-pass-1234@"] {
        let url = r.tcp_url(userinfo);
        let run = jobq(&["--url", &url, "orphans", "scan"]);
        run.expect_code(3);
        assert_error_line(
            &run,
            &[
                "cannot connect to Redis at redis://",
                "authentication failed",
                "check them in --url / REDIS_URL",
            ],
            &["wrong-pass-1234", "the-right-one-42"],
        );
    }
    // No password at all: say how to give one.
    let run = jobq(&["--url", &r.tcp_url(""), "inspect"]);
    run.expect_code(3);
    assert_error_line(
        &run,
        &[
            "cannot read INFO",
            "needs a password",
            "redis://user:password@host",
        ],
        &[],
    );
    // Also through REDIS_URL.
    let out = Command::new(jobq_bin())
        .args(["reindex", "--dry-run"])
        .env("REDIS_URL", r.tcp_url(":wrong-pass-1234@"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run jobq");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("jobq: error: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-pass-1234"), "{stderr}");
}

// ------------------------------------------------------------------- 4

#[test]
fn exit_4_a_plan_whose_state_changed_is_skipped() {
    let r = Redis::start();
    let (mut con, keys) = orphan_one(&r);
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("utf-8 path");
    r.jobq(&["reindex", "--dry-run", "--grace", "0", "--plan-out", plan_s])
        .expect_code(1);
    // A worker finishes the job before the plan is applied.
    let done = popoto_move(&mut con, &keys[0], "completed").expect("move");
    let before = snapshot(&mut con);
    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", plan_s]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["skipped"], 1, "{}", run.explain());
    assert_eq!(j["applied"], 0, "{}", run.explain());
    assert_eq!(snapshot(&mut con), before, "a skipped step writes nothing");
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:completed").contains(&done));
}

// ------------------------------------------------------------------- 5

/// `s` quoted for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run jobq (`args` after `--url`) in a pseudo-terminal, so that it asks,
/// and type `answer` once the prompt is up; its exit code and everything it
/// showed. script(1) provides the terminal.
fn answer_prompt(r: &Redis, args: &str, answer: &[u8]) -> (Option<i32>, String) {
    answer_prompt_after(r, args, answer, || {})
}

/// [`answer_prompt`], running `between` while the prompt waits: how a test
/// changes the state between a plan and its apply.
pub fn answer_prompt_after(
    r: &Redis,
    args: &str,
    answer: &[u8],
    between: impl FnOnce(),
) -> (Option<i32>, String) {
    let line = format!(
        "{} --url {} {args}",
        sh_quote(jobq_bin()),
        sh_quote(&r.url())
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .env_remove("REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run script(1) ({e}); install it with: sudo apt-get install bsdutils (Debian/Ubuntu)"
            )
        });
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let t0 = Instant::now();
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) if t0.elapsed() < Duration::from_secs(60) => {}
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no prompt within 60 s:\n{}\n{}",
                    String::from_utf8_lossy(&seen),
                    r.log()
                );
            }
        }
    }
    // The prompt is drawn just before the terminal is put in raw mode; a
    // key typed in between would reach the line discipline instead (a
    // Ctrl-C there becomes a signal, not a key).
    between();
    thread::sleep(Duration::from_millis(300));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(answer).expect("answer the prompt");
    stdin.flush().expect("flush");
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait script") {
            break status;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "jobq still running 60 s after the answer:\n{}",
                String::from_utf8_lossy(&seen)
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().expect("reader");
    seen.extend(rx.try_iter().flatten());
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn exit_5_declined_at_the_prompt_writes_nothing() {
    let r = Redis::start();
    let (mut con, _) = orphan_one(&r);
    let before = snapshot(&mut con);
    let (code, shown) = answer_prompt(&r, "reindex --grace 0", b"n");
    assert_eq!(code, Some(5), "{shown}");
    assert!(shown.contains("Apply 1 repair(s) to unix://"), "{shown}");
    assert!(shown.contains("Declined: nothing written."), "{shown}");
    assert_eq!(
        snapshot(&mut con),
        before,
        "a declined repair writes nothing"
    );
    assert_eq!(xlen(&mut con, "jobq:audit"), 0, "nothing audited");
}

#[test]
fn exit_5_reap_declined_at_the_prompt_reports_and_writes_nothing() {
    // The same decision as reindex's: a report that says so, exit 5.
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let before = snapshot(&mut con);
    let (code, shown) = answer_prompt(&r, "reap --once --all", b"n");
    assert_eq!(code, Some(5), "{shown}");
    assert!(
        shown.contains("Move every running RedisJob job (1 now) back to pending?"),
        "{shown}"
    );
    assert!(
        shown.contains("reap sweep 1: not run, declined: nothing written"),
        "{shown}"
    );
    assert_eq!(snapshot(&mut con), before, "a declined reap writes nothing");
    assert_eq!(xlen(&mut con, "jobq:audit"), 0, "nothing audited");
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").contains(&key));
}

// --------------------------------------------------------------- 6 and 7

#[test]
fn exit_6_drain_timeout() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "running", 1767225600.0);
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "drain", "--timeout", "1s"]);
    run.expect_code(6);
    assert!(t0.elapsed() < Duration::from_secs(60));
    let j = run.json();
    assert_eq!(j["reason"], "timeout", "{}", run.explain());
    assert_eq!(j["end"]["running"], 1);
}

#[test]
fn exit_7_drain_stall() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 1767225600.0);
    let run = r.jobq(&[
        "--json",
        "drain",
        "--stall-timeout",
        "1s",
        "--timeout",
        "2m",
    ]);
    run.expect_code(7);
    let j = run.json();
    assert_eq!(j["reason"], "stalled", "{}", run.explain());
    assert_eq!(j["oldest_pending"]["job_id"], job_id(1));
}

// ------------------------------------------------------------------ 75

#[test]
fn exit_75_reap_lock_held_by_another_reaper() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let lock = "jobq:reap:RedisJob:lock";
    cmd(
        &mut con,
        &[
            b"SET",
            lock.as_bytes(),
            b"otherhost:4242:token",
            b"PX",
            b"60000",
        ],
    );
    let before = snapshot(&mut con);
    let run = r.jobq(&["reap", "--once", "--all", "--yes"]);
    run.expect_code(75);
    assert_eq!(
        snapshot(&mut con),
        before,
        "a locked-out reaper moves nothing"
    );
    let holder: String = redis::cmd("GET").arg(lock).query(&mut con).expect("GET");
    assert_eq!(
        holder, "otherhost:4242:token",
        "the other reaper's lock is untouched"
    );
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").contains(&key));
}

// ----------------------------------------------------------------- 130

/// Wait until jobq has connected (its connection is named `jobq`).
fn wait_for_jobq(con: &mut redis::Connection) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(con)
            .expect("CLIENT LIST");
        if list.contains("name=jobq") {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("jobq did not connect within 30 s");
}

fn interrupt(r: &Redis, args: &[&str]) -> (Option<i32>, String, String) {
    let mut con = r.con();
    let child = Command::new(jobq_bin())
        .args(["--url", &r.url()])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    wait_for_jobq(&mut con);
    thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait jobq");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_130_ctrl_c_stops_drain_and_inspect_watch() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let before = snapshot(&mut con);
    let (code, stdout, stderr) = interrupt(&r, &["--json", "drain"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stdout.is_empty(),
        "an interrupted drain claims nothing: {stdout}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let (code, _, stderr) = interrupt(&r, &["inspect", "--watch", "0.2"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(snapshot(&mut con), before);
}

/// Ctrl-C typed at a confirmation prompt: the terminal is in raw mode
/// there, so it arrives as a key, not as a signal. It is still an
/// interrupt: exit 130, nothing written, the cursor shown again.
#[test]
fn exit_130_ctrl_c_at_the_prompt_writes_nothing() {
    let r = Redis::start();
    let (mut con, _) = orphan_one(&r);
    let running = popoto_create(&mut con, &job_id(9), "p", "running", 1.0);
    let before = snapshot(&mut con);
    let delete = format!("delete {}", job_id(9));
    for args in [
        "reindex --grace 0",
        "reap --once --all",
        &format!("{delete} --force"),
        "retry --status running --include-running",
        "prune --status running --force --older-than 1s --no-backup",
    ] {
        let (code, shown) = answer_prompt(&r, args, b"\x03");
        assert_eq!(code, Some(130), "{args}:\n{shown}");
        assert!(
            !shown.contains("cannot read the answer"),
            "{args}: an interrupt is not a read failure:\n{shown}"
        );
        assert!(shown.contains("interrupted"), "{args}:\n{shown}");
        assert!(
            shown.contains("\x1b[?25h"),
            "{args}: the cursor dialoguer hid is shown again:\n{shown:?}"
        );
        assert_eq!(snapshot(&mut con), before, "{args}: nothing written");
        assert_eq!(xlen(&mut con, "jobq:audit"), 0, "{args}: nothing audited");
    }
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").contains(&running));
}
