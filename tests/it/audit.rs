//! The audit stream holds enough to reverse every change exactly: each
//! entry of a `reindex` (every kind of repair), a `reap` and an `enqueue`
//! run, reversed newest first from the entry's fields alone, gives back the
//! state before the run, key for key. Every entry names the run, and the
//! run's id is what the command reports.

use crate::common::*;
use serde_json::Value as J;

const CLASS: &str = "$Class:RedisJob";
const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";
const COMPLETED: &str = "$KeyF:RedisJob:status:completed";
const PROJECT: &str = "$KeyF:RedisJob:project_key:projA";
const ZSET: &str = "$SortF:RedisJob:created_at";

type Entry = Vec<(Vec<u8>, Vec<u8>)>;

fn get<'a>(e: &'a Entry, name: &str) -> Option<&'a [u8]> {
    e.iter()
        .find(|(f, _)| f.as_slice() == name.as_bytes())
        .map(|(_, v)| v.as_slice())
}

/// `prefix.1`, `prefix.2`, ... in order.
fn list<'a>(e: &'a Entry, prefix: &str) -> Vec<(String, &'a [u8])> {
    (1..)
        .map(|i| format!("{prefix}.{i}"))
        .map_while(|name| get(e, &name).map(|v| (name, v)))
        .collect()
}

/// The record's before-image (`before.F`), in its order.
fn before_image(e: &Entry) -> Vec<(&[u8], &[u8])> {
    e.iter()
        .filter_map(|(f, v)| f.strip_prefix(b"before.").map(|f| (f, v.as_slice())))
        .collect()
}

fn run(con: &mut redis::Connection, args: &[&[u8]]) {
    let _ = cmd(con, args);
}

/// Reverse one entry from its fields alone (see the README's "Audit
/// stream").
fn reverse(con: &mut redis::Connection, e: &Entry) {
    let key = get(e, "key").expect("every entry names its key").to_vec();
    let action = get(e, "action").expect("action");
    if let Some(new) = get(e, "moved_to") {
        run(con, &[b"DEL", new]);
        let mut hset: Vec<&[u8]> = vec![b"HSET", &key];
        for (f, v) in before_image(e) {
            hset.extend([f, v]);
        }
        run(con, &hset);
        for (_, set) in list(e, "sadd") {
            run(con, &[b"SREM", set, new]);
        }
        for (_, set) in list(e, "srem") {
            run(con, &[b"SADD", set, &key]);
        }
        for (name, z) in list(e, "zmove") {
            let score = get(e, &format!("{name}.score")).expect("score");
            run(con, &[b"ZREM", z, new]);
            run(con, &[b"ZADD", z, score, &key]);
        }
    } else if action == b"create" {
        // Format 3 lists every field the create wrote.
        assert!(get(e, "hset.job_id").is_some(), "hset of a create");
        run(con, &[b"DEL", &key]);
        for (_, set) in list(e, "sadd") {
            run(con, &[b"SREM", set, &key]);
        }
        if let Some(idem) = get(e, "idempotency") {
            run(con, &[b"DEL", idem]);
        }
    } else if get(e, "deleted") == Some(b"1") {
        let mut hset: Vec<&[u8]> = vec![b"HSET", &key];
        for (f, v) in before_image(e) {
            hset.extend([f, v]);
        }
        run(con, &hset);
    } else {
        for (f, _) in e {
            let Some(field) = f.strip_prefix(b"hset.") else {
                continue;
            };
            match get(e, &format!("before.{}", String::from_utf8_lossy(field))) {
                Some(old) => run(con, &[b"HSET", &key, field, old]),
                None => run(con, &[b"HDEL", &key, field]),
            }
        }
    }
    if action != b"create" && get(e, "moved_to").is_none() {
        for (_, set) in list(e, "sadd") {
            run(con, &[b"SREM", set, &key]);
        }
        for (_, set) in list(e, "srem") {
            run(con, &[b"SADD", set, &key]);
        }
    }
    for (name, z) in list(e, "zadd") {
        match get(e, &format!("{name}.before")) {
            Some(old) => run(con, &[b"ZADD", z, old, &key]),
            None => run(con, &[b"ZREM", z, &key]),
        }
    }
    for (name, z) in list(e, "zrem") {
        let score = get(e, &format!("{name}.score")).expect("score");
        run(con, &[b"ZADD", z, score, &key]);
    }
    if let (Some(h), Some(f), Some(b)) = (
        get(e, "counter"),
        get(e, "counter.field"),
        get(e, "counter.before"),
    ) {
        if b == b"0" {
            run(con, &[b"HDEL", h, f]);
        } else {
            run(con, &[b"HSET", h, f, b]);
        }
    }
    if let (Some(h), Some(b)) = (get(e, "forgot"), get(e, "forgot.before")) {
        run(con, &[b"HSET", h, &key, b]);
    }
    // An indexed field's pointer: set back to what it named, or deleted
    // when it did not exist.
    for (name, ptr) in list(e, "pointer") {
        match get(e, &format!("{name}.before")) {
            Some(old) => run(con, &[b"SET", ptr, old]),
            None => run(con, &[b"DEL", ptr]),
        }
    }
}

/// Every entry of run `id`, newest first, reversed; how many there were.
fn undo(con: &mut redis::Connection, id: &str) -> usize {
    let entries: Vec<Entry> = xrange_all(con, "jobq:audit")
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| get(e, "run") == Some(id.as_bytes()))
        .collect();
    // The run opens with its start entry, which changes nothing.
    assert_eq!(
        get(&entries[0], "action"),
        Some(&b"start"[..]),
        "start entry"
    );
    let entries = &entries[1..];
    for e in entries.iter().rev() {
        assert_eq!(get(e, "v"), Some(&b"3"[..]), "format version");
        reverse(con, e);
    }
    entries.len()
}

fn run_id(j: &J) -> String {
    j["run_id"].as_str().expect("run_id").to_owned()
}

#[test]
fn every_repair_of_reindex_is_reversed_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 12, "projA");
    popoto_move(&mut con, &k[11], "running").expect("move");
    let c = &mut con;
    // orphan, unlisted, multi_indexed, wrong_index, secondary_gap
    cmd(c, &[b"SREM", PENDING.as_bytes(), k[0].as_bytes()]);
    cmd(c, &[b"SREM", CLASS.as_bytes(), k[1].as_bytes()]);
    cmd(c, &[b"SADD", RUNNING.as_bytes(), k[2].as_bytes()]);
    cmd(c, &[b"SREM", PENDING.as_bytes(), k[3].as_bytes()]);
    cmd(c, &[b"SADD", COMPLETED.as_bytes(), k[3].as_bytes()]);
    cmd(c, &[b"SREM", PROJECT.as_bytes(), k[4].as_bytes()]);
    cmd(c, &[b"ZREM", ZSET.as_bytes(), k[4].as_bytes()]);
    // field_mismatch, moved by --prefer field
    cmd(c, &[b"HSET", k[5].as_bytes(), b"status", &pack("failed")]);
    // dangling
    cmd(c, &[b"DEL", k[6].as_bytes()]);
    // partial: key fields restorable from the key
    cmd(c, &[b"HDEL", k[7].as_bytes(), b"job_id", b"project_key"]);
    // duplicate: the same job completed too
    popoto_create(c, &job_id(9), "projA", "completed", 1767225700.0);
    // stale_key: popoto 0.9's residue of a status change
    popoto_move(c, &k[9], "running").expect("move");
    cmd(c, &[b"SADD", PENDING.as_bytes(), k[9].as_bytes()]);
    cmd(c, &[b"SADD", CLASS.as_bytes(), k[9].as_bytes()]);
    let before = snapshot(&mut con);

    let run = r.jobq(&[
        "--json",
        "reindex",
        "--yes",
        "--grace",
        "0",
        "--prefer",
        "field",
        "--duplicates",
        "keep-latest",
    ]);
    run.expect_code(0);
    let j = run.json();
    for kind in [
        "orphan",
        "unlisted",
        "multi_indexed",
        "wrong_index",
        "secondary_gap",
        "field_mismatch",
        "dangling",
        "partial",
        "duplicate",
        "stale_key",
    ] {
        assert!(
            j["counts"][kind]["applied"].as_u64() >= Some(1),
            "{kind}: {}",
            run.explain()
        );
    }
    let id = run_id(&j);
    assert_ne!(snapshot(&mut con), before);
    let n = undo(&mut con, &id);
    assert_eq!(n as u64, j["applied"].as_u64().expect("applied"));
    let after = snapshot(&mut con);
    assert!(
        after == before,
        "not the state before:\n{}",
        diff(&before, &after)
    );

    // The text report names the run too.
    let run = r.jobq(&[
        "reindex",
        "--yes",
        "--grace",
        "0",
        "--prefer",
        "field",
        "--duplicates",
        "keep-latest",
    ]);
    run.expect_code(0);
    assert!(run.stdout().contains("Run 20"), "{}", run.explain());
}

#[test]
fn a_reap_run_is_reversed_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 4, "projA");
    for key in &k[..3] {
        popoto_move(&mut con, key, "running").expect("move");
    }
    let before = snapshot(&mut con);
    let run = r.jobq(&["--json", "reap", "--all", "--yes", "--max-attempts", "2"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["counts"]["to_pending"], 3, "{}", run.explain());
    let id = run_id(&j);
    assert_eq!(undo(&mut con, &id), 3);
    let after = snapshot(&mut con);
    assert!(after == before, "{}", diff(&before, &after));
    // Its attempts counter is back where it was too: the next reap counts
    // from the start.
    let attempts: Vec<Vec<u8>> = redis::cmd("HKEYS")
        .arg("jobq:reap:RedisJob:attempts")
        .query(&mut con)
        .expect("HKEYS");
    assert!(attempts.is_empty(), "{attempts:?}");
}

#[test]
fn a_delete_run_is_reversed_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "projA");
    popoto_move(&mut con, &k[0], "running").expect("move");
    // A duplicate of job 2: a second record under another project.
    popoto_create(&mut con, &job_id(2), "projB", "failed", 1767225700.25);
    let before = snapshot(&mut con);
    let run = r.jobq(&[
        "--json",
        "delete",
        "--yes",
        "--force",
        &job_id(1),
        &job_id(2),
    ]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["counts"]["applied"], 3, "{}", run.explain());
    assert_ne!(snapshot(&mut con), before);
    assert_eq!(undo(&mut con, &run_id(&j)), 3);
    let after = snapshot(&mut con);
    assert!(after == before, "{}", diff(&before, &after));
}

#[test]
fn a_retry_run_is_reversed_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 4, "projA");
    for key in &k[..3] {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    let before = snapshot(&mut con);
    let run = r.jobq(&["--json", "retry", "--priority", "high", "--yes"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["counts"]["applied"], 3, "{}", run.explain());
    assert_eq!(undo(&mut con, &run_id(&j)), 3);
    let after = snapshot(&mut con);
    assert!(after == before, "{}", diff(&before, &after));
}

#[test]
fn an_enqueue_run_is_reversed_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 3, "projA");
    // A ghost of the explicit job's future key: the create's SADD to the
    // class set changes nothing there, and its reversal must keep it.
    let ghost = format!("RedisJob:{}:projA:pending", job_id(50));
    cmd(&mut con, &[b"SADD", CLASS.as_bytes(), ghost.as_bytes()]);
    let before = snapshot(&mut con);
    let file = write_file(
        r.dir.path(),
        "jobs.jsonl",
        &format!(
            "{{\"project_key\":\"projA\"}}\n{{\"project_key\":\"projB\",\"priority\":\"high\"}}\n{{\"job_id\":\"{}\",\"project_key\":\"projA\"}}\n",
            job_id(50)
        ),
    );
    let run = r.jobq(&["--json", "enqueue", "--file", file.to_str().expect("path")]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["created"], 3, "{}", run.explain());
    let id = run_id(&j);
    assert_eq!(undo(&mut con, &id), 3);
    let after = snapshot(&mut con);
    assert!(after == before, "{}", diff(&before, &after));

    let run = r.jobq(&["enqueue", "--project", "projA"]);
    run.expect_code(0);
    assert!(run.stderr().contains("Run 20"), "{}", run.explain());
}

/// A retry of `n` failed jobs; its run id.
fn retry_run(r: &Redis, con: &mut redis::Connection, from: usize, n: usize) -> String {
    for i in from..from + n {
        popoto_create(con, &job_id(i), "projA", "failed", 1767225600.0 + i as f64);
    }
    let run = r.jobq(&["--json", "retry", "--yes"]);
    run.expect_code(0);
    run_id(&run.json())
}

#[test]
fn jobq_audit_lists_the_last_runs_with_their_command_lines() {
    let r = Redis::start();
    let mut con = r.con();
    let first = retry_run(&r, &mut con, 1, 3);
    let second = retry_run(&r, &mut con, 10, 2);
    let run = r.jobq(&["--json", "audit"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["command"], "audit");
    let runs = j["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{j}");
    // Newest first.
    assert_eq!(runs[0]["run_id"], second.as_str());
    assert_eq!(runs[1]["run_id"], first.as_str());
    assert_eq!(runs[1]["changes"], 3);
    assert_eq!(runs[1]["actions"]["retry"], 3);
    assert_eq!(runs[1]["command"], "retry");
    assert_eq!(runs[1]["start_seen"], true);
    assert_eq!(runs[1]["version"], env!("CARGO_PKG_VERSION"));
    let argv = runs[1]["argv"].as_str().expect("argv");
    assert!(argv.ends_with("--json retry --yes"), "{argv}");
    // --limit 1: the newest only, and a note that there are more.
    let run = r.jobq(&["--json", "audit", "--limit", "1"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(j["more_runs"], true);
    // The table.
    let run = r.jobq(&["audit"]);
    run.expect_code(0);
    assert!(run.stdout().contains(&first), "{}", run.explain());
    assert!(run.stdout().contains("retry 3"), "{}", run.explain());
}

#[test]
fn jobq_audit_shows_one_run_and_one_job_oldest_first() {
    let r = Redis::start();
    let mut con = r.con();
    let id = retry_run(&r, &mut con, 1, 3);
    retry_run(&r, &mut con, 10, 1);
    let run = r.jobq(&["--json", "audit", &id]);
    run.expect_code(0);
    let j = run.json();
    let entries = j["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4, "the start and three moves: {j}");
    assert_eq!(entries[0]["action"], "start");
    assert!(entries.iter().all(|e| e["run"] == id.as_str()));
    assert!(entries
        .windows(2)
        .all(|w| w[0]["id"].as_str() < w[1]["id"].as_str()
            || w[0]["id"].as_str().map(str::len) < w[1]["id"].as_str().map(str::len)));

    // Everything done to job 2: its retry, then its undo.
    let undo = r.jobq(&["--json", "undo", &id, "--yes"]);
    undo.expect_code(0);
    let run = r.jobq(&["--json", "audit", "--job", &job_id(2)]);
    run.expect_code(0);
    let j = run.json();
    let actions: Vec<&str> = j["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, ["retry", "undo"], "{j}");
    let run = r.jobq(&["audit", "--job", &job_id(2)]);
    run.expect_code(0);
    assert!(run.stdout().contains("undo"), "{}", run.explain());

    // An id of no run: exit 2.
    let run = r.jobq(&["audit", "20261203T150602Z-0000"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("no entry of run"),
        "{}",
        run.explain()
    );
}

#[test]
fn a_trimmed_stream_is_said_to_miss_the_runs_start() {
    let r = Redis::start();
    let mut con = r.con();
    let id = retry_run(&r, &mut con, 1, 5);
    // MAXLEN caps the stream: keep the last three entries of the run.
    cmd(&mut con, &[b"XTRIM", b"jobq:audit", b"MAXLEN", b"3"]);
    let run = r.jobq(&["--json", "audit", &id]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["entries"].as_array().map(Vec::len), Some(3), "{j}");
    let missing = j["trimmed"]["missing"].as_str().expect("trimmed");
    assert!(missing.contains("trimmed"), "{missing}");
    let text = r.jobq(&["audit", &id]);
    text.expect_code(4);
    assert!(text.stdout().contains("incomplete: "), "{}", text.explain());
    // undo reverses what is left, and says what is missing (exit 4).
    let undo = r.jobq(&["--json", "undo", &id, "--yes"]);
    undo.expect_code(4);
    let j = undo.json();
    assert_eq!(j["counts"]["applied"], 3, "{j}");
    assert!(j["trimmed"]["missing"].is_string(), "{j}");
    // Trimmed away whole: nothing left of the run (exit 4, not "unknown").
    cmd(&mut con, &[b"XTRIM", b"jobq:audit", b"MAXLEN", b"0"]);
    retry_run(&r, &mut con, 20, 1);
    let old = "20200101T000000Z-0000";
    let run = r.jobq(&["audit", old]);
    // Redis 6.2 does not say whether a stream was trimmed (XINFO's
    // entries-added): a stream under its MAXLEN is taken as whole there.
    if server_version().is_some_and(|v| v < (7, 0)) {
        run.expect_code(2);
        return;
    }
    run.expect_code(4);
    assert!(run.stderr().contains("trimmed"), "{}", run.explain());
}

#[test]
fn the_start_entry_never_holds_a_password() {
    let r = Redis::start_tcp(&["--requirepass", "s3cret-pw"]);
    let url = r.tcp_url(":s3cret-pw@");
    let mut con = redis::Client::open(url.as_str())
        .expect("client")
        .get_connection()
        .expect("connect");
    popoto_create(&mut con, &job_id(1), "projA", "failed", 1.0);
    // The password in --url, and in REDIS_URL (the environment).
    let run = r.jobq_at(&url, &["retry", "--yes"]);
    run.expect_code(0);
    popoto_create(&mut con, &job_id(2), "projA", "failed", 1.0);
    let run = run_jobq_env(
        &["retry".into(), "--yes".into()],
        None,
        r.log_path(),
        &[("REDIS_URL", url.as_str())],
    );
    run.expect_code(0);
    let all = xrange_all(&mut con, "jobq:audit");
    assert!(!all.is_empty());
    for (_, e) in &all {
        for (f, v) in e {
            assert!(
                !String::from_utf8_lossy(v).contains("s3cret-pw"),
                "{} holds the password",
                String::from_utf8_lossy(f)
            );
        }
    }
    let starts = all
        .iter()
        .filter(|(_, e)| get(e, "action") == Some(b"start"))
        .count();
    assert_eq!(starts, 2);
}

/// The indexed layout (a status `IndexedField`): an enqueue, a reap, a
/// retry and a delete run, each reversed from its entries alone (the
/// in-place changes' `hset.F`/`before.F`, `srem.N`/`sadd.N` and the
/// pointers' `pointer.N`), give back the state before the run.
#[test]
fn an_indexed_model_s_runs_are_reversed_exactly() {
    use crate::indexed::{popoto_indexed_create, JOB_TOML};
    let r = Redis::start();
    let mut con = r.con();
    let schema = write_file(r.dir.path(), "job.toml", JOB_TOML);
    let schema = schema.to_string_lossy();
    let jq = |args: &[&str]| {
        let mut a = vec!["--json", "--schema", schema.as_ref()];
        a.extend_from_slice(args);
        r.jobq(&a)
    };
    popoto_indexed_create(&mut con, "r1", "p", "running", 1767225600.5);
    popoto_indexed_create(&mut con, "r2", "p", "running", 1767225601.5);
    popoto_indexed_create(&mut con, "f1", "p", "failed", 1767225602.5);
    popoto_indexed_create(&mut con, "c1", "q", "completed", 1767225603.5);
    for args in [
        &["enqueue", "--project", "p", "--set", "job_id=e1"][..],
        &["reap", "--once", "--all", "--yes"],
        &["retry", "--priority", "high", "--yes"],
        &["delete", "--yes", "c1"],
    ] {
        let before = snapshot(&mut con);
        let run = jq(args);
        run.expect_code(0);
        assert_ne!(snapshot(&mut con), before, "{args:?} changed nothing");
        let id = run_id(&run.json());
        assert!(undo(&mut con, &id) > 0, "{args:?}");
        let after = snapshot(&mut con);
        assert!(after == before, "{args:?}\n{}", diff(&before, &after));
        // Run it again for real, so the next run starts from its result.
        jq(args).expect_code(0);
    }
}
