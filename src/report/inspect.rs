//! The report of `jobq inspect`, in its three views (overview, a list of
//! jobs, one job) and the values and verdicts they show.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::read_from::ReadFrom;
use super::OldestPending;
use crate::bytes::Bytes;
use crate::schema::Value;

/// What `jobq inspect` found, in one of its three views.
#[derive(Debug, Serialize)]
#[serde(tag = "view", rename_all = "snake_case")]
pub enum InspectReport {
    Overview(Overview),
    List(JobList),
    Job(JobReport),
}

// ---- the overview

#[derive(Debug, Serialize)]
pub struct Overview {
    pub model: String,
    /// Server time (`TIME`) the ages are measured from.
    pub server_time: f64,
    pub class_set: SetSize,
    pub status_indexes: Vec<StatusSize>,
    /// The sum of the status indexes' sizes.
    pub status_total: u64,
    pub oldest_pending: Option<OldestPending>,
    /// Why there is no oldest pending job, when there is none.
    pub oldest_pending_note: Option<String>,
    pub health: Health,
    pub discovery: Discovery,
    /// With `--read-from`: the replica these figures were read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<ReadFrom>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetSize {
    pub key: Bytes,
    /// `SCARD`; none when the key is not a set (see `error`).
    pub size: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusSize {
    pub status: Bytes,
    pub key: Bytes,
    /// Listed in the schema; otherwise found by the keyspace walk.
    pub declared: bool,
    pub size: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// The status indexes add up to the class set, and every one is a set.
    pub ok: bool,
    pub message: String,
}

/// How the status indexes were found: the schema's, plus a keyspace walk.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// Whether `SCAN MATCH` walked the whole keyspace (off with --no-discover).
    pub walked_keyspace: bool,
    pub pattern: Bytes,
    /// `DBSIZE` when the walk started: what the walk had to step over.
    pub keys_in_db: Option<u64>,
    /// Status indexes found that the schema does not list.
    pub undeclared_found: usize,
}

// ---- a list of jobs

#[derive(Debug, Serialize)]
pub struct JobList {
    pub status: Option<String>,
    pub project: Option<String>,
    pub limit: usize,
    /// The set walked with SSCAN (the smaller one, with both filters).
    pub walked: Bytes,
    /// The other filter's set, checked with SMISMEMBER.
    pub checked_against: Option<Bytes>,
    /// Each filter set's size (SCARD).
    pub sets: Vec<SetSize>,
    /// The field the age comes from (the model's first sorted field).
    pub time_field: Option<String>,
    pub server_time: f64,
    pub jobs: Vec<ListedJob>,
    /// Matching jobs not shown, when that is known.
    pub more_not_shown: Option<u64>,
    /// More jobs match than are shown.
    pub more_exist: bool,
    /// Sets that could not be listed.
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    /// With `--read-from`: the replica the list was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<ReadFrom>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedJob {
    pub key: Bytes,
    pub job_id: Option<Bytes>,
    pub project: Option<String>,
    /// The hash's status field.
    pub status: Option<String>,
    /// The status in the key.
    pub key_status: Option<String>,
    pub priority: Option<String>,
    /// The time field's value (unix seconds).
    pub time: Option<f64>,
    pub age_seconds: Option<f64>,
    pub message: Option<FieldValue>,
    /// The declared fields present, decoded.
    pub fields: Fields,
    /// Why this member is not a normal record (gone, wrong type, bad key).
    pub problem: Option<String>,
}

// ---- one job

#[derive(Debug, Serialize)]
pub struct JobReport {
    /// The job_id looked for (from the argument, or from the key given).
    pub job_id: Bytes,
    /// The argument, when it was a record key of the model.
    pub given_key: Option<Bytes>,
    /// Whether any key of this job_id exists.
    pub found: bool,
    /// The `SCAN MATCH` pattern the keyspace was walked with.
    pub pattern: Bytes,
    pub records: Vec<RecordFacts>,
    pub verdict: Verdict,
    pub discovery: Discovery,
    pub notes: Vec<String>,
}

/// Everything read about one key: the facts a verdict is drawn from.
#[derive(Debug, Clone, Serialize)]
pub struct RecordFacts {
    pub key: Bytes,
    /// The key-field values in the key (unescaped); none if it does not parse.
    pub key_fields: Option<BTreeMap<String, String>>,
    pub parse_error: Option<String>,
    /// `TYPE`: `hash` for a record; `none` for a key that does not exist.
    #[serde(rename = "type")]
    pub redis_type: String,
    /// Seconds until the key expires; none when it does not.
    pub ttl_seconds: Option<f64>,
    /// The declared fields present in the hash, decoded.
    pub fields: Fields,
    /// Fields the model does not declare.
    pub extra_fields: Vec<ExtraField>,
    /// Set when the hash had too many fields to list (its `HLEN`).
    pub fields_not_listed: u64,
    /// Declared fields the hash lacks.
    pub missing_fields: Vec<String>,
    pub class_set: SetCheck,
    /// Every status index looked at: the schema's, the discovered ones, and
    /// those its key and its status field name.
    pub status_indexes: Vec<SetCheck>,
    /// The other key-field indexes for the value in its key (and in its
    /// field, when that differs).
    pub key_field_indexes: Vec<SetCheck>,
    /// Each sorted-field zset, with its score.
    pub sorted_sets: Vec<SetCheck>,
    /// The sets and zsets above it is a member of.
    pub member_of: Vec<Bytes>,
    /// Each indexed field's pointers (a model whose status is an
    /// `IndexedField`): which set the record says it is in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pointers: Vec<PointerFacts>,
}

/// An indexed field's pointers for one record (docs/layout.md, "The other
/// status layout"): popoto 1.10.1's `$IdxPtr` key, and the older forms it
/// adopts and deletes on its next save.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointerFacts {
    pub field: String,
    /// `$IdxPtr:{K}:{field}`.
    pub key: Bytes,
    /// The set it names; none when the pointer is missing.
    pub names: Option<Bytes>,
    /// Whether the record is a member of the set it names (none when that
    /// was not checked: no pointer, or a read failed).
    pub names_member: Option<bool>,
    /// The 1.8.1-1.8.2 pointer key `{K}\x00idxptr\x00{field}` and what it
    /// names, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_key: Option<(Bytes, Bytes)>,
    /// What the 1.8.0 in-hash field `{field}\x00idxset` names, when the
    /// record has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_field: Option<Bytes>,
    /// A read that failed (a key of the wrong type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtraField {
    pub name: Bytes,
    pub value: FieldValue,
}

/// Whether a key is in one set (or zset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetCheck {
    pub set: Bytes,
    /// The field the set indexes (none for the class set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value the index stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Bytes>,
    /// Status indexes: listed in the schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<bool>,
    /// Key-field indexes: whether the value is the key's (`key`) or only
    /// the hash field's (`field`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// None when the check failed (see `error`).
    pub member: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SetCheck {
    pub fn new(set: Vec<u8>) -> SetCheck {
        SetCheck {
            set: Bytes(set),
            field: None,
            value: None,
            declared: None,
            source: None,
            member: None,
            score: None,
            error: None,
        }
    }

    pub fn is_member(&self) -> bool {
        self.member == Some(true)
    }

    pub fn is_absent(&self) -> bool {
        self.member == Some(false)
    }
}

pub const HEALTHY: &str = "healthy";
pub const NOT_FOUND: &str = "not_found";
/// Nothing found wrong, but a set the verdict depends on could not be read.
pub const UNKNOWN: &str = "unknown";

/// The verdict on one job_id: the headline kind, and every finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `healthy`, `not_found`, or the most severe finding's kind.
    pub kind: String,
    pub detail: String,
    /// What `jobq reindex` would do, in one line.
    pub repair: String,
    pub findings: Vec<JobFinding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobFinding {
    pub kind: String,
    /// Further kinds the same record shows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// The record (or set) the finding is about.
    pub key: Bytes,
    pub detail: String,
    pub repair: String,
}

// ---- values

/// A hash value as shown: decoded, or why it could not be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// The msgpack value, as natural JSON.
    Value(Value),
    /// Not one valid msgpack object: the error and the first bytes.
    Undecodable {
        undecodable: String,
        raw: Bytes,
        bytes: u64,
    },
    /// Over the read cap: only its length was read.
    TooLarge { too_large_bytes: u64 },
}

impl FieldValue {
    pub fn value(&self) -> Option<&Value> {
        match self {
            FieldValue::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A key field's value as key text: popoto renders None as `None`.
    pub fn key_text(&self) -> Option<&str> {
        match self.value()? {
            Value::Str(s) => Some(s),
            Value::Nil => Some(crate::schema::keys::NONE_TEXT),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.value().and_then(Value::as_f64)
    }
}

/// Hash fields in the order read (declaration order for declared fields);
/// JSON: an object of field name to value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(pub Vec<(String, FieldValue)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
