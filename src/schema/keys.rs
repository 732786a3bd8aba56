//! Every Redis key and MATCH pattern jobq uses is formatted here, and nowhere
//! else: popoto's record keys and index names (docs/layout.md, "A model and its keys"), and jobq's
//! own keys under `--namespace`.
//!
//! Owns: building and parsing keys. Must not: talk to Redis.

use super::escape::{escape, glob_escape, unescape};
use super::model::{Field, FieldRole, Model};

/// The text popoto writes for a None key value.
pub const NONE_TEXT: &str = "None";

/// The prefix of a record's `$IdxPtr` pointer keys (popoto 1.8.3+).
const POINTER_PREFIX: &[u8] = b"$IdxPtr:";
/// Between K and the field in a 1.8.1-1.8.2 pointer key.
const LEGACY_POINTER_INFIX: &[u8] = b"\x00idxptr\x00";
/// After the field in a 1.8.0 in-hash pointer field's name.
const LEGACY_POINTER_FIELD_SUFFIX: &[u8] = b"\x00idxset";

/// A record key taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// Unescaped key-field values, in the model's declaration order of the
    /// key fields (not segment order); see [`Model::key_fields`].
    values: Vec<(String, String)>,
}

impl ParsedKey {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, v)| v.as_str())
    }

    pub fn values(&self) -> &[(String, String)] {
        &self.values
    }
}

/// Why a key or member is not a record key of the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("does not start with {0:?}")]
    Prefix(String),
    #[error("has {found} key segment(s), the model has {want}")]
    Segments { found: usize, want: usize },
    #[error("a key segment is not valid UTF-8")]
    Utf8,
    /// `{K}\x00idxptr\x00{field}`: popoto 1.8.1-1.8.2's pointer to an
    /// indexed field's set, not a record (it has K's segments, so it would
    /// otherwise parse). See [`Model::parse_legacy_pointer_key`].
    #[error("is a popoto 1.8.1-1.8.2 index pointer, not a record")]
    LegacyPointer,
}

impl Model {
    /// `RedisJob:{esc(job_id)}:{esc(project_key)}:{esc(status)}`: the values
    /// of all key fields, in alphabetical order of field name. `value(name)`
    /// gives each key field's value; None renders as `None`.
    pub fn record_key<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> Vec<u8> {
        let mut key = self.class.as_bytes().to_vec();
        for f in self.key_fields() {
            key.push(b':');
            key.extend(escape(value(&f.name).unwrap_or(NONE_TEXT).as_bytes()));
        }
        key
    }

    /// The key of the same record with one key field changed (a status move).
    pub fn rekey(&self, parsed: &ParsedKey, field: &str, new_value: &str) -> Vec<u8> {
        self.record_key(|name| {
            if name == field {
                Some(new_value)
            } else {
                parsed.get(name)
            }
        })
    }

    pub fn parse_key(&self, key: &[u8]) -> Result<ParsedKey, KeyError> {
        let prefix = self.class.len() + 1;
        if key.len() < prefix
            || &key[..prefix - 1] != self.class.as_bytes()
            || key[prefix - 1] != b':'
        {
            return Err(KeyError::Prefix(format!("{}:", self.class)));
        }
        if self.parse_legacy_pointer_key(key).is_some() {
            return Err(KeyError::LegacyPointer);
        }
        let segments: Vec<&[u8]> = key[prefix..].split(|&b| b == b':').collect();
        if segments.len() != self.key_field_count() {
            return Err(KeyError::Segments {
                found: segments.len(),
                want: self.key_field_count(),
            });
        }
        let mut values = Vec::with_capacity(segments.len());
        for (f, seg) in self.key_fields().zip(segments) {
            let v = String::from_utf8(unescape(seg)).map_err(|_| KeyError::Utf8)?;
            values.push((f.name.clone(), v));
        }
        Ok(ParsedKey { values })
    }

    /// The unescaped auto-key segment of a record key, as bytes: matches a
    /// job_id even when another segment (or the id itself) is not UTF-8 and
    /// [`Model::parse_key`] refuses the key. None for a 1.8.1-1.8.2 pointer
    /// key, which has a record key's segments but is no record.
    pub fn key_job_id_bytes(&self, key: &[u8]) -> Option<Vec<u8>> {
        if self.parse_legacy_pointer_key(key).is_some() {
            return None;
        }
        let rest = key
            .strip_prefix(self.class.as_bytes())?
            .strip_prefix(b":")?;
        let segments: Vec<&[u8]> = rest.split(|&b| b == b':').collect();
        if segments.len() != self.key_field_count() {
            return None;
        }
        let at = self.key_fields().position(|f| f.role == FieldRole::Auto)?;
        Some(unescape(segments[at]))
    }

    /// The job_id (auto key) of a parsed key.
    pub fn job_id<'a>(&self, parsed: &'a ParsedKey) -> &'a str {
        parsed.get(&self.auto_field().name).unwrap_or(NONE_TEXT)
    }

    /// The status named by a parsed key's segment. Only the `KeyField`
    /// layout has one ([`Model::status_in_key`]): under the indexed layout
    /// this is `None` text, and the status is the hash field's alone.
    pub fn key_status<'a>(&self, parsed: &'a ParsedKey) -> &'a str {
        parsed.get(&self.status.field).unwrap_or(NONE_TEXT)
    }

    /// `$Class:{Model}`: every record key.
    pub fn class_set(&self) -> Vec<u8> {
        format!("$Class:{}", self.class).into_bytes()
    }

    /// The index set of one value of a field: `$KeyF:{Model}:{field}:{esc(value)}`
    /// for a key field, `$IndexF:{Model}:{field}:{esc(value)}` for an
    /// indexed (or unique) one.
    pub fn index_key(&self, field: &str, value: Option<&str>) -> Vec<u8> {
        let mut k = self.index_prefix(field);
        k.extend(escape(value.unwrap_or(NONE_TEXT).as_bytes()));
        k
    }

    pub fn status_index(&self, status: &str) -> Vec<u8> {
        self.index_key(&self.status.field, Some(status))
    }

    /// The prefix of every index set of one field, for recognising (and
    /// decoding) index names found with SCAN: `$IndexF:` for an indexed
    /// field, `$KeyF:` otherwise.
    pub fn index_prefix(&self, field: &str) -> Vec<u8> {
        let kind = match self.field(field) {
            Some(f) if f.is_indexf() => "$IndexF",
            _ => "$KeyF",
        };
        format!("{kind}:{}:{}:", self.class, field).into_bytes()
    }

    /// `$IdxPtr:{K}:{field}`: the STRING whose value is the name of the
    /// `$IndexF` set record K is in for that field (popoto 1.8.3 and later).
    pub fn index_pointer(&self, record_key: &[u8], field: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(POINTER_PREFIX.len() + record_key.len() + field.len() + 1);
        k.extend_from_slice(POINTER_PREFIX);
        k.extend_from_slice(record_key);
        k.push(b':');
        k.extend_from_slice(field.as_bytes());
        k
    }

    /// `{K}\x00idxptr\x00{field}`: the pointer popoto 1.8.1 and 1.8.2 kept.
    /// It matches the model's own key pattern; 1.10.1 adopts and deletes it.
    pub fn legacy_pointer_key(&self, record_key: &[u8], field: &str) -> Vec<u8> {
        let mut k = record_key.to_vec();
        k.extend_from_slice(LEGACY_POINTER_INFIX);
        k.extend_from_slice(field.as_bytes());
        k
    }

    /// `{field}\x00idxset`: the hash field inside the record in which popoto
    /// 1.8.0 kept the pointer.
    pub fn legacy_pointer_field(&self, field: &str) -> Vec<u8> {
        let mut f = field.as_bytes().to_vec();
        f.extend_from_slice(LEGACY_POINTER_FIELD_SUFFIX);
        f
    }

    /// MATCH pattern for every `$IdxPtr` pointer of the model's records.
    pub fn index_pointer_pattern(&self) -> Vec<u8> {
        let mut prefix = POINTER_PREFIX.to_vec();
        prefix.extend_from_slice(self.class.as_bytes());
        prefix.push(b':');
        let mut p = glob_escape(&prefix);
        p.push(b'*');
        p
    }

    /// MATCH pattern for every 1.8.1-1.8.2 pointer key of one indexed
    /// field, `{K}\x00idxptr\x00{field}` for each record K of the model:
    /// the scan's pointer walk meets those whose record is gone with it.
    pub fn legacy_pointer_pattern(&self, field: &str) -> Vec<u8> {
        let mut p = self.record_pattern();
        let mut tail = LEGACY_POINTER_INFIX.to_vec();
        tail.extend_from_slice(field.as_bytes());
        p.extend(glob_escape(&tail));
        p
    }

    /// A `$IdxPtr:{K}:{field}` key taken apart: the record key K (not
    /// checked to parse: a pointer may outlive its record or name a
    /// malformed one) and the indexed field. None for any other key.
    pub fn parse_index_pointer<'k>(&self, key: &'k [u8]) -> Option<(&'k [u8], &Field)> {
        let rest = key.strip_prefix(POINTER_PREFIX)?;
        // The field name has no ':' (checked by `Model::new`), K may.
        let colon = rest.iter().rposition(|&b| b == b':')?;
        let (record_key, field) = (&rest[..colon], &rest[colon + 1..]);
        let f = self.indexf_fields().find(|f| f.name.as_bytes() == field)?;
        record_key
            .strip_prefix(self.class.as_bytes())?
            .strip_prefix(b":")?;
        Some((record_key, f))
    }

    /// A 1.8.1-1.8.2 pointer key `{K}\x00idxptr\x00{field}` taken apart:
    /// K and the indexed field. None for any other key, so a keyspace walk
    /// can tell these from records and never call them malformed.
    pub fn parse_legacy_pointer_key<'k>(&self, key: &'k [u8]) -> Option<(&'k [u8], &Field)> {
        let at = key
            .windows(LEGACY_POINTER_INFIX.len())
            .position(|w| w == LEGACY_POINTER_INFIX)?;
        let (record_key, field) = (&key[..at], &key[at + LEGACY_POINTER_INFIX.len()..]);
        let f = self.indexf_fields().find(|f| f.name.as_bytes() == field)?;
        record_key
            .strip_prefix(self.class.as_bytes())?
            .strip_prefix(b":")?;
        Some((record_key, f))
    }

    /// The indexed field whose 1.8.0 in-hash pointer a hash field name is
    /// (`{field}\x00idxset`), if it is one.
    pub fn parse_legacy_pointer_field(&self, name: &[u8]) -> Option<&Field> {
        let field = name.strip_suffix(LEGACY_POINTER_FIELD_SUFFIX)?;
        self.indexf_fields().find(|f| f.name.as_bytes() == field)
    }

    /// The value an index name stands for, if `key` is an index of `field`.
    pub fn index_value(&self, field: &str, key: &[u8]) -> Option<Vec<u8>> {
        let prefix = self.index_prefix(field);
        key.strip_prefix(prefix.as_slice()).map(unescape)
    }

    /// MATCH pattern for every index set of one field.
    pub fn index_pattern(&self, field: &str) -> Vec<u8> {
        let mut p = glob_escape(&self.index_prefix(field));
        p.push(b'*');
        p
    }

    /// `$SortF:{Model}:{field}` (`$SortF`, not `$SortedF`).
    pub fn sorted_key(&self, field: &str) -> Vec<u8> {
        format!("$SortF:{}:{}", self.class, field).into_bytes()
    }

    /// MATCH pattern for every record key of the model (`--deep`).
    pub fn record_pattern(&self) -> Vec<u8> {
        let mut p = glob_escape(self.class.as_bytes());
        p.extend_from_slice(b":*");
        p
    }

    /// MATCH pattern for the records of one job_id, matched literally: the
    /// job_id is user input. Other segments are `*`, so callers must parse
    /// what comes back.
    pub fn job_pattern(&self, job_id: &[u8]) -> Vec<u8> {
        let mut p = glob_escape(self.class.as_bytes());
        for f in self.key_fields() {
            p.push(b':');
            if f.role == FieldRole::Auto {
                p.extend(glob_escape(&escape(job_id)));
            } else {
                p.push(b'*');
            }
        }
        p
    }
}

/// A key named by a template such as `worker:{project_key}:alive` (`reap
/// --heartbeat-key`): each `{field}` is replaced by the job's value of that
/// field, escaped as popoto escapes key values, so that the key matches what
/// an application builds from the same values; `{{` and `}}` are literal
/// braces, everything else is copied as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TemplatePart {
    Literal(Vec<u8>),
    Field(String),
}

/// Why a key template is not usable with the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is empty")]
    Empty,
    #[error("a '{{' at byte {0} is not closed by '}}' (write '{{{{' for a literal brace)")]
    Unclosed(usize),
    #[error("a '}}' at byte {0} has no '{{' (write '}}}}' for a literal brace)")]
    Unopened(usize),
    #[error("{{{0}}} names no field of the model (fields: {1})")]
    UnknownField(String, String),
}

impl Model {
    /// Parse a key template; every `{field}` must be a declared field.
    pub fn key_template(&self, text: &str) -> Result<KeyTemplate, TemplateError> {
        if text.is_empty() {
            return Err(TemplateError::Empty);
        }
        let b = text.as_bytes();
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' if b.get(i + 1) == Some(&b'{') => {
                    lit.push(b'{');
                    i += 2;
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    lit.push(b'}');
                    i += 2;
                }
                b'{' => {
                    let end = text[i + 1..]
                        .find('}')
                        .map(|e| i + 1 + e)
                        .ok_or(TemplateError::Unclosed(i))?;
                    let name = &text[i + 1..end];
                    if self.field(name).is_none() {
                        let names: Vec<&str> =
                            self.fields.iter().map(|f| f.name.as_str()).collect();
                        return Err(TemplateError::UnknownField(
                            name.to_owned(),
                            names.join(", "),
                        ));
                    }
                    if !lit.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(TemplatePart::Field(name.to_owned()));
                    i = end + 1;
                }
                b'}' => return Err(TemplateError::Unopened(i)),
                c => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(TemplatePart::Literal(lit));
        }
        Ok(KeyTemplate { parts })
    }
}

impl KeyTemplate {
    /// The fields the template needs, in order of appearance (repeats kept).
    pub fn fields(&self) -> impl Iterator<Item = &str> + '_ {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Field(f) => Some(f.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }

    /// The key for one job; `value(field)` is the field's text (`None` for a
    /// None value, as in record keys).
    pub fn render(&self, value: impl Fn(&str) -> String) -> Vec<u8> {
        let mut key = Vec::new();
        for p in &self.parts {
            match p {
                TemplatePart::Literal(l) => key.extend_from_slice(l),
                TemplatePart::Field(f) => key.extend(escape(value(f).as_bytes())),
            }
        }
        key
    }
}

/// jobq's own keys, all under `--namespace` (default `jobq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    prefix: String,
}

impl Namespace {
    pub fn new(prefix: &str) -> Namespace {
        Namespace {
            prefix: prefix.to_owned(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = self.prefix.as_bytes().to_vec();
        for p in parts {
            k.push(b':');
            k.extend_from_slice(p);
        }
        k
    }

    /// The audit stream of every mutation.
    pub fn audit(&self) -> Vec<u8> {
        self.key(&[b"audit"])
    }

    /// An `enqueue --idempotency-key` claim.
    pub fn idempotency(&self, class: &str, key: &str) -> Vec<u8> {
        self.key(&[b"idem", class.as_bytes(), key.as_bytes()])
    }

    /// The reaper's lock, per model.
    pub fn reap_lock(&self, class: &str) -> Vec<u8> {
        self.key(&[b"reap", class.as_bytes(), b"lock"])
    }

    /// Hash: running key -> server time it was first seen running.
    pub fn reap_seen(&self, class: &str) -> Vec<u8> {
        self.key(&[b"reap", class.as_bytes(), b"seen"])
    }

    /// Hash: job_id -> number of times reaped.
    pub fn reap_attempts(&self, class: &str) -> Vec<u8> {
        self.key(&[b"reap", class.as_bytes(), b"attempts"])
    }

    /// String: server time of the last completed sweep.
    pub fn reap_last(&self, class: &str) -> Vec<u8> {
        self.key(&[b"reap", class.as_bytes(), b"last"])
    }
}

#[cfg(test)]
mod tests;
