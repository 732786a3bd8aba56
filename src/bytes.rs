//! Keys and set members are bytes: a non-UTF-8 member must not crash anything.
//! [`Bytes`] shows them escaped in text and losslessly in JSON.
//!
//! Owns: the byte-string type shared by every layer, and the one way any
//! byte string becomes display text: [`preview`], escaped and bounded, so
//! that no output grows with the size of a value. Must not: print.

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

/// How much of a byte string any output shows. A Redis value can be 512 MB:
/// shown whole, a 100 MB status field hung the scan's table (its line
/// splitting is quadratic) and made a 314 MB JSON report. Enough to tell
/// one value from another, small enough for a table cell.
pub const PREVIEW_BYTES: usize = 256;

/// The part of `b` that is shown: all of it up to [`PREVIEW_BYTES`], else
/// that many bytes (less the tail of a split UTF-8 character) and the full
/// length, which every cut form prints as `… <N bytes>`.
pub fn preview(b: &[u8]) -> (&[u8], Option<usize>) {
    if b.len() <= PREVIEW_BYTES {
        return (b, None);
    }
    let mut end = PREVIEW_BYTES;
    // A UTF-8 character is at most 4 bytes: never show half of one.
    for _ in 0..3 {
        if b.get(end).is_some_and(|c| c & 0xc0 == 0x80) {
            end -= 1;
        }
    }
    (&b[..end], Some(b.len()))
}

/// What a cut preview ends with: the full length, as a field too large to
/// read is shown (`<104857605 bytes>`).
fn cut_mark(len: Option<usize>) -> String {
    len.map(|n| format!("… <{n} bytes>")).unwrap_or_default()
}

/// Text form of a [`preview`]: UTF-8 as is (control characters escaped),
/// other bytes as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let (b, cut) = preview(b);
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
    out.push_str(&cut_mark(cut));
    out
}

/// A text value quoted (`"running"`, with Rust's string escapes) in its
/// [`preview`]: how messages name a status or a field's text.
pub fn quote(s: &str) -> String {
    let (head, cut) = preview(s.as_bytes());
    // preview cuts on a character boundary, so this is the same prefix.
    let head = s.get(..head.len()).unwrap_or_default();
    format!("{head:?}{}", cut_mark(cut))
}

/// The JSON of a value that may be huge, through its [`preview`]: the
/// bytes as [`Bytes`] writes them while they are short, else
/// `{"preview": <the first bytes>, "bytes": <full length>}`.
pub struct PreviewJson<'a>(pub &'a [u8]);

impl Serialize for PreviewJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match preview(self.0) {
            (b, None) => Bytes::from(b).serialize(s),
            (head, Some(len)) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("preview", &Bytes::from(head))?;
                m.serialize_entry("bytes", &len)?;
                m.end()
            }
        }
    }
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
    fn long_values_are_shown_as_a_preview_with_their_length() {
        let long = "é".repeat(PREVIEW_BYTES);
        let shown = escape_bytes(long.as_bytes());
        assert!(
            shown.ends_with(&format!("… <{} bytes>", long.len())),
            "{shown}"
        );
        assert!(shown.len() < PREVIEW_BYTES + 32, "{}", shown.len());
        assert!(shown.starts_with("éé"));
        let q = quote(&long);
        assert!(q.starts_with("\"éé") && q.contains("\"… <"), "{q}");
        let j = serde_json::to_value(PreviewJson(long.as_bytes())).expect("ser");
        assert_eq!(j["bytes"], long.len());
        assert!(j["preview"]
            .as_str()
            .is_some_and(|p| p.len() <= PREVIEW_BYTES));
        // Short values are untouched, in text and in JSON.
        assert_eq!(escape_bytes(b"running"), "running");
        assert_eq!(quote("running"), "\"running\"");
        assert_eq!(
            serde_json::to_value(PreviewJson(b"\xff")).expect("ser"),
            serde_json::json!({"hex": "ff"})
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(Bytes(b"a\xffb\n".to_vec()).to_string(), "a\\xffb\\n");
        assert_eq!(Bytes("café".into()).to_string(), "café");
    }
}
