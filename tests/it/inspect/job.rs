//! One job with every set it is in, field by field, matched literally.

use super::*;

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
