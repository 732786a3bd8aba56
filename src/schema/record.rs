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

/// Unix seconds of a datetime text popoto stored: `isoformat()` since popoto
/// 1.8.2 (`2026-01-01T10:00:00[.ffffff][+HH:MM|Z]`, a space instead of `T`
/// accepted, a bare date is midnight) or `%Y%m%dT%H:%M:%S.%f` before. A time
/// without an offset is taken as UTC. None when the text is neither.
pub fn parse_iso_utc(text: &str) -> Option<f64> {
    let t = text.trim().as_bytes();
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let (y, mo, d, rest) = if t.len() >= 10 && t[4] == b'-' && t[7] == b'-' {
        (num(&t[..4])?, num(&t[5..7])?, num(&t[8..10])?, &t[10..])
    } else if t.len() >= 8 && t[..8].iter().all(u8::is_ascii_digit) {
        (num(&t[..4])?, num(&t[4..6])?, num(&t[6..8])?, &t[8..])
    } else {
        return None;
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut frac = 0.0;
    let mut rest = rest;
    if !rest.is_empty() {
        if rest[0] != b'T' && rest[0] != b' ' {
            return None;
        }
        rest = &rest[1..];
        if rest.len() < 8 || rest[2] != b':' || rest[5] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&rest[..2])?, num(&rest[3..5])?, num(&rest[6..8])?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s;
        rest = &rest[8..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let digits = std::str::from_utf8(&rest[1..1 + n]).ok()?;
            frac = format!("0.{digits}").parse().ok()?;
            rest = &rest[1 + n..];
        }
        match rest {
            [] | [b'Z'] => {}
            [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
                let off = num(&[*oh1, *oh2])? * 3600 + num(&[*om1, *om2])? * 60;
                secs -= if *sign == b'+' { off } else { -off };
            }
            _ => return None,
        }
    }
    Some(secs as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn iso_parsing() {
        assert_eq!(parse_iso_utc("1970-01-01T00:00:00"), Some(0.0));
        assert_eq!(
            parse_iso_utc("2026-01-01T00:00:00.500000"),
            Some(1767225600.5)
        );
        assert_eq!(parse_iso_utc("2026-01-01"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("2026-01-01 01:00:00+01:00"),
            Some(1767225600.0)
        );
        assert_eq!(
            parse_iso_utc("2025-12-31T23:00:00-01:00"),
            Some(1767225600.0)
        );
        assert_eq!(parse_iso_utc("2026-01-01T00:00:00Z"), Some(1767225600.0));
        assert_eq!(
            parse_iso_utc("20260101T00:00:00.250000"),
            Some(1767225600.25)
        );
        assert_eq!(parse_iso_utc("2000-02-29T00:00:00"), Some(951782400.0));
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "2026-01-01T25:00:00",
            "2026-01-01T00:00",
            "2026-01-01T00:00:00.",
            "2026-01-01T00:00:00+1",
        ] {
            assert_eq!(parse_iso_utc(bad), None, "{bad:?}");
        }
        for t in [0.0, 951782400.0, 1767225600.5, 4102444800.25] {
            assert_eq!(parse_iso_utc(&iso_utc(t)), Some(t), "round trip of {t}");
        }
    }

    #[test]
    fn iso() {
        assert_eq!(iso_utc(0.0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(1767225600.5), "2026-01-01T00:00:00.500000");
        assert_eq!(iso_utc(951782400.0), "2000-02-29T00:00:00");
    }
}
