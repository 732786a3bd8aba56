//! What a read saw of one record key: plain data, filled by `store` (the
//! batched reads), carried by `scan`, judged by `diagnose`, and kept in a
//! finding as the facts its repair is guarded by. It lives here, below all
//! three, so that `store` never imports `diagnose` or `scan`.
//!
//! Owns: [`Observation`] and its parts, [`LightObs`]. Must not: read,
//! judge (that is `diagnose`), or build keys.

use serde::{Deserialize, Serialize};

use crate::bytes::{Bytes, PreviewJson};

/// Membership of the record key in one set, `None` when it could not be
/// read (the set has the wrong type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub set: Bytes,
    /// The status (for status indexes) or the field (for other sets).
    pub label: String,
    pub member: Option<bool>,
}

/// Membership in a sorted-field zset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZMembership {
    pub zset: Bytes,
    pub field: String,
    /// The score, when the key is a member.
    pub score: Option<f64>,
    /// False when the zset could not be read.
    pub known: bool,
}

/// What the record's hash looked like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HashState {
    /// No key at all.
    Missing,
    /// The key exists with another Redis type.
    WrongType { redis_type: String },
    Hash {
        field_count: u64,
        /// Raw bytes of the status field; `None` when the field is absent.
        /// Reports show a preview: the field can be any size.
        #[serde(serialize_with = "status_json")]
        status: Option<Bytes>,
        /// Raw bytes of each sorted field (for the zset score), shown as
        /// previews too.
        #[serde(serialize_with = "sorted_json")]
        sorted: Vec<(String, Option<Bytes>)>,
        /// Declared fields the hash lacks.
        missing: Vec<String>,
    },
}

fn status_json<S: serde::Serializer>(v: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().map(|b| PreviewJson(b.as_slice())).serialize(s)
}

fn sorted_json<S: serde::Serializer>(
    v: &[(String, Option<Bytes>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|(name, raw)| (name, raw.as_ref().map(|b| PreviewJson(b.as_slice())))),
    )
}

/// Everything read about one record key: the input of `diagnose::classify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub key: Bytes,
    pub hash: HashState,
    /// Membership in the class set.
    pub class_set: Membership,
    /// One entry per status index checked.
    pub status_sets: Vec<Membership>,
    /// The other key-field indexes for the values in the key (project_key...).
    pub secondary_sets: Vec<Membership>,
    pub zsets: Vec<ZMembership>,
    /// Other live record keys of the same job_id; `None` when not probed.
    pub twins: Option<Vec<Bytes>>,
    /// Sets the key was found in that the fields above do not cover (an
    /// index of a status the schema does not declare).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found_in: Vec<Bytes>,
    /// Fields whose stored value is not valid msgpack; filled only where
    /// the values were read (`--deep`, see `diagnose::bad_values`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bad_values: Vec<BadValue>,
    /// The record's index pointers, read only under the indexed status
    /// layout (docs/layout.md, "The other status layout").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<PointerObs>,
}

/// What a read saw of a record's pointers under the indexed layout: the
/// `$IdxPtr:{K}:{field}` STRING popoto 1.10.1 keeps, and the two schemes
/// records may still carry (1.8.1-1.8.2's `{K}\x00idxptr\x00{field}` key,
/// 1.8.0's `{field}\x00idxset` hash field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointerObs {
    /// `$IdxPtr:{K}:{field}`.
    pub key: Bytes,
    /// Its value (the name of a set); `None` when absent.
    pub value: Option<Bytes>,
    /// `{K}\x00idxptr\x00{field}` (1.8.1-1.8.2).
    pub legacy_key: Bytes,
    pub legacy_key_value: Option<Bytes>,
    /// The 1.8.0 in-hash pointer field's name and value (when present).
    pub legacy_field: Bytes,
    pub legacy_field_value: Option<Bytes>,
    /// A pointer key of another Redis type than a string (which one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_type: Option<Bytes>,
}

impl PointerObs {
    /// Whether any pointer scheme is present.
    pub fn any(&self) -> bool {
        self.value.is_some() || self.legacy_key_value.is_some() || self.legacy_field_value.is_some()
    }

    /// Whether a pre-1.10 pointer is present.
    pub fn legacy(&self) -> bool {
        self.legacy_key_value.is_some() || self.legacy_field_value.is_some()
    }
}

/// A field whose stored value does not decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadValue {
    pub field: String,
    pub why: String,
}

impl Observation {
    /// Every set the key was seen in.
    pub fn member_sets(&self) -> Vec<Bytes> {
        let mut sets: Vec<Bytes> = Vec::new();
        let mut push = |b: &Bytes| {
            if !sets.contains(b) {
                sets.push(b.clone());
            }
        };
        for m in std::iter::once(&self.class_set)
            .chain(&self.status_sets)
            .chain(&self.secondary_sets)
        {
            if m.member == Some(true) {
                push(&m.set);
            }
        }
        for z in &self.zsets {
            if z.score.is_some() {
                push(&z.zset);
            }
        }
        for f in &self.found_in {
            push(f);
        }
        sets
    }

    /// The statuses whose index holds the key.
    pub fn indexed_statuses(&self) -> Vec<&str> {
        self.status_sets
            .iter()
            .filter(|m| m.member == Some(true))
            .map(|m| m.label.as_str())
            .collect()
    }
}

/// The first, light read of a key during the walk: enough to tell a
/// plainly healthy record (the common case) without building an
/// [`Observation`]. Only the status index the key names was checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LightObs {
    /// `HLEN`; `None` when the key is not a hash.
    pub field_count: Option<u64>,
    pub status: Option<Vec<u8>>,
    pub in_class: Option<bool>,
    /// Membership in the status index the key names.
    pub in_own_status: Option<bool>,
    pub secondary: Vec<Option<bool>>,
    /// Per sorted field: the raw value and whether the zset holds the key.
    pub sorted: Vec<(Option<Vec<u8>>, Option<bool>)>,
}
