//! The lock, `--min-interval`, `--interval`, and Ctrl-C mid-sweep.

use super::*;

#[test]
fn a_held_lock_exits_75_at_once() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg(LOCK)
        .arg("otherhost:1:abc")
        .arg("PX")
        .arg(60_000)
        .query(&mut con)
        .expect("SET");
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
    run.expect_code(75);
    assert!(t0.elapsed() < Duration::from_secs(20), "did not wait");
    let j = json_of(&run);
    assert_eq!(j["ran"], false);
    assert_eq!(j["not_run"], "lock_held");
    assert_eq!(j["lock"]["status"], "held");
    assert_eq!(j["lock"]["holder"], "otherhost:1:abc");
    assert!(exists(&mut con, &key), "nothing moved");
    let v: Vec<u8> = redis::cmd("GET").arg(LOCK).query(&mut con).expect("GET");
    assert_eq!(v, b"otherhost:1:abc", "another reaper's lock is left alone");
}

#[test]
fn wait_lock_waits_for_the_holder() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let _: () = redis::cmd("SET")
        .arg(LOCK)
        .arg("otherhost:1:abc")
        .arg("PX")
        .arg(1500)
        .query(&mut con)
        .expect("SET");
    let t0 = Instant::now();
    let run = r.jobq(&["--json", "reap", "--once", "--all", "--yes", "--wait-lock"]);
    run.expect_code(0);
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "it did not wait for the lock to expire"
    );
    let j = json_of(&run);
    assert_eq!(j["lock"]["status"], "waited");
    assert_eq!(j["counts"]["to_pending"], 1);
    assert!(!exists(&mut con, LOCK), "released after the sweep");
}

#[test]
fn min_interval_skips_when_a_sweep_finished_recently() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    r.jobq(&["reap", "--once", "--all", "--yes"]).expect_code(0);
    assert!(
        exists(&mut con, "jobq:reap:RedisJob:last"),
        "the sweep's end is recorded"
    );
    let second = popoto_create(&mut con, &id(2), "p", "running", 2.0);

    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--min-interval",
        "1h",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["ran"], false);
    assert_eq!(j["not_run"], "min_interval");
    assert!(j["last_sweep_age_s"].as_f64().expect("age") < 3600.0);
    assert!(exists(&mut con, &second), "skipped sweep moved nothing");
    assert!(!exists(&mut con, LOCK));

    std::thread::sleep(Duration::from_millis(50));
    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--min-interval",
        "10ms",
    ]);
    run.expect_code(0);
    assert_eq!(moved_ids(&json_of(&run)), BTreeSet::from([id(2)]));
}

#[test]
fn interval_reports_each_sweep_and_ctrl_c_exits_130() {
    use std::io::BufRead;
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, &id(1), "p", "running", 1.0);
    let mut child = Command::new(jobq_bin())
        .args([
            "--url",
            &r.url(),
            "--json",
            "reap",
            "--interval",
            "100ms",
            "--all",
            "--yes",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.len() < 3 && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
            if lines.len() == 1 {
                // A job that goes stale between sweeps is reaped by a later
                // one, even though the server forgot every script meanwhile.
                let _: () = redis::cmd("SCRIPT")
                    .arg("FLUSH")
                    .query(&mut con)
                    .expect("SCRIPT FLUSH");
                popoto_create(&mut con, &id(2), "p", "running", 2.0);
            }
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    reader.join().expect("reader");
    lines.extend(rx.try_iter());
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lines.len() >= 3, "{lines:?}");
    let reports: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    for (i, j) in reports.iter().enumerate() {
        assert_eq!(j["command"], "reap");
        assert_eq!(j["sweep"], i as u64 + 1);
    }
    let all: BTreeSet<String> = reports.iter().flat_map(moved_ids).collect();
    assert_eq!(all, BTreeSet::from([id(1), id(2)]));
    assert!(!exists(&mut con, LOCK), "lock released");
}

#[test]
fn ctrl_c_mid_sweep_stops_between_steps_and_releases_the_lock() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 30_000;
    bulk_running(&mut con, 0, N, "p");
    let child = Command::new(jobq_bin())
        .args([
            "--url",
            &r.url(),
            "--json",
            "reap",
            "--interval",
            "1h",
            "--all",
            "--yes",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    // The lock is held exactly while a sweep runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exists(&mut con, LOCK) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let j: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a report")).expect("JSON");
    let moved = j["moved"].as_array().expect("moved").len();
    if j["stopped"] == "interrupted" {
        assert!(moved < N, "stopped early");
    } else {
        // The sweep was already over when the signal came.
        assert_eq!(moved, N, "{j}");
    }
    // No half move: every job is in exactly one place, every move audited.
    assert!(!exists(&mut con, LOCK), "lock released");
    assert_eq!(scard(&mut con, PENDING), moved);
    assert_eq!(scard(&mut con, RUNNING), N - moved);
    assert_eq!(scard(&mut con, CLASS), N);
    assert_eq!(audit(&mut con).len(), moved);
}

#[test]
fn ctrl_c_mid_sweep_text_report_says_what_was_done() {
    let r = Redis::start();
    let mut con = r.con();
    const N: usize = 30_000;
    bulk_running(&mut con, 0, N, "p");
    let child = Command::new(jobq_bin())
        .args(["--url", &r.url(), "reap", "--once", "--all", "--yes"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    // The lock is taken as the sweep starts, long before 30,000 moves end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exists(&mut con, LOCK) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{text}\nstderr: {stderr}");
    let moved = scard(&mut con, PENDING);
    assert!(moved < N, "stopped early: {moved}");
    assert!(
        text.contains(&format!("{moved} to pending")),
        "the report counts what was moved ({moved}):\n{text}"
    );
    assert!(
        text.contains("stopped early: interrupted: run again to finish"),
        "{text}"
    );
    assert!(!exists(&mut con, LOCK), "lock released");
    // A rerun moves the rest.
    r.jobq(&["reap", "--once", "--all", "--yes"]).expect_code(0);
    assert_eq!(scard(&mut con, PENDING), N);
}
