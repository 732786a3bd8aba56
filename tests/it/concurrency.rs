//! Concurrency (issue 9, README "Reliability"): property tests that build a
//! random damaged state and interleave a popoto-style worker (create, start,
//! complete, fail, delete: popoto's own atomic transactions) step by step
//! with jobq's plan and apply (`reindex --dry-run --plan-out`, the worker,
//! `reindex --plan`, the same plan again), with `reap --all`, and with a
//! final repair. After every jobq run the invariants of
//! `common::faults` hold: no job lost (I1), nothing the worker did
//! undone (I4), every write audited once (no step applied twice), no
//! healthy job the worker and the reaper left alone touched; after the
//! final repair I1-I5 in full.
//!
//! Cases are few by default (each starts a server and runs jobq seven
//! times); `JOBQ_LONG_TESTS=1` (set by .ci/run) runs more. The random
//! source is seeded from `JOBQ_FAULT_SEED` (printed), so a failure replays
//! with the same seed; proptest then shrinks it to a small case.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::faults::*;
use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value as J;

/// One job of the starting state: its status, and the damage done to it.
#[derive(Debug, Clone)]
struct Job {
    status: usize,
    damage: Option<(Damage, usize)>,
}

/// A worker's step: what, and which member it picks (by index in the
/// sorted set it picks from, so that a case replays exactly).
type Step = (Op, usize);

/// A starting state and the worker's steps between jobq's runs.
#[derive(Debug, Clone)]
struct Case {
    jobs: Vec<Job>,
    /// Before the plan; between plan and apply; before reap; before the
    /// final repair.
    steps: [Vec<Step>; 4],
}

fn job() -> impl Strategy<Value = Job> {
    let damage = prop_oneof![
        2 => Just(None),
        3 => (0..Damage::ALL.len(), 0usize..6).prop_map(|(d, p)| Some((Damage::ALL[d], p))),
    ];
    (0..STATUSES.len(), damage).prop_map(|(status, damage)| Job { status, damage })
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        Just(Op::Create),
        Just(Op::Start),
        Just(Op::Complete),
        Just(Op::Fail),
        Just(Op::Delete),
    ];
    (op, 0usize..64)
}

fn case() -> impl Strategy<Value = Case> {
    let steps = || proptest::collection::vec(step(), 0..5);
    (
        proptest::collection::vec(job(), 1..10),
        steps(),
        steps(),
        steps(),
        steps(),
    )
        .prop_map(|(jobs, a, b, c, d)| Case {
            jobs,
            steps: [a, b, c, d],
        })
}

/// The worker: popoto's create, move and delete, one step at a time, on
/// the test's connection; what it did goes into `log`.
struct Stepper {
    log: WorkerLog,
    next_id: usize,
}

impl Stepper {
    fn run(&mut self, con: &mut redis::Connection, steps: &[Step]) {
        for &(op, pick) in steps {
            let choose = |con: &mut redis::Connection, set: &str| -> Option<String> {
                let m = smembers(con, set);
                (!m.is_empty()).then(|| m[pick % m.len()].clone())
            };
            match op {
                Op::Create => {
                    let k = popoto_create(
                        con,
                        &job_id(self.next_id),
                        "p",
                        "pending",
                        1767225600.0 + self.next_id as f64,
                    );
                    self.next_id += 1;
                    self.log.created.push(k);
                }
                Op::Start | Op::Complete | Op::Fail => {
                    let (from, to) = match op {
                        Op::Start => ("pending", "running"),
                        Op::Complete => ("running", "completed"),
                        _ => ("running", "failed"),
                    };
                    // popoto moves the record it loaded: the key's own
                    // status must be `from`.
                    if let Some(k) = choose(con, &status_index(from)) {
                        if k.ends_with(&format!(":{from}")) {
                            if let Some(n) = popoto_move(con, &k, to) {
                                self.log.moved.push((k, n));
                            }
                        }
                    }
                }
                Op::Delete => {
                    if let Some(k) = choose(con, CLASS) {
                        if popoto_delete(con, &k) {
                            self.log.deleted.push(k);
                        }
                    }
                }
            }
        }
    }

    /// Job ids whose records the worker (or the reaper, logged here too)
    /// changed.
    fn touched(&self) -> BTreeSet<String> {
        self.log
            .moved
            .iter()
            .map(|(o, _)| id_of(o))
            .chain(self.log.deleted.iter().map(|k| id_of(k)))
            .collect()
    }
}

/// Everything about one record: its hash and every membership, comparable.
fn record_state(con: &mut redis::Connection, key: &str) -> String {
    let mut fields = hgetall_raw(con, key);
    fields.sort();
    let mut sets: Vec<String> = vec![CLASS.into(), project_index("p")];
    sets.extend(STATUSES.iter().map(|s| status_index(s)));
    let mut pipe = redis::pipe();
    for s in &sets {
        pipe.cmd("SISMEMBER").arg(s).arg(key);
    }
    pipe.cmd("ZSCORE").arg(ZSET).arg(key);
    let v: Vec<redis::Value> = pipe.query(con).expect("memberships");
    format!("{fields:?} {v:?}")
}

/// Audit entries from index `from` on: each (key, action) at most once;
/// how many there are.
fn new_audit_entries_once(con: &mut redis::Connection, from: usize, what: &str) -> usize {
    let entries = xrange(con, AUDIT);
    let mut seen = BTreeSet::new();
    for (_, fields) in &entries[from.min(entries.len())..] {
        let get = |n: &[u8]| {
            fields
                .iter()
                .find(|(f, _)| f.as_slice() == n)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        let step = (get(b"key"), get(b"action"));
        assert!(seen.insert(step.clone()), "{what}: {step:?} applied twice");
    }
    entries.len().saturating_sub(from)
}

fn audit_len(con: &mut redis::Connection) -> usize {
    xlen(con, AUDIT) as usize
}

fn count(j: &J, field: &str) -> usize {
    j[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {j}")) as usize
}

/// Build the case's state, run the interleaving, check after every run.
fn run_case(case: &Case) {
    let r = watched(&[]);
    let mut con = r.con();
    let mut healthy = Vec::new();
    for (i, j) in case.jobs.iter().enumerate() {
        let key = popoto_create(
            &mut con,
            &job_id(i + 1),
            "p",
            STATUSES[j.status],
            1767225600.0 + i as f64,
        );
        match j.damage {
            None => healthy.push(key),
            Some((d, pick)) => {
                damage(&mut con, &key, d, pick);
            }
        }
    }
    let before = Before::capture(&mut con);
    let healthy: Vec<(String, String)> = healthy
        .into_iter()
        .map(|k| {
            let s = record_state(&mut con, &k);
            (k, s)
        })
        .collect();
    let mut w = Stepper {
        log: WorkerLog::default(),
        next_id: 1000,
    };
    let mut reaped: BTreeSet<String> = BTreeSet::new();
    // No healthy job the worker and the reaper left alone was touched, nor
    // audited.
    let untouched_hold = |con: &mut redis::Connection, w: &Stepper, reaped: &BTreeSet<String>| {
        let touched = w.touched();
        let audited: BTreeSet<Vec<u8>> = audit_counts(con).into_keys().map(|(k, _)| k).collect();
        for (k, s) in &healthy {
            let id = id_of(k);
            if touched.contains(&id) || reaped.contains(&id) {
                continue;
            }
            assert_eq!(&record_state(con, k), s, "the healthy job {k} was touched");
            assert!(!audited.contains(k.as_bytes()), "{k} was audited");
        }
    };

    // 1. The worker, then a plan.
    w.run(&mut con, &case.steps[0]);
    let plan = r.dir.path().join("plan.json");
    let plan = plan.to_str().expect("path");
    let dry = r.jobq(&[
        "--json",
        "reindex",
        "--dry-run",
        "--grace",
        "0",
        "--prefer",
        "key",
        "--duplicates=keep-latest",
        "--plan-out",
        plan,
    ]);
    assert!(matches!(dry.code(), 0 | 1), "{}", dry.explain());
    assert_eq!(audit_len(&mut con), 0, "a dry run audited");

    // 2. The worker between plan and apply; the guards see its changes.
    w.run(&mut con, &case.steps[1]);
    let a0 = audit_len(&mut con);
    let apply = r.jobq(&["--json", "reindex", "--yes", "--plan", plan]);
    assert!(matches!(apply.code(), 0 | 4), "{}", apply.explain());
    let j = apply.json();
    assert_eq!(
        count(&j, "failed") + count(&j, "unknown"),
        0,
        "{}",
        apply.explain()
    );
    let added = new_audit_entries_once(&mut con, a0, "apply");
    assert_eq!(
        added,
        count(&j, "applied"),
        "one audit entry per applied step"
    );
    check_i1(&mut con, &before, &w.log, false);
    check_i4(&mut con, &w.log, false);
    untouched_hold(&mut con, &w, &reaped);

    // 3. The same plan again at once: nothing applied, nothing written.
    let snap = snapshot(&mut con);
    let a1 = audit_len(&mut con);
    let again = r.jobq(&["--json", "reindex", "--yes", "--plan", plan]);
    assert!(matches!(again.code(), 0 | 4), "{}", again.explain());
    let j2 = again.json();
    assert_eq!(count(&j2, "applied"), 0, "{}", again.explain());
    // What the first run applied (or found done) is found done.
    assert_eq!(
        count(&j2, "already_applied"),
        count(&j, "applied") + count(&j, "already_applied"),
        "{}",
        again.explain()
    );
    if apply.code() == 0 {
        again.expect_code(0);
    }
    let now = snapshot(&mut con);
    assert!(
        now == snap,
        "the plan's replay wrote:\n{}",
        diff(&snap, &now)
    );
    assert_eq!(audit_len(&mut con), a1, "the plan's replay audited");

    // 4. The worker, then a reaper taking every running job.
    w.run(&mut con, &case.steps[2]);
    let a0 = audit_len(&mut con);
    let reap = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
    assert!(matches!(reap.code(), 0 | 4), "{}", reap.explain());
    let j = reap.json();
    let moved = j["moved"].as_array().expect("moved");
    for m in moved {
        let (old, new) = (
            m["old_key"].as_str().expect("old_key").to_owned(),
            m["new_key"].as_str().expect("new_key").to_owned(),
        );
        reaped.insert(id_of(&old));
        // The reaper's moves are not to be undone either.
        w.log.moved.push((old, new));
    }
    let added = new_audit_entries_once(&mut con, a0, "reap");
    assert_eq!(added, moved.len(), "one audit entry per reap move");
    check_i1(&mut con, &before, &w.log, false);
    check_i4(&mut con, &w.log, false);
    untouched_hold(&mut con, &w, &reaped);

    // 5. The worker, then a repair that settles everything: I1-I5.
    w.run(&mut con, &case.steps[3]);
    let a0 = audit_len(&mut con);
    let settle = r.jobq(&SETTLE);
    settle.expect_code(0);
    let added = new_audit_entries_once(&mut con, a0, "settle");
    assert_eq!(added, count(&settle.json(), "applied"));
    check_settled(&r, &before, &w.log, &SETTLE);
    untouched_hold(&mut con, &w, &reaped);
}

/// A proptest runner seeded from `JOBQ_FAULT_SEED`.
fn runner(cases: u32) -> TestRunner {
    let seed = crate::common::Rng::from_env("JOBQ_FAULT_SEED").next();
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (seed >> ((i % 8) * 8)) as u8 ^ i as u8;
    }
    let config = Config {
        cases,
        max_shrink_iters: if long_tests() { 200 } else { 40 },
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

#[test]
fn worker_interleaved_with_plan_apply_replay_reap_and_repair() {
    let cases = if long_tests() { 256 } else { 48 };
    let mut runner = runner(cases);
    let result = runner.run(&case(), |c| {
        std::panic::catch_unwind(|| run_case(&c)).map_err(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            TestCaseError::fail(why)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The worker alone against a reaper, many rounds: every running job the
/// reaper takes is moved exactly once per round, none lost, no completed
/// job requeued.
#[test]
fn worker_interleaved_with_reap_rounds() {
    let cases = if long_tests() { 128 } else { 24 };
    let mut runner = runner(cases);
    let strategy = (
        1usize..12,
        proptest::collection::vec(proptest::collection::vec(step(), 0..6), 1..4),
    );
    let result = runner.run(&strategy, |(n, rounds)| {
        std::panic::catch_unwind(|| reap_rounds(n, &rounds)).map_err(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            TestCaseError::fail(why)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn reap_rounds(n: usize, rounds: &[Vec<Step>]) {
    let r = watched(&[]);
    let mut con = r.con();
    for i in 0..n {
        let status = if i % 2 == 0 { "running" } else { "pending" };
        popoto_create(
            &mut con,
            &job_id(i + 1),
            "p",
            status,
            1767225600.0 + i as f64,
        );
    }
    let before = Before::capture(&mut con);
    let mut w = Stepper {
        log: WorkerLog::default(),
        next_id: 1000,
    };
    let mut attempts: BTreeMap<String, u64> = BTreeMap::new();
    for steps in rounds {
        w.run(&mut con, steps);
        let running = smembers(&mut con, &status_index("running"));
        let a0 = audit_len(&mut con);
        let reap = r.jobq(&["--json", "reap", "--once", "--all", "--yes"]);
        reap.expect_code(0);
        let j = reap.json();
        let mut moved: Vec<String> = Vec::new();
        for m in j["moved"].as_array().expect("moved") {
            let (old, new) = (
                m["old_key"].as_str().expect("old_key").to_owned(),
                m["new_key"].as_str().expect("new_key").to_owned(),
            );
            let id = id_of(&old);
            let a = attempts.entry(id).or_default();
            *a += 1;
            assert_eq!(m["attempts"], *a, "{m}");
            moved.push(old.clone());
            w.log.moved.push((old, new));
        }
        moved.sort();
        assert_eq!(moved, running, "every running job moved, once");
        assert_eq!(new_audit_entries_once(&mut con, a0, "reap"), running.len());
        assert!(smembers(&mut con, &status_index("running")).is_empty());
        check_i1(&mut con, &before, &w.log, true);
        check_i2(&mut con, &[]);
        check_i4(&mut con, &w.log, true);
    }
    check_i5(&mut con);
}

// ---- what the properties found, kept as plain tests ------------------------

/// Found by the interleaving property: the worker deleted the only job
/// between plan and apply, and the repair after it, on a database with no
/// job left, failed with exit 3 ("empty command": the scan sent an empty
/// pipeline for the secondary indexes of no job).
#[test]
fn every_job_deleted_between_plan_and_apply() {
    run_case(&Case {
        jobs: vec![Job {
            status: 0,
            damage: None,
        }],
        steps: [vec![], vec![(Op::Delete, 0)], vec![], vec![]],
    });
    // And a database with no job at all: nothing found, nothing to do.
    let r = watched(&[]);
    r.jobq(&["orphans", "scan", "--grace", "0"]).expect_code(0);
    r.jobq(&["--json", "reindex", "--yes", "--grace", "0"])
        .expect_code(0);
    r.jobq(&["--json", "reap", "--once", "--all", "--yes"])
        .expect_code(0);
}
