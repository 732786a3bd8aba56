//! Job lists: by status and project, sorted, limited, and with members
//! that are huge, undecodable, missing or of the wrong type.

use super::*;

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
