//! `jobq inspect` against a real redis-server: the overview and its health
//! line, `--watch`, job lists, one job with every set it is in, and the
//! provisional verdict on each damage kind of docs/layout.md, each built by hand
//! with raw redis commands.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

const T0: f64 = 1767225600.5;

fn cmd(con: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).expect("redis command")
}

/// `jobq --json inspect ARGS...`, parsed, with the exit code checked.
fn inspect_json(r: &Redis, args: &[&str], code: i32) -> Value {
    let mut full = vec!["--json", "inspect"];
    full.extend_from_slice(args);
    let run = r.jobq(&full);
    run.expect_code(code);
    let j = run.json();
    assert_eq!(j["schema"], 1, "{}", run.explain());
    assert_eq!(j["command"], "inspect", "{}", run.explain());
    j
}

fn status_size(j: &Value, status: &str) -> Value {
    j["status_indexes"]
        .as_array()
        .expect("status_indexes")
        .iter()
        .find(|s| s["status"] == status)
        .unwrap_or_else(|| panic!("no status {status} in {j}"))
        .clone()
}

// ---------------------------------------------------------------- overview

#[test]
fn overview_counts_every_status_and_finds_the_oldest_pending() {
    let r = Redis::start();
    let mut con = r.con();
    // The oldest job of all is completed: the search must walk past it.
    popoto_create(&mut con, "old-done", "p", "completed", T0 - 1000.0);
    popoto_create(&mut con, "j-pending-2", "p", "pending", T0 + 2.0);
    popoto_create(&mut con, "j-pending-1", "q", "pending", T0 + 1.0);
    popoto_create(&mut con, "j-running", "q", "running", T0);
    let j = inspect_json(&r, &[], 0);
    assert_eq!(j["view"], "overview");
    assert_eq!(j["model"], "RedisJob");
    assert_eq!(j["class_set"]["key"], "$Class:RedisJob");
    assert_eq!(j["class_set"]["size"], 4);
    for (status, n) in [
        ("pending", 2),
        ("running", 1),
        ("completed", 1),
        ("failed", 0),
    ] {
        let s = status_size(&j, status);
        assert_eq!(s["size"], n, "{status}: {j}");
        assert_eq!(s["declared"], true);
        assert_eq!(s["key"], format!("$KeyF:RedisJob:status:{status}"));
    }
    assert_eq!(j["status_indexes"].as_array().map(Vec::len), Some(4));
    assert_eq!(j["status_total"], 4);
    assert_eq!(j["health"]["ok"], true, "{j}");
    let oldest = &j["oldest_pending"];
    assert_eq!(oldest["job_id"], "j-pending-1", "{j}");
    assert_eq!(oldest["key"], "RedisJob:j/-pending/-1:q:pending");
    assert_eq!(oldest["field"], "created_at");
    assert_eq!(oldest["score"], T0 + 1.0);
    let age = oldest["age_seconds"].as_f64().expect("age");
    let now = j["server_time"].as_f64().expect("server_time");
    assert!(
        (age - (now - (T0 + 1.0))).abs() < 1e-3,
        "age {age} now {now}"
    );
    assert_eq!(j["discovery"]["walked_keyspace"], true);
    assert_eq!(j["discovery"]["pattern"], "$KeyF:RedisJob:status:*");

    let text = r.jobq(&["inspect"]);
    text.expect_code(0);
    let out = text.stdout();
    assert!(
        out.contains("$Class:RedisJob") && out.contains("health: ok"),
        "{}",
        text.explain()
    );
    assert!(
        out.contains("oldest pending: j-pending-1"),
        "{}",
        text.explain()
    );
    assert!(
        out.contains("walked") || out.contains("SCAN MATCH"),
        "{}",
        text.explain()
    );
}

#[test]
fn overview_discovers_undeclared_indexes_and_says_when_numbers_do_not_add_up() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j1", "p", "pending", T0);
    popoto_create(&mut con, "j2", "p", "pending", T0);
    // An orphan: in the class set, in no status index.
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k.as_bytes()],
    );
    // A status the schema does not list, holding a job of its own.
    let lost = popoto_create(&mut con, "j3", "p", "lost", T0);
    let j = inspect_json(&r, &[], 1);
    let s = status_size(&j, "lost");
    assert_eq!(s["declared"], false);
    assert_eq!(s["size"], 1);
    assert_eq!(j["discovery"]["undeclared_found"], 1);
    assert_eq!(j["class_set"]["size"], 3);
    assert_eq!(j["status_total"], 2);
    assert_eq!(j["health"]["ok"], false);
    let msg = j["health"]["message"].as_str().expect("message");
    assert!(
        msg.contains("jobq orphans scan") && msg.contains("1 more"),
        "{msg}"
    );
    let text = r.jobq(&["inspect"]);
    text.expect_code(1);
    assert!(
        text.stdout().contains("lost (not in schema)"),
        "{}",
        text.explain()
    );
    assert!(
        text.stdout().contains("jobq orphans scan"),
        "{}",
        text.explain()
    );

    // --no-discover: the schema's statuses only, and no keyspace walk.
    let j = inspect_json(&r, &["--no-discover"], 1);
    assert_eq!(j["discovery"]["walked_keyspace"], false);
    assert!(
        j["status_indexes"]
            .as_array()
            .expect("array")
            .iter()
            .all(|s| s["declared"] == true),
        "{j}"
    );
    let _ = lost;
}

#[test]
fn overview_shows_wrong_types_and_non_utf8_index_names() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j1", "p", "pending", T0);
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:status:running", b"oops"],
    );
    cmd(
        &mut con,
        &[
            b"SADD",
            b"$KeyF:RedisJob:status:bad\xff",
            b"RedisJob:x:p:bad\xff",
        ],
    );
    let j = inspect_json(&r, &[], 1);
    let running = status_size(&j, "running");
    assert_eq!(running["size"], Value::Null);
    assert!(
        running["error"]
            .as_str()
            .expect("error")
            .contains("WRONGTYPE"),
        "{j}"
    );
    let bad = j["status_indexes"]
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["declared"] == false)
        .expect("the non-UTF-8 index")
        .clone();
    assert_eq!(
        bad["key"],
        json!({"hex": "244b6579463a52656469734a6f623a7374617475733a626164ff"})
    );
    assert_eq!(bad["status"], json!({"hex": "626164ff"}));
    assert_eq!(bad["size"], 1);
    assert_eq!(j["health"]["ok"], false);
    let text = r.jobq(&["inspect"]);
    text.expect_code(1);
    assert!(
        text.stdout().contains("$KeyF:RedisJob:status:bad\\xff"),
        "{}",
        text.explain()
    );
    assert!(text.stdout().contains("WRONGTYPE"), "{}", text.explain());
}

#[test]
fn overview_of_an_empty_database() {
    let r = Redis::start();
    let j = inspect_json(&r, &[], 0);
    assert_eq!(j["class_set"]["size"], 0);
    assert_eq!(j["oldest_pending"], Value::Null);
    assert_eq!(j["oldest_pending_note"], "no pending jobs");
    assert_eq!(j["health"]["ok"], true);
}

// ---------------------------------------------------------------- --watch

/// Start `jobq inspect --watch`, wait for `frames` lines of stdout that
/// satisfy `is_frame`, send SIGINT, and return (exit code, stdout).
fn watch_until(
    r: &Redis,
    args: &[&str],
    frames: usize,
    is_frame: fn(&str) -> bool,
) -> (i32, String) {
    let mut child = Command::new(jobq_bin())
        .args(["--url", &r.url()])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            if is_frame(&line) {
                let _ = tx.send(());
            }
        }
        all
    });
    for _ in 0..frames {
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!("no frame within 30 s\n{}", r.log());
        }
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let status = child.wait().expect("wait jobq");
    let out = reader.join().expect("reader");
    (status.code().unwrap_or(-1), out)
}

#[test]
fn watch_prints_json_lines_until_ctrl_c_then_exits_130() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j1", "p", "pending", T0);
    let (code, out) = watch_until(&r, &["--json", "inspect", "--watch", "0.2"], 3, |l| {
        l.starts_with('{')
    });
    assert_eq!(code, 130, "{out}");
    let frames: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON Lines ({e}): {l:?}")))
        .collect();
    assert!(frames.len() >= 3, "{out}");
    for f in &frames {
        assert_eq!(f["command"], "inspect");
        assert_eq!(f["view"], "overview");
        assert_eq!(f["class_set"]["size"], 1);
    }
}

#[test]
fn watch_redraws_text_without_clearing_a_pipe() {
    let r = Redis::start();
    let (code, out) = watch_until(&r, &["inspect", "--watch", "0.2"], 2, |l| {
        l.starts_with("health:")
    });
    assert_eq!(code, 130, "{out}");
    assert!(out.matches("health:").count() >= 2, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no terminal escapes into a pipe: {out:?}"
    );
}

#[test]
fn watch_refuses_a_silly_period() {
    let r = Redis::start();
    r.jobq(&["inspect", "--watch", "0"]).expect_code(2);
    r.jobq(&["inspect", "--watch", "nan"]).expect_code(2);
    jobq(&["inspect", "--watch", "1", "--status", "pending"]).expect_code(2);
}

// ---------------------------------------------------------------- lists

/// Enqueue with jobq, returning the job_id.
fn enqueue(r: &Redis, args: &[&str]) -> String {
    let mut full = vec!["enqueue"];
    full.extend_from_slice(args);
    let run = r.jobq(&full);
    run.expect_code(0);
    run.stdout().trim().to_owned()
}

fn job_ids(j: &Value) -> Vec<String> {
    j["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|x| x["job_id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn list_by_status_sorted_by_priority_then_created_at() {
    let r = Redis::start();
    for (id, prio, t) in [
        ("low-old", "low", 1.0),
        ("normal-new", "normal", 9.0),
        ("high-new", "high", 8.0),
        ("normal-old", "normal", 2.0),
        ("high-old", "high", 3.0),
    ] {
        let at = format!("created_at={}", T0 + t);
        enqueue(
            &r,
            &[
                "--project",
                "p",
                "--job-id",
                id,
                "--priority",
                prio,
                "--set",
                &at,
                "--message",
                id,
            ],
        );
    }
    enqueue(
        &r,
        &["--project", "p", "--status", "running", "--job-id", "busy"],
    );
    enqueue(
        &r,
        &[
            "--project",
            "p",
            "--job-id",
            "odd",
            "--set",
            "priority=urgent",
            "--set",
            "created_at=0",
        ],
    );
    let j = inspect_json(&r, &["--status", "pending"], 0);
    assert_eq!(j["view"], "list");
    assert_eq!(
        job_ids(&j),
        [
            "high-old",
            "high-new",
            "normal-old",
            "normal-new",
            "low-old",
            "odd"
        ]
    );
    assert_eq!(j["more_not_shown"], 0);
    assert_eq!(j["more_exist"], false);
    let first = &j["jobs"][0];
    assert_eq!(first["key"], "RedisJob:high/-old:p:pending");
    assert_eq!(first["project"], "p");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["key_status"], "pending");
    assert_eq!(first["priority"], "high");
    assert_eq!(first["time"], T0 + 3.0);
    assert_eq!(first["message"], "high-old");
    assert_eq!(first["fields"]["created_at"], T0 + 3.0);
    assert_eq!(first["fields"]["job_id"], "high-old");
    assert_eq!(first["problem"], Value::Null);
    assert!(first["age_seconds"].as_f64().expect("age") > 0.0);

    let text = r.jobq(&["inspect", "--status", "pending"]);
    text.expect_code(0);
    let out = text.stdout();
    let header = out.lines().next().unwrap_or_default();
    for col in ["job_id", "project", "status", "priority", "age", "message"] {
        assert!(header.contains(col), "{header}");
    }
    let order: Vec<usize> = ["high-old", "high-new", "normal-old", "low-old"]
        .iter()
        .map(|id| {
            out.find(&format!(" {id} "))
                .unwrap_or_else(|| panic!("{id} missing\n{out}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert!(!out.contains("busy"), "{out}");
}

#[test]
fn list_limit_says_how_many_more_exist() {
    let r = Redis::start();
    let mut con = r.con();
    for i in 0..5 {
        popoto_create(&mut con, &format!("j{i}"), "p", "pending", T0 + i as f64);
    }
    let j = inspect_json(&r, &["--status", "pending", "--limit", "2"], 0);
    assert_eq!(j["jobs"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["more_not_shown"], 3);
    assert_eq!(j["more_exist"], true);
    assert_eq!(j["walked"], "$KeyF:RedisJob:status:pending");
    let text = r.jobq(&["inspect", "--status", "pending", "--limit", "2"]);
    assert!(
        text.stdout().contains("3 more not shown"),
        "{}",
        text.explain()
    );
    assert!(text.stdout().contains("SSCAN order"), "{}", text.explain());
}

#[test]
fn list_by_project_and_status_walks_the_smaller_set() {
    let r = Redis::start();
    let mut con = r.con();
    for i in 0..30 {
        popoto_create(
            &mut con,
            &format!("big{i}"),
            "big",
            "pending",
            T0 + i as f64,
        );
    }
    popoto_create(&mut con, "small-pending", "small", "pending", T0);
    popoto_create(&mut con, "small-running", "small", "running", T0);
    let j = inspect_json(&r, &["--status", "pending", "--project", "small"], 0);
    assert_eq!(job_ids(&j), ["small-pending"]);
    assert_eq!(j["walked"], "$KeyF:RedisJob:project_key:small");
    assert_eq!(j["checked_against"], "$KeyF:RedisJob:status:pending");
    assert_eq!(j["more_exist"], false);
    assert_eq!(j["more_not_shown"], 0);
    // The other way round: the status set is the smaller one.
    let j = inspect_json(&r, &["--status", "running", "--project", "big"], 0);
    assert_eq!(j["walked"], "$KeyF:RedisJob:status:running");
    assert!(job_ids(&j).is_empty());
    // Over the limit with two filters: more exist, count unknown or exact.
    let j = inspect_json(
        &r,
        &["--status", "pending", "--project", "big", "--limit", "3"],
        0,
    );
    assert_eq!(j["jobs"].as_array().map(Vec::len), Some(3));
    assert_eq!(j["more_exist"], true);
    // Project only.
    let j = inspect_json(&r, &["--project", "small"], 0);
    let mut ids = job_ids(&j);
    ids.sort();
    assert_eq!(ids, ["small-pending", "small-running"]);
}

#[test]
fn list_shows_huge_undecodable_missing_and_wrong_type_members_without_crashing() {
    let r = Redis::start();
    let mut con = r.con();
    let big = popoto_create(&mut con, "big", "p", "pending", T0);
    let huge = vec![b'x'; 2 << 20];
    let mut packed = vec![0xdb];
    packed.extend_from_slice(&(huge.len() as u32).to_be_bytes());
    packed.extend_from_slice(&huge);
    cmd(
        &mut con,
        &[b"HSET", big.as_bytes(), b"message_text", &packed],
    );
    let bad = popoto_create(&mut con, "bad", "p", "pending", T0 + 1.0);
    cmd(
        &mut con,
        &[b"HSET", bad.as_bytes(), b"message_text", b"not msgpack"],
    );
    // Members of the index that are not records.
    cmd(
        &mut con,
        &[
            b"SADD",
            b"$KeyF:RedisJob:status:pending",
            b"RedisJob:gone:p:pending",
        ],
    );
    cmd(
        &mut con,
        &[
            b"SADD",
            b"$KeyF:RedisJob:status:pending",
            b"RedisJob:str:p:pending",
        ],
    );
    cmd(&mut con, &[b"SET", b"RedisJob:str:p:pending", b"x"]);
    cmd(
        &mut con,
        &[
            b"SADD",
            b"$KeyF:RedisJob:status:pending",
            b"RedisJob:\xff:p:pending",
        ],
    );
    let j = inspect_json(&r, &["--status", "pending"], 0);
    let by_key = |k: &str| {
        j["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|x| x["key"] == k)
            .unwrap_or_else(|| panic!("{k} not listed: {j}"))
            .clone()
    };
    assert_eq!(
        by_key(&big)["fields"]["message_text"],
        json!({"too_large_bytes": 2 * 1024 * 1024 + 5})
    );
    let undecodable = &by_key(&bad)["fields"]["message_text"];
    assert!(undecodable["undecodable"].is_string(), "{undecodable}");
    assert_eq!(undecodable["raw"], "not msgpack");
    assert!(by_key("RedisJob:gone:p:pending")["problem"]
        .as_str()
        .expect("problem")
        .contains("no such key"));
    assert_eq!(
        by_key("RedisJob:str:p:pending")["problem"],
        "a string, not a hash"
    );
    let non_utf8 = j["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|x| x["key"].is_object())
        .expect("the non-UTF-8 member");
    assert_eq!(
        non_utf8["key"],
        json!({"hex": "52656469734a6f623aff3a703a70656e64696e67"})
    );
    assert_eq!(non_utf8["job_id"], json!({"hex": "ff"}));

    let text = r.jobq(&["inspect", "--status", "pending"]);
    text.expect_code(0);
    let out = text.stdout();
    assert!(
        out.contains(&format!("<{} bytes>", 2 * 1024 * 1024 + 5)),
        "{out}"
    );
    assert!(out.contains("<undecodable"), "{out}");
    assert!(out.contains("RedisJob:\\xff:p:pending"), "{out}");
}

#[test]
fn list_of_a_wrong_type_set_is_a_finding() {
    let r = Redis::start();
    let mut con = r.con();
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:status:pending", b"oops"],
    );
    let j = inspect_json(&r, &["--status", "pending"], 1);
    assert!(
        j["problems"][0]
            .as_str()
            .expect("problem")
            .contains("WRONGTYPE"),
        "{j}"
    );
}

// ---------------------------------------------------------------- one job

fn record_check<'a>(rec: &'a Value, list: &str, set: &str) -> &'a Value {
    rec[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {rec}"))
        .iter()
        .find(|c| c["set"] == set)
        .unwrap_or_else(|| panic!("{set} not in {list}: {rec}"))
}

#[test]
fn one_job_in_json_field_by_field() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(
        &mut con,
        "0123456789abcdef0123456789abcdef",
        "team:ops-1",
        "pending",
        T0,
    );
    popoto_create(&mut con, "another", "team:ops-1", "running", T0);
    let j = inspect_json(&r, &["0123456789abcdef0123456789abcdef"], 0);
    assert_eq!(j["view"], "job");
    assert_eq!(j["job_id"], "0123456789abcdef0123456789abcdef");
    assert_eq!(j["found"], true);
    assert_eq!(j["given_key"], Value::Null);
    assert_eq!(
        j["pattern"],
        "RedisJob:0123456789abcdef0123456789abcdef:*:*"
    );
    let recs = j["records"].as_array().expect("records");
    assert_eq!(recs.len(), 1, "{j}");
    let rec = &recs[0];
    assert_eq!(rec["key"], key);
    assert_eq!(
        rec["key"],
        "RedisJob:0123456789abcdef0123456789abcdef:team{&#58;}ops/-1:pending"
    );
    assert_eq!(rec["type"], "hash");
    assert_eq!(rec["ttl_seconds"], Value::Null);
    assert_eq!(rec["parse_error"], Value::Null);
    assert_eq!(
        rec["key_fields"],
        json!({"job_id": "0123456789abcdef0123456789abcdef", "project_key": "team:ops-1", "status": "pending"})
    );
    assert_eq!(
        rec["fields"],
        json!({
            "job_id": "0123456789abcdef0123456789abcdef",
            "project_key": "team:ops-1",
            "status": "pending",
            "priority": "normal",
            "message_text": "msg 0123456789abcdef0123456789abcdef",
            "created_at": T0,
        })
    );
    // Declaration order is kept in the JSON object.
    let raw = r
        .jobq(&["--json", "inspect", "0123456789abcdef0123456789abcdef"])
        .stdout();
    let at = |s: &str| raw.find(s).unwrap_or_else(|| panic!("{s} not in {raw}"));
    assert!(
        at("\"job_id\":\"0123") < at("\"project_key\":\"team")
            && at("\"priority\"") < at("\"created_at\":")
    );
    assert_eq!(rec["missing_fields"], json!([]));
    assert_eq!(rec["extra_fields"], json!([]));
    assert_eq!(
        rec["class_set"],
        json!({"set": "$Class:RedisJob", "member": true})
    );
    for (status, member) in [
        ("pending", true),
        ("running", false),
        ("completed", false),
        ("failed", false),
    ] {
        let c = record_check(
            rec,
            "status_indexes",
            &format!("$KeyF:RedisJob:status:{status}"),
        );
        assert_eq!(c["member"], member, "{status}");
        assert_eq!(c["field"], "status");
        assert_eq!(c["value"], status);
        assert_eq!(c["declared"], true);
    }
    let p = record_check(
        rec,
        "key_field_indexes",
        "$KeyF:RedisJob:project_key:team{&#58;}ops/-1",
    );
    assert_eq!(p["member"], true);
    assert_eq!(p["source"], "key");
    assert_eq!(p["value"], "team:ops-1");
    let z = record_check(rec, "sorted_sets", "$SortF:RedisJob:created_at");
    assert_eq!(z["member"], true);
    assert_eq!(z["score"], T0);
    let mut member_of: Vec<String> = rec["member_of"]
        .as_array()
        .expect("member_of")
        .iter()
        .map(|m| m.as_str().unwrap_or("?").to_owned())
        .collect();
    member_of.sort();
    assert_eq!(
        member_of,
        [
            "$Class:RedisJob",
            "$KeyF:RedisJob:project_key:team{&#58;}ops/-1",
            "$KeyF:RedisJob:status:pending",
            "$SortF:RedisJob:created_at"
        ]
    );
    assert_eq!(j["verdict"]["kind"], "healthy");
    assert_eq!(j["verdict"]["findings"], json!([]));

    // The full key stands for its job.
    let by_key = inspect_json(&r, &[&key], 0);
    assert_eq!(by_key["given_key"], key);
    assert_eq!(by_key["job_id"], "0123456789abcdef0123456789abcdef");
    assert_eq!(by_key["records"], j["records"]);

    let text = r.jobq(&["inspect", &key]);
    text.expect_code(0);
    let out = text.stdout();
    assert!(out.contains("verdict healthy"), "{out}");
    assert!(
        out.contains("\"team:ops-1\"") && out.contains("1767225600.5"),
        "{out}"
    );
    assert!(
        out.contains("$SortF:RedisJob:created_at (score 1767225600.5)"),
        "{out}"
    );
}

#[test]
fn glob_characters_in_a_job_id_are_matched_literally() {
    let r = Redis::start();
    enqueue(&r, &["--project", "p", "--job-id", "a*b"]);
    enqueue(&r, &["--project", "p", "--job-id", "axxb"]);
    enqueue(&r, &["--project", "p", "--job-id", "a?c[x]:y"]);
    enqueue(&r, &["--project", "p", "--job-id", "abc[x]:y"]);
    let j = inspect_json(&r, &["a*b"], 0);
    let recs = j["records"].as_array().expect("records");
    assert_eq!(recs.len(), 1, "{j}");
    assert_eq!(recs[0]["key"], "RedisJob:a/*b:p:pending");
    assert_eq!(recs[0]["fields"]["job_id"], "a*b");
    let j = inspect_json(&r, &["axxb"], 0);
    assert_eq!(j["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(j["records"][0]["key"], "RedisJob:axxb:p:pending");
    let j = inspect_json(&r, &["a?c[x]:y"], 0);
    assert_eq!(j["records"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(j["records"][0]["fields"]["job_id"], "a?c[x]:y");
    // Patterns that would match as globs find nothing.
    for id in ["a?b", "a*", "*", "a[x]xb", "a"] {
        let j = inspect_json(&r, &[id], 1);
        assert_eq!(j["found"], false, "{id}: {j}");
    }
}

#[test]
fn an_unknown_job_exits_1_with_a_message() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "known", "p", "pending", T0);
    let run = r.jobq(&["inspect", "unknown"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("no record of job_id unknown"),
        "{}",
        run.explain()
    );
    assert_eq!(run.stdout(), "", "{}", run.explain());
    let j = inspect_json(&r, &["unknown"], 1);
    assert_eq!(j["found"], false);
    assert_eq!(j["job_id"], "unknown");
    assert_eq!(j["records"], json!([]));
    assert_eq!(j["verdict"]["kind"], "not_found");
    r.jobq(&["inspect", ""]).expect_code(2);
}

#[test]
fn a_non_utf8_job_id_is_matched_literally() {
    let r = Redis::start();
    let mut con = r.con();
    let key: &[u8] = b"RedisJob:\xff\xfe:p:pending";
    cmd(
        &mut con,
        &[
            b"HSET",
            key,
            b"job_id",
            b"\xa2\xff\xfe",
            b"status",
            &pack("pending"),
        ],
    );
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", key]);
    cmd(&mut con, &[b"SADD", b"$KeyF:RedisJob:status:pending", key]);
    let out = Command::new(jobq_bin())
        .args(["--url", &r.url(), "--json", "inspect"])
        .arg(OsStr::from_bytes(b"\xff\xfe"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run jobq");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["job_id"], json!({"hex": "fffe"}));
    assert_eq!(j["found"], true);
    let rec = &j["records"][0];
    assert_eq!(
        rec["key"],
        json!({"hex": "52656469734a6f623afffe3a703a70656e64696e67"})
    );
    assert_eq!(rec["parse_error"], "a key segment is not valid UTF-8");
    assert_eq!(j["verdict"]["kind"], "malformed");
    // Not the same bytes: not found.
    let out = Command::new(jobq_bin())
        .args(["--url", &r.url(), "--json", "inspect"])
        .arg(OsStr::from_bytes(b"\xff"))
        .output()
        .expect("run jobq");
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["found"], false, "{j}");
}

#[test]
fn huge_undecodable_and_undeclared_fields_in_one_job() {
    let r = Redis::start();
    let mut con = r.con();
    let key = popoto_create(&mut con, "j", "p", "pending", T0);
    let mut packed = vec![0xdb];
    packed.extend_from_slice(&(2u32 << 20).to_be_bytes());
    packed.extend(std::iter::repeat_n(b'x', 2 << 20));
    cmd(
        &mut con,
        &[b"HSET", key.as_bytes(), b"message_text", &packed],
    );
    cmd(&mut con, &[b"HSET", key.as_bytes(), b"priority", b"\xd9"]);
    cmd(&mut con, &[b"HSET", key.as_bytes(), b"extra\xff", b"\x01"]);
    // A value that is not msgpack is docs/layout.md's malformed (exit 1).
    let j = inspect_json(&r, &["j"], 1);
    let rec = &j["records"][0];
    assert_eq!(
        rec["fields"]["message_text"],
        json!({"too_large_bytes": (2 << 20) + 5})
    );
    assert!(
        rec["fields"]["priority"]["undecodable"].is_string(),
        "{rec}"
    );
    assert_eq!(
        rec["extra_fields"],
        json!([{"name": {"hex": "6578747261ff"}, "value": 1}])
    );
    assert_eq!(
        j["verdict"]["kind"], "malformed",
        "a value that is not msgpack is reported, never called healthy"
    );
    assert!(
        j["verdict"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("priority is not valid msgpack")),
        "{}",
        j["verdict"]
    );
    let text = r.jobq(&["inspect", "j"]);
    let out = text.stdout();
    assert!(out.contains(&format!("<{} bytes>", (2 << 20) + 5)), "{out}");
    assert!(out.contains("<undecodable"), "{out}");
    assert!(out.contains("extra\\xff (not declared)"), "{out}");
}

// ---------------------------------------------------------------- verdicts

/// The verdict on `job`, with exit code 1 (every damage is a finding).
fn verdict(r: &Redis, arg: &str) -> Value {
    let j = inspect_json(r, &[arg], 1);
    j["verdict"].clone()
}

#[test]
fn verdict_orphan() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k.as_bytes()],
    );
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "orphan", "{v}");
    assert_eq!(
        v["repair"],
        "jobq reindex would add it to $KeyF:RedisJob:status:pending"
    );
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v}");
    let text = r.jobq(&["inspect", "j"]);
    text.expect_code(1);
    assert!(
        text.stdout().contains("verdict orphan"),
        "{}",
        text.explain()
    );
    assert!(
        text.stdout()
            .contains("repair: jobq reindex would add it to $KeyF:RedisJob:status:pending"),
        "{}",
        text.explain()
    );
}

#[test]
fn verdict_unlisted() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(&mut con, &[b"SREM", b"$Class:RedisJob", k.as_bytes()]);
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "unlisted", "{v}");
    assert_eq!(v["repair"], "jobq reindex would add it to $Class:RedisJob");
}

#[test]
fn verdict_multi_indexed() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "running", T0);
    cmd(
        &mut con,
        &[b"SADD", b"$KeyF:RedisJob:status:pending", k.as_bytes()],
    );
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "multi_indexed", "{v}");
    assert_eq!(
        v["repair"],
        "jobq reindex would remove it from $KeyF:RedisJob:status:pending"
    );
}

#[test]
fn verdict_wrong_index() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(
        &mut con,
        &[
            b"SMOVE",
            b"$KeyF:RedisJob:status:pending",
            b"$KeyF:RedisJob:status:completed",
            k.as_bytes(),
        ],
    );
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "wrong_index", "{v}");
    assert_eq!(
        v["repair"],
        "jobq reindex would move it from $KeyF:RedisJob:status:completed to $KeyF:RedisJob:status:pending (SMOVE)"
    );
}

#[test]
fn verdict_field_mismatch() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(
        &mut con,
        &[b"HSET", k.as_bytes(), b"status", &pack("running")],
    );
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "field_mismatch", "{v}");
    let repair = v["repair"].as_str().expect("repair");
    assert!(
        repair.contains("--prefer key") && repair.contains("--prefer field"),
        "{repair}"
    );
    assert!(repair.contains("\"running\" key"), "{repair}");
}

#[test]
fn verdict_partial() {
    let r = Redis::start();
    let mut con = r.con();
    // Only `status` in the hash, everything else in place.
    let k: &[u8] = b"RedisJob:j:p:pending";
    cmd(&mut con, &[b"HSET", k, b"status", &pack("pending")]);
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", k]);
    cmd(&mut con, &[b"SADD", b"$KeyF:RedisJob:status:pending", k]);
    cmd(&mut con, &[b"SADD", b"$KeyF:RedisJob:project_key:p", k]);
    let j = inspect_json(&r, &["j"], 1);
    assert_eq!(
        j["records"][0]["missing_fields"],
        json!([
            "job_id",
            "project_key",
            "priority",
            "message_text",
            "created_at"
        ])
    );
    let v = &j["verdict"];
    assert_eq!(v["kind"], "partial", "{v}");
    assert!(
        v["repair"]
            .as_str()
            .expect("repair")
            .contains("job_id, project_key from the key"),
        "{v}"
    );
}

#[test]
fn verdict_secondary_gap() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:project_key:p", k.as_bytes()],
    );
    cmd(
        &mut con,
        &[b"ZREM", b"$SortF:RedisJob:created_at", k.as_bytes()],
    );
    let v = verdict(&r, "j");
    assert_eq!(v["kind"], "secondary_gap", "{v}");
    let repairs: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["repair"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        repairs,
        ["jobq reindex would add it to $KeyF:RedisJob:project_key:p; add it to $SortF:RedisJob:created_at with score 1767225600.5"]
    );
}

#[test]
fn verdict_duplicate_shows_both_records() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j", "p", "pending", T0);
    popoto_create(&mut con, "j", "p", "running", T0);
    let j = inspect_json(&r, &["j"], 1);
    let keys: Vec<&str> = j["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|x| x["key"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(keys, ["RedisJob:j:p:pending", "RedisJob:j:p:running"]);
    let v = &j["verdict"];
    assert_eq!(v["kind"], "duplicate", "{v}");
    assert_eq!(
        v["repair"],
        "needs --duplicates keep-latest (would keep RedisJob:j:p:running)"
    );
    let text = r.jobq(&["inspect", "j"]);
    assert_eq!(
        text.stdout().matches("record RedisJob:j:p:").count(),
        2,
        "{}",
        text.explain()
    );
}

#[test]
fn verdict_malformed_wrong_type() {
    let r = Redis::start();
    let mut con = r.con();
    let k: &[u8] = b"RedisJob:j:p:pending";
    cmd(&mut con, &[b"SET", k, b"not a hash"]);
    cmd(&mut con, &[b"SADD", b"$Class:RedisJob", k]);
    cmd(&mut con, &[b"SADD", b"$KeyF:RedisJob:status:pending", k]);
    let j = inspect_json(&r, &["j"], 1);
    assert_eq!(j["records"][0]["type"], "string");
    assert_eq!(j["records"][0]["fields"], json!({}));
    assert_eq!(j["verdict"]["kind"], "malformed", "{j}");
    assert!(j["verdict"]["detail"]
        .as_str()
        .expect("detail")
        .contains("is a string, not a hash"));
}

#[test]
fn verdict_malformed_undecodable_status() {
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(&mut con, &[b"HSET", k.as_bytes(), b"status", b"pending"]);
    let j = inspect_json(&r, &["j"], 1);
    assert!(
        j["records"][0]["fields"]["status"]["undecodable"].is_string(),
        "{j}"
    );
    assert_eq!(j["verdict"]["kind"], "malformed", "{j}");
}

#[test]
fn verdict_malformed_wrong_type_index() {
    let r = Redis::start();
    let mut con = r.con();
    popoto_create(&mut con, "j", "p", "pending", T0);
    // Another status's index of the wrong type: shown, but not this job's damage.
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:status:running", b"oops"],
    );
    let j = inspect_json(&r, &["j"], 0);
    let c = record_check(
        &j["records"][0],
        "status_indexes",
        "$KeyF:RedisJob:status:running",
    );
    assert_eq!(c["member"], Value::Null);
    assert!(c["error"].as_str().expect("error").contains("WRONGTYPE"));
    assert_eq!(j["verdict"]["kind"], "healthy");
    // Its own project index of the wrong type: malformed.
    cmd(&mut con, &[b"DEL", b"$KeyF:RedisJob:project_key:p"]);
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:project_key:p", b"oops"],
    );
    let j = inspect_json(&r, &["j"], 1);
    assert_eq!(j["verdict"]["kind"], "malformed", "{j}");
    assert_eq!(
        j["verdict"]["findings"][0]["key"],
        "$KeyF:RedisJob:project_key:p"
    );
}

#[test]
fn verdict_on_a_given_key_that_is_gone() {
    let r = Redis::start();
    let mut con = r.con();
    // A status change that left the old key behind in its indexes.
    let old = popoto_create(&mut con, "j", "p", "pending", T0);
    popoto_create(&mut con, "j", "p", "running", T0);
    cmd(&mut con, &[b"DEL", old.as_bytes()]);
    let j = inspect_json(&r, &[&old], 1);
    assert_eq!(j["found"], true);
    assert_eq!(j["records"].as_array().map(Vec::len), Some(2), "{j}");
    assert_eq!(j["verdict"]["kind"], "stale_key", "{j}");
    let repair = j["verdict"]["repair"].as_str().expect("repair");
    assert!(
        repair.contains("$KeyF:RedisJob:status:pending") && repair.contains("$Class:RedisJob"),
        "{repair}"
    );
    // The job_id alone finds only the live record: the ghost is not a key.
    let j = inspect_json(&r, &["j"], 0);
    assert_eq!(j["records"].as_array().map(Vec::len), Some(1));

    // No live record at all: dangling members.
    let r = Redis::start();
    let mut con = r.con();
    let k = popoto_create(&mut con, "j", "p", "pending", T0);
    cmd(&mut con, &[b"DEL", k.as_bytes()]);
    let j = inspect_json(&r, &[&k], 1);
    assert_eq!(j["found"], false);
    assert_eq!(j["verdict"]["kind"], "dangling", "{j}");
    let kinds: Vec<&str> = j["verdict"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["kind"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kinds, ["dangling"], "one finding listing every set");
}
