//! `jobq drain --ids` against a real redis-server, with a popoto-style
//! worker that completes some jobs, fails some (with a message) and deletes
//! some after completing them: every exit code (0, 2, 3, 6, 7, 8, 9, 130),
//! `--gone-means completed` and its stderr count, a duplicate, a job
//! deleted before it ever ran, `--project` checked, `enqueue --json` as the
//! id file, Redis restarting, and 10,000 ids read with a bounded number of
//! commands per poll (INFO commandstats), their records checked for at
//! most 1000 jobs a poll.

use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::common::faults::{command_calls, popoto_delete};
use crate::common::*;
use crate::drain::{spawn_jobq, wait_for_jobq};

/// What the worker does with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Complete,
    Fail,
    /// Completed, then deleted by the application.
    CompleteThenDelete,
}

/// Takes each job: running, then its fate, a few ms apart.
fn worker(mut con: redis::Connection, plan: Vec<(String, Fate)>) -> JoinHandle<()> {
    thread::spawn(move || {
        wait_for_jobq(&mut con);
        for (key, fate) in plan {
            thread::sleep(Duration::from_millis(20));
            let running = popoto_move(&mut con, &key, "running").expect("move");
            thread::sleep(Duration::from_millis(20));
            let end = if fate == Fate::Fail {
                "failed"
            } else {
                "completed"
            };
            let done = popoto_move(&mut con, &running, end).expect("move");
            if fate == Fate::Fail {
                let _: () = redis::cmd("HSET")
                    .arg(&done)
                    .arg("message_text")
                    .arg(pack(&format!("boom: {}", &key[9..17])))
                    .query(&mut con)
                    .expect("HSET");
            }
            if fate == Fate::CompleteThenDelete {
                assert!(popoto_delete(&mut con, &done));
            }
        }
    })
}

/// `n` pending jobs of project `p` (ids from `from`), their ids and keys.
fn jobs(con: &mut redis::Connection, p: &str, from: usize, n: usize) -> Vec<(String, String)> {
    (from..from + n)
        .map(|i| {
            let id = job_id(i);
            let key = popoto_create(con, &id, p, "pending", 1000.0 + i as f64);
            (id, key)
        })
        .collect()
}

fn id_file(r: &Redis, name: &str, ids: &[&str]) -> String {
    let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
    write_file(r.dir.path(), name, &text)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

fn fates(js: &[(String, String)], f: impl Fn(usize) -> Fate) -> Vec<(String, Fate)> {
    js.iter()
        .enumerate()
        .map(|(i, (_, k))| (k.clone(), f(i)))
        .collect()
}

#[test]
fn completed_failed_and_gone_jobs_get_their_exit_codes() {
    let r = Redis::start();
    let mut con = r.con();
    // Jobs of the queue that are not in the file are not waited for.
    popoto_create(&mut con, &job_id(900), "ci", "pending", 1.0);
    let js = jobs(&mut con, "ci", 1, 9);
    // One job deleted before it ever ran.
    let never_ran = popoto_create(&mut con, &job_id(50), "ci", "pending", 5.0);
    assert!(popoto_delete(&mut con, &never_ran));
    let fate = |i: usize| [Fate::Complete, Fate::Fail, Fate::CompleteThenDelete][i % 3];
    let w = worker(r.con(), fates(&js, fate));
    let mut ids: Vec<&str> = js.iter().map(|(i, _)| i.as_str()).collect();
    let gone_id = job_id(50);
    ids.push(&gone_id);
    let file = id_file(&r, "ids.txt", &ids);
    // No --project: the jobs' records are found by one walk of the keys.
    let run = r.jobq(&["--json", "drain", "--ids", &file, "--timeout", "60s"]);
    w.join().expect("worker");
    run.expect_code(9);
    let j = run.json();
    assert_eq!(j["reason"], "drained", "{}", run.explain());
    let o = &j["ids"];
    assert_eq!(o["outcome"], "unknown");
    assert_eq!(o["total"], 10);
    assert_eq!(o["completed"], 3);
    assert_eq!(o["failed"], 3);
    assert_eq!(
        o["unknown"], 4,
        "3 deleted after completing, 1 before it ran"
    );
    assert_eq!(o["gone"], 4);
    assert_eq!(o["duplicates"], 0);
    assert_eq!(o["gone_means"], "unknown");
    assert_eq!(o["pending"], 0);
    let failed = o["failed_jobs"].as_array().expect("failed_jobs");
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0]["job_id"], js[1].0.as_str());
    assert_eq!(failed[0]["project"], "ci");
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["message_field"], "message_text");
    assert_eq!(failed[0]["message"], format!("boom: {}", &js[1].1[9..17]));
    let unknown = o["unknown_jobs"].as_array().expect("unknown_jobs");
    let gone: Vec<&str> = unknown
        .iter()
        .filter_map(|u| u["job_id"].as_str())
        .collect();
    assert_eq!(gone, [&js[2].0, &js[5].0, &js[8].0, &gone_id]);
    assert!(unknown.iter().all(|u| u["reason"] == "gone"));
    assert!(!run.stderr().contains("--gone-means"));
    // The job not in the file is still pending: not waited for.
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:status:pending"),
        [format!("RedisJob:{}:ci:pending", job_id(900))]
    );

    // The same, as the application that deletes finished jobs sees it: the
    // gone jobs count completed, stderr says how many; a failure is left.
    let run = r.jobq(&[
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--gone-means",
        "completed",
    ]);
    run.expect_code(8);
    assert!(
        run.stderr()
            .contains("--gone-means completed: 4 job(s) with no live record counted completed"),
        "{}",
        run.explain()
    );
    let out = run.stdout();
    assert!(
        out.starts_with("failed: 10 job(s) of project \"ci\" of RedisJob: 7 completed, 3 failed, 0 unknown after"),
        "{out}"
    );
    assert!(
        out.contains(&format!("message_text: boom: {}", &js[4].1[9..17])),
        "{out}"
    );
    assert!(
        out.contains("FAILED JOB") && !out.contains("UNKNOWN JOB"),
        "{out}"
    );

    // Only the completed ones: exit 0.
    let done: Vec<&str> = js.iter().step_by(3).map(|(i, _)| i.as_str()).collect();
    let file = id_file(&r, "done.txt", &done);
    let run = r.jobq(&["--json", "drain", "--project", "ci", "--ids", &file]);
    run.expect_code(0);
    assert_eq!(run.json()["ids"]["outcome"], "completed");
    assert_eq!(run.json()["ids"]["completed"], 3);
}

#[test]
fn a_duplicate_is_unknown_with_its_records() {
    let r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 2);
    // popoto 1.0.x could leave two live records of one job.
    let twin = popoto_create(&mut con, &js[1].0, "ci", "completed", 2.0);
    popoto_move(&mut con, &js[0].1, "completed").expect("move");
    let ids: Vec<&str> = js.iter().map(|(i, _)| i.as_str()).collect();
    let file = id_file(&r, "ids.txt", &ids);
    let run = r.jobq(&[
        "--json",
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--gone-means",
        "completed",
    ]);
    run.expect_code(9);
    let o = &run.json()["ids"];
    assert_eq!(
        (o["completed"].as_u64(), o["unknown"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(o["duplicates"], 1);
    let u = &o["unknown_jobs"][0];
    assert_eq!(u["job_id"], js[1].0.as_str());
    assert_eq!(u["reason"], "duplicate");
    assert_eq!(u["keys"], serde_json::json!([js[1].1, twin]));
    // The walk finds a duplicate in another project too.
    popoto_create(&mut con, &js[0].0, "other", "pending", 3.0);
    let run = r.jobq(&["--json", "drain", "--ids", &file]);
    run.expect_code(9);
    assert_eq!(run.json()["ids"]["duplicates"], 2, "{}", run.explain());
}

#[test]
fn a_timeout_and_a_stall_report_the_counts_so_far() {
    let r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 3);
    popoto_move(&mut con, &js[0].1, "completed").expect("move");
    let running = popoto_move(&mut con, &js[1].1, "running").expect("move");
    let ids: Vec<&str> = js.iter().map(|(i, _)| i.as_str()).collect();
    let file = id_file(&r, "ids.txt", &ids);
    let run = r.jobq(&[
        "--json",
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--timeout",
        "1s",
    ]);
    run.expect_code(6);
    let o = &run.json()["ids"];
    assert_eq!(o["outcome"], "unfinished");
    assert_eq!(
        (
            o["completed"].as_u64(),
            o["running"].as_u64(),
            o["pending"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    // Nothing running any more, one pending with nobody taking it.
    popoto_move(&mut con, &running, "failed").expect("move");
    let run = r.jobq(&[
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--stall-timeout",
        "500ms",
    ]);
    run.expect_code(7);
    assert!(
        run.stdout().starts_with(
            "stalled: 3 job(s) of project \"ci\" of RedisJob: 1 completed, 1 failed, 0 unknown, 1 pending, 0 running after"
        ),
        "{}",
        run.explain()
    );
}

#[test]
fn enqueue_json_is_an_id_file() {
    let r = Redis::start();
    let fixtures = write_file(
        r.dir.path(),
        "f.jsonl",
        "{\"project_key\": \"ci\", \"message_text\": \"a\"}\n{\"project_key\": \"ci\", \"message_text\": \"b\"}\n",
    );
    let run = r.jobq(&[
        "--json",
        "enqueue",
        "--file",
        fixtures.to_str().expect("path"),
    ]);
    run.expect_code(0);
    let keys: Vec<String> = run.json()["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["key"].as_str().expect("key").to_owned())
        .collect();
    let w = worker(
        r.con(),
        keys.iter().map(|k| (k.clone(), Fate::Complete)).collect(),
    );
    let drain = r.jobq_stdin(
        &["--json", "drain", "--ids", "-", "--timeout", "60s"],
        run.stdout().as_bytes(),
    );
    w.join().expect("worker");
    drain.expect_code(0);
    assert_eq!(drain.json()["ids"]["completed"], 2);
}

#[test]
fn usage_errors_wait_for_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 2);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");
    let file = id_file(&r, "bad.txt", &[&js[0].0, "", "not an id", &js[1].0]);
    let run = r.jobq(&["drain", "--ids", &file]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("bad.txt: line 3: \"not an id\" is not a job id"),
        "{}",
        run.explain()
    );
    let calls = command_calls(&mut con);
    assert!(
        calls
            .keys()
            .all(|c| c == "config|resetstat" || c == "config"),
        "nothing was read: {calls:?}"
    );
    // An id of another project than --project's.
    popoto_create(&mut con, &job_id(7), "other", "pending", 1.0);
    let file = id_file(&r, "ids.txt", &[&js[0].0, &job_id(7)]);
    let run = r.jobq(&["drain", "--project", "ci", "--ids", &file]);
    run.expect_code(2);
    assert!(
        run.stderr().contains(&format!(
            "line 2: job {} is of project \"other\", not \"ci\"",
            job_id(7)
        )),
        "{}",
        run.explain()
    );
    // --gone-means needs --ids.
    r.jobq(&["drain", "--gone-means", "completed"])
        .expect_code(2);
    // A database without the model's keys: a wrong --url, not gone jobs.
    let empty = r.url_db(3);
    r.jobq_at(&empty, &["drain", "--ids", &file]).expect_code(3);
}

#[test]
fn ten_thousand_ids_cost_a_bounded_number_of_commands_per_poll() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 10_000, "big");
    let ids: Vec<String> = keys
        .iter()
        .map(|k| k.split(':').nth(1).expect("id").to_owned())
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let file = id_file(&r, "ids.txt", &refs);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");
    // Nobody works on them: the wait polls, backing off, until the stall.
    let run = r.jobq(&[
        "--json",
        "drain",
        "--project",
        "big",
        "--ids",
        &file,
        "--stall-timeout",
        "2s",
    ]);
    run.expect_code(7);
    let calls = command_calls(&mut con);
    let o = &run.json()["ids"];
    assert_eq!(o["pending"], 10_000);
    let polls = o["reads"].as_u64().expect("reads") + 1; // and the first read
                                                         // Backing off to 1 s while nothing changes: a handful of polls in 2 s,
                                                         // not one every 50 ms.
    assert!((2..=12).contains(&polls), "{polls} polls");
    // Each poll: one SMISMEMBER per status index per 1000 jobs (4 x 10);
    // the connection's probe of the server's commands asks one more. A
    // server without SMISMEMBER (the 6.0 stand-in) gets its fallback, one
    // SISMEMBER per job and index, in the same pipelined round trips.
    let smismember = calls.get("smismember").copied().unwrap_or(0);
    let sismember = calls.get("sismember").copied().unwrap_or(0);
    if smismember > 0 {
        assert_eq!(smismember.saturating_sub(1), 40 * polls, "{calls:?}");
    } else {
        assert_eq!(sismember, 40 * 1000 * polls, "{calls:?}");
    }
    let others: u64 = calls
        .iter()
        .filter(|(c, _)| {
            !c.starts_with("config") && c.as_str() != "smismember" && c.as_str() != "sismember"
        })
        .map(|(_, n)| n)
        .sum();
    assert!(
        others <= 15,
        "only the connection's setup besides: {calls:?}"
    );
}

#[test]
fn a_failed_job_retried_before_the_confirming_read_is_waited_for() {
    let r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 2);
    popoto_move(&mut con, &js[0].1, "completed").expect("move");
    let failed = popoto_move(&mut con, &js[1].1, "failed").expect("move");
    let ids: Vec<&str> = js.iter().map(|(i, _)| i.as_str()).collect();
    let file = id_file(&r, "ids.txt", &ids);
    let mut wcon = r.con();
    let retry = thread::spawn(move || {
        wait_for_jobq(&mut wcon);
        // Every job has an answer; inside the settle window the failed one
        // is retried (back to pending), and completes later.
        thread::sleep(Duration::from_millis(300));
        let pending = popoto_move(&mut wcon, &failed, "pending").expect("move");
        thread::sleep(Duration::from_millis(2000));
        let running = popoto_move(&mut wcon, &pending, "running").expect("move");
        popoto_move(&mut wcon, &running, "completed").expect("move");
    });
    let run = r.jobq(&[
        "--json",
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--settle",
        "1500ms",
        "--timeout",
        "60s",
    ]);
    retry.join().expect("retry");
    run.expect_code(0);
    let o = &run.json()["ids"];
    assert_eq!(
        (o["completed"].as_u64(), o["failed"].as_u64()),
        (Some(2), Some(0))
    );
}

#[test]
fn the_schema_names_the_message_field() {
    let r = Redis::start();
    let schema = write_file(
        r.dir.path(),
        "task.toml",
        &task_schema(
            "message_field = \"last_error\"",
            "[[field]]\nname = \"last_error\"",
        ),
    );
    let schema = schema.to_str().expect("path");
    let mut ids = String::new();
    for (status, error) in [("done", None), ("error", Some("disk full"))] {
        let mut args = vec![
            "--schema", schema, "enqueue", "--set", "queue=q1", "--status", status,
        ];
        let set = error.map(|e| format!("last_error={e}"));
        if let Some(s) = &set {
            args.extend(["--set", s.as_str()]);
        }
        let run = r.jobq(&args);
        run.expect_code(0);
        ids.push_str(&run.stdout());
    }
    // No project field: the records are found by the walk.
    let run = r.jobq_stdin(
        &["--schema", schema, "--json", "drain", "--ids", "-"],
        ids.as_bytes(),
    );
    run.expect_code(8);
    let f = &run.json()["ids"]["failed_jobs"][0];
    assert_eq!(f["status"], "error", "{}", run.explain());
    assert_eq!(f["project"], serde_json::Value::Null);
    assert_eq!(f["message_field"], "last_error");
    assert_eq!(f["message"], "disk full");
}

#[test]
fn ctrl_c_stops_with_130() {
    let r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 1);
    let file = id_file(&r, "ids.txt", &[&js[0].0]);
    let child = Command::new(jobq_bin())
        .args(["--url", &r.url(), "--json", "drain", "--ids", &file])
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    wait_for_jobq(&mut con);
    thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    assert!(out.stdout.is_empty(), "nothing may claim an answer");
}

#[test]
fn a_restart_is_survived_when_it_keeps_the_data_and_exit_3_when_it_loses_it() {
    let mut r = Redis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 1);
    let running = popoto_move(&mut con, &js[0].1, "running").expect("move");
    let file = id_file(&r, "ids.txt", &[&js[0].0]);
    let args = [
        "--json",
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--timeout",
        "60s",
    ];
    let drain = spawn_jobq(&r, &args);
    wait_for_jobq(&mut con);
    thread::sleep(Duration::from_millis(300));
    r.restart();
    thread::sleep(Duration::from_millis(1500));
    let mut con = r.con();
    popoto_move(&mut con, &running, "completed").expect("the AOF kept the job");
    let (run, _) = drain.join().expect("drain");
    run.expect_code(0);
    let j = run.json();
    assert!(j["reconnects"].as_u64() >= Some(1), "{}", run.explain());
    assert_eq!(j["ids"]["completed"], 1);

    // Without persistence the queue is lost: not an answer for any job.
    let mut r = Redis::start();
    let mut con = r.con();
    let js = jobs(&mut con, "ci", 1, 1);
    popoto_move(&mut con, &js[0].1, "running").expect("move");
    let file = id_file(&r, "ids.txt", &[&js[0].0]);
    let args = [
        "--json",
        "drain",
        "--project",
        "ci",
        "--ids",
        &file,
        "--timeout",
        "60s",
    ];
    let drain = spawn_jobq(&r, &args);
    wait_for_jobq(&mut con);
    thread::sleep(Duration::from_millis(300));
    r.restart();
    let (run, _) = drain.join().expect("drain");
    run.expect_code(3);
    assert!(run.stdout().is_empty(), "{}", run.explain());
    assert!(run.stderr().contains("restarted"), "{}", run.explain());
}

#[test]
fn records_are_checked_for_at_most_a_thousand_jobs_a_poll() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 10_000, "big");
    let ids: Vec<String> = keys
        .iter()
        .map(|k| k.split(':').nth(1).expect("id").to_owned())
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let file = id_file(&r, "ids.txt", &refs);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");
    let args = [
        "--json",
        "drain",
        "--project",
        "big",
        "--ids",
        &file,
        "--timeout",
        "120s",
    ];
    let drain = spawn_jobq(&r, &args);
    wait_for_jobq(&mut con);
    thread::sleep(Duration::from_millis(300));
    // All of them completed at once: 2000 moves a transaction (popoto moves
    // one job a transaction; this is for speed), each one atomic.
    for chunk in keys.chunks(2000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            let done = k.replace(":pending", ":completed");
            pipe.atomic()
                .cmd("RENAME")
                .arg(k)
                .arg(&done)
                .ignore()
                .cmd("HSET")
                .arg(&done)
                .arg("status")
                .arg(pack("completed"))
                .ignore()
                .cmd("SREM")
                .arg("$KeyF:RedisJob:status:pending")
                .arg(k)
                .ignore()
                .cmd("SADD")
                .arg("$KeyF:RedisJob:status:completed")
                .arg(&done)
                .ignore();
        }
        let _: () = pipe.query(&mut con).expect("complete");
    }
    let (run, _) = drain.join().expect("drain");
    run.expect_code(0);
    let calls = command_calls(&mut con);
    let o = &run.json()["ids"];
    assert_eq!(o["completed"], 10_000, "{}", run.explain());
    // One EXISTS per status (4) per job, each job checked once, however
    // many polls that takes: 1000 jobs a poll at most, so 10 polls or more.
    let exists = calls.get("exists").copied().unwrap_or(0);
    assert!(
        (40_000..=40_002).contains(&exists),
        "{exists} EXISTS: {calls:?}"
    );
    assert!(o["reads"].as_u64() >= Some(10), "{}", run.explain());
}
