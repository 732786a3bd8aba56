//! The overview: counts, the oldest pending, undeclared indexes, wrong
//! types, an empty database.

use super::*;

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
