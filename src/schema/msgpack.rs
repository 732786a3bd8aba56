//! Hash values as popoto stores them: exactly one msgpack object per hash
//! field, packed with the shortest header, strings as str (docs/layout.md,
//! "The bytes of a record").
//!
//! Owns: [`Value`], [`encode`], [`decode`]. Must not: talk to Redis or know
//! about fields and their declared types (see `model`).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// A decoded hash value. Datetime-like values popoto wraps in a two-entry
/// map (`{"__datetime__": true, "as_encodable": "..."}`) become [`Value::Tagged`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// popoto's encodable wrapper: tag (e.g. `__datetime__`) and text.
    Tagged {
        tag: String,
        text: String,
    },
    /// Any other msgpack value (arrays, maps, bin, u64 beyond i64): kept, not
    /// interpreted.
    Other(rmpv::Value),
}

/// Why a stored value could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid msgpack: {0}")]
    Invalid(String),
    #[error("{0} trailing byte(s) after the msgpack value")]
    Trailing(usize),
}

pub const DATETIME_TAG: &str = "__datetime__";

/// Encode one value the way popoto (Python `msgpack.packb`) does.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16);
    encode_into(&mut buf, value);
    buf
}

/// [`encode`], appended to `buf`.
pub fn encode_into(buf: &mut Vec<u8>, value: &Value) {
    // Writing into a Vec cannot fail; the results are infallible in practice.
    match value {
        Value::Nil => {
            let _ = rmp::encode::write_nil(buf);
        }
        Value::Bool(b) => {
            let _ = rmp::encode::write_bool(buf, *b);
        }
        Value::Int(i) => {
            let _ = rmp::encode::write_sint(buf, *i);
        }
        Value::Float(f) => {
            // popoto always writes a float field as float64, even 1.0.
            let _ = rmp::encode::write_f64(buf, *f);
        }
        Value::Str(s) => {
            let _ = rmp::encode::write_str(buf, s);
        }
        Value::Tagged { tag, text } => {
            let _ = rmp::encode::write_map_len(buf, 2);
            let _ = rmp::encode::write_str(buf, tag);
            let _ = rmp::encode::write_bool(buf, true);
            let _ = rmp::encode::write_str(buf, "as_encodable");
            let _ = rmp::encode::write_str(buf, text);
        }
        Value::Other(v) => {
            let _ = rmpv::encode::write_value(buf, v);
        }
    }
}

/// Decode exactly one msgpack object; trailing bytes are an error.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    // rmpv reads the reserved marker 0xc1 as nil; Python's msgpack (what
    // popoto uses) rejects it, and so must we.
    let mut check = bytes;
    well_formed(&mut check, 0)?;
    let mut rd = bytes;
    let v = rmpv::decode::read_value(&mut rd).map_err(|e| DecodeError::Invalid(e.to_string()))?;
    if !rd.is_empty() {
        return Err(DecodeError::Trailing(rd.len()));
    }
    Ok(from_rmpv(v))
}

/// Walk one msgpack object's structure without building it.
fn well_formed(rd: &mut &[u8], depth: usize) -> Result<(), DecodeError> {
    use rmp::Marker as M;
    let bad = |what: &str| DecodeError::Invalid(what.to_owned());
    if depth > 256 {
        return Err(bad("nested too deeply"));
    }
    let marker = rmp::decode::read_marker(rd).map_err(|_| bad("empty value"))?;
    let mut take = |n: usize| -> Result<u64, DecodeError> {
        if rd.len() < n {
            return Err(bad("truncated"));
        }
        let (head, tail) = rd.split_at(n);
        *rd = tail;
        Ok(head.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    };
    let (skip, items): (u64, u64) = match marker {
        M::Reserved => return Err(bad("reserved marker 0xc1")),
        M::FixPos(_) | M::FixNeg(_) | M::Null | M::True | M::False => (0, 0),
        M::U8 | M::I8 => (1, 0),
        M::U16 | M::I16 => (2, 0),
        M::U32 | M::I32 | M::F32 => (4, 0),
        M::U64 | M::I64 | M::F64 => (8, 0),
        M::FixStr(n) => (u64::from(n), 0),
        M::Str8 | M::Bin8 => (take(1)?, 0),
        M::Str16 | M::Bin16 => (take(2)?, 0),
        M::Str32 | M::Bin32 => (take(4)?, 0),
        M::FixArray(n) => (0, u64::from(n)),
        M::Array16 => (0, take(2)?),
        M::Array32 => (0, take(4)?),
        M::FixMap(n) => (0, 2 * u64::from(n)),
        M::Map16 => (0, 2 * take(2)?),
        M::Map32 => (0, 2 * take(4)?),
        M::FixExt1 => (2, 0),
        M::FixExt2 => (3, 0),
        M::FixExt4 => (5, 0),
        M::FixExt8 => (9, 0),
        M::FixExt16 => (17, 0),
        M::Ext8 => (take(1)? + 1, 0),
        M::Ext16 => (take(2)? + 1, 0),
        M::Ext32 => (take(4)? + 1, 0),
    };
    let skip = usize::try_from(skip).map_err(|_| bad("length too large"))?;
    if rd.len() < skip {
        return Err(bad("truncated"));
    }
    *rd = &rd[skip..];
    for _ in 0..items {
        well_formed(rd, depth + 1)?;
    }
    Ok(())
}

fn from_rmpv(v: rmpv::Value) -> Value {
    use rmpv::Value as R;
    match v {
        R::Nil => Value::Nil,
        R::Boolean(b) => Value::Bool(b),
        R::Integer(i) => match i.as_i64() {
            Some(n) => Value::Int(n),
            None => Value::Other(R::Integer(i)),
        },
        R::F64(f) => Value::Float(f),
        R::F32(f) => Value::Float(f64::from(f)),
        R::String(s) => match s.as_str() {
            Some(t) => Value::Str(t.to_owned()),
            None => Value::Other(R::String(s)),
        },
        R::Map(entries) => tagged(&entries).unwrap_or(Value::Other(R::Map(entries))),
        other => Value::Other(other),
    }
}

fn tagged(entries: &[(rmpv::Value, rmpv::Value)]) -> Option<Value> {
    if entries.len() != 2 {
        return None;
    }
    let tag = entries[0].0.as_str()?;
    if !tag.starts_with("__") || entries[0].1.as_bool() != Some(true) {
        return None;
    }
    if entries[1].0.as_str()? != "as_encodable" {
        return None;
    }
    let text = entries[1].1.as_str()?;
    Some(Value::Tagged {
        tag: tag.to_owned(),
        text: text.to_owned(),
    })
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A number as f64: popoto readers accept an int where a float is expected.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Short human text for tables.
    pub fn display(&self) -> String {
        match self {
            Value::Nil => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            Value::Tagged { text, .. } => text.clone(),
            Value::Other(v) => v.to_string(),
        }
    }
}

/// Python-like float text: `1.0`, `1767225600.5`.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// JSON form: the natural JSON value; tagged values as `{"__datetime__": "text"}`
/// style is avoided in favour of the plain text, which is what a script wants.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Tagged { text, .. } => s.serialize_str(text),
            Value::Other(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("msgpack", &v.to_string())?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn layout_vectors() {
        let cases: Vec<(Value, &str)> = vec![
            (Value::Int(0), "00"),
            (Value::Int(127), "7f"),
            (Value::Int(128), "cc80"),
            (Value::Int(256), "cd0100"),
            (Value::Int(65536), "ce00010000"),
            (Value::Int(-1), "ff"),
            (Value::Int(-32), "e0"),
            (Value::Int(-33), "d0df"),
            (Value::Int(-128), "d080"),
            (Value::Int(-129), "d1ff7f"),
            (Value::Int(42), "2a"),
            (Value::Int(300), "cd012c"),
            (Value::Int(-5), "fb"),
            (Value::Float(1.0), "cb3ff0000000000000"),
            (Value::Float(1767225600.5), "cb41da556e40200000"),
            (Value::Str(String::new()), "a0"),
            (Value::Str("pending".into()), "a770656e64696e67"),
            (Value::Nil, "c0"),
            (Value::Bool(true), "c3"),
            (Value::Bool(false), "c2"),
            (Value::Other(rmpv::Value::Array(vec![])), "90"),
            (Value::Other(rmpv::Value::Map(vec![])), "80"),
        ];
        for (v, want) in cases {
            assert_eq!(hex(&encode(&v)), want, "encoding {v:?}");
            assert_eq!(decode(&encode(&v)).ok(), Some(v.clone()), "decoding {want}");
        }
    }

    #[test]
    fn string_headers() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(&hex(&encode(&Value::Str(id.into())))[..4], "d920");
        assert_eq!(&hex(&encode(&Value::Str("x".repeat(31))))[..2], "bf");
        assert_eq!(&hex(&encode(&Value::Str("x".repeat(256))))[..6], "da0100");
    }

    #[test]
    fn datetime_wrapper() {
        let v = Value::Tagged {
            tag: DATETIME_TAG.into(),
            text: "2026-01-01T00:00:00".into(),
        };
        let b = encode(&v);
        assert_eq!(b[0], 0x82);
        assert_eq!(&b[1..14], b"\xac__datetime__");
        assert_eq!(b[14], 0xc3);
        assert_eq!(decode(&b).ok(), Some(v));
    }

    #[test]
    fn invalid_is_an_error_not_a_panic() {
        assert!(matches!(decode(b""), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode(b"\xd9"), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode(b"pending"), Err(DecodeError::Trailing(_))));
        assert!(matches!(decode(b"\xc0\xc0"), Err(DecodeError::Trailing(1))));
        assert!(matches!(decode(b"\xc1"), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode(b"\x91\xc1"), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode(b"\xa2a"), Err(DecodeError::Invalid(_))));
        // A 0xc1 byte inside a string is data, not a marker.
        assert!(decode(b"\xc4\x01\xc1").is_ok());
    }

    #[test]
    fn int_where_float_expected() {
        assert_eq!(decode(b"\x2a").ok().and_then(|v| v.as_f64()), Some(42.0));
    }
}
