//! The staleness rules of `jobq reap`, as pure functions over plain data:
//! what one running-index member is once its fields are read
//! ([`judge_running`]), whether a running job is stale ([`over_lease`], after
//! two sightings: [`note_of`]), and which stale jobs are duplicates held by
//! another live record ([`duplicate_of`]).
//! [`ReapPolicy`] is the rules resolved against the model (`settings::reap`
//! resolves it from the flags).
//!
//! Owns: the staleness rules. Must not: do I/O (no Redis, no printing, no
//! clock: times come in as arguments), or see the flags or `store` types.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::schema::calendar::parse_iso_utc;
use crate::schema::msgpack::decode;
use crate::schema::probe::job_id_segment;
use crate::schema::{KeyTemplate, Model, ParsedKey, Value};

/// The fields read for one member, in `ReapPolicy::read_fields` order (`None`:
/// the field is absent), or the server's error for the read.
pub type FieldsRead = std::result::Result<Vec<Option<Vec<u8>>>, String>;

/// The staleness rules and the move's parameters, resolved against the model.
#[derive(Debug, Clone)]
pub struct ReapPolicy {
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

impl ReapPolicy {
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
pub fn judge_running(model: &Model, policy: &ReapPolicy, key: &[u8], read: &FieldsRead) -> Seen {
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
    if model.status_in_key() && key_status != running {
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
    // The indexed layout: the key names no status, the field must say
    // running as the set it was found in does (else a wrong_index, the
    // scan's business).
    if !model.status_in_key() {
        match get(&model.status.field) {
            Some(Value::Str(s)) if s == running => {}
            v => {
                return Seen::Ignored(format!(
                    "its {} field says {}, not {running:?} as the set it is in does",
                    model.status.field,
                    v.map_or("nothing".to_owned(), |v| format!("{:?}", v.display()))
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
    policy: &ReapPolicy,
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

/// Why a stale job is a duplicate rather than stale, if it is: another live
/// record (under another project) holds its job_id. Requeueing the running
/// copy would run a job that may have completed as the other; it is left
/// to `reindex`. `held`: job_ids held by two or more live records, with
/// their keys (see `scan::held_twice`).
pub fn duplicate_of(
    model: &Model,
    held: &FxHashMap<Vec<u8>, Vec<Vec<u8>>>,
    job: &RunningJob,
) -> Option<String> {
    let others: Vec<String> = job_id_segment(model, &job.key)
        .and_then(|id| held.get(id))
        .into_iter()
        .flatten()
        .filter(|k| **k != job.key)
        .map(|k| crate::bytes::escape_bytes(k))
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "a duplicate: job_id {} is also held by {}; not requeued (see jobq reindex --prefer)",
            job.job_id,
            others.join(", ")
        )
    })
}

/// The first-sighting note read back for a job. `written`: the time this
/// sweep writes as a note, as stored (`None` in a dry run, which writes
/// none); a note holding exactly it was written by this sweep.
pub fn note_of(first_seen: Option<f64>, written: Option<f64>) -> Option<Note> {
    first_seen.map(|first_seen| Note {
        first_seen,
        new: Some(first_seen) == written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::msgpack::encode;
    use crate::settings::reap::testing::policy;

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
    fn classify_healthy_and_damaged_members() {
        let m = Model::redis_job();
        let p = policy(&m, &["--heartbeat-key", "w:{project_key}"]).expect("ok");
        let key = b"RedisJob:j1:team{&#58;}a:running";
        match judge_running(&m, &p, key, &running_read("j1", "team:a")) {
            Seen::Running(j) => {
                assert_eq!(j.job_id, "j1");
                assert_eq!(j.heartbeat.as_deref(), Some(b"w:team{&#58;}a".as_slice()));
                assert_eq!(j.since, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            judge_running(&m, &p, key, &Ok(vec![None, None, None])),
            Seen::Vanished
        );
        let ignored = |read: FieldsRead, k: &[u8]| match judge_running(&m, &p, k, &read) {
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
        let p = policy(&m, &["--since-field", "created_at"]).expect("ok");
        let read = |v: Value| -> FieldsRead {
            Ok(vec![pk("running"), pk("j1"), pk("p"), Some(encode(&v))])
        };
        let since = |v: Value| match judge_running(&m, &p, b"RedisJob:j1:p:running", &read(v)) {
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
        let p = policy(&m, &["--lease", "60s"]).expect("ok");
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
        let all = policy(&m, &["--all"]).expect("ok");
        assert!(!all.needs_note(&job(None)));
        let s = over_lease(&all, 1000.0, &job(None), None).expect("stale");
        assert_eq!((s.basis, s.age), (Basis::All, None));
        // --lease 0 still wants two sightings
        let zero = policy(&m, &["--lease", "0"]).expect("ok");
        assert_eq!(over_lease(&zero, 1000.0, &job(None), fresh_note), None);
        assert!(over_lease(&zero, 1000.0, &job(None), old).is_some());
    }

    #[test]
    fn notes_and_duplicates() {
        assert_eq!(note_of(None, Some(5.0)), None);
        let n = note_of(Some(5.0), Some(5.0)).expect("note");
        assert!(n.new, "written by this sweep");
        assert!(!note_of(Some(4.0), Some(5.0)).expect("note").new);
        assert!(!note_of(Some(5.0), None).expect("note").new, "a dry run");
        let m = Model::redis_job();
        let j = job(None);
        let mut held = FxHashMap::default();
        assert_eq!(duplicate_of(&m, &held, &j), None);
        held.insert(b"j1".to_vec(), vec![j.key.clone()]);
        assert_eq!(duplicate_of(&m, &held, &j), None, "only itself");
        held.insert(
            b"j1".to_vec(),
            vec![j.key.clone(), b"RedisJob:j1:q:completed".to_vec()],
        );
        let r = duplicate_of(&m, &held, &j).expect("a duplicate");
        assert!(r.contains("RedisJob:j1:q:completed"), "{r}");
    }
}
