//! TLS against a real `redis-server --tls-port`, with a CA and certificates
//! each test makes itself: server-only TLS with a private CA, mutual TLS,
//! `--tls-insecure`, every command over TLS, each mismatch between the URL,
//! the flags and the server (one line, exit 3, never a panic), and the TLS
//! flags' usage errors (exit 2, before anything connects).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::*;

const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";

fn a(p: &std::path::Path) -> &str {
    TlsFiles::arg(p)
}

/// The one error line of a failed run, which names each of `mentions`.
#[track_caller]
fn error_line(run: &Run, code: i32, mentions: &[&str]) -> String {
    run.expect_code(code);
    let stderr = run.stderr();
    assert!(
        !stderr.contains("panicked"),
        "jobq panicked\n{}",
        run.explain()
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line\n{}", run.explain());
    let line = errors[0];
    assert!(line.starts_with("jobq: error: "), "{}", run.explain());
    assert_eq!(stderr.lines().last(), Some(line), "{}", run.explain());
    for m in mentions {
        assert!(line.contains(m), "should mention {m:?}: {line}");
    }
    line.to_owned()
}

fn scard(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("SCARD").arg(key).query(con).expect("SCARD")
}

/// jobq with extra environment variables (and `--url` first).
fn jobq_env(r: &Redis, url: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut full = vec!["--url".to_string(), url.to_string()];
    full.extend(args.iter().map(|s| s.to_string()));
    run_jobq_env(&full, None, r.log_path(), env)
}

#[test]
fn server_only_tls_with_a_private_ca_runs_every_command() {
    let tls = TlsFiles::new();
    let r = Redis::start_tls(&tls, false, &[]);
    let url = r.tls_url("127.0.0.1");
    let ca = ["--tls-ca", a(&tls.ca)];
    let with = |args: &[&str]| {
        let mut v: Vec<&str> = ca.to_vec();
        v.extend_from_slice(args);
        r.jobq_at(&url, &v)
    };

    // enqueue: the jobs are there, read back over the plain unix socket.
    let run = with(&["enqueue", "--project", "p", "--message", "over tls"]);
    run.expect_code(0);
    let id = run.stdout().trim().to_owned();
    assert_eq!(id.len(), 32, "{}", run.explain());
    let mut con = r.con();
    assert_eq!(scard(&mut con, PENDING), 1);
    for i in 0..5 {
        popoto_create(&mut con, &job_id(i), "p", "pending", 1000.0 + i as f64);
    }

    // orphans scan finds damage made by hand, reindex repairs it.
    let victim = popoto_create(&mut con, &job_id(50), "p", "pending", 2000.0);
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), victim.as_bytes()]);
    let run = with(&["--json", "orphans", "scan", "--grace", "0"]);
    run.expect_code(1);
    assert_eq!(run.json()["counts"]["orphan"], 1, "{}", run.explain());
    with(&["reindex", "--yes", "--grace", "0"]).expect_code(0);
    assert!(smembers(&mut con, PENDING).contains(&victim));
    with(&["orphans", "scan", "--grace", "0"]).expect_code(0);

    // The certificate also names localhost.
    let run = r.jobq_at(
        &r.tls_url("localhost"),
        &["--tls-ca", a(&tls.ca), "inspect"],
    );
    run.expect_code(0);

    // JOBQ_TLS_CA does what --tls-ca does.
    let run = jobq_env(&r, &url, &[("JOBQ_TLS_CA", a(&tls.ca))], &["inspect"]);
    run.expect_code(0);
}

#[test]
fn mutual_tls_reaps_and_drains_with_a_client_certificate() {
    let tls = TlsFiles::new();
    let r = Redis::start_tls(&tls, true, &[]);
    let url = r.tls_url("127.0.0.1");
    let mut con = r.con();
    // Started long ago (created_at in 2026-01): past any lease.
    let stale = popoto_create(&mut con, &job_id(1), "p", "running", 1767225600.5);
    popoto_create(&mut con, &job_id(2), "done", "completed", 1767225601.0);
    let ident = [
        "--tls-ca",
        a(&tls.ca),
        "--tls-cert",
        a(&tls.client_cert),
        "--tls-key",
        a(&tls.client_key),
    ];
    let with = |args: &[&str]| {
        let mut v: Vec<&str> = ident.to_vec();
        v.extend_from_slice(args);
        r.jobq_at(&url, &v)
    };

    let run = with(&[
        "--json",
        "reap",
        "--once",
        "--lease",
        "30m",
        "--since-field",
        "created_at",
    ]);
    run.expect_code(0);
    let j = run.json();
    let moved: BTreeSet<String> = j["moved"]
        .as_array()
        .expect("moved")
        .iter()
        .map(|m| m["job_id"].as_str().expect("job_id").to_owned())
        .collect();
    assert_eq!(moved, BTreeSet::from([job_id(1)]), "{}", run.explain());
    assert_eq!(scard(&mut con, RUNNING), 0);
    assert!(!smembers(&mut con, PENDING).contains(&stale));
    assert_eq!(scard(&mut con, PENDING), 1);

    let run = with(&["--json", "drain", "--project", "done", "--timeout", "30s"]);
    run.expect_code(0);
    assert_eq!(run.json()["drained"], true, "{}", run.explain());

    // The same identity from the environment.
    let run = jobq_env(
        &r,
        &url,
        &[
            ("JOBQ_TLS_CA", a(&tls.ca)),
            ("JOBQ_TLS_CERT", a(&tls.client_cert)),
            ("JOBQ_TLS_KEY", a(&tls.client_key)),
        ],
        &["inspect"],
    );
    run.expect_code(0);

    // Without a client certificate the server refuses: one line saying what
    // to pass.
    let run = r.jobq_at(&url, &["--tls-ca", a(&tls.ca), "inspect"]);
    error_line(
        &run,
        3,
        &["client certificate", "pass --tls-cert and --tls-key"],
    );

    // A certificate that a CA the server does not trust signed.
    let run = r.jobq_at(
        &url,
        &[
            "--tls-ca",
            a(&tls.ca),
            "--tls-cert",
            a(&tls.stranger_cert),
            "--tls-key",
            a(&tls.stranger_key),
            "inspect",
        ],
    );
    error_line(
        &run,
        3,
        &["refused jobq's client certificate", "--tls-cert"],
    );
}

#[test]
fn insecure_skips_verification_and_says_so_every_run() {
    let tls = TlsFiles::new();
    // Also on 127.0.0.2, an address the certificate does not name.
    let r = Redis::start_tls(&tls, false, &["--bind", "127.0.0.1", "127.0.0.2"]);
    let url = r.tls_url("127.0.0.1");

    // The server's CA is not among the roots: refused, with what to do.
    let run = r.jobq_at(&url, &["inspect"]);
    error_line(
        &run,
        3,
        &[
            "certificate not trusted",
            "pass --tls-ca FILE or, for a test server, --tls-insecure",
        ],
    );

    for run in [
        r.jobq_at(&url, &["--tls-insecure", "inspect"]),
        r.jobq_at(&url, &["--tls-insecure", "--json", "orphans", "scan"]),
        jobq_env(&r, &url, &[("JOBQ_TLS_INSECURE", "1")], &["inspect"]),
    ] {
        run.expect_code(0);
        let warnings: Vec<String> = run
            .stderr()
            .lines()
            .filter(|l| l.starts_with("warning: --tls-insecure"))
            .map(str::to_owned)
            .collect();
        assert_eq!(warnings.len(), 1, "{}", run.explain());
        assert!(warnings[0].contains("not verified"), "{}", run.explain());
    }

    // A host name the certificate does not name.
    let run = r.jobq_at(
        &format!("rediss://127.0.0.2:{}/0", r.tls_port.expect("tls port")),
        &["--tls-ca", a(&tls.ca), "inspect"],
    );
    error_line(&run, 3, &["not for this host name", "--tls-insecure"]);
}

#[test]
fn a_plain_text_server_on_a_tls_url_is_named() {
    let r = Redis::start_tcp(&[]);
    let port = r.port.expect("tcp port");
    let t0 = Instant::now();
    let run = r.jobq_at(
        &format!("rediss://127.0.0.1:{port}/0"),
        &["--connect-timeout", "1s", "inspect"],
    );
    error_line(&run, 3, &["server does not speak TLS", "use redis://"]);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the connect timeout applies"
    );
}

#[test]
fn a_tls_server_on_a_plain_url_is_named() {
    let tls = TlsFiles::new();
    let r = Redis::start_tls(&tls, false, &[]);
    let port = r.tls_port.expect("tls port");
    let t0 = Instant::now();
    let run = r.jobq_at(
        &format!("redis://127.0.0.1:{port}/0"),
        &["--connect-timeout", "2s", "inspect"],
    );
    error_line(&run, 3, &["the server may require TLS; use rediss://"]);
    assert!(t0.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_silent_server_meets_the_connect_timeout() {
    // Accepts TCP (the kernel does) and never says a word.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let t0 = Instant::now();
    let run = jobq(&[
        "--url",
        &format!("rediss://127.0.0.1:{port}/0"),
        "--tls-insecure",
        "--connect-timeout",
        "500ms",
        "inspect",
    ]);
    error_line(&run, 3, &["timed out"]);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "{:?}\n{}",
        t0.elapsed(),
        run.explain()
    );
    drop(l);
}

#[test]
fn tls_flags_are_checked_before_anything_connects() {
    let tls = TlsFiles::new();
    // Nothing listens there: every failure below is found before connecting.
    let url = "rediss://127.0.0.1:1/0";
    let not_pem = write_file(tls.dir.path(), "notes.txt", "not a certificate\n");
    let missing = tls.dir.path().join("missing.pem");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--tls-cert", a(&tls.client_cert)],
            vec!["--tls-cert needs --tls-key"],
        ),
        (
            vec!["--tls-key", a(&tls.client_key)],
            vec!["--tls-key needs --tls-cert"],
        ),
        (
            vec!["--tls-ca", a(&missing)],
            vec!["--tls-ca", "missing.pem"],
        ),
        (
            vec!["--tls-ca", a(&not_pem)],
            vec!["--tls-ca", "notes.txt", "no PEM certificate"],
        ),
        (
            vec!["--tls-cert", a(&not_pem), "--tls-key", a(&tls.client_key)],
            vec!["--tls-cert", "notes.txt"],
        ),
        (
            vec!["--tls-cert", a(&tls.client_cert), "--tls-key", a(&not_pem)],
            vec!["--tls-key", "notes.txt", "private key"],
        ),
        (
            vec![
                "--tls-cert",
                a(&tls.client_cert),
                "--tls-key",
                a(&tls.stranger_key),
            ],
            vec!["is not the private key of --tls-cert"],
        ),
    ];
    for (flags, mentions) in cases {
        let mut args = vec!["--url", url];
        args.extend(flags);
        args.push("inspect");
        let run = jobq(&args);
        error_line(&run, 2, &mentions);
    }
    // TLS flags on a URL without TLS.
    for url in ["redis://127.0.0.1:1/0", "unix:///nonexistent/redis.sock"] {
        let run = jobq(&["--url", url, "--tls-ca", a(&tls.ca), "inspect"]);
        error_line(&run, 2, &["--tls-ca", "use rediss://"]);
        let run = jobq(&["--url", url, "--tls-insecure", "enqueue", "--project", "p"]);
        error_line(&run, 2, &["--tls-insecure", "use rediss://"]);
    }
}

/// `--read-from rediss://`: a replica that replicates over TLS is read
/// with the same `--tls-*` options as `--url`; its password is never
/// printed. The TLS flags may also serve a TLS replica of a plain `--url`.
#[test]
fn a_tls_replica_is_read_with_the_same_options() {
    let tls = TlsFiles::new();
    let primary = Redis::start_tls(&tls, false, &["--repl-diskless-sync-delay", "0"]);
    let port = primary.tls_port.expect("tls port").to_string();
    let replica = Redis::start_tls(
        &tls,
        false,
        &[
            "--replicaof",
            "127.0.0.1",
            &port,
            "--tls-replication",
            "yes",
            "--requirepass",
            "r3plicapw",
        ],
    );
    let mut con = primary.con();
    let victim = popoto_create(&mut con, &job_id(1), "p", "pending", 1000.0);
    popoto_create(&mut con, &job_id(2), "p", "pending", 1001.0);
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), victim.as_bytes()]);
    let mut rc = replica.con();
    let t0 = Instant::now();
    loop {
        let n: i64 = redis::cmd("SCARD")
            .arg("$Class:RedisJob")
            .query(&mut rc)
            .expect("SCARD");
        if n == 2 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the TLS replica did not sync\n{}",
            replica.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let read_from = format!(
        "rediss://:r3plicapw@127.0.0.1:{}/0",
        replica.tls_port.expect("tls port")
    );
    let args = |url: &str| {
        vec![
            "--url".to_string(),
            url.to_string(),
            "--tls-ca".into(),
            a(&tls.ca).into(),
            "--read-from".into(),
            read_from.clone(),
            "--json".into(),
            "orphans".into(),
            "scan".into(),
            "--grace".into(),
            "100ms".into(),
        ]
    };
    for url in [primary.tls_url("127.0.0.1"), primary.url()] {
        let argv = args(&url);
        let run = jobq(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        run.expect_code(1);
        let j = run.json();
        assert_eq!(j["counts"]["orphan"], 1, "{}", run.explain());
        assert_eq!(
            j["read_from"]["url"],
            format!(
                "rediss://:***@127.0.0.1:{}/0",
                replica.tls_port.unwrap_or(0)
            )
        );
        assert!(
            !run.stdout().contains("r3plicapw") && !run.stderr().contains("r3plicapw"),
            "{}",
            run.explain()
        );
    }
}
