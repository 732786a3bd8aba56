//! Output never grows with a value's size: a record whose fields hold tens
//! of megabytes is reported through bounded previews (with the full length)
//! by every command that shows it, in text and in JSON, and quickly.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jobq::schema::msgpack::encode;
use jobq::schema::Value as V;

/// Big enough that output proportional to it is unmistakable, small enough
/// to keep the test fast.
const BIG: usize = 20 * 1024 * 1024;
/// What any one command may print about such a record.
const MAX_OUT: usize = 64 * 1024;
const DEADLINE: Duration = Duration::from_secs(60);

struct Bounded {
    code: Option<i32>,
    stdout_len: usize,
    head: String,
    stderr: String,
    took: Duration,
}

/// Run jobq, keeping at most MAX_OUT + 1 bytes of stdout (the rest is
/// drained and counted, never kept) and killing it at DEADLINE.
fn run_bounded(r: &Redis, args: &[&str]) -> Bounded {
    let t0 = Instant::now();
    let mut child = Command::new(jobq_bin())
        .arg("--url")
        .arg(r.url())
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut head = Vec::new();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if head.len() <= MAX_OUT {
                        head.extend_from_slice(&buf[..n.min(MAX_OUT + 1 - head.len())]);
                    }
                    total += n;
                }
            }
        }
        (total, String::from_utf8_lossy(&head).into_owned())
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = (&mut err).take(1 << 16).read_to_end(&mut s);
        let _ = std::io::copy(&mut err, &mut std::io::sink());
        String::from_utf8_lossy(&s).into_owned()
    });
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait jobq") {
            break st.code();
        }
        if t0.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout_len, head) = reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    Bounded {
        code,
        stdout_len,
        head,
        stderr,
        took: t0.elapsed(),
    }
}

#[track_caller]
fn assert_bounded(what: &str, b: &Bounded, code: i32) {
    assert!(
        b.code.is_some(),
        "{what}: still running after {:?} (killed); {} bytes of stdout so far",
        b.took,
        b.stdout_len
    );
    assert!(
        b.stdout_len <= MAX_OUT,
        "{what}: printed {} bytes for one record (at most {MAX_OUT}); starts:\n{}",
        b.stdout_len,
        b.head
    );
    assert_eq!(
        b.code,
        Some(code),
        "{what}: exit code\n--- stdout (head) ---\n{}\n--- stderr ---\n{}",
        b.head,
        b.stderr
    );
}

#[test]
fn a_huge_status_field_is_shown_as_a_bounded_preview_everywhere() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, "big", "p", "pending", 1_767_225_600.0);
    let huge = "x".repeat(BIG);
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("status")
        .arg(encode(&V::Str(huge)))
        .query(&mut con)
        .expect("HSET");
    // A second record whose sorted field is a huge string, not a number.
    let key2 = popoto_create(&mut con, "big2", "p", "pending", 1_767_225_600.0);
    let _: () = redis::cmd("HSET")
        .arg(&key2)
        .arg("created_at")
        .arg(encode(&V::Str("y".repeat(BIG))))
        .query(&mut con)
        .expect("HSET");

    let scan = run_bounded(&r, &["orphans", "scan", "--grace", "0"]);
    assert_bounded("orphans scan", &scan, 1);
    assert!(scan.head.contains("malformed"), "{}", scan.head);
    // The preview says how long the whole value is (msgpack str32 header: +5).
    assert!(
        scan.head.contains(&format!("<{} bytes>", BIG)),
        "{}",
        scan.head
    );

    let json = run_bounded(&r, &["--json", "orphans", "scan", "--grace", "0"]);
    assert_bounded("orphans scan --json", &json, 1);
    let j: serde_json::Value = serde_json::from_str(&json.head)
        .unwrap_or_else(|e| panic!("scan --json is not one JSON object ({e}):\n{}", json.head));
    let findings = j["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{j}");
    let status = &findings
        .iter()
        .find(|f| f["job_id"] == "big")
        .expect("the big record")["observed"]["hash"]["status"];
    assert_eq!(status["bytes"], BIG + 5, "{status}");
    // The raw msgpack starts with a binary header: the first bytes as hex.
    assert!(status["preview"]["hex"].is_string(), "{status}");

    let inspect = run_bounded(&r, &["inspect", "big"]);
    assert_bounded("inspect big", &inspect, 1);
    assert!(inspect.head.contains("malformed"), "{}", inspect.head);
    let inspect = run_bounded(&r, &["--json", "inspect", "big2"]);
    assert_bounded("inspect --json big2", &inspect, 1);

    let dry = run_bounded(&r, &["reindex", "--dry-run", "--grace", "0"]);
    assert_bounded("reindex --dry-run", &dry, 0);
    assert!(dry.head.contains("not touched"), "{}", dry.head);
    let dry = run_bounded(&r, &["--json", "reindex", "--dry-run", "--grace", "0"]);
    assert_bounded("reindex --dry-run --json", &dry, 0);
}
