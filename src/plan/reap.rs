//! Planning of `jobq reap`: the guarded move that gives a stale job back
//! ([`plan_move`], for a page: [`plan_moves`]), to pending with the requeue
//! priority or to failed after `--max-attempts`, and which of a page's stale
//! jobs a sweep takes under `--max-jobs` ([`within_budget`]).
//!
//! Owns: the shape of a reap move and its audit entry. Must not: do I/O
//! (no Redis, no printing), or judge staleness (`diagnose::stale`). The one
//! impurity is the audit entry's time, which `store::audit` stamps as the
//! entry is built; the move and audit types are still `store`'s, until they
//! move to `schema`.

use crate::diagnose::stale::{Basis, ReapPolicy, RunningJob, Staleness};
use crate::schema::msgpack::encode;
use crate::schema::{Model, Namespace, Value};
use crate::store::audit::Audit;
use crate::store::moves::{Counter, MoveRecord};

use super::status_move::status_move;

/// A planned move and what it will do.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMove {
    pub record: MoveRecord,
    pub to_status: String,
    /// The reap count after this move.
    pub attempts: u64,
}

/// The guarded move for a stale job: to pending with the requeue priority,
/// or to failed when this reap reaches `max_attempts`. `attempts_before` is
/// the reap count read for the job (the move is guarded by it).
pub fn plan_move(
    model: &Model,
    ns: &Namespace,
    policy: &ReapPolicy,
    audit: &Audit,
    job: &RunningJob,
    attempts_before: u64,
    staleness: &Staleness,
) -> PlannedMove {
    let attempts = attempts_before + 1;
    let st = &model.status;
    let to_failed = attempts >= policy.max_attempts;
    let to = if to_failed { &st.failed } else { &st.pending };
    let mv = status_move(model, &job.key, &job.parsed, &st.running, to);
    let mut overrides = vec![(st.field.clone(), encode(&Value::Str(to.clone())))];
    if !to_failed {
        if let Some((f, v)) = &policy.priority {
            overrides.push((f.clone(), v.clone()));
        }
    }
    let age = staleness
        .age
        .map(|a| format!("running for {a:.0} s"))
        .unwrap_or_else(|| "running".to_owned());
    let reason = match (to_failed, staleness.basis) {
        (true, _) => format!(
            "reaped {attempts} times (--max-attempts {})",
            policy.max_attempts
        ),
        (false, Basis::All) => format!("{age}; --all"),
        (false, Basis::SinceField) => format!(
            "{age} by {} (lease {:.0} s)",
            policy.since_field.as_deref().unwrap_or("since field"),
            policy.lease
        ),
        (false, Basis::FirstSighting) => {
            format!("{age} since first seen (lease {:.0} s)", policy.lease)
        }
    };
    let attempts_text = attempts.to_string();
    let entry = audit.entry(&[
        (
            "action",
            if to_failed {
                b"reap_fail".as_slice()
            } else {
                b"reap_requeue".as_slice()
            },
        ),
        ("job", job.job_id.as_bytes()),
        ("key", &job.key),
        ("new_key", &mv.new_key),
        ("to", to.as_bytes()),
        ("attempts", attempts_text.as_bytes()),
        ("reason", reason.as_bytes()),
    ]);
    let record = MoveRecord {
        old_key: job.key.clone(),
        new_key: mv.new_key,
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        expect_field: st.field.clone(),
        expect_value: encode(&Value::Str(st.running.clone())),
        guard_sets: mv.guard_sets,
        srem: mv.srem,
        sadd: mv.sadd,
        zsets: mv.zsets,
        // The same job under another status (a twin its key's segments
        // name) makes it a duplicate: the move is skipped, not made.
        absent: job.heartbeat.iter().cloned().chain(mv.twins).collect(),
        overrides,
        counter: Some(Counter {
            hash: ns.reap_attempts(&model.class),
            field: job.job_id.as_bytes().to_vec(),
            expect: attempts_before,
        }),
        forget_in: Some(ns.reap_seen(&model.class)),
        audit: entry,
        pointer: mv.pointer,
    };
    PlannedMove {
        record,
        to_status: to.clone(),
        attempts,
    }
}

/// A stale job and the move planned for it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub job: RunningJob,
    pub staleness: Staleness,
    pub plan: PlannedMove,
}

/// The moves for a page's stale jobs; `stored`: the reap count read for
/// each, as stored (each move is guarded by it).
pub fn plan_moves(
    model: &Model,
    ns: &Namespace,
    policy: &ReapPolicy,
    audit: &Audit,
    stale: Vec<(RunningJob, Staleness)>,
    stored: Vec<Option<Vec<u8>>>,
) -> Vec<Planned> {
    stale
        .into_iter()
        .zip(stored)
        .map(|((job, staleness), a)| {
            let before = attempts_before(a.as_deref());
            let plan = plan_move(model, ns, policy, audit, &job, before, &staleness);
            Planned {
                job,
                staleness,
                plan,
            }
        })
        .collect()
}

/// Keep at most what is left of `max_jobs` after `taken` stale jobs;
/// whether the budget is now spent (the sweep stops after this page).
pub fn within_budget<T>(cands: &mut Vec<T>, max_jobs: Option<u64>, taken: u64) -> bool {
    let Some(max) = max_jobs else { return false };
    let left = max.saturating_sub(taken) as usize;
    if cands.len() >= left {
        cands.truncate(left);
        true
    } else {
        false
    }
}

/// A reap count as stored (decimal text); absent or unreadable is zero.
pub fn attempts_before(stored: Option<&[u8]>) -> u64 {
    stored
        .and_then(|b| std::str::from_utf8(b).ok()?.parse::<u64>().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::stale::{judge_running, FieldsRead, Seen};
    use crate::settings::reap::testing::policy;

    fn pk(s: &str) -> Option<Vec<u8>> {
        Some(encode(&Value::Str(s.into())))
    }

    fn running_read(id: &str, project: &str) -> FieldsRead {
        // status, job_id, project_key (read_fields of the default model)
        Ok(vec![pk("running"), pk(id), pk(project)])
    }

    #[test]
    fn budgets_and_stored_counts() {
        let mut c = vec![1, 2, 3];
        assert!(!within_budget(&mut c, None, 10));
        assert!(!within_budget(&mut c, Some(10), 6));
        assert_eq!(c, [1, 2, 3]);
        assert!(within_budget(&mut c, Some(5), 3));
        assert_eq!(c, [1, 2]);
        assert!(within_budget(&mut c, Some(5), 7));
        assert!(c.is_empty());
        assert_eq!(attempts_before(Some(b"2")), 2);
        assert_eq!(attempts_before(Some(b"x")), 0);
        assert_eq!(attempts_before(None), 0);
    }

    #[test]
    fn plans_popoto_style_moves() {
        let m = Model::redis_job();
        let ns = Namespace::new("jobq");
        let p = policy(
            &m,
            &["--heartbeat-key", "w:{project_key}", "--max-attempts", "3"],
        )
        .expect("ok");
        let audit = Audit::new(ns.audit(), "reap");
        let Seen::Running(j) = judge_running(
            &m,
            &p,
            b"RedisJob:j1:team{&#58;}a:running",
            &running_read("j1", "team:a"),
        ) else {
            panic!("running")
        };
        let st = Staleness {
            basis: Basis::All,
            age: None,
        };
        let mv = plan_move(&m, &ns, &p, &audit, &j, 0, &st);
        let r = &mv.record;
        assert_eq!((mv.to_status.as_str(), mv.attempts), ("pending", 1));
        assert_eq!(r.new_key, b"RedisJob:j1:team{&#58;}a:pending");
        let text = |v: &[Vec<u8>]| {
            v.iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text(&r.srem),
            [
                "$Class:RedisJob",
                "$KeyF:RedisJob:project_key:team{&#58;}a",
                "$KeyF:RedisJob:status:running"
            ]
        );
        assert_eq!(
            text(&r.sadd),
            [
                "$Class:RedisJob",
                "$KeyF:RedisJob:project_key:team{&#58;}a",
                "$KeyF:RedisJob:status:pending"
            ]
        );
        assert_eq!(text(&r.guard_sets), ["$KeyF:RedisJob:status:running"]);
        assert_eq!(text(&r.zsets), ["$SortF:RedisJob:created_at"]);
        // The heartbeat, then the job's keys under the statuses it is not
        // moving between: a record there makes it a duplicate.
        assert_eq!(
            text(&r.absent),
            [
                "w:team{&#58;}a",
                "RedisJob:j1:team{&#58;}a:completed",
                "RedisJob:j1:team{&#58;}a:failed"
            ]
        );
        assert_eq!(r.expect_value, b"\xa7running");
        assert_eq!(
            r.overrides,
            vec![
                ("status".to_owned(), b"\xa7pending".to_vec()),
                ("priority".to_owned(), b"\xa4high".to_vec())
            ]
        );
        let c = r.counter.as_ref().expect("counter");
        assert_eq!(
            (c.hash.as_slice(), c.field.as_slice(), c.expect),
            (
                b"jobq:reap:RedisJob:attempts".as_slice(),
                b"j1".as_slice(),
                0
            )
        );
        assert_eq!(
            r.forget_in.as_deref(),
            Some(b"jobq:reap:RedisJob:seen".as_slice())
        );
        // the third reap sends it to failed, priority untouched
        let mv = plan_move(&m, &ns, &p, &audit, &j, 2, &st);
        assert_eq!((mv.to_status.as_str(), mv.attempts), ("failed", 3));
        assert_eq!(mv.record.new_key, b"RedisJob:j1:team{&#58;}a:failed");
        assert_eq!(
            mv.record.overrides,
            vec![("status".to_owned(), b"\xa6failed".to_vec())]
        );
        let reason = mv
            .record
            .audit
            .windows(2)
            .find(|w| w[0] == b"reason")
            .map(|w| w[1].clone());
        assert_eq!(
            reason.as_deref(),
            Some(b"reaped 3 times (--max-attempts 3)".as_slice())
        );
    }
}
