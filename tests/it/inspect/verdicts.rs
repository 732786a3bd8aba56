//! The provisional verdict on each damage kind, each built by hand with
//! raw redis commands.

use super::*;

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
