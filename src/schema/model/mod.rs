//! The popoto model jobq works on: its fields, key fields and statuses, the
//! default `RedisJob` model of docs/layout.md, and the TOML schema file that
//! describes any other model.
//!
//! Owns: [`Model`] and its validation, typed parsing of user input into
//! [`Value`]s. Must not: format Redis keys (see `keys`) or talk to Redis.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::msgpack::{Value, DATETIME_TAG};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Str,
    Int,
    Float,
    Bool,
    Datetime,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "str",
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Bool => "bool",
            FieldType::Datetime => "datetime",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldRole {
    /// popoto `AutoKeyField`: part of the key, generated (uuid4 hex), no index.
    Auto,
    /// popoto `KeyField`: part of the key, with `$KeyF` index sets.
    Key,
    /// popoto `IndexedField` (1.8 and later): not in the key; `$IndexF`
    /// value sets and a `$IdxPtr` pointer per record (docs/layout.md, "The
    /// other status layout").
    Indexed,
    /// popoto `UniqueField`: an `Indexed` field whose value set may hold
    /// one record only (popoto's INDEX_SWAP script refuses a second).
    Unique,
    /// A plain field (popoto `Field` / `SortedField`).
    Field,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldDefault {
    Value(Value),
    /// The current time (unix seconds for float/int, ISO text for datetime).
    Now,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub role: FieldRole,
    /// popoto `SortedField`: a `$SortF:{Model}:{field}` zset scored by the value.
    pub sorted: bool,
    pub default: Option<FieldDefault>,
}

impl Field {
    pub fn is_key(&self) -> bool {
        matches!(self.role, FieldRole::Auto | FieldRole::Key)
    }

    /// An `IndexedField` or `UniqueField`: indexed through `$IndexF` sets
    /// and `$IdxPtr` pointers, not part of the key.
    pub fn is_indexf(&self) -> bool {
        matches!(self.role, FieldRole::Indexed | FieldRole::Unique)
    }

    /// Parse command-line text (`--set FIELD=VALUE`) into this field's type.
    pub fn parse_text(&self, text: &str) -> Result<Value> {
        let v = match self.ty {
            FieldType::Str => Value::Str(text.to_owned()),
            FieldType::Int => Value::Int(
                text.trim()
                    .parse()
                    .with_context(|| format!("field {}: {text:?} is not an integer", self.name))?,
            ),
            FieldType::Float => {
                let f: f64 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("field {}: {text:?} is not a number", self.name))?;
                if !f.is_finite() {
                    bail!("field {}: {text:?} is not a finite number", self.name);
                }
                Value::Float(f)
            }
            FieldType::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Value::Bool(true),
                "false" | "0" | "no" => Value::Bool(false),
                _ => bail!(
                    "field {}: {text:?} is not a boolean (true/false)",
                    self.name
                ),
            },
            FieldType::Datetime => datetime(&self.name, text)?,
        };
        Ok(v)
    }

    /// Convert a JSON value (from `enqueue --file`) into this field's type.
    pub fn parse_json(&self, json: &serde_json::Value) -> Result<Value> {
        use serde_json::Value as J;
        let v = match (self.ty, json) {
            (_, J::Null) => Value::Nil,
            (FieldType::Str, J::String(s)) => Value::Str(s.clone()),
            (FieldType::Int, J::Number(n)) if n.is_i64() => Value::Int(n.as_i64().unwrap_or(0)),
            (FieldType::Float, J::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Value::Float(f),
                _ => bail!("field {}: {n} is not a finite number", self.name),
            },
            (FieldType::Bool, J::Bool(b)) => Value::Bool(*b),
            (FieldType::Datetime, J::String(s)) => datetime(&self.name, s)?,
            (ty, other) => bail!(
                "field {}: expected {}, got {}",
                self.name,
                ty.name(),
                json_kind(other)
            ),
        };
        Ok(v)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_f64() => "a non-integral number",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Accept ISO 8601 text (`2026-01-01T10:00:00[.ffffff][+00:00]`), the form
/// popoto >= 1.8.2 writes with `isoformat()`.
fn datetime(field: &str, text: &str) -> Result<Value> {
    let t = text.trim();
    let b = t.as_bytes();
    let ok = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ');
    if !ok {
        bail!("field {field}: {text:?} is not an ISO 8601 datetime (YYYY-MM-DDTHH:MM:SS)");
    }
    Ok(Value::Tagged {
        tag: DATETIME_TAG.into(),
        text: t.to_owned(),
    })
}

/// The status field and the meaning of its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statuses {
    pub field: String,
    pub values: Vec<String>,
    pub pending: String,
    pub running: String,
    pub completed: String,
    pub failed: String,
}

impl Statuses {
    /// How far along a status is: pending < running < completed = failed.
    /// Unknown statuses rank lowest. Used to pick the survivor of duplicates.
    pub fn progress_rank(&self, status: &str) -> u8 {
        if status == self.completed || status == self.failed {
            3
        } else if status == self.running {
            2
        } else if status == self.pending {
            1
        } else {
            0
        }
    }
}

/// Where a model keeps its status: the two layouts of docs/layout.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLayout {
    /// A `KeyField`: the status is a segment of the record key and a job's
    /// move re-keys the record (`$KeyF:{Model}:{status}:{value}` sets).
    Key,
    /// An `IndexedField` (`unique`: a `UniqueField`): the key has no status;
    /// a move changes the field, the `$IndexF` set membership and the
    /// `$IdxPtr` pointer in place.
    Indexed { unique: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub class: String,
    /// In declaration order: the order popoto writes them in one HSET.
    pub fields: Vec<Field>,
    pub status: Statuses,
    /// Timestamp field that says when a job started running, for `reap`.
    pub since_field: Option<String>,
    /// The field holding a job's error or message text, shown for failed
    /// jobs (`drain --ids`). RedisJob: `message_text`.
    pub message_field: Option<String>,
    /// Indices into `fields` of the key fields in alphabetical order of name:
    /// the order of the key's segments.
    key_order: Vec<usize>,
}

impl Model {
    /// The RedisJob model of docs/layout.md.
    pub fn redis_job() -> Model {
        let f = |name: &str, ty, role, sorted, default| Field {
            name: name.into(),
            ty,
            role,
            sorted,
            default,
        };
        let fields = vec![
            f("job_id", FieldType::Str, FieldRole::Auto, false, None),
            f("project_key", FieldType::Str, FieldRole::Key, false, None),
            f("status", FieldType::Str, FieldRole::Key, false, None),
            f(
                "priority",
                FieldType::Str,
                FieldRole::Field,
                false,
                Some(FieldDefault::Value(Value::Str("normal".into()))),
            ),
            f(
                "message_text",
                FieldType::Str,
                FieldRole::Field,
                false,
                None,
            ),
            f(
                "created_at",
                FieldType::Float,
                FieldRole::Field,
                true,
                Some(FieldDefault::Now),
            ),
        ];
        let status = Statuses {
            field: "status".into(),
            values: ["pending", "running", "completed", "failed"]
                .map(String::from)
                .to_vec(),
            pending: "pending".into(),
            running: "running".into(),
            completed: "completed".into(),
            failed: "failed".into(),
        };
        // The default model is valid by construction; validate anyway so a
        // mistake here shows up in the unit tests rather than in production.
        Model::new("RedisJob".into(), fields, status, None)
            .and_then(|m| m.with_message_field(Some("message_text".into())))
            .unwrap_or_else(|e| panic!("built-in RedisJob model is invalid: {e:#}"))
    }

    pub fn new(
        class: String,
        fields: Vec<Field>,
        status: Statuses,
        since_field: Option<String>,
    ) -> Result<Model> {
        if class.is_empty() || class.contains(':') || class.starts_with('$') {
            bail!("class name {class:?} must be non-empty, without ':' and not start with '$'");
        }
        let mut names = BTreeSet::new();
        for fl in &fields {
            if fl.name.is_empty() || fl.name.contains(':') {
                bail!("field name {:?} must be non-empty and without ':'", fl.name);
            }
            if !names.insert(fl.name.as_str()) {
                bail!("field {:?} is declared twice", fl.name);
            }
            if fl.is_key() && fl.ty != FieldType::Str {
                bail!("key field {:?} must be of type str", fl.name);
            }
            // popoto renders a non-str value into the set's name with str();
            // jobq only writes the names of str values (and None).
            if fl.is_indexf() && fl.ty != FieldType::Str {
                bail!("indexed field {:?} must be of type str", fl.name);
            }
            if fl.sorted && fl.is_indexf() {
                bail!("field {:?} cannot be both indexed and sorted", fl.name);
            }
            if fl.sorted && !matches!(fl.ty, FieldType::Int | FieldType::Float) {
                bail!("sorted field {:?} must be of type int or float", fl.name);
            }
            if fl.sorted && fl.is_key() {
                bail!("field {:?} cannot be both a key field and sorted", fl.name);
            }
            if let Some(FieldDefault::Now) = fl.default {
                if !matches!(
                    fl.ty,
                    FieldType::Float | FieldType::Int | FieldType::Datetime
                ) {
                    bail!(
                        "field {:?}: default \"now\" needs type float, int or datetime",
                        fl.name
                    );
                }
            }
        }
        let autos = fields.iter().filter(|f| f.role == FieldRole::Auto).count();
        if autos != 1 {
            bail!("the model needs exactly one auto key field (role = \"auto\"), found {autos}");
        }
        match fields.iter().find(|f| f.name == status.field) {
            Some(f) if matches!(f.role, FieldRole::Key) || f.is_indexf() => {}
            Some(_) => bail!(
                "status field {:?} must be a key field (role = \"key\") or an indexed one (role = \"indexed\" or \"unique\")",
                status.field
            ),
            None => bail!("status field {:?} is not declared", status.field),
        }
        if status.values.is_empty() {
            bail!("the status field needs at least one value");
        }
        let mut seen = BTreeSet::new();
        for v in &status.values {
            if !seen.insert(v) {
                bail!("status value {v:?} is listed twice");
            }
        }
        for (role, v) in [
            ("pending", &status.pending),
            ("running", &status.running),
            ("completed", &status.completed),
            ("failed", &status.failed),
        ] {
            if !status.values.contains(v) {
                bail!(
                    "status {role} = {v:?} is not one of the status values {:?}",
                    status.values
                );
            }
        }
        if let Some(s) = &since_field {
            match fields.iter().find(|f| &f.name == s) {
                Some(f)
                    if matches!(
                        f.ty,
                        FieldType::Float | FieldType::Int | FieldType::Datetime
                    ) => {}
                Some(_) => bail!("since_field {s:?} must be of type float, int or datetime"),
                None => bail!("since_field {s:?} is not declared"),
            }
        }
        let mut key_order: Vec<usize> = (0..fields.len()).filter(|&i| fields[i].is_key()).collect();
        key_order.sort_by(|&a, &b| fields[a].name.cmp(&fields[b].name));
        Ok(Model {
            class,
            fields,
            status,
            since_field,
            message_field: None,
            key_order,
        })
    }

    /// The model with `field` as its message field: a declared field that
    /// is not a key field (its text is shown, never parsed).
    pub fn with_message_field(mut self, field: Option<String>) -> Result<Model> {
        if let Some(name) = &field {
            match self.field(name) {
                Some(f) if f.is_key() => {
                    bail!("message_field {name:?} must not be a key field")
                }
                Some(_) => {}
                None => bail!("message_field {name:?} is not declared"),
            }
        }
        self.message_field = field;
        Ok(self)
    }

    /// Read a TOML schema file.
    pub fn from_toml(text: &str) -> Result<Model> {
        let raw: RawSchema = toml::from_str(text).context("the schema file is not valid")?;
        let mut fields = Vec::with_capacity(raw.field.len());
        for rf in raw.field {
            let default = match (rf.default, rf.default_now) {
                (Some(_), true) => {
                    bail!("field {:?}: give default or default_now, not both", rf.name)
                }
                (None, true) => Some(FieldDefault::Now),
                (None, false) => None,
                (Some(d), false) => Some(FieldDefault::Value(toml_default(&rf.name, rf.ty, d)?)),
            };
            fields.push(Field {
                name: rf.name,
                ty: rf.ty,
                role: rf.role,
                sorted: rf.sorted,
                default,
            });
        }
        let s = raw.status;
        let pick = |v: Option<String>, name: &str| v.unwrap_or_else(|| name.to_owned());
        let status = Statuses {
            field: s.field,
            values: s.values,
            pending: pick(s.pending, "pending"),
            running: pick(s.running, "running"),
            completed: pick(s.completed, "completed"),
            failed: pick(s.failed, "failed"),
        };
        Model::new(raw.class, fields, status, raw.since_field)?
            .with_message_field(raw.message_field)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field's place in `fields` (declaration order).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn auto_field(&self) -> &Field {
        // `new` guarantees exactly one.
        self.fields
            .iter()
            .find(|f| f.role == FieldRole::Auto)
            .unwrap_or(&self.fields[0])
    }

    /// Key fields in key-segment order (alphabetical by name, auto included).
    pub fn key_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.key_order.iter().map(|&i| &self.fields[i])
    }

    /// Declared fields whose values the light read does not decode (all but
    /// the status field and the sorted fields): what `--deep` reads to
    /// check that every stored value is valid msgpack.
    pub fn unread_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| !f.sorted && f.name != self.status.field)
            .map(|f| f.name.clone())
            .collect()
    }

    /// Places in `fields` in the order popoto 1.10.1's create leaves them in
    /// the hash: each indexed field first (its INDEX_SWAP script HSETs it),
    /// then every other field in declaration order (the MULTI's HSET). For
    /// a model without indexed fields, declaration order.
    pub fn hset_order(&self) -> Vec<usize> {
        let indexf = (0..self.fields.len()).filter(|&i| self.fields[i].is_indexf());
        let rest = (0..self.fields.len()).filter(|&i| !self.fields[i].is_indexf());
        indexf.chain(rest).collect()
    }

    /// Key fields' places in `fields`, in key-segment order.
    pub fn key_field_indexes(&self) -> &[usize] {
        &self.key_order
    }

    pub fn key_field_count(&self) -> usize {
        self.key_order.len()
    }

    /// Non-auto key fields: the ones with `$KeyF` index sets, in key-segment
    /// order.
    pub fn keyf_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.key_fields().filter(|f| f.role == FieldRole::Key)
    }

    /// `IndexedField`s and `UniqueField`s, in declaration order: the ones
    /// with `$IndexF` value sets and `$IdxPtr` pointers.
    pub fn indexf_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.fields.iter().filter(|f| f.is_indexf())
    }

    /// `$KeyF` key fields other than the status field (e.g. project_key).
    pub fn secondary_key_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.keyf_fields()
            .filter(move |f| f.name != self.status.field)
    }

    /// Where the status lives: in the key, or in an indexed field.
    pub fn status_layout(&self) -> StatusLayout {
        match self.field(&self.status.field).map(|f| f.role) {
            Some(FieldRole::Indexed) => StatusLayout::Indexed { unique: false },
            Some(FieldRole::Unique) => StatusLayout::Indexed { unique: true },
            // `new` allows only Key otherwise.
            _ => StatusLayout::Key,
        }
    }

    /// The status is a segment of the record key (the `KeyField` layout).
    pub fn status_in_key(&self) -> bool {
        self.status_layout() == StatusLayout::Key
    }

    pub fn sorted_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.fields.iter().filter(|f| f.sorted)
    }

    pub fn is_status(&self, s: &str) -> bool {
        self.status.values.iter().any(|v| v == s)
    }
}

fn toml_default(field: &str, ty: FieldType, v: toml::Value) -> Result<Value> {
    Ok(match (ty, v) {
        (FieldType::Str, toml::Value::String(s)) => Value::Str(s),
        (FieldType::Int, toml::Value::Integer(i)) => Value::Int(i),
        (FieldType::Float, toml::Value::Float(f)) => Value::Float(f),
        (FieldType::Float, toml::Value::Integer(i)) => Value::Float(i as f64),
        (FieldType::Bool, toml::Value::Boolean(b)) => Value::Bool(b),
        (FieldType::Datetime, toml::Value::String(s)) => datetime(field, &s)?,
        (ty, v) => bail!("field {field:?}: default {v} is not of type {}", ty.name()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    class: String,
    #[serde(default)]
    since_field: Option<String>,
    #[serde(default)]
    message_field: Option<String>,
    field: Vec<RawField>,
    status: RawStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type", default = "default_type")]
    ty: FieldType,
    #[serde(default = "default_role")]
    role: FieldRole,
    #[serde(default)]
    sorted: bool,
    #[serde(default)]
    default: Option<toml::Value>,
    #[serde(default)]
    default_now: bool,
}

fn default_type() -> FieldType {
    FieldType::Str
}
fn default_role() -> FieldRole {
    FieldRole::Field
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    field: String,
    values: Vec<String>,
    pending: Option<String>,
    running: Option<String>,
    completed: Option<String>,
    failed: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests;
