//! Undo after SIGKILL: a `retry`, a `delete`, a `reindex` of a damaged
//! queue, a `prune` (undone from its backup file) or an `enqueue --file`
//! killed at a random point, then undone, gives back exactly the state
//! before it (DUMP bytes of every hash, members of every set, scores of
//! every zset): undo reverses what the run had applied, each step of which
//! is whole with its entry. An undo killed at a random point and rerun
//! ends in the same state, and reverses no change twice.

use std::collections::BTreeMap;

use super::*;
use crate::undo::model_state;

/// The last run in the stream (the killed one), if it wrote anything.
fn last_run(r: &Redis) -> Option<String> {
    let run = r.jobq(&["--json", "audit", "--limit", "1"]);
    run.expect_code(0);
    run.json()["runs"][0]["run_id"].as_str().map(str::to_owned)
}

/// A kill delay in the `point`-th of `points` equal slices of `span` ms,
/// at a random place within it: random points, spread over the whole run.
fn delay_at(rng: &mut Rng, point: u64, points: u64, span: u64) -> Duration {
    let slice = span / points;
    Duration::from_millis(slice * point + rng.below(slice))
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Seed, run `args(point)` to the end once (to time it), then for each
/// point: seed afresh, SIGKILL the run at a random point, undo it, and
/// compare every model key with the state before the run.
fn killed_then_undone(
    points: u64,
    args: &dyn Fn(usize) -> Vec<String>,
    seed: &dyn Fn(&mut redis::Connection),
) {
    let r = watched(&[]);
    let mut con = r.con();
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    seed(&mut con);
    let t0 = Instant::now();
    r.jobq(&strs(&args(usize::MAX))).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed(&mut con);
        let before = model_state(&mut con);
        let delay = delay_at(&mut rng, point, points, full + 20);
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &strs(&args(point as usize))), delay);
        // The killed run's last script may still be queued on the server.
        wait_jobq_connections_gone(&mut con);
        let Some(id) = last_run(&r) else {
            assert_eq!(model_state(&mut con), before, "no entry, no change");
            continue;
        };
        let changed = model_state(&mut con) != before;
        let undo = r.jobq(&["--json", "-q", "undo", &id, "--yes"]);
        undo.expect_code(0);
        let j = undo.json();
        if changed && j["counts"]["applied"].as_u64() > Some(0) {
            mid += 1;
        }
        let now = model_state(&mut con);
        assert!(now == before, "point {point}:\n{}", diff(&before, &now));
    }
    eprintln!("kills after some writes: {mid} of {points}");
    assert!(mid >= 2, "only {mid} kills landed after a write");
}

fn fixed(args: &[&str]) -> impl Fn(usize) -> Vec<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    move |_| args.clone()
}

#[test]
fn a_retry_killed_at_random_points_is_undone_exactly() {
    let points = if long_tests() { 20 } else { 8 };
    killed_then_undone(points, &fixed(&["-q", "retry", "--yes"]), &|con| {
        seed_status(con, 3000, "failed");
    });
}

#[test]
fn a_delete_killed_at_random_points_is_undone_exactly() {
    let ids: Vec<String> = (1..=2000).map(job_id).collect();
    let mut args = vec!["-q", "delete", "--yes"];
    args.extend(ids.iter().map(String::as_str));
    let points = if long_tests() { 20 } else { 8 };
    killed_then_undone(points, &fixed(&args), &|con| {
        seed_status(con, 2000, "completed");
    });
}

/// `n` pending jobs (popoto's bytes), every job but each sixth damaged in
/// one of the ways reindex repairs (as tests/it/undo.rs damages its queue):
/// out of its status index, out of the class set, in a second status
/// index, in the wrong status index, out of its project index and the
/// sorted index, its status field disagreeing with its index.
fn damaged_queue(con: &mut redis::Connection, n: usize) {
    use jobq::schema::msgpack::encode;
    use jobq::schema::Value as V;
    let keys = seed_status(con, n, "pending");
    for chunk in keys.chunks(2000).enumerate() {
        let (c, chunk) = chunk;
        let mut pipe = redis::pipe();
        for (i, k) in chunk.iter().enumerate() {
            match (c * 2000 + i) % 6 {
                0 => pipe.cmd("SREM").arg(status_index("pending")).arg(k),
                1 => pipe.cmd("SREM").arg(CLASS).arg(k),
                2 => pipe.cmd("SADD").arg(status_index("running")).arg(k),
                3 => pipe
                    .cmd("SMOVE")
                    .arg(status_index("pending"))
                    .arg(status_index("completed"))
                    .arg(k),
                4 => pipe
                    .cmd("SREM")
                    .arg(project_index("p"))
                    .arg(k)
                    .ignore()
                    .cmd("ZREM")
                    .arg(ZSET)
                    .arg(k),
                _ => pipe
                    .cmd("HSET")
                    .arg(k)
                    .arg("status")
                    .arg(encode(&V::Str("failed".into()))),
            }
            .ignore();
        }
        let _: () = pipe.query(con).expect("damage");
    }
}

#[test]
fn a_reindex_killed_at_random_points_is_undone_exactly() {
    let args = [
        "-q",
        "reindex",
        "--yes",
        "--grace",
        "0",
        "--prefer",
        "field",
        "--duplicates",
        "keep-latest",
    ];
    let points = if long_tests() { 12 } else { 6 };
    killed_then_undone(points, &fixed(&args), &|con| damaged_queue(con, 3000));
}

#[test]
fn a_prune_killed_at_random_points_is_undone_from_its_backup() {
    let dir = tempfile::tempdir().expect("tmp");
    // A backup file of its own per run: undo reads the one its run wrote.
    let args = |point: usize| -> Vec<String> {
        let file = dir.path().join(format!("prune-{point}.jsonl"));
        ["-q", "prune", "--older-than", "1d", "--yes", "--backup"]
            .iter()
            .map(|s| s.to_string())
            .chain([file.to_string_lossy().into_owned()])
            .collect()
    };
    let points = if long_tests() { 12 } else { 6 };
    killed_then_undone(points, &args, &|con| {
        seed_status(con, 3000, "completed");
    });
}

#[test]
fn an_enqueue_file_killed_at_random_points_is_undone_exactly() {
    // The file lives with a server of its own; the model starts empty and
    // a few jobs of another project are there before the run.
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{{\"project_key\":\"p{}\",\"message_text\":\"m{i}\",\"created_at\":{i}.25,\"idempotency_key\":\"line-{i}\"}}\n",
            i % 5
        ));
    }
    let file = write_file(dir.path(), "jobs.jsonl", &text);
    let file = file.to_str().expect("path").to_owned();
    let args = ["-q", "enqueue", "--file", &file, "--batch", "25"];
    let points = if long_tests() { 12 } else { 6 };
    killed_then_undone(points, &fixed(&args), &|con| {
        seed_status(con, 20, "pending");
    });
}

/// Every key an entry of a run other than `original` names (its `key`
/// field), counted: the keys the undo runs reversed.
fn reversed_keys(con: &mut redis::Connection, original: &str) -> BTreeMap<Vec<u8>, usize> {
    let mut out = BTreeMap::new();
    for (_, e) in xrange(con, AUDIT) {
        let run = e.iter().find(|(f, _)| f == b"run").map(|(_, v)| v.clone());
        if run.as_deref() == Some(original.as_bytes()) {
            continue;
        }
        for (f, v) in e {
            if f == b"key" {
                *out.entry(v).or_insert(0) += 1;
            }
        }
    }
    out
}

#[test]
fn an_undo_killed_at_random_points_and_rerun_reverses_each_change_once() {
    let r = watched(&[]);
    let mut con = r.con();
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 12 } else { 6 };
    let n = 3000;
    let run_retry = |r: &Redis, con: &mut redis::Connection| {
        flushall(con);
        seed_status(con, n, "failed");
        let before = model_state(con);
        let run = r.jobq(&["--json", "-q", "retry", "--yes"]);
        run.expect_code(0);
        let id = run.json()["run_id"].as_str().expect("run_id").to_owned();
        (before, id)
    };
    let (_, id) = run_retry(&r, &mut con);
    let t0 = Instant::now();
    r.jobq(&["-q", "undo", &id, "--yes"]).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        let (before, id) = run_retry(&r, &mut con);
        let delay = delay_at(&mut rng, point, points, full + 20);
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &["-q", "undo", &id, "--yes"]), delay);
        wait_jobq_connections_gone(&mut con);
        let first = reversed_keys(&mut con, &id).len();
        if first > 0 && first < n {
            mid += 1;
        }
        // The rerun skips what the killed undo reversed (exit 4 when it
        // skipped any), and reverses the rest.
        let rerun = r.jobq(&["--json", "-q", "undo", &id, "--yes"]);
        let code = rerun.out.status.code();
        assert!(
            matches!(code, Some(0) | Some(4)),
            "rerun exit {code:?}\n{}",
            rerun.explain()
        );
        let j = rerun.json();
        assert_eq!(j["counts"]["applied"], n - first, "{j}");
        let now = model_state(&mut con);
        assert!(now == before, "point {point}:\n{}", diff(&before, &now));
        let reversed = reversed_keys(&mut con, &id);
        assert_eq!(reversed.len(), n, "every change reversed");
        let twice: Vec<_> = reversed.iter().filter(|(_, c)| **c > 1).collect();
        assert!(twice.is_empty(), "reversed twice: {}", twice.len());
    }
    eprintln!("kills mid-undo: {mid} of {points}");
    assert!(mid >= 2, "only {mid} kills landed mid-undo");
}
