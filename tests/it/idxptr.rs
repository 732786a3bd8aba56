//! The scan and `reindex` under the indexed status layout (docs/layout.md,
//! "The other status layout"): records written byte for byte as popoto
//! 1.10.1 writes them (its INDEX_SWAP script's writes, then its MULTI),
//! every kind of that layout found and repaired, each guard proven by
//! changing the state between plan and apply. tests/interop/indexed.py
//! does the same against the real popoto.

use crate::common::*;
use serde_json::Value as J;

const SCHEMA: &str = r#"
class = "Job"
[[field]]
name = "job_id"
role = "auto"
[[field]]
name = "project_key"
role = "key"
[[field]]
name = "status"
role = "indexed"
[[field]]
name = "priority"
default = "normal"
[[field]]
name = "created_at"
type = "float"
sorted = true
default_now = true
[status]
field = "status"
values = ["pending", "running", "completed", "failed"]
"#;

const CLASS: &str = "$Class:Job";
const PROJECT: &str = "$KeyF:Job:project_key:p";
const SORTED: &str = "$SortF:Job:created_at";

fn set(status: &str) -> String {
    format!("$IndexF:Job:status:{status}")
}

fn ptr(k: &str) -> String {
    format!("$IdxPtr:{k}:status")
}

fn legacy_key(k: &str) -> Vec<u8> {
    let mut v = k.as_bytes().to_vec();
    v.extend_from_slice(b"\x00idxptr\x00status");
    v
}

const LEGACY_FIELD: &[u8] = b"status\x00idxset";

/// popoto 1.10.1's INDEX_SWAP_LUA for a record whose pointer names `from`
/// (or none): SREM from it, SADD to the new set, SET the pointer, HSET the
/// field. Atomic, as the script is.
fn swap(con: &mut redis::Connection, k: &str, status: &str) {
    let old: Option<String> = redis::cmd("GET").arg(ptr(k)).query(con).expect("GET");
    let mut p = redis::pipe();
    p.atomic();
    if let Some(old) = old.filter(|o| *o != set(status)) {
        p.cmd("SREM").arg(old).arg(k).ignore();
    }
    p.cmd("SADD").arg(set(status)).arg(k).ignore();
    p.cmd("SET").arg(ptr(k)).arg(set(status)).ignore();
    p.cmd("HSET")
        .arg(k)
        .arg("status")
        .arg(pack(status))
        .ignore();
    let _: () = p.query(con).expect("swap");
}

/// popoto 1.10.1's create: the swap, then the MULTI of the other fields
/// and sets. Returns K.
fn create(con: &mut redis::Connection, n: usize, status: &str) -> String {
    let id = job_id(n);
    let k = format!("Job:{id}:p");
    swap(con, &k, status);
    let at = 1767225600.0 + n as f64;
    let _: () = redis::pipe()
        .atomic()
        .cmd("HSET")
        .arg(&k)
        .arg("job_id")
        .arg(pack(&id))
        .arg("project_key")
        .arg(pack("p"))
        .arg("priority")
        .arg(pack("normal"))
        .arg("created_at")
        .arg(jobq::schema::msgpack::encode(&jobq::schema::Value::Float(
            at,
        )))
        .ignore()
        .cmd("SADD")
        .arg(CLASS)
        .arg(&k)
        .ignore()
        .cmd("SADD")
        .arg(PROJECT)
        .arg(&k)
        .ignore()
        .cmd("ZADD")
        .arg(SORTED)
        .arg(at)
        .arg(&k)
        .ignore()
        .query(con)
        .expect("create");
    k
}

/// popoto 1.10.1's delete of a record, pointer and all.
fn delete(con: &mut redis::Connection, k: &str) {
    let _: () = redis::pipe()
        .atomic()
        .cmd("SREM")
        .arg(PROJECT)
        .arg(k)
        .ignore()
        .cmd("SREM")
        .arg(set("pending"))
        .arg(k)
        .ignore()
        .cmd("DEL")
        .arg(ptr(k))
        .arg(legacy_key(k))
        .ignore()
        .cmd("ZREM")
        .arg(SORTED)
        .arg(k)
        .ignore()
        .cmd("DEL")
        .arg(k)
        .ignore()
        .cmd("SREM")
        .arg(CLASS)
        .arg(k)
        .ignore()
        .query(con)
        .expect("delete");
}

fn schema(r: &Redis) -> String {
    write_file(r.dir.path(), "job.toml", SCHEMA)
        .to_str()
        .expect("path")
        .to_owned()
}

fn jobq(r: &Redis, args: &[&str]) -> (Run, J) {
    let s = schema(r);
    let mut all = vec!["--schema", s.as_str(), "--json"];
    all.extend_from_slice(args);
    let run = r.jobq(&all);
    let j = run.json();
    (run, j)
}

fn get(con: &mut redis::Connection, key: &[u8]) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(con).expect("GET")
}

/// Every job of `keys` is in exactly the set its field names, and its
/// pointer names that set; no old pointer is left.
fn assert_whole(con: &mut redis::Connection, keys: &[(String, &str)]) {
    for (k, status) in keys {
        for s in ["pending", "running", "completed", "failed"] {
            assert_eq!(
                smembers(con, &set(s)).contains(k),
                s == *status,
                "{k} in {s}"
            );
        }
        assert_eq!(
            get(con, ptr(k).as_bytes()),
            Some(set(status).into_bytes()),
            "{k}"
        );
        assert_eq!(get(con, &legacy_key(k)), None, "{k}");
        assert!(smembers(con, CLASS).contains(k), "{k}");
    }
}

/// A queue of popoto 1.10.1 jobs with one of each damage of this layout.
struct Damaged {
    keys: Vec<String>,
}

fn damage(con: &mut redis::Connection) -> Damaged {
    let keys: Vec<String> = (1..=12).map(|n| create(con, n, "pending")).collect();
    swap(con, &keys[11], "running");
    let k = |i: usize| keys[i].as_bytes();
    cmd(con, &[b"SREM", set("pending").as_bytes(), k(0)]); // orphan
    cmd(con, &[b"SADD", set("running").as_bytes(), k(1)]); // multi_indexed
    cmd(
        con,
        &[
            b"SMOVE",
            set("pending").as_bytes(),
            set("failed").as_bytes(),
            k(2),
        ],
    ); // wrong_index
    cmd(
        con,
        &[b"SET", ptr(&keys[3]).as_bytes(), set("running").as_bytes()],
    ); // pointer_mismatch
    cmd(con, &[b"DEL", ptr(&keys[4]).as_bytes()]); // pointer_missing
                                                   // dangling_pointer: the record deleted, its pointer left.
    let p5 = get(con, ptr(&keys[5]).as_bytes()).expect("pointer");
    delete(con, &keys[5]);
    cmd(con, &[b"SET", ptr(&keys[5]).as_bytes(), &p5]);
    // partial: popoto's create stopped between its script and its MULTI.
    cmd(con, &[b"DEL", k(6)]);
    cmd(con, &[b"SREM", CLASS.as_bytes(), k(6)]);
    cmd(con, &[b"SREM", PROJECT.as_bytes(), k(6)]);
    cmd(con, &[b"ZREM", SORTED.as_bytes(), k(6)]);
    cmd(con, &[b"HSET", k(6), b"status", &pack("pending")]);
    // legacy_pointer, 1.8.1-1.8.2 key and 1.8.0 hash field.
    cmd(con, &[b"DEL", ptr(&keys[7]).as_bytes()]);
    cmd(
        con,
        &[b"SET", &legacy_key(&keys[7]), set("pending").as_bytes()],
    );
    cmd(con, &[b"DEL", ptr(&keys[8]).as_bytes()]);
    cmd(
        con,
        &[b"HSET", k(8), LEGACY_FIELD, set("pending").as_bytes()],
    );
    // dangling: a ghost in its status set, pointer and all.
    cmd(con, &[b"DEL", k(9)]);
    // dangling_pointer of 1.8.1-1.8.2: a legacy key whose record is gone.
    delete(con, &keys[10]);
    cmd(
        con,
        &[b"SET", &legacy_key(&keys[10]), set("pending").as_bytes()],
    );
    Damaged { keys }
}

fn count(j: &J, kind: &str) -> u64 {
    j["counts"][kind].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn every_kind_of_the_indexed_layout_is_found() {
    let r = Redis::start();
    let mut con = r.con();
    damage(&mut con);
    let (run, j) = jobq(&r, &["orphans", "scan", "--grace", "0"]);
    run.expect_code(1);
    let c = &j["counts"];
    assert_eq!(
        c.as_object().expect("counts").len(),
        15,
        "every kind, 0 included: {c}"
    );
    for (kind, n) in [
        ("orphan", 1),
        ("multi_indexed", 1),
        ("wrong_index", 1),
        ("pointer_mismatch", 1),
        ("pointer_missing", 1),
        ("dangling_pointer", 2),
        ("partial", 1),
        ("legacy_pointer", 2),
        ("dangling", 1),
        ("malformed", 0),
        ("unlisted", 0),
        ("field_mismatch", 0),
    ] {
        assert_eq!(count(&j, kind), n, "{kind}: {}", run.explain());
    }
    // The table names the new kinds too.
    let s = schema(&r);
    let table = r.jobq(&["--schema", &s, "orphans", "scan", "--grace", "0"]);
    for kind in [
        "pointer_mismatch",
        "pointer_missing",
        "dangling_pointer",
        "legacy_pointer",
    ] {
        assert!(table.stdout().contains(kind), "{kind}: {}", table.explain());
    }
    // --deep meets the 1.8.1-1.8.2 keys among the records: never malformed.
    let (run, j) = jobq(&r, &["orphans", "scan", "--grace", "0", "--deep"]);
    run.expect_code(1);
    assert_eq!(count(&j, "malformed"), 0, "{}", run.explain());
    assert_eq!(count(&j, "legacy_pointer"), 2, "{}", run.explain());
}

#[test]
fn reindex_repairs_it_and_migrates_legacy_pointers_only_with_the_flag() {
    let r = Redis::start();
    let mut con = r.con();
    let d = damage(&mut con);
    let partial_before = hgetall_raw(&mut con, &d.keys[6]);
    let (run, j) = jobq(&r, &["reindex", "--yes", "--grace", "0"]);
    // The partial is left for a human, the legacy pointers for the flag.
    run.expect_code(4);
    assert_eq!(j["applied"], 8, "{}", run.explain());
    assert_eq!(
        get(&mut con, &legacy_key(&d.keys[7])),
        Some(set("pending").into_bytes())
    );
    assert_eq!(get(&mut con, ptr(&d.keys[7]).as_bytes()), None);
    let (run, j) = jobq(
        &r,
        &["reindex", "--yes", "--grace", "0", "--migrate-pointers"],
    );
    // The partial is reported, untouched; nothing waits for a flag.
    run.expect_code(0);
    assert_eq!(j["applied"], 2, "{}", run.explain());
    let k = &d.keys;
    let mut whole: Vec<(String, &str)> = [0, 1, 2, 3, 4, 7, 8]
        .iter()
        .map(|&i| (k[i].clone(), "pending"))
        .collect();
    whole.push((k[11].clone(), "running"));
    assert_whole(&mut con, &whole);
    assert_eq!(
        hgetall_raw(&mut con, &k[8])
            .iter()
            .filter(|(f, _)| f == LEGACY_FIELD)
            .count(),
        0,
        "the 1.8.0 field is gone"
    );
    for gone in [5, 9, 10] {
        assert_eq!(get(&mut con, ptr(&k[gone]).as_bytes()), None);
        assert_eq!(get(&mut con, &legacy_key(&k[gone])), None);
        assert!(!smembers(&mut con, &set("pending")).contains(&k[gone]));
    }
    assert_eq!(
        hgetall_raw(&mut con, &k[6]),
        partial_before,
        "never completed"
    );
    let (run, j) = jobq(&r, &["orphans", "scan", "--grace", "0", "--deep"]);
    run.expect_code(1);
    assert_eq!(j["total"], 1, "only the partial is left: {}", run.explain());
    assert_eq!(count(&j, "partial"), 1);
    // The audit entries can be reversed: what the pointer and the old
    // pointers held is in them.
    let entries = xrange(&mut con, "jobq:audit");
    let has = |action: &str, field: &str| {
        entries.iter().any(|(_, e)| {
            e.iter()
                .any(|(f, v)| f.as_slice() == b"action" && v.as_slice() == action.as_bytes())
                && e.iter().any(|(f, _)| f.as_slice() == field.as_bytes())
        })
    };
    assert!(
        has("repoint", "set.before"),
        "a mismatched pointer's old value"
    );
    assert!(has("repoint", "del.value"), "the 1.8.1-1.8.2 key's value");
    assert!(has("repoint", "hdel.before"), "the 1.8.0 field's value");
    assert!(
        has("remove_pointers", "del.1.value"),
        "a dangling pointer's value"
    );
}

#[test]
fn every_indexed_guard_skips_a_changed_state() {
    let r = Redis::start();
    let mut con = r.con();
    let d = damage(&mut con);
    let k = &d.keys;
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path").to_owned();
    let (run, j) = jobq(
        &r,
        &[
            "reindex",
            "--dry-run",
            "--grace",
            "0",
            "--migrate-pointers",
            "--plan-out",
            &plan_s,
        ],
    );
    run.expect_code(1);
    assert_eq!(
        j["actions"].as_array().expect("actions").len(),
        10,
        "{}",
        run.explain()
    );

    // Between plan and apply: the orphan moves (popoto's script), the
    // mismatched pointer is rewritten, the 1.8.1-1.8.2 key and the 1.8.0
    // field change, the dangling pointer's record comes back, the other
    // dangling pointer changes, and every other record moves on.
    swap(&mut con, &k[0], "running");
    cmd(
        &mut con,
        &[b"SET", ptr(&k[3]).as_bytes(), set("failed").as_bytes()],
    );
    cmd(
        &mut con,
        &[b"SET", &legacy_key(&k[7]), set("running").as_bytes()],
    );
    cmd(
        &mut con,
        &[
            b"HSET",
            k[8].as_bytes(),
            LEGACY_FIELD,
            set("failed").as_bytes(),
        ],
    );
    cmd(
        &mut con,
        &[b"HSET", k[5].as_bytes(), b"status", &pack("pending")],
    );
    cmd(
        &mut con,
        &[b"SET", &legacy_key(&k[10]), set("running").as_bytes()],
    );
    cmd(
        &mut con,
        &[b"HSET", k[9].as_bytes(), b"status", &pack("pending")],
    );
    for i in [1, 2, 4] {
        cmd(
            &mut con,
            &[b"HSET", k[i].as_bytes(), b"status", &pack("completed")],
        );
    }
    let before = snapshot(&mut con);
    let pointers_before: Vec<Option<Vec<u8>>> = k
        .iter()
        .flat_map(|x| {
            [
                get(&mut con, ptr(x).as_bytes()),
                get(&mut con, &legacy_key(x)),
            ]
        })
        .collect();
    let audit_before = xlen(&mut con, "jobq:audit");

    let s = schema(&r);
    let run = r.jobq(&[
        "--schema", &s, "--json", "reindex", "--yes", "--plan", &plan_s,
    ]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["applied"], 0, "{}", run.explain());
    assert_eq!(j["skipped"], 10, "{}", run.explain());
    let reason = |key: &str| -> String {
        j["actions"]
            .as_array()
            .expect("a")
            .iter()
            .find(|a| a["key"] == key)
            .unwrap_or_else(|| panic!("{key}: {}", run.explain()))["reason"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    for (i, why) in [
        (0, "status field changed"),
        (1, "status field changed"),
        (2, "status field changed"),
        (3, "pointer changed"),
        (4, "status field changed"),
        (5, "exists again"),
        (7, "1.8.1-1.8.2 pointer changed"),
        (8, "1.8.0 pointer field changed"),
        (9, "exists again"),
        (10, "changed"),
    ] {
        assert!(reason(&k[i]).contains(why), "{i}: {}", run.explain());
    }
    assert_eq!(snapshot(&mut con), before, "nothing touched");
    let pointers_after: Vec<Option<Vec<u8>>> = k
        .iter()
        .flat_map(|x| {
            [
                get(&mut con, ptr(x).as_bytes()),
                get(&mut con, &legacy_key(x)),
            ]
        })
        .collect();
    assert_eq!(pointers_after, pointers_before, "no pointer touched");
    assert_eq!(xlen(&mut con, "jobq:audit"), audit_before);
}

#[test]
fn popotos_own_writes_while_the_scan_runs_are_never_confirmed() {
    // Every state popoto 1.10.1 passes through, the interrupted create's
    // included, seen at the first sighting; by the second the write is
    // whole, and nothing is reported.
    let r = Redis::start();
    let mut con = r.con();
    let keys: Vec<String> = (1..=20).map(|n| create(&mut con, n, "pending")).collect();
    // A create caught between its script and its MULTI (popoto's own,
    // which completes a moment later).
    let k = format!("Job:{}:p", job_id(99));
    swap(&mut con, &k, "pending");
    let s = schema(&r);
    let child = std::process::Command::new(jobq_bin())
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .args([
            "--url",
            &r.url(),
            "--schema",
            &s,
            "--json",
            "orphans",
            "scan",
            "--grace",
            "2s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // popoto goes on: the create completes, jobs move and are deleted.
    let done = create(&mut con, 99, "pending");
    assert_eq!(done, k);
    for (i, key) in keys.iter().enumerate() {
        match i % 3 {
            0 => swap(&mut con, key, "running"),
            1 => delete(&mut con, key),
            _ => {}
        }
    }
    let out = child.wait_with_output().expect("wait");
    let j: J = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(j["total"], 0, "{j}");
    assert_eq!(out.status.code(), Some(0), "{j}");
}

#[test]
fn a_plan_applied_twice_finds_its_own_end_state() {
    // The reply of the first run lost, say: the second finds every step's
    // end state, writes nothing, and adds no audit entry.
    let r = Redis::start();
    let mut con = r.con();
    damage(&mut con);
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path").to_owned();
    let (run, _) = jobq(
        &r,
        &[
            "reindex",
            "--dry-run",
            "--grace",
            "0",
            "--migrate-pointers",
            "--plan-out",
            &plan_s,
        ],
    );
    run.expect_code(1);
    let (run, j) = jobq(&r, &["reindex", "--yes", "--plan", &plan_s]);
    run.expect_code(0);
    assert_eq!(j["applied"], 10, "{}", run.explain());
    let after = snapshot(&mut con);
    let audit = xlen(&mut con, "jobq:audit");
    let (run, j) = jobq(&r, &["reindex", "--yes", "--plan", &plan_s]);
    run.expect_code(0);
    assert_eq!(j["applied"], 0, "{}", run.explain());
    assert_eq!(j["already_applied"], 10, "{}", run.explain());
    assert_eq!(snapshot(&mut con), after);
    assert_eq!(xlen(&mut con, "jobq:audit"), audit);
}
