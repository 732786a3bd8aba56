//! `jobq undo`: each mutating command applied to a damaged, popoto-made
//! queue, then undone, gives back every key of the model exactly: each
//! hash's DUMP bytes, each set's members, each zset's members and scores.
//! Excluded from the comparison: jobq's own keys (`jobq:*`: the audit
//! stream, reap's attempts, first sightings, lock and last-sweep keys, the
//! idempotency claims), which undo does not promise to restore byte for
//! byte (reap's attempts are checked on their own). Undoing the undo
//! redoes the run exactly. A popoto-style worker moving jobs between the
//! run and the undo: those are skipped with a reason, the rest restored,
//! nothing the worker did reverted.

use std::collections::BTreeMap;

use crate::common::*;
use serde_json::Value as J;

const CLASS: &str = "$Class:RedisJob";
const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";
const COMPLETED: &str = "$KeyF:RedisJob:status:completed";
const PROJECT: &str = "$KeyF:RedisJob:project_key:projA";
const ZSET: &str = "$SortF:RedisJob:created_at";

/// Every key but jobq's own: a hash as its DUMP bytes, a set as its sorted
/// members (a set's DUMP depends on the order members were added in, which
/// no SADD can put back), a zset as its members and scores.
pub fn model_state(con: &mut redis::Connection) -> BTreeMap<Vec<u8>, String> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    let mut out = BTreeMap::new();
    for k in keys {
        if k.starts_with(b"jobq:") {
            continue;
        }
        let t: String = redis::cmd("TYPE").arg(&k).query(con).expect("TYPE");
        let v = match t.as_str() {
            "hash" => {
                let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(con).expect("DUMP");
                format!("hash dump {}", hex(&d))
            }
            "set" => {
                let mut m: Vec<Vec<u8>> =
                    redis::cmd("SMEMBERS").arg(&k).query(con).expect("SMEMBERS");
                m.sort();
                format!("set {m:?}")
            }
            "zset" => {
                let m: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(con)
                    .expect("ZRANGE");
                format!("zset {m:?}")
            }
            other => other.to_string(),
        };
        out.insert(k, v);
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run_id(j: &J) -> String {
    j["run_id"].as_str().expect("run_id").to_owned()
}

/// Undo `id` with --yes --json; its report.
fn undo(r: &Redis, id: &str, code: i32) -> J {
    let run = r.jobq(&["--json", "undo", id, "--yes"]);
    run.expect_code(code);
    run.json()
}

/// Undo `id`, compare with `before`; then undo the undo and compare with
/// `after` (the state the run left): a redo.
fn undo_and_redo(
    r: &Redis,
    con: &mut redis::Connection,
    id: &str,
    changes: u64,
    before: &BTreeMap<Vec<u8>, String>,
) {
    let after = model_state(con);
    assert_ne!(&after, before, "the run changed nothing");
    let j = undo(r, id, 0);
    assert_eq!(j["counts"]["applied"], changes, "{j}");
    let now = model_state(con);
    assert!(
        &now == before,
        "not the state before:\n{}",
        diff(before, &now)
    );
    let redo = undo(r, &run_id(&j), 0);
    assert_eq!(redo["counts"]["applied"], changes, "{redo}");
    let now = model_state(con);
    assert!(
        now == after,
        "the redo is not the run:\n{}",
        diff(&after, &now)
    );
}

/// The queue of tests/it/audit.rs: every kind of damage reindex repairs.
fn damaged(con: &mut redis::Connection) -> Vec<String> {
    let k = seed(con, 12, "projA");
    popoto_move(con, &k[11], "running").expect("move");
    let c = con;
    cmd(c, &[b"SREM", PENDING.as_bytes(), k[0].as_bytes()]);
    cmd(c, &[b"SREM", CLASS.as_bytes(), k[1].as_bytes()]);
    cmd(c, &[b"SADD", RUNNING.as_bytes(), k[2].as_bytes()]);
    cmd(c, &[b"SREM", PENDING.as_bytes(), k[3].as_bytes()]);
    cmd(c, &[b"SADD", COMPLETED.as_bytes(), k[3].as_bytes()]);
    cmd(c, &[b"SREM", PROJECT.as_bytes(), k[4].as_bytes()]);
    cmd(c, &[b"ZREM", ZSET.as_bytes(), k[4].as_bytes()]);
    cmd(c, &[b"HSET", k[5].as_bytes(), b"status", &pack("failed")]);
    cmd(c, &[b"DEL", k[6].as_bytes()]);
    cmd(c, &[b"HDEL", k[7].as_bytes(), b"job_id", b"project_key"]);
    popoto_create(c, &job_id(9), "projA", "completed", 1767225700.0);
    popoto_move(c, &k[9], "running").expect("move");
    cmd(c, &[b"SADD", PENDING.as_bytes(), k[9].as_bytes()]);
    cmd(c, &[b"SADD", CLASS.as_bytes(), k[9].as_bytes()]);
    k
}

const REINDEX: [&str; 9] = [
    "--json",
    "reindex",
    "--yes",
    "--grace",
    "0",
    "--prefer",
    "field",
    "--duplicates",
    "keep-latest",
];

#[test]
fn a_reindex_of_every_kind_is_undone_and_redone_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    damaged(&mut con);
    let before = model_state(&mut con);
    let run = r.jobq(&REINDEX);
    run.expect_code(0);
    let j = run.json();
    let applied = j["applied"].as_u64().expect("applied");
    assert!(applied >= 10, "{}", run.explain());
    undo_and_redo(&r, &mut con, &run_id(&j), applied, &before);
}

#[test]
fn a_reap_is_undone_exactly_with_its_attempts() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 4, "projA");
    for key in &k[..3] {
        popoto_move(&mut con, key, "running").expect("move");
    }
    // A damaged neighbour the reap leaves alone.
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), k[3].as_bytes()]);
    let before = model_state(&mut con);
    let run = r.jobq(&["--json", "reap", "--all", "--yes", "--max-attempts", "2"]);
    run.expect_code(0);
    let id = run_id(&run.json());
    let j = undo(&r, &id, 0);
    assert_eq!(j["counts"]["applied"], 3, "{j}");
    let now = model_state(&mut con);
    assert!(now == before, "{}", diff(&before, &now));
    let attempts: Vec<Vec<u8>> = redis::cmd("HKEYS")
        .arg("jobq:reap:RedisJob:attempts")
        .query(&mut con)
        .expect("HKEYS");
    assert!(attempts.is_empty(), "{attempts:?}");
}

#[test]
fn a_retry_and_a_delete_are_undone_and_redone_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 5, "projA");
    for key in &k[..3] {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    cmd(&mut con, &[b"SREM", CLASS.as_bytes(), k[4].as_bytes()]);
    let before = model_state(&mut con);
    let run = r.jobq(&["--json", "retry", "--priority", "high", "--yes"]);
    run.expect_code(0);
    undo_and_redo(&r, &mut con, &run_id(&run.json()), 3, &before);

    // Undo the retry again (the redo put it back), then delete.
    let before = model_state(&mut con);
    popoto_create(&mut con, &job_id(2), "projB", "failed", 1767225700.25);
    let before_delete = model_state(&mut con);
    assert_ne!(before, before_delete);
    let run = r.jobq(&[
        "--json",
        "delete",
        "--yes",
        "--force",
        &job_id(1),
        &job_id(2),
    ]);
    run.expect_code(0);
    undo_and_redo(&r, &mut con, &run_id(&run.json()), 3, &before_delete);
}

#[test]
fn an_enqueue_is_undone_while_untouched_and_a_touched_job_is_skipped() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 3, "projA");
    let ghost = format!("RedisJob:{}:projA:pending", job_id(50));
    cmd(&mut con, &[b"SADD", CLASS.as_bytes(), ghost.as_bytes()]);
    let before = model_state(&mut con);
    let file = write_file(
        r.dir.path(),
        "jobs.jsonl",
        &format!(
            "{{\"project_key\":\"projA\",\"idempotency_key\":\"i-1\"}}\n{{\"project_key\":\"projB\",\"priority\":\"high\"}}\n{{\"job_id\":\"{}\",\"project_key\":\"projA\"}}\n",
            job_id(50)
        ),
    );
    let f = file.to_str().expect("path");
    let run = r.jobq(&["--json", "enqueue", "--file", f]);
    run.expect_code(0);
    let id = run_id(&run.json());
    undo_and_redo(&r, &mut con, &id, 3, &before);

    // A worker picks up one of the jobs an enqueue made: undo leaves it.
    let file = write_file(
        r.dir.path(),
        "more.jsonl",
        &format!(
            "{{\"project_key\":\"projA\"}}\n{{\"job_id\":\"{}\",\"project_key\":\"projA\"}}\n",
            job_id(60)
        ),
    );
    let f = file.to_str().expect("path");
    let before = model_state(&mut con);
    let run = r.jobq(&["--json", "enqueue", "--file", f]);
    run.expect_code(0);
    let j = run.json();
    let id = run_id(&j);
    let picked = format!("RedisJob:{}:projA:pending", job_id(60));
    let moved = popoto_move(&mut con, &picked, "running").expect("move");
    let worker = hgetall_raw(&mut con, &moved);
    let j = undo(&r, &id, 4);
    assert_eq!(j["counts"]["skipped"], 1, "{j}");
    let skipped: Vec<&J> = j["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped[0]["key"], picked.as_str());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("is gone")),
        "{j}"
    );
    // The worker's record is untouched, the other job gone.
    assert_eq!(hgetall_raw(&mut con, &moved), worker);
    let now = model_state(&mut con);
    for k in now.keys().filter(|k| !before.contains_key(*k)) {
        assert!(
            k.as_slice() == moved.as_bytes() || k.starts_with(b"$KeyF:RedisJob:status:running"),
            "only the worker's record is new: {}",
            String::from_utf8_lossy(k)
        );
    }
    assert!(smembers(&mut con, RUNNING).contains(&moved));
}

#[test]
fn a_worker_between_the_run_and_the_undo_keeps_what_it_did() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 6, "projA");
    for key in &k {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    let run = r.jobq(&["--json", "retry", "--yes"]);
    run.expect_code(0);
    let id = run_id(&run.json());
    // The worker takes two of the retried jobs and finishes one.
    let pending = |n: usize| format!("RedisJob:{}:projA:pending", job_id(n + 1));
    let a = popoto_move(&mut con, &pending(0), "running").expect("move");
    let b = popoto_move(&mut con, &pending(1), "running").expect("move");
    let b = popoto_move(&mut con, &b, "completed").expect("move");
    let worker_a = hgetall_raw(&mut con, &a);
    let worker_b = hgetall_raw(&mut con, &b);
    let j = undo(&r, &id, 4);
    assert_eq!(j["counts"]["applied"], 4, "{j}");
    assert_eq!(j["counts"]["skipped"], 2, "{j}");
    for c in j["changes"].as_array().expect("changes") {
        if c["outcome"] == "skipped" {
            let reason = c["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("since that run"), "{c}");
        }
    }
    // What the worker did stands.
    assert_eq!(hgetall_raw(&mut con, &a), worker_a);
    assert_eq!(hgetall_raw(&mut con, &b), worker_b);
    assert!(smembers(&mut con, RUNNING).contains(&a));
    assert!(smembers(&mut con, COMPLETED).contains(&b));
    // The rest are failed again, as before the retry.
    let failed = smembers(&mut con, "$KeyF:RedisJob:status:failed");
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert_jobs_intact(&mut con, &(1..=6).map(job_id).collect::<Vec<_>>(), true);
}

#[test]
fn a_dry_run_checks_every_guard_and_writes_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "projA");
    for key in &k {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    let run = r.jobq(&["--json", "retry", "--yes"]);
    run.expect_code(0);
    let id = run_id(&run.json());
    popoto_move(
        &mut con,
        &format!("RedisJob:{}:projA:pending", job_id(1)),
        "running",
    )
    .expect("move");
    let state = model_state(&mut con);
    let audit = xlen(&mut con, "jobq:audit");
    let dry = r.jobq(&["--json", "undo", &id, "--dry-run"]);
    dry.expect_code(1);
    let j = dry.json();
    assert_eq!(j["counts"]["planned"], 2, "{j}");
    assert_eq!(j["counts"]["skipped"], 1, "{j}");
    assert!(j["run_id"].is_null());
    assert_eq!(model_state(&mut con), state);
    assert_eq!(xlen(&mut con, "jobq:audit"), audit);
    // Text: the table and the counts.
    let text = r.jobq(&["undo", &id, "--dry-run"]);
    text.expect_code(1);
    assert!(
        text.stdout().contains("would be undone"),
        "{}",
        text.explain()
    );
}

#[test]
fn an_undo_run_opens_with_a_start_entry_and_a_second_undo_skips_everything() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2, "projA");
    for key in &k {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    let run = r.jobq(&["--json", "retry", "--yes"]);
    run.expect_code(0);
    let id = run_id(&run.json());
    let j = undo(&r, &id, 0);
    let undo_id = run_id(&j);
    let entries = xrange_all(&mut con, "jobq:audit");
    let start = entries
        .iter()
        .find(|(_, e)| {
            e.iter()
                .any(|(f, v)| f == b"run" && v == undo_id.as_bytes())
                && e.iter().any(|(f, v)| f == b"action" && v == b"start")
        })
        .expect("the undo's start entry");
    let argv = start
        .1
        .iter()
        .find(|(f, _)| f == b"argv")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .expect("argv");
    assert!(argv.contains(&format!("undo {id} --yes")), "{argv}");
    // Undoing the same run again: every job is as the undo left it, not
    // as the retry did: all skipped, nothing written.
    let state = model_state(&mut con);
    let j = undo(&r, &id, 4);
    assert_eq!(j["counts"]["skipped"], 2, "{j}");
    assert_eq!(model_state(&mut con), state);
}

/// Every exit code of `jobq undo` and `jobq audit` (README, "Exit codes";
/// 0, 1 and 4 are covered above too).
#[test]
fn every_exit_code_of_undo_and_audit() {
    use crate::exit_codes::answer_prompt_after;
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 2, "projA");
    for key in &k {
        popoto_move(&mut con, key, "failed").expect("move");
    }
    let run = r.jobq(&["--json", "retry", "--yes"]);
    run.expect_code(0);
    let id = run_id(&run.json());
    let state = model_state(&mut con);
    let audit = xlen(&mut con, "jobq:audit");

    // 2: not a run id; a run the stream does not hold; no terminal.
    let bad = r.jobq(&["undo", "yesterday"]);
    bad.expect_code(2);
    assert!(
        bad.stderr().contains("is not a run id"),
        "{}",
        bad.explain()
    );
    r.jobq(&["audit", "yesterday"]).expect_code(2);
    r.jobq(&["undo", "20261203T150602Z-0000", "--yes"])
        .expect_code(2);
    let no_tty = r.jobq(&["undo", &id]);
    no_tty.expect_code(2);
    assert_eq!(model_state(&mut con), state);

    // 3: Redis unreachable.
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    for args in [vec!["undo", id.as_str(), "--yes"], vec!["audit"]] {
        let mut full = vec!["--url", &url, "--connect-timeout", "2s"];
        full.extend(args);
        jobq(&full).expect_code(3);
    }

    // 5: declined at the prompt; 130: Ctrl-C at it. Nothing written.
    let (code, shown) = answer_prompt_after(&r, &format!("undo {id}"), b"n", || {});
    assert_eq!(code, Some(5), "{shown}");
    assert!(shown.contains("Undo 2 change(s) of run"), "{shown}");
    let (code, shown) = answer_prompt_after(&r, &format!("undo {id}"), b"\x03", || {});
    assert_eq!(code, Some(130), "{shown}");
    assert_eq!(model_state(&mut con), state);
    assert_eq!(xlen(&mut con, "jobq:audit"), audit, "nothing audited");

    // "y" at the prompt: 0, and a guard proven by a change made while the
    // prompt waits (the job moved between the plan and the apply): 4.
    let moved = format!("RedisJob:{}:projA:pending", job_id(1));
    let (code, shown) = answer_prompt_after(&r, &format!("undo {id}"), b"y", || {
        let mut c = r.con();
        popoto_move(&mut c, &moved, "running").expect("move");
    });
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("1 undone"), "{shown}");
    assert!(shown.contains("1 skipped"), "{shown}");
}

/// The indexed status layout: enqueue, reap, retry and delete runs (their
/// in-place moves and `$IdxPtr` pointers) undone and redone exactly.
#[test]
fn an_indexed_model_s_runs_are_undone_and_redone_exactly() {
    use crate::indexed::{popoto_indexed_create, JOB_TOML};
    let r = Redis::start();
    let mut con = r.con();
    let schema = write_file(r.dir.path(), "job.toml", JOB_TOML);
    let schema = schema.to_string_lossy().into_owned();
    let jq = |args: &[&str]| {
        let mut a = vec!["--json", "--schema", schema.as_str()];
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
        let before = model_state(&mut con);
        let run = jq(args);
        run.expect_code(0);
        let id = run_id(&run.json());
        let after = model_state(&mut con);
        assert_ne!(after, before, "{args:?} changed nothing");
        let u = jq(&["undo", &id, "--yes"]);
        u.expect_code(0);
        let now = model_state(&mut con);
        assert!(now == before, "{args:?}\n{}", diff(&before, &now));
        let redo = jq(&["undo", &run_id(&u.json()), "--yes"]);
        redo.expect_code(0);
        let now = model_state(&mut con);
        assert!(now == after, "{args:?} redo\n{}", diff(&after, &now));
    }
}

/// A prune undone from its backup file (also when the file was moved:
/// `--backup`), and redone; a restore undone (the records it re-created
/// removed, untouched) and redone. Every key as before, DUMP for DUMP.
#[test]
fn a_prune_and_a_restore_are_undone_and_redone_exactly() {
    let r = Redis::start();
    let mut con = r.con();
    let old = 1_600_000_000.25;
    for i in 1..=40 {
        let status = if i % 4 == 0 { "failed" } else { "completed" };
        popoto_create(&mut con, &job_id(i), "projA", status, old + i as f64);
    }
    // A ghost and a damaged neighbour prune leaves alone.
    cmd(
        &mut con,
        &[b"SADD", CLASS.as_bytes(), b"RedisJob:ghost:projA:completed"],
    );
    for i in 101..=102 {
        popoto_create(&mut con, &job_id(i), "projA", "pending", old + i as f64);
    }
    let before = model_state(&mut con);
    let file = r.dir.path().join("prune.jsonl");
    let f = file.to_str().expect("path");
    let run = r.jobq(&[
        "--json",
        "prune",
        "--status",
        "completed",
        "--status",
        "failed",
        "--older-than",
        "1d",
        "--backup",
        f,
        "--yes",
    ]);
    run.expect_code(0);
    let id = run_id(&run.json());
    let pruned = model_state(&mut con);
    assert_ne!(pruned, before);
    // The backup moved: undo is told where it is now.
    let moved = r.dir.path().join("moved.jsonl");
    std::fs::rename(&file, &moved).expect("rename");
    let lost = r.jobq(&["--json", "undo", &id, "--yes"]);
    lost.expect_code(4);
    assert_eq!(lost.json()["counts"]["refused"], 40, "{}", lost.explain());
    assert_eq!(
        model_state(&mut con),
        pruned,
        "nothing put back without the file"
    );
    let m = moved.to_str().expect("path");
    let u = r.jobq(&["--json", "undo", &id, "--backup", m, "--yes"]);
    u.expect_code(0);
    let j = u.json();
    assert_eq!(j["counts"]["applied"], 40, "{j}");
    let now = model_state(&mut con);
    assert!(now == before, "{}", diff(&before, &now));
    let redo = undo(&r, &run_id(&j), 0);
    assert_eq!(redo["counts"]["applied"], 40, "{redo}");
    let now = model_state(&mut con);
    assert!(now == pruned, "{}", diff(&pruned, &now));

    // restore, then its undo and redo.
    let run = r.jobq(&["--json", "restore", m, "--yes"]);
    run.expect_code(0);
    let restored = model_state(&mut con);
    assert!(restored == before, "{}", diff(&before, &restored));
    undo_and_redo(&r, &mut con, &run_id(&run.json()), 40, &pruned);
}
