//! A record as popoto `create()` would write it: every declared field in
//! declaration order, defaults filled in, key fields rendered into the key.
//!
//! Owns: [`NewRecord`] (what to write for one job). Must not: talk to Redis.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::keys::NONE_TEXT;
use super::model::{FieldDefault, FieldRole, FieldType, Model};
use super::msgpack::{encode, Value, DATETIME_TAG};

#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// Every declared field, in declaration order.
    values: Vec<(String, Value)>,
}

impl Model {
    /// Build the record popoto would write for these field values. `given`
    /// must only name declared fields; missing fields take their default or
    /// None; a missing job_id is generated. `now` is unix seconds.
    pub fn new_record(&self, mut given: BTreeMap<String, Value>, now: f64) -> Result<NewRecord> {
        for name in given.keys() {
            if self.field(name).is_none() {
                bail!(
                    "unknown field {name:?} (the {} model has: {})",
                    self.class,
                    self.field_names()
                );
            }
        }
        let mut values = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let v = match given.remove(&f.name) {
                Some(v) => v,
                None => match (&f.default, f.role) {
                    (_, FieldRole::Auto) => Value::Str(new_job_id()),
                    (Some(FieldDefault::Value(v)), _) => v.clone(),
                    (Some(FieldDefault::Now), _) => now_value(f.ty, now),
                    (None, _) => Value::Nil,
                },
            };
            if f.is_key() && !matches!(v, Value::Str(_) | Value::Nil) {
                bail!("key field {} must be a string", f.name);
            }
            if f.role == FieldRole::Auto && matches!(&v, Value::Str(s) if s.is_empty()) {
                bail!("{} must not be empty", f.name);
            }
            if f.name == self.status.field {
                match &v {
                    Value::Str(s) if self.is_status(s) => {}
                    Value::Str(s) => bail!(
                        "unknown status {s:?} (one of: {})",
                        self.status.values.join(", ")
                    ),
                    _ => bail!("field {} is required", f.name),
                }
            }
            values.push((f.name.clone(), v));
        }
        Ok(NewRecord { values })
    }

    fn field_names(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// popoto's AutoKeyField: `uuid4().hex`.
pub fn new_job_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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

/// Python's naive `datetime.utcfromtimestamp(t).isoformat()`.
pub fn iso_utc(t: f64) -> String {
    let secs = t.floor() as i64;
    let micros = ((t - t.floor()) * 1e6).round() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    if micros > 0 && micros < 1_000_000 {
        format!("{base}.{micros:06}")
    } else {
        base
    }
}

impl NewRecord {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
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
        self.values
            .iter()
            .map(|(n, v)| (n.as_str(), encode(v)))
            .collect()
    }

    /// The `$KeyF` index sets this record belongs in.
    pub fn index_sets(&self, model: &Model) -> Vec<Vec<u8>> {
        model
            .indexed_fields()
            .map(|f| model.index_key(&f.name, self.key_value(&f.name)))
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

    pub fn values(&self) -> &[(String, Value)] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_in_declaration_order_with_defaults() {
        let m = Model::redis_job();
        let mut given = BTreeMap::new();
        given.insert("project_key".to_string(), Value::Str("projA".into()));
        given.insert("status".to_string(), Value::Str("pending".into()));
        let r = m.new_record(given, 1767225600.5).expect("valid");
        let names: Vec<_> = r.hash_pairs().iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            names,
            [
                "job_id",
                "project_key",
                "status",
                "priority",
                "message_text",
                "created_at"
            ]
        );
        assert_eq!(r.get("priority"), Some(&Value::Str("normal".into())));
        assert_eq!(r.get("message_text"), Some(&Value::Nil));
        assert_eq!(r.get("created_at"), Some(&Value::Float(1767225600.5)));
        let id = r.job_id(&m);
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            r.key(&m),
            format!("RedisJob:{id}:projA:pending").into_bytes()
        );
        assert_eq!(
            r.index_sets(&m),
            vec![
                b"$KeyF:RedisJob:project_key:projA".to_vec(),
                b"$KeyF:RedisJob:status:pending".to_vec()
            ]
        );
        assert_eq!(
            r.sorted_entries(&m),
            vec![(b"$SortF:RedisJob:created_at".to_vec(), 1767225600.5)]
        );
    }

    #[test]
    fn bad_records() {
        let m = Model::redis_job();
        let mut g = BTreeMap::new();
        g.insert("nope".to_string(), Value::Nil);
        assert!(
            format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown field \"nope\"")
        );
        let mut g = BTreeMap::new();
        g.insert("status".to_string(), Value::Str("lost".into()));
        assert!(
            format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown status \"lost\"")
        );
    }

    #[test]
    fn iso() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(1767225600.5), "2026-01-01T00:00:00.500000");
        assert_eq!(iso_utc(951782400.0), "2000-02-29T00:00:00");
    }
}
