//! `jobq drain` against a real redis-server, with a simulated worker (a
//! thread moving jobs popoto-style, one MULTI/EXEC per change): drains and
//! exits 0, waits for a job created during the settle window, times out
//! (6), detects a stall (7), refuses an empty database (3), survives and
//! reports Redis going away, scopes to a project, and stops on Ctrl-C.

use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn job_id(i: usize) -> String {
    format!("{i:032x}")
}

fn scard(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("SCARD").arg(key).query(con).expect("SCARD")
}

fn server_time(con: &mut redis::Connection) -> f64 {
    let (s, us): (i64, i64) = redis::cmd("TIME").query(con).expect("TIME");
    s as f64 + us as f64 / 1e6
}

/// Block until jobq has connected (its connection is named `jobq`), so that
/// a worker starts only once drain is watching.
pub(crate) fn wait_for_jobq(con: &mut redis::Connection) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(con)
            .expect("CLIENT LIST");
        if list.contains("name=jobq") {
            return;
        }
        thread::sleep(ms(10));
    }
    panic!("jobq did not connect within 20 s");
}

/// Run jobq in a thread; the run and the moment it ended.
pub(crate) fn spawn_jobq(r: &Redis, args: &[&str]) -> JoinHandle<(Run, Instant)> {
    let mut full = vec!["--url".to_string(), r.url()];
    full.extend(args.iter().map(|s| s.to_string()));
    let log = r.log_path();
    thread::spawn(move || {
        let run = run_jobq(&full, None, log);
        (run, Instant::now())
    })
}

/// A worker that takes the given pending jobs one by one: running for a
/// while, then completed. Returns when it completed the last one.
fn worker(mut con: redis::Connection, keys: Vec<String>, each: Duration) -> JoinHandle<Instant> {
    thread::spawn(move || {
        wait_for_jobq(&mut con);
        for k in keys {
            thread::sleep(each);
            let running = popoto_move(&mut con, &k, "running").expect("move");
            thread::sleep(each);
            popoto_move(&mut con, &running, "completed").expect("move");
        }
        Instant::now()
    })
}

#[test]
fn drains_to_zero_with_a_worker_and_reports_every_field() {
    let r = Redis::start();
    let mut con = r.con();
    let keys: Vec<String> = (0..20)
        .map(|i| popoto_create(&mut con, &job_id(i), "p", "pending", 1000.0 + i as f64))
        .collect();
    // Finished jobs from before are neither waited for nor counted.
    popoto_create(&mut con, &job_id(99), "p", "completed", 1.0);
    let done = worker(r.con(), keys, ms(50));
    let run = r.jobq(&["--json", "drain", "--timeout", "120s"]);
    let drain_end = Instant::now();
    let last_completed = done.join().expect("worker");
    run.expect_code(0);
    assert!(
        last_completed <= drain_end,
        "drain exited before the worker finished\n{}",
        run.explain()
    );
    assert_eq!(scard(&mut con, "$KeyF:RedisJob:status:completed"), 21);

    let j = run.json();
    assert_eq!(j["schema"], 1);
    assert_eq!(j["command"], "drain");
    assert_eq!(j["drained"], true);
    assert_eq!(j["reason"], "drained");
    assert_eq!(j["model"], "RedisJob");
    assert_eq!(j["project"], serde_json::Value::Null);
    assert_eq!(j["start"], serde_json::json!({"pending": 20, "running": 0}));
    assert_eq!(j["end"], serde_json::json!({"pending": 0, "running": 0}));
    let elapsed = j["elapsed_seconds"].as_f64().expect("elapsed_seconds");
    assert!((0.2..120.0).contains(&elapsed), "{elapsed}");
    assert_eq!(j["jobs_seen"], 20);
    assert_eq!(j["jobs_finished"], 20);
    assert_eq!(j["oldest_pending"], serde_json::Value::Null);
    assert_eq!(j["reconnects"], 0);
    assert_eq!(j["settle_seconds"], 0.2);
    assert_eq!(j["stall_timeout_seconds"], 60.0);
    assert_eq!(j["timeout_seconds"], 120.0);
    let fields: Vec<&String> = j.as_object().expect("object").keys().collect();
    assert_eq!(
        fields.len(),
        16,
        "no field added without a test: {fields:?}"
    );

    // The text form says the same on stdout.
    let run = r.jobq(&["drain"]);
    run.expect_code(0);
    assert!(
        run.stdout()
            .starts_with("drained: RedisJob: no pending or running jobs"),
        "{}",
        run.explain()
    );
}

#[test]
fn a_job_created_during_the_settle_window_is_waited_for() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, &job_id(1), "p", "pending", 1.0);
    let mut wcon = r.con();
    let choreography = thread::spawn(move || {
        wait_for_jobq(&mut wcon);
        thread::sleep(ms(200));
        let a = popoto_move(&mut wcon, &a, "running").expect("move");
        thread::sleep(ms(200));
        popoto_move(&mut wcon, &a, "completed").expect("move");
        // drain now sees an empty queue and waits 2 s to read again; a job
        // is created inside that window ...
        thread::sleep(ms(1000));
        let b = popoto_create(&mut wcon, &job_id(2), "p", "pending", 2.0);
        thread::sleep(ms(200));
        let b = popoto_move(&mut wcon, &b, "running").expect("move");
        // ... and finishes well after the window closed.
        thread::sleep(ms(2500));
        popoto_move(&mut wcon, &b, "completed").expect("move");
        Instant::now()
    });
    let run = r.jobq(&["--json", "drain", "--settle", "2s", "--timeout", "120s"]);
    let drain_end = Instant::now();
    let b_completed = choreography.join().expect("choreography");
    run.expect_code(0);
    assert!(
        b_completed <= drain_end,
        "drain exited before the job created during the settle window completed\n{}",
        run.explain()
    );
    let j = run.json();
    assert_eq!(j["reason"], "drained");
    assert_eq!(j["jobs_seen"], 2, "{}", run.explain());
    assert_eq!(j["jobs_finished"], 2);
}

#[test]
fn timeout_exits_6_with_what_is_left() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 1.0);
    popoto_create(&mut con, &job_id(2), "p", "running", 2.0);
    let t0 = Instant::now();
    // A running job is not a stall, however long nothing changes.
    let run = r.jobq(&[
        "--json",
        "drain",
        "--timeout",
        "1500ms",
        "--stall-timeout",
        "1s",
    ]);
    let took = t0.elapsed();
    run.expect_code(6);
    assert!(
        took >= ms(1500) && took < Duration::from_secs(30),
        "{took:?}"
    );
    let j = run.json();
    assert_eq!(j["drained"], false);
    assert_eq!(j["reason"], "timeout");
    assert_eq!(j["end"], serde_json::json!({"pending": 1, "running": 1}));
    assert_eq!(j["timeout_seconds"], 1.5);
    assert_eq!(j["oldest_pending"]["job_id"], job_id(1));
    // The stuck running job gets a hint on stderr.
    assert!(run.stderr().contains("jobq reap"), "{}", run.explain());

    let run = r.jobq(&["drain", "--timeout", "300ms"]);
    run.expect_code(6);
    assert!(
        run.stdout().starts_with("timed out: RedisJob after"),
        "{}",
        run.explain()
    );
    assert!(
        run.stdout().contains("1 pending, 1 running left"),
        "{}",
        run.explain()
    );
}

#[test]
fn pending_jobs_and_no_worker_exit_7() {
    let r = Redis::start();
    let mut con = r.con();
    let now = server_time(&mut con);
    // The zset holds every status: 600 completed jobs are older than any
    // pending one, more than one page of the oldest-pending lookup.
    for i in 0..600 {
        popoto_create(
            &mut con,
            &job_id(1000 + i),
            "p",
            "completed",
            now - 100_000.0 + i as f64,
        );
    }
    popoto_create(&mut con, &job_id(1), "p", "pending", now - 60.0);
    popoto_create(&mut con, &job_id(2), "q", "pending", now - 3600.0);
    popoto_create(&mut con, &job_id(3), "p", "pending", now - 30.0);
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "drain", "--stall-timeout", "1s"]);
    let took = t0.elapsed();
    run.expect_code(7);
    assert!(
        took >= ms(1000) && took < Duration::from_secs(30),
        "{took:?}"
    );
    let j = run.json();
    assert_eq!(j["drained"], false);
    assert_eq!(j["reason"], "stalled");
    assert_eq!(j["start"], serde_json::json!({"pending": 3, "running": 0}));
    assert_eq!(j["end"], serde_json::json!({"pending": 3, "running": 0}));
    assert_eq!(j["timeout_seconds"], serde_json::Value::Null);
    let o = &j["oldest_pending"];
    assert_eq!(o["job_id"], job_id(2));
    assert_eq!(o["key"], format!("RedisJob:{}:q:pending", job_id(2)));
    assert_eq!(o["field"], "created_at");
    let age = o["age_seconds"].as_f64().expect("age");
    assert!((3590.0..3700.0).contains(&age), "{age}");

    // Within one project, the oldest pending job of that project.
    let run = r.jobq(&["--json", "drain", "--project", "p", "--stall-timeout", "1s"]);
    run.expect_code(7);
    assert_eq!(run.json()["oldest_pending"]["job_id"], job_id(1));

    let run = r.jobq(&["drain", "--stall-timeout", "1s"]);
    run.expect_code(7);
    let out = run.stdout();
    assert!(
        out.contains("nobody is working on the queue"),
        "{}",
        run.explain()
    );
    assert!(
        out.contains(&format!("oldest pending: {}", job_id(2))),
        "{}",
        run.explain()
    );
}

#[test]
fn oldest_pending_behind_a_long_history() {
    let r = Redis::start();
    // More finished jobs older than any pending one than the zset lookup
    // pages through: the pending index is walked instead.
    let mut text = String::new();
    for i in 0..10_500 {
        text.push_str(&format!(
            "{{\"project_key\":\"p\",\"status\":\"completed\",\"created_at\":{i}}}\n"
        ));
    }
    let f = write_file(r.dir.path(), "history.jsonl", &text);
    r.jobq(&["-q", "enqueue", "--file", f.to_str().expect("path")])
        .expect_code(0);
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 20_001.0);
    popoto_create(&mut con, &job_id(2), "p", "pending", 20_000.0);
    popoto_create(&mut con, &job_id(3), "q", "pending", 20_000.5);
    let run = r.jobq(&["--json", "drain", "--stall-timeout", "1s"]);
    run.expect_code(7);
    let o = &run.json()["oldest_pending"];
    assert_eq!(o["job_id"], job_id(2), "{}", run.explain());
    assert_eq!(o["score"], 20_000.0);
    let run = r.jobq(&["--json", "drain", "--project", "q", "--stall-timeout", "1s"]);
    run.expect_code(7);
    assert_eq!(run.json()["oldest_pending"]["job_id"], job_id(3));
}

#[test]
fn an_empty_database_is_not_a_drained_queue() {
    let r = Redis::start();
    let run = r.jobq(&["--json", "drain"]);
    run.expect_code(3);
    assert!(
        run.stdout().is_empty(),
        "nothing may claim drained\n{}",
        run.explain()
    );
    let err = run.stderr();
    assert!(
        err.contains("holds no RedisJob keys") && err.contains("--allow-empty"),
        "{}",
        run.explain()
    );

    let run = r.jobq(&["--json", "drain", "--allow-empty"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["drained"], true);
    assert_eq!(j["reason"], "empty");
    assert_eq!(j["jobs_seen"], 0);

    // Jobs in database 0, drain pointed at database 1: still unknown.
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 1.0);
    let run = run_jobq(
        &["--url".into(), r.url_db(1), "drain".into()],
        None,
        r.log_path(),
    );
    run.expect_code(3);
    // A project nobody ever used (a typo) is not drained either.
    let run = r.jobq(&["drain", "--project", "pp"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("no job of project \"pp\""),
        "{}",
        run.explain()
    );
    let run = r.jobq(&["--json", "drain", "--project", "pp", "--allow-empty"]);
    run.expect_code(0);
    assert_eq!(run.json()["reason"], "empty");
}

#[test]
fn a_status_index_of_the_wrong_type_is_exit_3() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg("$KeyF:RedisJob:status:pending")
        .arg("oops")
        .query(&mut con)
        .expect("SET");
    let run = r.jobq(&["--json", "drain", "--timeout", "5s"]);
    run.expect_code(3);
    assert!(run.stdout().is_empty(), "{}", run.explain());
    assert!(
        run.stderr().contains("WRONGTYPE")
            && run.stderr().contains("$KeyF:RedisJob:status:pending"),
        "{}",
        run.explain()
    );
}

#[test]
fn redis_killed_mid_wait_exits_3_after_the_timeout() {
    let mut r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 1.0);
    popoto_create(&mut con, &job_id(2), "p", "running", 2.0);
    let t0 = Instant::now();
    let drain = spawn_jobq(&r, &["--json", "drain", "--timeout", "3s"]);
    wait_for_jobq(&mut con);
    thread::sleep(ms(300));
    r.kill();
    let (run, end) = drain.join().expect("drain");
    run.expect_code(3);
    let took = end - t0;
    assert!(
        took >= ms(2900) && took < Duration::from_secs(30),
        "{took:?}\n{}",
        run.explain()
    );
    assert!(
        run.stdout().is_empty(),
        "nothing may claim drained\n{}",
        run.explain()
    );
    assert!(
        run.stderr().contains("has not answered"),
        "{}",
        run.explain()
    );
}

#[test]
fn redis_killed_without_a_timeout_exits_3_after_the_stall_timeout() {
    let mut r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let drain = spawn_jobq(&r, &["drain", "--stall-timeout", "1s"]);
    wait_for_jobq(&mut con);
    thread::sleep(ms(300));
    r.kill();
    let (run, _) = drain.join().expect("drain");
    run.expect_code(3);
    assert!(
        run.stderr().contains("state is unknown"),
        "{}",
        run.explain()
    );
}

#[test]
fn a_restart_that_keeps_the_data_is_survived() {
    let mut r = Redis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = r.con();
    let key = popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let drain = spawn_jobq(&r, &["--json", "drain", "--timeout", "60s"]);
    wait_for_jobq(&mut con);
    thread::sleep(ms(300));
    r.restart();
    thread::sleep(ms(1500));
    let mut con = r.con();
    assert_eq!(
        scard(&mut con, "$KeyF:RedisJob:status:running"),
        1,
        "the AOF kept the job"
    );
    popoto_move(&mut con, &key, "completed").expect("move");
    let (run, _) = drain.join().expect("drain");
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["reason"], "drained");
    assert!(
        j["reconnects"].as_u64().expect("reconnects") >= 1,
        "{}",
        run.explain()
    );
    assert_eq!(j["end"], serde_json::json!({"pending": 0, "running": 0}));
}

#[test]
fn a_restart_that_loses_the_data_is_not_drained() {
    let mut r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "pending", 1.0);
    popoto_create(&mut con, &job_id(2), "p", "running", 2.0);
    let drain = spawn_jobq(&r, &["--json", "drain", "--timeout", "60s"]);
    wait_for_jobq(&mut con);
    thread::sleep(ms(300));
    r.restart(); // --save "": the queue is gone
    let (run, _) = drain.join().expect("drain");
    run.expect_code(3);
    assert!(run.stdout().is_empty(), "{}", run.explain());
    assert!(
        run.stderr().contains("restarted") && run.stderr().contains("holds no RedisJob keys"),
        "{}",
        run.explain()
    );
}

#[test]
fn project_waits_only_for_its_project() {
    let r = Redis::start();
    let mut con = r.con();
    // "big": many finished jobs and 2 pending (cheaper to walk the status
    // indexes); "small": 2 pending (cheaper to walk the project index);
    // "other": 50 pending that nobody works on.
    for i in 0..300 {
        popoto_create(&mut con, &job_id(1000 + i), "big", "completed", i as f64);
    }
    let big: Vec<String> = (0..2)
        .map(|i| popoto_create(&mut con, &job_id(10 + i), "big", "pending", 500.0))
        .collect();
    let small: Vec<String> = (0..2)
        .map(|i| popoto_create(&mut con, &job_id(20 + i), "small", "pending", 500.0))
        .collect();
    for i in 0..50 {
        popoto_create(&mut con, &job_id(2000 + i), "other", "pending", 600.0);
    }

    for (project, keys) in [("small", small), ("big", big)] {
        let done = worker(r.con(), keys, ms(50));
        let run = r.jobq(&["--json", "drain", "--project", project, "--timeout", "120s"]);
        let drain_end = Instant::now();
        let last = done.join().expect("worker");
        run.expect_code(0);
        assert!(last <= drain_end, "{project}: {}", run.explain());
        let j = run.json();
        assert_eq!(j["project"], project);
        assert_eq!(
            j["start"],
            serde_json::json!({"pending": 2, "running": 0}),
            "{project}"
        );
        assert_eq!(
            j["end"],
            serde_json::json!({"pending": 0, "running": 0}),
            "{project}"
        );
        assert_eq!(j["jobs_finished"], 2, "{project}");
    }
    assert_eq!(
        scard(&mut con, "$KeyF:RedisJob:status:pending"),
        50,
        "other's jobs untouched"
    );

    let run = r.jobq(&[
        "--json",
        "drain",
        "--project",
        "other",
        "--timeout",
        "500ms",
    ]);
    run.expect_code(6);
    assert_eq!(
        run.json()["end"],
        serde_json::json!({"pending": 50, "running": 0})
    );
    let run = r.jobq(&["--json", "drain", "--timeout", "500ms"]);
    run.expect_code(6);
    assert_eq!(
        run.json()["end"],
        serde_json::json!({"pending": 50, "running": 0})
    );
}

#[test]
fn large_projects_are_walked_while_workers_move_them() {
    let r = Redis::start();
    // Both sides of each intersection above 1000 members: counted by
    // walking the smaller side with SSCAN + SMISMEMBER. "w" (1200 pending)
    // is walked itself; "h" (3000 finished, 1100 pending) through the
    // status indexes.
    let mut text = String::new();
    for _ in 0..1200 {
        text.push_str("{\"project_key\":\"w\"}\n");
    }
    for _ in 0..3000 {
        text.push_str("{\"project_key\":\"h\",\"status\":\"completed\"}\n");
    }
    for _ in 0..1100 {
        text.push_str("{\"project_key\":\"h\"}\n");
    }
    let f = write_file(r.dir.path(), "jobs.jsonl", &text);
    r.jobq(&["-q", "enqueue", "--file", f.to_str().expect("path")])
        .expect_code(0);
    for (project, pending) in [("w", 1200), ("h", 1100)] {
        let run = r.jobq(&[
            "--json",
            "drain",
            "--project",
            project,
            "--timeout",
            "300ms",
        ]);
        run.expect_code(6);
        assert_eq!(
            run.json()["end"],
            serde_json::json!({"pending": pending, "running": 0}),
            "{project}"
        );
    }

    // A worker moves all of w's jobs as fast as it can, while drain walks.
    let mut con = r.con();
    let keys: Vec<String> = redis::cmd("SMEMBERS")
        .arg("$KeyF:RedisJob:project_key:w")
        .query(&mut con)
        .expect("SMEMBERS");
    let done = worker(r.con(), keys, Duration::ZERO);
    let run = r.jobq(&["--json", "drain", "--project", "w", "--timeout", "120s"]);
    let drain_end = Instant::now();
    let last = done.join().expect("worker");
    run.expect_code(0);
    assert!(last <= drain_end, "{}", run.explain());
    let j = run.json();
    assert_eq!(j["end"], serde_json::json!({"pending": 0, "running": 0}));
    // Every job seen finished (how many were seen depends on how many the
    // worker moved before drain's first read).
    let seen = j["jobs_seen"].as_u64().expect("seen");
    assert!(
        seen >= j["start"]["pending"].as_u64().expect("start"),
        "{}",
        run.explain()
    );
    assert_eq!(j["jobs_finished"].as_u64(), Some(seen), "{}", run.explain());
    assert_eq!(scard(&mut con, "$KeyF:RedisJob:status:pending"), 1100);
}

#[test]
fn statuses_come_from_the_schema() {
    let r = Redis::start();
    let schema = write_file(r.dir.path(), "task.toml", &task_schema("", ""));
    let schema = schema.to_str().expect("path");
    let task = |args: &[&str]| {
        let mut full = vec!["--schema", schema];
        full.extend_from_slice(args);
        r.jobq(&full)
    };
    task(&["enqueue", "--set", "queue=mail", "--set", "state=done"]).expect_code(0);
    task(&["enqueue", "--set", "queue=mail", "--set", "state=error"]).expect_code(0);
    // Only finished tasks: drained (and RedisJob's absence does not matter).
    let run = task(&["--json", "drain"]);
    run.expect_code(0);
    assert_eq!(run.json()["model"], "Task");
    task(&["enqueue", "--set", "queue=mail", "--job-id", "t1"]).expect_code(0);
    let run = task(&["--json", "drain", "--stall-timeout", "1s"]);
    run.expect_code(7);
    let j = run.json();
    assert_eq!(j["end"], serde_json::json!({"pending": 1, "running": 0}));
    assert_eq!(j["oldest_pending"]["job_id"], "t1");
    task(&["enqueue", "--set", "queue=mail", "--set", "state=active"]).expect_code(0);
    let run = task(&["--json", "drain", "--timeout", "500ms"]);
    run.expect_code(6);
    assert_eq!(
        run.json()["end"],
        serde_json::json!({"pending": 1, "running": 1})
    );
    // --project means nothing for this model.
    let run = task(&["drain", "--project", "mail"]);
    run.expect_code(2);
    assert!(run.stderr().contains("project_key"), "{}", run.explain());
}

#[test]
fn ctrl_c_stops_with_130() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &job_id(1), "p", "running", 1.0);
    let child = Command::new(jobq_bin())
        .args(["--url", &r.url(), "--json", "drain"])
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    wait_for_jobq(&mut con);
    thread::sleep(ms(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing may claim drained");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        scard(&mut con, "$KeyF:RedisJob:status:running"),
        1,
        "drain writes nothing"
    );
}
