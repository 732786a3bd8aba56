//! The pure half of `jobq reap`: what the flags mean for a model
//! ([`Policy`]), what one running-index member is once its fields are read
//! ([`classify`]), whether a running job is stale ([`over_lease`]), and the
//! guarded move that gives it back ([`plan_move`]).
//!
//! Owns: the staleness rules and the shape of a reap move. Must not: do I/O
//! (no Redis, no printing, no clock: times come in as arguments).

use anyhow::Result;
use serde::Serialize;

use crate::cli::ReapArgs;
use crate::exit;
use crate::schema::msgpack::{decode, encode};
use crate::schema::record::parse_iso_utc;
use crate::schema::{FieldType, KeyTemplate, Model, Namespace, ParsedKey, Value};
use crate::store::audit::Audit;
use crate::store::moves::{Counter, MoveRecord};
use crate::store::reap::FieldsRead;

/// The staleness rules and the move's parameters, resolved against the model.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Seconds a job may run before it is stale.
    pub lease: f64,
    /// The timestamp field saying when a job started running, if any.
    pub since_field: Option<String>,
    pub heartbeat: Option<KeyTemplate>,
    pub heartbeat_text: Option<String>,
    /// Every running job is stale (the lease is not looked at).
    pub all: bool,
    /// The priority field and the raw bytes a requeued job gets, when the
    /// model has a `priority` field.
    pub priority: Option<(String, Vec<u8>)>,
    pub max_attempts: u64,
    /// Fields read from each running record: the status field first, then
    /// every key field, the since field and the heartbeat template's fields.
    pub read_fields: Vec<String>,
}

/// The field a requeued job's priority is written to, if the model has it.
pub const PRIORITY_FIELD: &str = "priority";

impl Policy {
    /// Resolve and validate the flags; a bad flag is a usage error.
    pub fn new(model: &Model, args: &ReapArgs) -> Result<Policy> {
        let since_field = match &args.since_field {
            Some(name) => match model.field(name) {
                Some(f) if matches!(f.ty, FieldType::Float | FieldType::Int | FieldType::Datetime) => {
                    Some(name.clone())
                }
                Some(f) => {
                    return Err(exit::usage(format!(
                        "--since-field {name:?} is of type {}; it must be float, int (unix seconds) or datetime",
                        f.ty.name()
                    )))
                }
                None => {
                    return Err(exit::usage(format!(
                        "--since-field {name:?} is not a field of the {} model",
                        model.class
                    )))
                }
            },
            None => model.since_field.clone(),
        };
        let heartbeat = match &args.heartbeat_key {
            Some(t) => Some(
                model
                    .key_template(t)
                    .map_err(|e| exit::usage(format!("--heartbeat-key {t:?}: {e}")))?,
            ),
            None => None,
        };
        let priority = match model.field(PRIORITY_FIELD) {
            Some(f) => {
                if args.requeue_priority.is_empty() {
                    return Err(exit::usage("--requeue-priority must not be empty"));
                }
                let v = f
                    .parse_text(&args.requeue_priority)
                    .map_err(|e| exit::usage(format!("--requeue-priority: {e:#}")))?;
                Some((f.name.clone(), encode(&v)))
            }
            None => None,
        };
        let mut read_fields = vec![model.status.field.clone()];
        let mut add = |name: &str| {
            if !read_fields.iter().any(|f| f == name) {
                read_fields.push(name.to_owned());
            }
        };
        for f in model.key_fields() {
            add(&f.name);
        }
        if let Some(s) = &since_field {
            add(s);
        }
        if let Some(t) = &heartbeat {
            for f in t.fields() {
                add(f);
            }
        }
        Ok(Policy {
            lease: args.lease.as_secs_f64(),
            since_field,
            heartbeat,
            heartbeat_text: args.heartbeat_key.clone(),
            all: args.all,
            priority,
            max_attempts: u64::from(args.max_attempts),
            read_fields,
        })
    }

    /// Whether this job's staleness depends on jobq's first-sighting note.
    pub fn needs_note(&self, job: &RunningJob) -> bool {
        !self.all && job.since.is_none()
    }
}

/// A running-index member that is a healthy running record.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningJob {
    pub key: Vec<u8>,
    pub parsed: ParsedKey,
    pub job_id: String,
    /// When it started running, from the since field (unix seconds), when
    /// the model has one and the record a usable value.
    pub since: Option<f64>,
    /// The worker's heartbeat key, with `--heartbeat-key`.
    pub heartbeat: Option<Vec<u8>>,
}

/// What one running-index member turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Running(RunningJob),
    /// No record under the key any more (a worker moved it meanwhile, or a
    /// dangling index member): nothing to reap.
    Vanished,
    /// Not a healthy running record; left alone (it is `orphans scan`'s and
    /// `reindex`'s business). The reason.
    Ignored(String),
}

/// Classify a member from the fields read for it (in `policy.read_fields`
/// order).
pub fn classify(model: &Model, policy: &Policy, key: &[u8], read: &FieldsRead) -> Seen {
    let values = match read {
        Ok(v) => v,
        Err(e) => return Seen::Ignored(format!("cannot read the record: {e}")),
    };
    if values.iter().all(Option::is_none) {
        return Seen::Vanished;
    }
    let parsed = match model.parse_key(key) {
        Ok(p) => p,
        Err(e) => return Seen::Ignored(format!("not a {} key: it {e}", model.class)),
    };
    let running = &model.status.running;
    let key_status = model.key_status(&parsed);
    if key_status != running {
        return Seen::Ignored(format!(
            "the key names status {key_status:?}, not {running:?}"
        ));
    }
    // A handful of fields: a list in read_fields order beats a map.
    let mut decoded: Vec<Option<Value>> = Vec::with_capacity(values.len());
    for (name, raw) in policy.read_fields.iter().zip(values) {
        match raw.as_deref().map(decode) {
            None => decoded.push(None),
            Some(Ok(v)) => decoded.push(Some(v)),
            Some(Err(e)) => {
                return Seen::Ignored(format!("field {name} is not valid msgpack ({e})"))
            }
        }
    }
    let get = |name: &str| -> Option<&Value> {
        let i = policy.read_fields.iter().position(|f| f == name)?;
        decoded.get(i)?.as_ref()
    };
    for f in model.key_fields() {
        let want = parsed.get(&f.name).unwrap_or_default();
        match get(&f.name) {
            None => return Seen::Ignored(format!("the record has no {} field", f.name)),
            Some(Value::Str(s)) if s == want => {}
            Some(Value::Nil) if want == crate::schema::keys::NONE_TEXT => {}
            Some(v) => {
                return Seen::Ignored(format!(
                    "the record's {} is {:?}, the key says {want:?}",
                    f.name,
                    v.display()
                ))
            }
        }
    }
    let since = policy
        .since_field
        .as_deref()
        .and_then(get)
        .and_then(|v| match v {
            Value::Tagged { text, .. } | Value::Str(text) => parse_iso_utc(text),
            v => v.as_f64(),
        })
        .filter(|t| t.is_finite());
    let heartbeat = policy.heartbeat.as_ref().map(|t| {
        t.render(|f| match get(f) {
            Some(Value::Str(s)) => s.clone(),
            Some(v) => v.display(),
            None => crate::schema::keys::NONE_TEXT.to_owned(),
        })
    });
    Seen::Running(RunningJob {
        job_id: model.job_id(&parsed).to_owned(),
        key: key.to_vec(),
        parsed,
        since,
        heartbeat,
    })
}

/// jobq's note of when it first saw a running key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub first_seen: f64,
    /// Written by this sweep: one sighting only, so never stale yet.
    pub new: bool,
}

/// What the running time of a stale job was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    All,
    SinceField,
    FirstSighting,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Staleness {
    pub basis: Basis,
    /// Seconds it has been running (at least), when known.
    pub age: Option<f64>,
}

/// Whether a running job is stale by the lease (or `--all`), before the
/// heartbeat is looked at. `now` is server time.
pub fn over_lease(
    policy: &Policy,
    now: f64,
    job: &RunningJob,
    note: Option<Note>,
) -> Option<Staleness> {
    if policy.all {
        let since = job.since.or(note.map(|n| n.first_seen));
        return Some(Staleness {
            basis: Basis::All,
            age: since.map(|s| now - s),
        });
    }
    let (basis, age) = match job.since {
        Some(s) => (Basis::SinceField, now - s),
        None => {
            // Two sightings before acting: a key first seen now may have
            // started a millisecond ago.
            let n = note.filter(|n| !n.new)?;
            (Basis::FirstSighting, now - n.first_seen)
        }
    };
    (age >= policy.lease).then_some(Staleness {
        basis,
        age: Some(age),
    })
}

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
    policy: &Policy,
    audit: &Audit,
    job: &RunningJob,
    attempts_before: u64,
    staleness: &Staleness,
) -> PlannedMove {
    let attempts = attempts_before + 1;
    let st = &model.status;
    let to_failed = attempts >= policy.max_attempts;
    let to = if to_failed { &st.failed } else { &st.pending };
    let new_key = model.rekey(&job.parsed, &st.field, to);
    let mut srem = vec![model.class_set()];
    let mut sadd = vec![model.class_set()];
    for f in model.indexed_fields() {
        let old = job.parsed.get(&f.name);
        srem.push(model.index_key(&f.name, old));
        let new = if f.name == st.field {
            Some(to.as_str())
        } else {
            old
        };
        sadd.push(model.index_key(&f.name, new));
    }
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
        ("new_key", &new_key),
        ("to", to.as_bytes()),
        ("attempts", attempts_text.as_bytes()),
        ("reason", reason.as_bytes()),
    ]);
    let record = MoveRecord {
        old_key: job.key.clone(),
        new_key,
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        expect_field: st.field.clone(),
        expect_value: encode(&Value::Str(st.running.clone())),
        guard_sets: vec![model.status_index(&st.running)],
        srem,
        sadd,
        zsets: model
            .sorted_fields()
            .map(|f| model.sorted_key(&f.name))
            .collect(),
        // The same job under another status (a twin its key's segments
        // name) makes it a duplicate: the move is skipped, not made.
        absent: job
            .heartbeat
            .iter()
            .cloned()
            .chain(
                st.values
                    .iter()
                    .filter(|s| **s != st.running && *s != to)
                    .map(|s| model.rekey(&job.parsed, &st.field, s)),
            )
            .collect(),
        overrides,
        counter: Some(Counter {
            hash: ns.reap_attempts(&model.class),
            field: job.job_id.as_bytes().to_vec(),
            expect: attempts_before,
        }),
        forget_in: Some(ns.reap_seen(&model.class)),
        audit: entry,
    };
    PlannedMove {
        record,
        to_status: to.clone(),
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> ReapArgs {
        let mut argv = vec!["jobq", "reap"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("valid args").command {
            Command::Reap(a) => a,
            _ => unreachable!("parsed a reap command"),
        }
    }

    fn pk(s: &str) -> Option<Vec<u8>> {
        Some(encode(&Value::Str(s.into())))
    }

    fn running_read(id: &str, project: &str) -> FieldsRead {
        // status, job_id, project_key (read_fields of the default model)
        Ok(vec![pk("running"), pk(id), pk(project)])
    }

    fn job(since: Option<f64>) -> RunningJob {
        let model = Model::redis_job();
        let key = b"RedisJob:j1:p:running".to_vec();
        RunningJob {
            parsed: model.parse_key(&key).expect("parses"),
            key,
            job_id: "j1".into(),
            since,
            heartbeat: None,
        }
    }

    #[test]
    fn policy_resolves_fields_and_flags() {
        let m = Model::redis_job();
        let p = Policy::new(
            &m,
            &args(&["--heartbeat-key", "w:{project_key}:{priority}"]),
        )
        .expect("ok");
        assert_eq!(
            p.read_fields,
            ["status", "job_id", "project_key", "priority"]
        );
        assert_eq!(p.lease, 1800.0);
        assert_eq!(p.priority, Some(("priority".into(), b"\xa4high".to_vec())));
        assert_eq!(p.max_attempts, 3);
        assert!(p.since_field.is_none());
        let e = Policy::new(&m, &args(&["--since-field", "message_text"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        assert!(e.to_string().contains("type str"), "{e}");
        let e = Policy::new(&m, &args(&["--since-field", "nope"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        let e = Policy::new(&m, &args(&["--heartbeat-key", "w:{worker}"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        let p = Policy::new(&m, &args(&["--since-field", "created_at"])).expect("ok");
        assert_eq!(p.read_fields.last().map(String::as_str), Some("created_at"));
    }

    #[test]
    fn classify_healthy_and_damaged_members() {
        let m = Model::redis_job();
        let p = Policy::new(&m, &args(&["--heartbeat-key", "w:{project_key}"])).expect("ok");
        let key = b"RedisJob:j1:team{&#58;}a:running";
        match classify(&m, &p, key, &running_read("j1", "team:a")) {
            Seen::Running(j) => {
                assert_eq!(j.job_id, "j1");
                assert_eq!(j.heartbeat.as_deref(), Some(b"w:team{&#58;}a".as_slice()));
                assert_eq!(j.since, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            classify(&m, &p, key, &Ok(vec![None, None, None])),
            Seen::Vanished
        );
        let ignored = |read: FieldsRead, k: &[u8]| match classify(&m, &p, k, &read) {
            Seen::Ignored(r) => r,
            other => panic!("{other:?}"),
        };
        let r = ignored(Ok(vec![pk("completed"), pk("j1"), pk("team:a")]), key);
        assert!(r.contains("status"), "{r}");
        let r = ignored(Ok(vec![pk("running"), pk("j1"), pk("team:b")]), key);
        assert!(r.contains("project_key"), "{r}");
        let r = ignored(
            running_read("j1", "team:a"),
            b"RedisJob:j1:team{&#58;}a:pending",
        );
        assert!(r.contains("\"pending\""), "{r}");
        let r = ignored(running_read("j1", "team:a"), b"RedisJob:j1:running");
        assert!(r.contains("segment"), "{r}");
        let r = ignored(
            Ok(vec![Some(b"\xd9".to_vec()), pk("j1"), pk("team:a")]),
            key,
        );
        assert!(r.contains("msgpack"), "{r}");
        let r = ignored(Err("WRONGTYPE".into()), key);
        assert!(r.contains("WRONGTYPE"), "{r}");
    }

    #[test]
    fn since_field_values() {
        let m = Model::redis_job();
        let p = Policy::new(&m, &args(&["--since-field", "created_at"])).expect("ok");
        let read = |v: Value| -> FieldsRead {
            Ok(vec![pk("running"), pk("j1"), pk("p"), Some(encode(&v))])
        };
        let since = |v: Value| match classify(&m, &p, b"RedisJob:j1:p:running", &read(v)) {
            Seen::Running(j) => j.since,
            other => panic!("{other:?}"),
        };
        assert_eq!(since(Value::Float(100.5)), Some(100.5));
        assert_eq!(since(Value::Int(100)), Some(100.0));
        assert_eq!(since(Value::Nil), None);
        assert_eq!(
            since(Value::Tagged {
                tag: "__datetime__".into(),
                text: "2026-01-01T00:00:00".into()
            }),
            Some(1767225600.0)
        );
    }

    #[test]
    fn lease_rules() {
        let m = Model::redis_job();
        let p = Policy::new(&m, &args(&["--lease", "60s"])).expect("ok");
        let old = Some(Note {
            first_seen: 1000.0,
            new: false,
        });
        let fresh_note = Some(Note {
            first_seen: 1000.0,
            new: true,
        });
        // first sighting: needs a note from an earlier sweep, and the lease
        assert!(p.needs_note(&job(None)));
        assert_eq!(over_lease(&p, 1000.0, &job(None), None), None);
        assert_eq!(over_lease(&p, 1100.0, &job(None), fresh_note), None);
        assert_eq!(over_lease(&p, 1059.0, &job(None), old), None);
        let s = over_lease(&p, 1060.0, &job(None), old).expect("stale");
        assert_eq!((s.basis, s.age), (Basis::FirstSighting, Some(60.0)));
        // the since field wins over the note
        assert!(!p.needs_note(&job(Some(0.0))));
        assert_eq!(over_lease(&p, 1000.0, &job(Some(950.0)), old), None);
        let s = over_lease(&p, 1000.0, &job(Some(900.0)), None).expect("stale");
        assert_eq!((s.basis, s.age), (Basis::SinceField, Some(100.0)));
        // a start in the future (worker clock ahead) is not stale
        assert_eq!(over_lease(&p, 1000.0, &job(Some(5000.0)), None), None);
        // --all: everything, seen once or not
        let all = Policy::new(&m, &args(&["--all"])).expect("ok");
        assert!(!all.needs_note(&job(None)));
        let s = over_lease(&all, 1000.0, &job(None), None).expect("stale");
        assert_eq!((s.basis, s.age), (Basis::All, None));
        // --lease 0 still wants two sightings
        let zero = Policy::new(&m, &args(&["--lease", "0"])).expect("ok");
        assert_eq!(over_lease(&zero, 1000.0, &job(None), fresh_note), None);
        assert!(over_lease(&zero, 1000.0, &job(None), old).is_some());
    }

    #[test]
    fn plans_popoto_style_moves() {
        let m = Model::redis_job();
        let ns = Namespace::new("jobq");
        let p = Policy::new(
            &m,
            &args(&["--heartbeat-key", "w:{project_key}", "--max-attempts", "3"]),
        )
        .expect("ok");
        let audit = Audit::new(ns.audit(), "reap");
        let Seen::Running(j) = classify(
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
