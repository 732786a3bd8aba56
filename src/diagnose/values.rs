//! What a record's stored values say, decoded: the status field, a sorted
//! field's score, and the values that are not valid msgpack at all. Pure.
//!
//! Owns: decoding one value for a diagnosis. Must not: read, or build keys.

use crate::bytes::{escape_bytes, Bytes};
use crate::schema::msgpack::{self, Value};
use crate::schema::observed::BadValue;

/// The values among `values` (field name, raw bytes) that are not one
/// valid msgpack value, as popoto's decoder would refuse them.
pub fn bad_values(values: &[(String, Bytes)]) -> Vec<BadValue> {
    values
        .iter()
        .filter_map(|(field, raw)| {
            msgpack::decode(raw.as_slice()).err().map(|e| BadValue {
                field: field.clone(),
                why: e.to_string(),
            })
        })
        .collect()
}

/// Status, decoded from the hash field.
pub enum FieldStatus {
    Absent,
    Text(String),
    Bad(String),
}

pub fn field_status(raw: Option<&Bytes>) -> FieldStatus {
    match raw {
        None => FieldStatus::Absent,
        Some(b) => match msgpack::decode(b.as_slice()) {
            Ok(Value::Str(s)) => FieldStatus::Text(s),
            Ok(other) => FieldStatus::Bad(format!(
                "status field is not a string ({})",
                escape_bytes(other.display().as_bytes())
            )),
            Err(e) => FieldStatus::Bad(format!("status field is {e}")),
        },
    }
}

/// What is wrong with a sorted field's raw value, if anything: it must be
/// one msgpack number (or nil), or the zset cannot hold it.
pub fn sorted_problem(raw: &[u8]) -> Option<String> {
    match msgpack::decode(raw) {
        Err(e) => Some(format!("is {e}")),
        Ok(Value::Nil) => None,
        Ok(v) if v.as_f64().is_some() => None,
        Ok(other) => Some(format!(
            "is not a number ({})",
            escape_bytes(other.display().as_bytes())
        )),
    }
}

/// Decode a sorted field's raw value as a score.
pub fn sorted_score(raw: &Bytes) -> Option<f64> {
    msgpack::decode(raw.as_slice())
        .ok()
        .and_then(|v| v.as_f64())
}
