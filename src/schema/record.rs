//! A record as popoto `create()` would write it: every declared field in
//! declaration order, defaults filled in, key fields rendered into the key.
//!
//! Owns: [`NewRecord`] (what to write for one job). Must not: talk to Redis.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::escape::escape_into;
use super::keys::NONE_TEXT;
use super::model::{Field, FieldDefault, FieldRole, FieldType, Model};
use super::msgpack::{decode, encode, encode_into, Value, DATETIME_TAG};

#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord<'m> {
    model: &'m Model,
    /// Every declared field's value, in declaration order (the model's
    /// `fields`): names are the model's, not copied per record.
    values: Vec<Value>,
}

impl Model {
    /// Build the record popoto would write for these field values. `given`
    /// must only name declared fields; missing fields take their default or
    /// None; a missing job_id is generated. `now` is unix seconds.
    pub fn new_record(
        &self,
        mut given: BTreeMap<String, Value>,
        now: f64,
    ) -> Result<NewRecord<'_>> {
        self.check_names(&given)?;
        let mut values = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let v = match given.remove(&f.name) {
                Some(v) => v,
                None => self.default_value(f, now, new_job_id),
            };
            self.check_value(f, &v)?;
            values.push(v);
        }
        Ok(NewRecord {
            model: self,
            values,
        })
    }

    /// Check that these values make a record, as [`Model::new_record`] does,
    /// and keep them, encoded, in `drafts`. A draft becomes the same bytes as
    /// the record (see [`Model::render`]).
    pub fn add_draft(&self, given: &Given, drafts: &mut Drafts) -> Result<()> {
        for (f, v) in self.fields.iter().zip(&given.0) {
            match v {
                Some(v) => self.check_value(f, v)?,
                // What can go wrong with a default does not depend on the
                // time or the generated id.
                None => self.check_value(f, &self.default_value(f, 0.0, placeholder_id))?,
            }
        }
        let buf = &mut drafts.buf;
        drafts.starts.push(buf.len());
        for v in &given.0 {
            match v {
                Some(v) => {
                    let at = buf.len();
                    buf.extend_from_slice(&[0; 4]);
                    encode_into(buf, v);
                    let len = u32::try_from(buf.len() - at - 4).unwrap_or(ABSENT - 1);
                    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
                }
                None => buf.extend_from_slice(&ABSENT.to_le_bytes()),
            }
        }
        Ok(())
    }

    /// What a run writes for the fields drafts do not give, `now` being the
    /// run's time.
    pub fn filler(&self, now: f64) -> Filler {
        let defaults = self
            .fields
            .iter()
            .map(|f| match f.role {
                FieldRole::Auto => None,
                _ => Some(encode(&self.default_value(f, now, new_job_id))),
            })
            .collect();
        let index_prefixes = self
            .indexed_fields()
            .map(|f| {
                let i = self
                    .fields
                    .iter()
                    .position(|g| g.name == f.name)
                    .unwrap_or(0);
                (i, self.index_prefix(&f.name))
            })
            .collect();
        let sorted = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.sorted)
            .map(|(i, _)| i)
            .collect();
        let auto = self
            .fields
            .iter()
            .position(|f| f.role == FieldRole::Auto)
            .unwrap_or(0);
        Filler {
            defaults,
            index_prefixes,
            sorted,
            auto,
        }
    }

    /// The bytes popoto would write for the `i`-th draft: what
    /// [`Model::new_record`] with the same values and time would give.
    pub fn render(&self, drafts: &Drafts, i: usize, filler: &Filler) -> RecordBytes {
        let mut given: Vec<Option<&[u8]>> = Vec::with_capacity(self.fields.len());
        let mut at = drafts.starts.get(i).copied().unwrap_or(drafts.buf.len());
        for _ in &self.fields {
            let len = drafts
                .buf
                .get(at..at + 4)
                .map_or(ABSENT, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            at += 4;
            if len == ABSENT {
                given.push(None);
            } else {
                let end = (at + len as usize).min(drafts.buf.len());
                given.push(drafts.buf.get(at..end));
                at = end;
            }
        }
        let explicit_id = given.get(filler.auto).is_some_and(Option::is_some);
        let mut values: Vec<Vec<u8>> = Vec::with_capacity(self.fields.len());
        let mut job_id = String::new();
        for (j, g) in given.iter().enumerate() {
            let v = match (g, &filler.defaults[j]) {
                (Some(b), _) => b.to_vec(),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    job_id = new_job_id();
                    encode(&Value::Str(job_id.clone()))
                }
            };
            values.push(v);
        }
        // A key value: the text of a msgpack str; None (nil) renders as popoto's None.
        let text = |j: usize| -> &str {
            values
                .get(j)
                .and_then(|v| rmp::decode::read_str_from_slice(v.as_slice()).ok())
                .map_or(NONE_TEXT, |(s, _)| s)
        };
        if explicit_id {
            job_id = text(filler.auto).to_owned();
        }
        let mut key = Vec::with_capacity(self.class.len() + 64);
        key.extend_from_slice(self.class.as_bytes());
        for &j in self.key_field_indexes() {
            key.push(b':');
            escape_into(&mut key, text(j).as_bytes());
        }
        let index_sets = filler
            .index_prefixes
            .iter()
            .map(|(j, prefix)| {
                let t = text(*j).as_bytes();
                let mut k = Vec::with_capacity(prefix.len() + t.len() + 8);
                k.extend_from_slice(prefix);
                escape_into(&mut k, t);
                k
            })
            .collect();
        let scores = filler
            .sorted
            .iter()
            .enumerate()
            .filter_map(|(z, &j)| {
                let v = values.get(j)?;
                // The common case, a float64, without building a Value.
                let score = match v.as_slice() {
                    [0xcb, rest @ ..] if rest.len() == 8 => {
                        Some(f64::from_be_bytes(rest.try_into().ok()?))
                    }
                    _ => decode(v).ok()?.as_f64(),
                };
                score.map(|s| (z, s))
            })
            .collect();
        RecordBytes {
            key,
            job_id,
            explicit_id,
            values,
            index_sets,
            scores,
        }
    }

    fn check_names(&self, given: &BTreeMap<String, Value>) -> Result<()> {
        for name in given.keys() {
            if self.field(name).is_none() {
                bail!(
                    "unknown field {name:?} (the {} model has: {})",
                    self.class,
                    self.field_names()
                );
            }
        }
        Ok(())
    }

    fn default_value(&self, f: &Field, now: f64, new_id: fn() -> String) -> Value {
        match (&f.default, f.role) {
            (_, FieldRole::Auto) => Value::Str(new_id()),
            (Some(FieldDefault::Value(v)), _) => v.clone(),
            (Some(FieldDefault::Now), _) => now_value(f.ty, now),
            (None, _) => Value::Nil,
        }
    }

    fn check_value(&self, f: &Field, v: &Value) -> Result<()> {
        if f.is_key() && !matches!(v, Value::Str(_) | Value::Nil) {
            bail!("key field {} must be a string", f.name);
        }
        if f.role == FieldRole::Auto && matches!(v, Value::Str(s) if s.is_empty()) {
            bail!("{} must not be empty", f.name);
        }
        if f.name == self.status.field {
            match v {
                Value::Str(s) if self.is_status(s) => {}
                Value::Str(s) => bail!(
                    "unknown status {s:?} (one of: {})",
                    self.status.values.join(", ")
                ),
                _ => bail!("field {} is required", f.name),
            }
        }
        Ok(())
    }

    fn field_names(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Values given for one record, by declared field (not given: None). Names
/// are resolved once, when a value is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Given(Vec<Option<Value>>);

impl Given {
    pub fn new(model: &Model) -> Given {
        Given(vec![None; model.fields.len()])
    }

    /// Set a declared field; false for a name the model lacks.
    pub fn set(&mut self, model: &Model, name: &str, v: Value) -> bool {
        match model.field_index(name) {
            Some(i) => {
                self.0[i] = Some(v);
                true
            }
            None => false,
        }
    }

    pub fn get(&self, model: &Model, name: &str) -> Option<&Value> {
        self.0.get(model.field_index(name)?)?.as_ref()
    }

    /// The value of the field at `i` in declaration order.
    pub fn at(&self, i: usize) -> Option<&Value> {
        self.0.get(i)?.as_ref()
    }

    pub fn set_at(&mut self, i: usize, v: Value) {
        if let Some(slot) = self.0.get_mut(i) {
            *slot = Some(v);
        }
    }

    /// By name, as [`Model::new_record`] takes them.
    pub fn to_map(&self, model: &Model) -> BTreeMap<String, Value> {
        model
            .fields
            .iter()
            .zip(&self.0)
            .filter_map(|(f, v)| Some((f.name.clone(), v.clone()?)))
            .collect()
    }
}

/// Jobs checked and waiting to be written, packed in one buffer: for each
/// job, each declared field's given value msgpack-encoded (or a mark for
/// "not given"). A job takes about its encoded size, rather than a tree of
/// values, so a file of a million jobs can be checked whole before the first
/// write.
#[derive(Debug, Default)]
pub struct Drafts {
    buf: Vec<u8>,
    starts: Vec<usize>,
}

/// The length mark of a field a draft does not give.
const ABSENT: u32 = u32::MAX;

impl Drafts {
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The `i`-th draft's encoded bytes: what the job gives, field by field
    /// (the same bytes for the same given values, whatever is generated).
    pub fn given_bytes(&self, i: usize) -> &[u8] {
        let start = self.starts.get(i).copied().unwrap_or(self.buf.len());
        let end = self.starts.get(i + 1).copied().unwrap_or(self.buf.len());
        self.buf.get(start..end).unwrap_or_default()
    }
}

/// What a run writes for fields its drafts do not give (see
/// [`Model::filler`]), and what it needs of the model for each job.
#[derive(Debug, Clone)]
pub struct Filler {
    /// Per declared field: its default, encoded; None for the auto field (a
    /// new id per job).
    defaults: Vec<Option<Vec<u8>>>,
    /// (field, `$KeyF:{Model}:{field}:`) of each indexed key field.
    index_prefixes: Vec<(usize, Vec<u8>)>,
    /// The sorted fields.
    sorted: Vec<usize>,
    auto: usize,
}

/// One record as the bytes popoto writes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordBytes {
    pub key: Vec<u8>,
    pub job_id: String,
    /// The job_id was given, not generated.
    pub explicit_id: bool,
    /// HSET values, in declaration order.
    pub values: Vec<Vec<u8>>,
    /// The `$KeyF` index sets, as [`NewRecord::index_sets`].
    pub index_sets: Vec<Vec<u8>>,
    /// (which sorted field, score), as [`NewRecord::sorted_entries`].
    pub scores: Vec<(usize, f64)>,
}

/// A job_id of the right form, for checking defaults without drawing one.
fn placeholder_id() -> String {
    "0".repeat(32)
}

/// popoto's AutoKeyField: `uuid4().hex`. The random bytes come from the
/// thread's CSPRNG (seeded by the OS) rather than one getrandom system call
/// per id, which cost more than the rest of building a record.
pub fn new_job_id() -> String {
    let bytes: [u8; 16] = rand::random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .simple()
        .to_string()
}

fn now_value(ty: FieldType, now: f64) -> Value {
    match ty {
        FieldType::Int => Value::Int(now as i64),
        FieldType::Datetime => Value::Tagged {
            tag: DATETIME_TAG.into(),
            text: iso_utc(now),
        },
        _ => Value::Float(now),
    }
}

/// Python's naive `datetime.utcfromtimestamp(t).isoformat()`.
pub fn iso_utc(t: f64) -> String {
    let secs = t.floor() as i64;
    let micros = ((t - t.floor()) * 1e6).round() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    if micros > 0 && micros < 1_000_000 {
        format!("{base}.{micros:06}")
    } else {
        base
    }
}

/// Unix seconds of a datetime text popoto stored: `isoformat()` since popoto
/// 1.8.2 (`2026-01-01T10:00:00[.ffffff][+HH:MM|Z]`, a space instead of `T`
/// accepted, a bare date is midnight) or `%Y%m%dT%H:%M:%S.%f` before. A time
/// without an offset is taken as UTC. None when the text is neither.
pub fn parse_iso_utc(text: &str) -> Option<f64> {
    let t = text.trim().as_bytes();
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let (y, mo, d, rest) = if t.len() >= 10 && t[4] == b'-' && t[7] == b'-' {
        (num(&t[..4])?, num(&t[5..7])?, num(&t[8..10])?, &t[10..])
    } else if t.len() >= 8 && t[..8].iter().all(u8::is_ascii_digit) {
        (num(&t[..4])?, num(&t[4..6])?, num(&t[6..8])?, &t[8..])
    } else {
        return None;
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut frac = 0.0;
    let mut rest = rest;
    if !rest.is_empty() {
        if rest[0] != b'T' && rest[0] != b' ' {
            return None;
        }
        rest = &rest[1..];
        if rest.len() < 8 || rest[2] != b':' || rest[5] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&rest[..2])?, num(&rest[3..5])?, num(&rest[6..8])?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s;
        rest = &rest[8..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let digits = std::str::from_utf8(&rest[1..1 + n]).ok()?;
            frac = format!("0.{digits}").parse().ok()?;
            rest = &rest[1 + n..];
        }
        match rest {
            [] | [b'Z'] => {}
            [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
                let off = num(&[*oh1, *oh2])? * 3600 + num(&[*om1, *om2])? * 60;
                secs -= if *sign == b'+' { off } else { -off };
            }
            _ => return None,
        }
    }
    Some(secs as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl NewRecord<'_> {
    pub fn get(&self, name: &str) -> Option<&Value> {
        let i = self.model.fields.iter().position(|f| f.name == name)?;
        self.values.get(i)
    }

    /// A key field's value as key text (None for a None value).
    pub fn key_value(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn job_id(&self, model: &Model) -> String {
        self.key_value(&model.auto_field().name)
            .unwrap_or(NONE_TEXT)
            .to_owned()
    }

    pub fn key(&self, model: &Model) -> Vec<u8> {
        model.record_key(|n| self.key_value(n))
    }

    /// HSET field/value pairs in declaration order.
    pub fn hash_pairs(&self) -> Vec<(&str, Vec<u8>)> {
        self.hash_fields().map(|(n, v)| (n, encode(v))).collect()
    }

    /// The declared fields and their values, in declaration order.
    pub fn hash_fields(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.model
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .zip(&self.values)
    }

    /// The `$KeyF` index sets this record belongs in.
    pub fn index_sets(&self, model: &Model) -> Vec<Vec<u8>> {
        model
            .indexed_fields()
            .map(|f| model.index_key(&f.name, self.key_value(&f.name)))
            .collect()
    }

    /// The `$SortF` zsets and scores. A None sorted value has no entry
    /// (popoto skips it too).
    pub fn sorted_entries(&self, model: &Model) -> Vec<(Vec<u8>, f64)> {
        model
            .sorted_fields()
            .filter_map(|f| {
                self.get(&f.name)
                    .and_then(Value::as_f64)
                    .map(|s| (model.sorted_key(&f.name), s))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_in_declaration_order_with_defaults() {
        let m = Model::redis_job();
        let mut given = BTreeMap::new();
        given.insert("project_key".to_string(), Value::Str("projA".into()));
        given.insert("status".to_string(), Value::Str("pending".into()));
        let r = m.new_record(given, 1767225600.5).expect("valid");
        let names: Vec<_> = r.hash_pairs().iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            names,
            [
                "job_id",
                "project_key",
                "status",
                "priority",
                "message_text",
                "created_at"
            ]
        );
        assert_eq!(r.get("priority"), Some(&Value::Str("normal".into())));
        assert_eq!(r.get("message_text"), Some(&Value::Nil));
        assert_eq!(r.get("created_at"), Some(&Value::Float(1767225600.5)));
        let id = r.job_id(&m);
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            r.key(&m),
            format!("RedisJob:{id}:projA:pending").into_bytes()
        );
        assert_eq!(
            r.index_sets(&m),
            vec![
                b"$KeyF:RedisJob:project_key:projA".to_vec(),
                b"$KeyF:RedisJob:status:pending".to_vec()
            ]
        );
        assert_eq!(
            r.sorted_entries(&m),
            vec![(b"$SortF:RedisJob:created_at".to_vec(), 1767225600.5)]
        );
    }

    /// A draft renders to the bytes new_record gives for the same values.
    #[test]
    fn drafts_render_as_new_record() {
        let task = Model::from_toml(
            r#"
class = "Task"
[[field]]
name = "task_id"
role = "auto"
[[field]]
name = "queue"
role = "key"
[[field]]
name = "state"
role = "key"
default = "queued"
[[field]]
name = "attempts"
type = "int"
default = 3
sorted = true
[[field]]
name = "due"
type = "datetime"
default_now = true
[[field]]
name = "enqueued_at"
type = "float"
sorted = true
default_now = true
[status]
field = "state"
values = ["queued", "active", "done", "error"]
pending = "queued"
running = "active"
completed = "done"
failed = "error"
"#,
        )
        .expect("schema");
        let s = |v: &str| Value::Str(v.to_owned());
        let cases: Vec<(&Model, Vec<(&str, Value)>)> = vec![
            (&task, vec![("queue", s("team:ops-1"))]),
            (&task, vec![("queue", Value::Nil), ("state", s("active"))]),
            (
                &task,
                vec![
                    ("task_id", s("a*b?c{&#58;}/x")),
                    ("queue", s("2026-01-01")),
                    ("attempts", Value::Int(-7)),
                    ("enqueued_at", Value::Nil),
                ],
            ),
        ];
        let rj = Model::redis_job();
        let mut rj_cases = vec![
            vec![("project_key", s("projA")), ("status", s("pending"))],
            vec![
                ("project_key", s("p")),
                ("status", s("running")),
                ("priority", s("high")),
                ("message_text", s(&"m".repeat(300))),
                ("created_at", Value::Float(1767225600.25)),
            ],
            vec![
                ("job_id", s("0123456789abcdef0123456789abcdef")),
                ("project_key", s("a:b")),
                ("status", s("pending")),
                ("created_at", Value::Int(5)),
            ],
        ];
        let mut all = cases;
        for c in rj_cases.drain(..) {
            all.push((&rj, c));
        }
        for (m, given) in all {
            let mut g = Given::new(m);
            for (k, v) in given {
                assert!(g.set(m, k, v));
            }
            let given = g.to_map(m);
            let mut drafts = Drafts::default();
            m.add_draft(&g, &mut drafts).expect("valid");
            m.add_draft(&g, &mut drafts).expect("valid");
            let now = 1767225600.5;
            let filler = m.filler(now);
            let got = m.render(&drafts, 1, &filler);
            // The same id, so that whole records compare.
            let mut with_id = given.clone();
            let auto = m.auto_field().name.clone();
            with_id
                .entry(auto)
                .or_insert_with(|| Value::Str(got.job_id.clone()));
            let want = m.new_record(with_id, now).expect("valid");
            assert_eq!(got.key, want.key(m), "{given:?}");
            assert_eq!(got.job_id, want.job_id(m));
            let values: Vec<Vec<u8>> = want.hash_pairs().into_iter().map(|(_, v)| v).collect();
            assert_eq!(got.values, values, "{given:?}");
            assert_eq!(got.index_sets, want.index_sets(m), "{given:?}");
            let zsets: Vec<Vec<u8>> = m.sorted_fields().map(|f| m.sorted_key(&f.name)).collect();
            let scores: Vec<(Vec<u8>, f64)> = got
                .scores
                .iter()
                .map(|(z, s)| (zsets[*z].clone(), *s))
                .collect();
            assert_eq!(scores, want.sorted_entries(m), "{given:?}");
            assert_eq!(got.explicit_id, given.contains_key(&m.auto_field().name));
            if !got.explicit_id {
                assert_eq!(got.job_id.len(), 32);
                assert_ne!(got.job_id, m.render(&drafts, 0, &filler).job_id);
            }
        }
        // What new_record refuses, add_draft refuses with the same words.
        for given in [
            vec![("queue", s("q")), ("state", s("lost"))],
            vec![("queue", Value::Int(1))],
            vec![("queue", s("q")), ("state", Value::Nil)],
            vec![("queue", s("q")), ("task_id", s(""))],
        ] {
            let mut g = Given::new(&task);
            for (k, v) in given {
                assert!(g.set(&task, k, v));
            }
            let mut drafts = Drafts::default();
            let a = format!("{:#}", task.add_draft(&g, &mut drafts).unwrap_err());
            let b = format!("{:#}", task.new_record(g.to_map(&task), 0.0).unwrap_err());
            assert_eq!(a, b);
            assert!(drafts.is_empty());
        }
    }

    #[test]
    fn bad_records() {
        let m = Model::redis_job();
        let mut g = BTreeMap::new();
        g.insert("nope".to_string(), Value::Nil);
        assert!(
            format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown field \"nope\"")
        );
        let mut g = BTreeMap::new();
        g.insert("status".to_string(), Value::Str("lost".into()));
        assert!(
            format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown status \"lost\"")
        );
    }

    #[test]
    fn iso_parsing() {
        assert_eq!(parse_iso_utc("1970-01-01T00:00:00"), Some(0.0));
        assert_eq!(
            parse_iso_utc("2026-01-01T00:00:00.500000"),
            Some(1767225600.5)
        );
        assert_eq!(parse_iso_utc("2026-01-01"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("2026-01-01 01:00:00+01:00"),
            Some(1767225600.0)
        );
        assert_eq!(
            parse_iso_utc("2025-12-31T23:00:00-01:00"),
            Some(1767225600.0)
        );
        assert_eq!(parse_iso_utc("2026-01-01T00:00:00Z"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("20260101T00:00:00.250000"),
            Some(1767225600.25)
        );
        assert_eq!(parse_iso_utc("2000-02-29T00:00:00"), Some(951782400.0));
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "2026-01-01T25:00:00",
            "2026-01-01T00:00",
            "2026-01-01T00:00:00.",
            "2026-01-01T00:00:00+1",
        ] {
            assert_eq!(parse_iso_utc(bad), None, "{bad:?}");
        }
        for t in [0.0, 951782400.0, 1767225600.5, 4102444800.25] {
            assert_eq!(parse_iso_utc(&iso_utc(t)), Some(t), "round trip of {t}");
        }
    }

    #[test]
    fn iso() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(1767225600.5), "2026-01-01T00:00:00.500000");
        assert_eq!(iso_utc(951782400.0), "2000-02-29T00:00:00");
    }
}
