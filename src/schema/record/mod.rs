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

use super::calendar::iso_utc;

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
            .keyf_fields()
            .map(|f| {
                let i = self
                    .fields
                    .iter()
                    .position(|g| g.name == f.name)
                    .unwrap_or(0);
                (i, self.index_prefix(&f.name))
            })
            .collect();
        let indexf = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_indexf())
            .map(|(i, f)| (i, self.index_prefix(&f.name)))
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
            indexf,
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
        // The key and index names are built here from the escaped bytes
        // rather than through `keys.rs`, which would decode each value
        // again: `tests::drafts_render_as_new_record` proves both give the
        // same bytes for every model shape.
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
        let indexf = filler
            .indexf
            .iter()
            .map(|(j, prefix)| {
                let mut set = prefix.clone();
                escape_into(&mut set, text(*j).as_bytes());
                let pointer = self.index_pointer(&key, &self.fields[*j].name);
                IndexfEntry { set, pointer }
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
            indexf,
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
    /// (field, `$IndexF:{Model}:{field}:`) of each indexed non-key field.
    indexf: Vec<(usize, Vec<u8>)>,
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
    /// Each indexed field's set and pointer, as [`NewRecord::indexf_entries`].
    pub indexf: Vec<IndexfEntry>,
    /// (which sorted field, score), as [`NewRecord::sorted_entries`].
    pub scores: Vec<(usize, f64)>,
}

/// Where one `IndexedField` value of a record is indexed (popoto 1.10.1):
/// the record key is a member of `set`, and the STRING `pointer` holds
/// `set`'s name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexfEntry {
    /// `$IndexF:{Model}:{field}:{esc(value)}`.
    pub set: Vec<u8>,
    /// `$IdxPtr:{K}:{field}`.
    pub pointer: Vec<u8>,
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
            .keyf_fields()
            .map(|f| model.index_key(&f.name, self.key_value(&f.name)))
            .collect()
    }

    /// Each indexed (non-key) field's `$IndexF` set and `$IdxPtr` pointer,
    /// in declaration order.
    pub fn indexf_entries(&self, model: &Model) -> Vec<IndexfEntry> {
        let key = self.key(model);
        model
            .indexf_fields()
            .map(|f| IndexfEntry {
                set: model.index_key(&f.name, self.key_value(&f.name)),
                pointer: model.index_pointer(&key, &f.name),
            })
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
mod tests;
