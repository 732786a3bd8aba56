//! Undo after SIGKILL: a `retry` or a `delete` killed at a random point,
//! then undone, gives back exactly the state before it (DUMP bytes of
//! every hash, members of every set, scores of every zset): undo reverses
//! what the run had applied, each step of which is whole with its entry.

use super::*;
use crate::undo::model_state;

/// The last run in the stream (the killed one), if it wrote anything.
fn last_run(r: &Redis) -> Option<String> {
    let run = r.jobq(&["--json", "audit", "--limit", "1"]);
    run.expect_code(0);
    run.json()["runs"][0]["run_id"].as_str().map(str::to_owned)
}

fn killed_then_undone(args: &[&str], seed: &dyn Fn(&mut redis::Connection)) {
    let r = watched(&[]);
    let mut con = r.con();
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 20 } else { 8 };
    seed(&mut con);
    let t0 = Instant::now();
    r.jobq(args).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed(&mut con);
        let before = model_state(&mut con);
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, args), delay);
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

#[test]
fn a_retry_killed_at_random_points_is_undone_exactly() {
    killed_then_undone(&["-q", "retry", "--yes"], &|con| {
        seed_status(con, 3000, "failed");
    });
}

#[test]
fn a_delete_killed_at_random_points_is_undone_exactly() {
    let ids: Vec<String> = (1..=2000).map(job_id).collect();
    let mut args = vec!["-q", "delete", "--yes"];
    args.extend(ids.iter().map(String::as_str));
    killed_then_undone(&args, &|con| {
        seed_status(con, 2000, "completed");
    });
}
