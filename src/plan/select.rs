//! Which records an admin verb takes: a record read from a status index
//! (or found by job_id) judged against the verb's [`Filter`]. Pure.
//!
//! Owns: the filter's rules (project, age, exact matches, ids, the key and
//! field agreeing on the status). Must not: do I/O.

use super::admin::Selected;
use crate::schema::calendar::parse_iso_utc;
use crate::schema::msgpack::decode;
use crate::schema::{Model, Value};
use crate::settings::select::Filter;

/// What became of one record read.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// It matches: the verb takes it.
    Take(Selected),
    /// It would match, but cannot be touched safely; the reason says why.
    Refuse(Selected, String),
    /// Not selected (another project, too young, gone meanwhile...).
    Pass,
}

/// Judge the record `key`, read with `fields` (see [`Filter::read_fields`],
/// the status field first) as `values`, against `filter` for a verb that
/// takes records of `status`. `now` is server time.
pub fn pick(
    model: &Model,
    filter: &Filter,
    status: &str,
    now: f64,
    key: &[u8],
    fields: &[String],
    values: &Result<Vec<Option<Vec<u8>>>, String>,
) -> Pick {
    let job_id = model.key_job_id_bytes(key).unwrap_or_default();
    if !filter.ids.is_empty() && !filter.ids.contains(&job_id) {
        return Pick::Pass;
    }
    let mut selected = Selected {
        key: key.to_vec(),
        job_id,
        parsed: model.parse_key(key).map_err(|e| e.to_string()),
        status_raw: None,
        not_a_hash: false,
    };
    let values = match values {
        Ok(v) => v,
        // Unknown is never taken for a match nor for a miss: said.
        Err(e) => {
            selected.not_a_hash = e.contains("WRONGTYPE");
            return Pick::Refuse(selected, format!("cannot be read ({e}): untouched"));
        }
    };
    // Gone between the walk and the read: a worker moved it.
    if values.iter().all(Option::is_none) {
        return Pick::Pass;
    }
    selected.status_raw = values.first().cloned().flatten();
    let parsed = match &selected.parsed {
        Ok(p) => p.clone(),
        Err(e) => {
            let why = format!("the key does not parse ({e}): never touched");
            return Pick::Refuse(selected, why);
        }
    };
    // The key layout: a member whose key names another status is not this
    // status's (a ghost of a move). The indexed layout's key names none.
    if model.status_in_key() && model.key_status(&parsed) != status {
        return Pick::Pass;
    }
    if let Some((pf, p)) = &filter.project {
        if parsed.get(pf) != Some(p.as_str()) {
            return Pick::Pass;
        }
    }
    let field = |name: &str| -> Option<Value> {
        let i = fields.iter().position(|f| f == name)?;
        decode(values.get(i)?.as_deref()?).ok()
    };
    if selected.status().as_deref() != Some(status) {
        let by = if model.status_in_key() {
            "its key does"
        } else {
            "the set it is in does"
        };
        let why = format!(
            "its {} field does not say {status:?} as {by} (see `jobq orphans scan`)",
            model.status.field
        );
        return Pick::Refuse(selected, why);
    }
    if let Some(tf) = &filter.time_field {
        let t = field(tf).and_then(|v| match v {
            Value::Tagged { text, .. } | Value::Str(text) => parse_iso_utc(&text),
            v => v.as_f64(),
        });
        let Some(t) = t.filter(|t| t.is_finite()) else {
            return Pick::Pass;
        };
        if filter.older_than.is_some_and(|s| t > now - s) {
            return Pick::Pass;
        }
        if filter.newer_than.is_some_and(|s| t <= now - s) {
            return Pick::Pass;
        }
    }
    for (name, want) in &filter.matches {
        match field(name) {
            Some(v) if same(&v, want) => {}
            _ => return Pick::Pass,
        }
    }
    Pick::Take(selected)
}

/// Equal values; numbers by value (popoto reads an int where a float is
/// declared).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            a.as_f64() == b.as_f64()
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::msgpack::encode;

    fn read(status: &str, created: f64, msg: &str) -> Result<Vec<Option<Vec<u8>>>, String> {
        Ok(vec![
            Some(encode(&Value::Str(status.into()))),
            Some(encode(&Value::Float(created))),
            Some(encode(&Value::Str(msg.into()))),
        ])
    }

    #[test]
    fn each_rule_of_the_filter() {
        let m = Model::redis_job();
        let fields = ["status", "created_at", "message_text"].map(String::from);
        let key = b"RedisJob:j1:p:failed";
        let now = 1000.0;
        let f = Filter {
            project: Some(("project_key".into(), "p".into())),
            time_field: Some("created_at".into()),
            older_than: Some(100.0),
            newer_than: Some(500.0),
            matches: vec![("message_text".into(), Value::Str("m".into()))],
            ids: vec![],
        };
        let take = |f: &Filter, key: &[u8], r| {
            matches!(pick(&m, f, "failed", now, key, &fields, &r), Pick::Take(_))
        };
        assert!(take(&f, key, read("failed", 800.0, "m")));
        assert!(!take(&f, key, read("failed", 950.0, "m")), "too young");
        assert!(!take(&f, key, read("failed", 400.0, "m")), "too old");
        assert!(!take(&f, key, read("failed", 800.0, "x")), "no match");
        assert!(!take(
            &f,
            b"RedisJob:j1:q:failed",
            read("failed", 800.0, "m")
        ));
        assert!(!take(
            &f,
            b"RedisJob:j1:p:completed",
            read("failed", 800.0, "m")
        ));
        let ids = Filter {
            ids: vec![b"j2".to_vec()],
            ..f.clone()
        };
        assert!(!take(&ids, key, read("failed", 800.0, "m")));
        let gone = Ok(vec![None, None, None]);
        assert_eq!(pick(&m, &f, "failed", now, key, &fields, &gone), Pick::Pass);
        let mismatch = pick(
            &m,
            &f,
            "failed",
            now,
            key,
            &fields,
            &read("running", 800.0, "m"),
        );
        assert!(matches!(mismatch, Pick::Refuse(_, ref why) if why.contains("orphans scan")));
        assert!(same(&Value::Int(3), &Value::Float(3.0)));
    }
}
