//! The table and the JSON report of every command, on fixed data in a real
//! redis-server, against the insta snapshots in
//! tests/it/snapshots/output/: a column, a field, a word or an exit code
//! that changes shows as a diff and fails. What differs from run to run is
//! redacted before the comparison: times and durations, run ids
//! (`20261203T150602Z-9f3a`), generated job ids, socket paths, URLs and
//! ports. To accept a changed report:
//! `INSTA_UPDATE=always cargo test --test it -- snapshots_output::`, then
//! review `git diff tests/it/snapshots` (or `cargo insta review`, with
//! cargo-insta installed, after a failing run).

use crate::common::*;

/// Three pending jobs of `billing`, two running of `billing`, one completed
/// and one failed of `ops`, at fixed times and with fixed ids; then job 2
/// is made an orphan (out of its status index) and job 3's hash deleted
/// (dangling in every set).
fn damaged_fixture(con: &mut redis::Connection) -> Vec<String> {
    let keys = fixture(con);
    cmd(
        con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:status:pending",
            keys[1].as_bytes(),
        ],
    );
    cmd(con, &[b"DEL", keys[2].as_bytes()]);
    keys
}

/// A job's created_at: two days and three hours ago, a minute apart by job
/// number, in whole seconds. Ages print in two units ("2days 3h"), the
/// same for the next 50 minutes, so the tables keep their widths; the
/// numbers themselves are redacted.
fn created_at(n: usize) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    (now - (2 * 86400 + 3 * 3600) - 600 + 60 * n as u64) as f64
}

/// The healthy data every snapshot starts from; its keys by job number.
fn fixture(con: &mut redis::Connection) -> Vec<String> {
    let jobs = [
        (1, "billing", "pending"),
        (2, "billing", "pending"),
        (3, "billing", "pending"),
        (4, "billing", "running"),
        (5, "billing", "running"),
        (6, "ops", "completed"),
        (7, "ops", "failed"),
    ];
    jobs.iter()
        .map(|&(n, project, status)| popoto_create(con, &job_id(n), project, status, created_at(n)))
        .collect()
}

/// The fixture with job 5 completed, so that one job is running: a sweep
/// moves its jobs in no fixed order, and one row keeps the table stable.
fn one_running(con: &mut redis::Connection) {
    let keys = fixture(con);
    popoto_move(con, &keys[4], "completed").expect("job 5 completed");
}

/// Only finished jobs: a drain has nothing to wait for.
fn finished_fixture(con: &mut redis::Connection) {
    for (n, status) in [(1, "completed"), (2, "completed"), (3, "failed")] {
        popoto_create(con, &job_id(n), "ops", status, created_at(n));
    }
}

/// A run as one reviewable text: the command (without the server's URL),
/// its exit code, stdout (pretty-printed when it is JSON, so that a
/// changed field is a one-line diff) and stderr.
fn render(run: &Run) -> String {
    let args: Vec<&str> = run
        .args
        .iter()
        .map(String::as_str)
        .skip_while(|a| *a == "--url" || a.starts_with("unix://"))
        .collect();
    let stdout = run.stdout();
    let pretty = if args.contains(&"--json") {
        stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(l) {
                    panic!("stdout line is not JSON ({e})\n{}", run.explain());
                }
                pretty_json(l)
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        stdout
    };
    format!(
        "$ jobq {}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        run.code(),
        pretty.trim_end(),
        run.stderr().trim_end()
    )
}

/// One JSON document, one member per line, in the order jobq wrote them
/// (serde_json's Value would sort the keys and hide a reordering).
fn pretty_json(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let (mut in_str, mut escaped) = (false, false);
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Snapshot `run` as `name`, with everything that varies from run to run
/// redacted.
#[track_caller]
fn check(name: &str, run: &Run) {
    let text = render(run);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/output");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// What varies from run to run, and what stands for it.
const FILTERS: &[(&str, &str)] = &[
    // run ids, as in audit entries and reap's lock
    (r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[RUN_ID]"),
    // wall-clock times
    (
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}| UTC)?",
        "[TIME]",
    ),
    // how long a run took, and ages measured from the clock
    (
        r#""(elapsed_seconds|duration_ms|age_seconds|server_time)": [0-9.e+-]+"#,
        r#""$1": "[VARIES]""#,
    ),
    (
        r"\b(in|after) \d+(\.\d+)?(ns|us|µs|ms|s)( \d+(ns|us|µs|ms|s))*\b",
        "$1 [DURATION]",
    ),
    (r"; \d+\.\d+ s\b", "; [DURATION]"),
    // the metrics' age of the oldest pending job
    (
        r"(jobq_oldest_pending_age_seconds\{[^}]*\}) [0-9.e+-]+",
        "$1 [VARIES]",
    ),
    // the fixture's times, which follow the clock (see `fixture`)
    (r"\b1[789]\d{8}(\.\d+)?\b", "[EPOCH]"),
    // ... and as msgpack (a float 64: cb and 8 bytes), in hex
    (r"\bcb[0-9a-f]{16}\b", "[EPOCH_MSGPACK]"),
    // job ids jobq generates (uuid v4, simple or hyphenated)
    (
        r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}\b",
        "[JOB_ID]",
    ),
    // audit stream entry ids and times, and the host that wrote them
    (r"\b\d{13}-\d+\b", "[ENTRY_ID]"),
    (r#""time_ms": \d+"#, r#""time_ms": "[VARIES]""#),
    (r#""host": "[^"]*""#, r#""host": "[HOST]""#),
    (r#""version": "[^"]*""#, r#""version": "[VERSION]""#),
    // the test server's address and temp dirs
    (r"unix://[^\s\x22]+", "[URL]"),
    (r"redis://[^\s\x22]+", "[URL]"),
    (r"/tmp/[^\s\x22]+", "[PATH]"),
    (r"127\.0\.0\.1:\d+", "[HOST:PORT]"),
];

#[test]
fn enqueue_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    fixture(&mut con);
    check(
        "enqueue_text",
        &r.jobq(&[
            "enqueue",
            "--project",
            "billing",
            "--message",
            "render invoice 8",
            "--job-id",
            &job_id(8),
        ]),
    );
    check(
        "enqueue_json",
        &r.jobq(&[
            "--json",
            "enqueue",
            "--project",
            "billing",
            "--message",
            "render invoice 9",
            "--priority",
            "high",
        ]),
    );
    let file = write_file(
        r.dir.path(),
        "jobs.jsonl",
        "{\"project_key\": \"ci\", \"message_text\": \"one\", \"idempotency_key\": \"ci-1\"}\n\
         {\"project_key\": \"ci\", \"message_text\": \"two\", \"idempotency_key\": \"ci-2\"}\n\
         {\"project_key\": \"ci\", \"message_text\": \"one\", \"idempotency_key\": \"ci-1\"}\n",
    );
    let file = file.to_str().expect("path");
    check("enqueue_file_text", &r.jobq(&["enqueue", "--file", file]));
    check(
        "enqueue_file_json",
        &r.jobq(&["--json", "enqueue", "--file", file]),
    );
}

#[test]
fn inspect_overview_job_and_list_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    damaged_fixture(&mut con);
    check("inspect_overview_text", &r.jobq(&["inspect"]));
    check("inspect_overview_json", &r.jobq(&["--json", "inspect"]));
    check(
        "inspect_prometheus",
        &r.jobq(&["inspect", "--format", "prometheus"]),
    );
    check("inspect_job_text", &r.jobq(&["inspect", &job_id(4)]));
    check(
        "inspect_job_json",
        &r.jobq(&["--json", "inspect", &job_id(4)]),
    );
    check("inspect_job_orphan_text", &r.jobq(&["inspect", &job_id(2)]));
    check(
        "inspect_job_orphan_json",
        &r.jobq(&["--json", "inspect", &job_id(2)]),
    );
    let list = ["inspect", "--status", "pending", "--project", "billing"];
    check("inspect_list_text", &r.jobq(&list));
    let mut json = vec!["--json"];
    json.extend(list);
    check("inspect_list_json", &r.jobq(&json));
}

#[test]
fn orphans_scan_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    damaged_fixture(&mut con);
    let scan = ["orphans", "scan", "--grace", "0"];
    check("orphans_scan_text", &r.jobq(&scan));
    let mut json = vec!["--json"];
    json.extend(scan);
    check("orphans_scan_json", &r.jobq(&json));
    let mut deep = scan.to_vec();
    deep.push("--deep");
    check("orphans_scan_deep_text", &r.jobq(&deep));
}

#[test]
fn reindex_dry_run_and_apply_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    damaged_fixture(&mut con);
    let before = snapshot(&mut con);
    check(
        "reindex_dry_run_text",
        &r.jobq(&["reindex", "--dry-run", "--grace", "0"]),
    );
    check(
        "reindex_dry_run_json",
        &r.jobq(&["--json", "reindex", "--dry-run", "--grace", "0"]),
    );
    assert_eq!(snapshot(&mut con), before, "a dry run writes nothing");
    check(
        "reindex_apply_text",
        &r.jobq(&["reindex", "--grace", "0", "--yes"]),
    );
    // Damage it again the same way, for the JSON of an apply.
    let r = Redis::start();
    let mut con = r.con();
    damaged_fixture(&mut con);
    check(
        "reindex_apply_json",
        &r.jobq(&["--json", "reindex", "--grace", "0", "--yes"]),
    );
    check(
        "reindex_after_repair_json",
        &r.jobq(&["--json", "reindex", "--dry-run", "--grace", "0"]),
    );
}

#[test]
fn delete_dry_run_and_apply_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    fixture(&mut con);
    // job 4 is running (refused without --force), job 9 does not exist.
    let ids = [job_id(6), job_id(7), job_id(4), job_id(9)];
    let mut args = vec!["delete", "--dry-run"];
    args.extend(ids.iter().map(String::as_str));
    check("delete_dry_run_text", &r.jobq(&args));
    let mut json = vec!["--json"];
    json.extend(args.iter().copied());
    check("delete_dry_run_json", &r.jobq(&json));
    args[1] = "--yes";
    check("delete_apply_text", &r.jobq(&args));
    let r = Redis::start();
    let mut con = r.con();
    fixture(&mut con);
    json[2] = "--yes";
    check("delete_apply_json", &r.jobq(&json));
}

#[test]
fn retry_dry_run_and_apply_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    fixture(&mut con);
    // Job 7 is failed; job 6 (completed) is taken with --status.
    let args = ["retry", "--status", "completed", "--dry-run"];
    check("retry_dry_run_text", &r.jobq(&args));
    let mut json = vec!["--json"];
    json.extend(args);
    check("retry_dry_run_json", &r.jobq(&json));
    check("retry_apply_text", &r.jobq(&["retry", "--yes"]));
    check(
        "retry_apply_json",
        &r.jobq(&["--json", "retry", "--status", "completed", "--yes"]),
    );
}

#[test]
fn reap_dry_run_and_apply_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    one_running(&mut con);
    let before = snapshot(&mut con);
    check(
        "reap_dry_run_text",
        &r.jobq(&["reap", "--dry-run", "--all"]),
    );
    check(
        "reap_dry_run_json",
        &r.jobq(&["--json", "reap", "--dry-run", "--all"]),
    );
    assert_eq!(snapshot(&mut con), before, "a dry run writes nothing");
    check("reap_apply_text", &r.jobq(&["reap", "--all", "--yes"]));
    let r = Redis::start();
    let mut con = r.con();
    one_running(&mut con);
    check(
        "reap_apply_json",
        &r.jobq(&["--json", "reap", "--all", "--yes"]),
    );
}

#[test]
fn drain_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    finished_fixture(&mut con);
    check("drain_text", &r.jobq(&["drain", "--settle", "0s"]));
    check(
        "drain_json",
        &r.jobq(&["--json", "drain", "--settle", "0s"]),
    );
    check(
        "drain_project_json",
        &r.jobq(&["--json", "drain", "--project", "ops", "--settle", "0s"]),
    );
    // --ids: a completed job, a failed one, and one that never existed.
    let ids = format!("{}\n{}\n{}\n", job_id(1), job_id(3), job_id(9));
    check(
        "drain_ids_text",
        &r.jobq_stdin(&["drain", "--ids", "-", "--settle", "0s"], ids.as_bytes()),
    );
    check(
        "drain_ids_json",
        &r.jobq_stdin(
            &[
                "--json",
                "drain",
                "--project",
                "ops",
                "--ids",
                "-",
                "--settle",
                "0s",
            ],
            ids.as_bytes(),
        ),
    );
}

#[test]
fn undo_and_audit_table_and_json() {
    let r = Redis::start();
    let mut con = r.con();
    fixture(&mut con);
    let run = r.jobq(&["--json", "retry", "--status", "completed", "--yes"]);
    run.expect_code(0);
    let id = run.json()["run_id"].as_str().expect("run_id").to_owned();
    check("undo_dry_run_text", &r.jobq(&["undo", &id, "--dry-run"]));
    check(
        "undo_dry_run_json",
        &r.jobq(&["--json", "undo", &id, "--dry-run"]),
    );
    check(
        "undo_apply_json",
        &r.jobq(&["--json", "undo", &id, "--yes"]),
    );
    check("undo_again_text", &r.jobq(&["undo", &id, "--yes"]));
    check("audit_runs_json", &r.jobq(&["--json", "audit"]));
}
