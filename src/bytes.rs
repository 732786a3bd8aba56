//! Keys and set members are bytes: a non-UTF-8 member must not crash anything.
//! [`Bytes`] shows them escaped in text and losslessly in JSON.
//!
//! Owns: the byte-string type shared by every layer. Must not: print.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Redis key or member. JSON: a string when it is valid UTF-8, otherwise
/// `{"hex": "..."}` (lossless, and never mistaken for a key).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Bytes {
        Bytes(v.to_vec())
    }
}

impl From<&str> for Bytes {
    fn from(v: &str) -> Bytes {
        Bytes(v.as_bytes().to_vec())
    }
}

/// Text form: UTF-8 as is (control characters escaped), other bytes as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for x in chunk.invalid() {
            out.push_str(&format!("\\x{x:02x}"));
        }
    }
    out
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_bytes(&self.0))
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", escape_bytes(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("hex", &hex(&self.0))?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Hex { hex: String },
        }
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Bytes(t.into_bytes())),
            Repr::Hex { hex: h } => unhex(&h)
                .map(Bytes)
                .ok_or_else(|| serde::de::Error::custom("invalid hex")),
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_lossless() {
        for b in [
            b"plain".to_vec(),
            b"caf\xc3\xa9".to_vec(),
            b"bad\xff\x00".to_vec(),
            vec![],
        ] {
            let j = serde_json::to_string(&Bytes(b.clone())).expect("ser");
            let back: Bytes = serde_json::from_str(&j).expect("de");
            assert_eq!(back.0, b, "{j}");
        }
        assert_eq!(
            serde_json::to_string(&Bytes(b"\xff".to_vec()))
                .ok()
                .as_deref(),
            Some(r#"{"hex":"ff"}"#)
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(Bytes(b"a\xffb\n".to_vec()).to_string(), "a\\xffb\\n");
        assert_eq!(Bytes("café".into()).to_string(), "café");
    }
}
