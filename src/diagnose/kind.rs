//! The kinds of damage jobq names (docs/layout.md, "The damage jobq
//! names"), what each means for the application, and how they rank when one
//! key shows several.
//!
//! Owns: [`Kind`]. Must not: judge an observation (that is `classify`).

use serde::{Deserialize, Serialize};

/// A kind of damage. Serialized in snake_case, as docs/layout.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Orphan,
    Unlisted,
    MultiIndexed,
    WrongIndex,
    FieldMismatch,
    Dangling,
    StaleKey,
    Duplicate,
    Partial,
    SecondaryGap,
    Malformed,
    PointerMismatch,
    PointerMissing,
    DanglingPointer,
    LegacyPointer,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Orphan,
        Kind::Unlisted,
        Kind::MultiIndexed,
        Kind::WrongIndex,
        Kind::FieldMismatch,
        Kind::Dangling,
        Kind::StaleKey,
        Kind::Duplicate,
        Kind::Partial,
        Kind::SecondaryGap,
        Kind::Malformed,
        Kind::PointerMismatch,
        Kind::PointerMissing,
        Kind::DanglingPointer,
        Kind::LegacyPointer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Orphan => "orphan",
            Kind::Unlisted => "unlisted",
            Kind::MultiIndexed => "multi_indexed",
            Kind::WrongIndex => "wrong_index",
            Kind::FieldMismatch => "field_mismatch",
            Kind::Dangling => "dangling",
            Kind::StaleKey => "stale_key",
            Kind::Duplicate => "duplicate",
            Kind::Partial => "partial",
            Kind::SecondaryGap => "secondary_gap",
            Kind::Malformed => "malformed",
            Kind::PointerMismatch => "pointer_mismatch",
            Kind::PointerMissing => "pointer_missing",
            Kind::DanglingPointer => "dangling_pointer",
            Kind::LegacyPointer => "legacy_pointer",
        }
    }

    /// What the kind means for the application, for reports.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Orphan => "live job in no status index: never picked up",
            Kind::Unlisted => "live job missing from the class set: invisible to all()/count()",
            Kind::MultiIndexed => "job in two or more status indexes: processed twice",
            Kind::WrongIndex => "job only in another status's index: picked up as that status",
            Kind::FieldMismatch => "key says one status, the hash field another",
            Kind::Dangling => "index or class-set member whose hash is gone: a ghost",
            Kind::StaleKey => "ghost of an old state: the job lives on under another key",
            Kind::Duplicate => "two or more live records for one job_id",
            Kind::Partial => "hash missing declared fields",
            Kind::SecondaryGap => "missing from its project index or a sorted-field zset",
            Kind::Malformed => "does not parse, wrong type, or not valid msgpack: never touched",
            Kind::PointerMismatch => {
                "index pointer names another set than the record's: its next move leaves it in two"
            }
            Kind::PointerMissing => "record without an index pointer",
            Kind::DanglingPointer => "index pointer whose record is gone",
            Kind::LegacyPointer => {
                "pointer of popoto 1.8.0-1.8.2: migrated only with --migrate-pointers"
            }
        }
    }

    /// How much a kind matters when a job shows several (higher first):
    /// what decides whether anything can be repaired comes first.
    pub fn severity(self) -> u8 {
        match self {
            Kind::Malformed => 12,
            Kind::Partial => 11,
            Kind::FieldMismatch => 10,
            Kind::Duplicate => 9,
            Kind::Orphan => 8,
            Kind::WrongIndex => 7,
            Kind::MultiIndexed => 6,
            Kind::Unlisted => 5,
            Kind::SecondaryGap => 4,
            Kind::PointerMismatch | Kind::PointerMissing => 4,
            Kind::StaleKey => 3,
            Kind::Dangling | Kind::DanglingPointer => 2,
            Kind::LegacyPointer => 1,
        }
    }

    /// Kinds whose repair needs an explicit policy flag.
    pub fn needs_policy(self) -> bool {
        matches!(
            self,
            Kind::FieldMismatch | Kind::Duplicate | Kind::LegacyPointer
        )
    }
}
