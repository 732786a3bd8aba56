//! `jobq enqueue`'s input resolved: the jobs the flags or the `--file`
//! describe, every one checked against the model and packed before the
//! first write (a bad line is a usage error naming it, and nothing is
//! written), plus the batch size and the idempotency TTL.
//!
//! Must not: touch Redis or print.

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::EnqueueArgs;
use crate::exit;
use crate::schema::record::{Drafts, Given};
use crate::schema::{Model, Value};

/// What `jobq enqueue` was asked to create, checked.
pub struct EnqueueSettings {
    pub jobs: Jobs,
    /// Jobs per pipelined batch.
    pub batch: usize,
    pub idempotency_ttl: Duration,
}

impl EnqueueSettings {
    pub fn from_args(model: &Model, args: &EnqueueArgs) -> Result<EnqueueSettings> {
        let jobs = match &args.file {
            Some(path) => read_file(model, path)?,
            None => {
                let mut jobs = Jobs::default();
                jobs.add(model, spec_from_flags(model, args)?)?;
                jobs
            }
        };
        Ok(EnqueueSettings {
            jobs,
            batch: args.batch as usize,
            idempotency_ttl: args.idempotency_ttl,
        })
    }
}

/// One job to create, as given (flags or a line), before it is checked.
struct Spec {
    given: Given,
    idempotency_key: Option<String>,
    line: Option<usize>,
}

const PRIORITIES: [&str; 3] = ["high", "normal", "low"];

/// Every job to create, checked, packed: each job's values as a draft
/// (encoded, see [`Drafts`]), its idempotency key and its input line. The
/// whole input is checked before the first write, so it is all held at
/// once; this keeps it at about the size of the encoded values.
#[derive(Default)]
pub struct Jobs {
    pub drafts: Drafts,
    pub idempotency_keys: Vec<Option<Box<str>>>,
    /// Input line of each job (0: from the flags).
    lines: Vec<u32>,
}

impl Jobs {
    fn add(&mut self, model: &Model, spec: Spec) -> Result<()> {
        let line = match spec.line {
            Some(n) => {
                u32::try_from(n).map_err(|_| exit::usage(format!("line {n}: too many lines")))?
            }
            None => 0,
        };
        model
            .add_draft(&spec.given, &mut self.drafts)
            .map_err(|e| exit::usage(with_line(spec.line, format!("{e:#}"))))?;
        self.idempotency_keys
            .push(spec.idempotency_key.map(String::into_boxed_str));
        self.lines.push(line);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn line(&self, i: usize) -> Option<usize> {
        match self.lines[i] {
            0 => None,
            n => Some(n as usize),
        }
    }
}

fn with_line(line: Option<usize>, msg: String) -> String {
    match line {
        Some(n) => format!("line {n}: {msg}"),
        None => msg,
    }
}

fn spec_from_flags(model: &Model, args: &EnqueueArgs) -> Result<Spec> {
    let mut given = Given::new(model);
    // Which flag gave each field: a second flag for the same field with
    // another value is refused rather than silently winning.
    let mut from: Vec<(String, String)> = Vec::new();
    let mut put = |flag: &str, field: &str, text: &str| -> Result<()> {
        let f = model.field(field).ok_or_else(|| {
            exit::usage(format!(
                "{flag} needs a {field:?} field, which the {} model lacks; use --set",
                model.class
            ))
        })?;
        let v = f
            .parse_text(text)
            .map_err(|e| exit::usage(format!("{flag}: {e:#}")))?;
        given.set(model, field, v);
        from.push((field.to_owned(), format!("{flag} {text}")));
        Ok(())
    };
    if let Some(p) = &args.project {
        put("--project", "project_key", p)?;
    }
    if let Some(m) = &args.message {
        put("--message", "message_text", m)?;
    }
    if let Some(p) = &args.priority {
        if !PRIORITIES.contains(&p.as_str()) {
            return Err(exit::usage(format!(
                "--priority {p:?} is not one of high, normal, low (use --set priority=... for another value)"
            )));
        }
        put("--priority", "priority", p)?;
    }
    if let Some(s) = &args.status {
        put("--status", &model.status.field.clone(), s)?;
    }
    if let Some(id) = &args.job_id {
        put("--job-id", &model.auto_field().name.clone(), id)?;
    }
    for item in &args.set {
        let (name, text) = item
            .split_once('=')
            .ok_or_else(|| exit::usage(format!("--set {item:?}: expected FIELD=VALUE")))?;
        let f = model.field(name).ok_or_else(|| {
            exit::usage(format!(
                "--set {item:?}: unknown field {name:?} in the {} model",
                model.class
            ))
        })?;
        let v = f
            .parse_text(text)
            .map_err(|e| exit::usage(format!("--set: {e:#}")))?;
        if given.get(model, name).is_some_and(|old| *old != v) {
            let earlier = from
                .iter()
                .rev()
                .find(|(field, _)| field == name)
                .map(|(_, flag)| flag.clone())
                .unwrap_or_default();
            return Err(exit::usage(format!(
                "--set {item} conflicts with {earlier}: both give {name:?}; give it once"
            )));
        }
        given.set(model, name, v);
        from.push((name.to_owned(), format!("--set {item}")));
    }
    let spec = Spec {
        given,
        idempotency_key: args.idempotency_key.clone(),
        line: None,
    };
    check_spec(model, spec)
}

/// Checks a spec can become a record: status known, key fields present.
fn check_spec(model: &Model, mut spec: Spec) -> Result<Spec> {
    let status_field = &model.status.field;
    if spec.given.get(model, status_field).is_none() {
        spec.given.set(
            model,
            status_field,
            Value::Str(model.status.pending.clone()),
        );
    }
    if let Some(Value::Str(s)) = spec.given.get(model, status_field) {
        if !model.is_status(s) {
            return Err(exit::usage(with_line(
                spec.line,
                format!(
                    "unknown status {s:?} (one of: {})",
                    model.status.values.join(", ")
                ),
            )));
        }
    }
    if let Some(k) = &spec.idempotency_key {
        if k.is_empty() {
            return Err(exit::usage(with_line(
                spec.line,
                "empty idempotency key".into(),
            )));
        }
    }
    if let Some(Value::Str(id)) = spec.given.get(model, &model.auto_field().name) {
        if id.is_empty() {
            return Err(exit::usage(with_line(
                spec.line,
                format!("{} must not be empty", model.auto_field().name),
            )));
        }
    }
    for f in model.keyf_fields() {
        if spec.given.get(model, &f.name).is_none() {
            let hint = if f.name == "project_key" {
                " (--project)"
            } else {
                ""
            };
            return Err(exit::usage(with_line(
                spec.line,
                format!("key field {:?} is required{hint}", f.name),
            )));
        }
    }
    Ok(spec)
}

fn read_file(model: &Model, path: &std::path::Path) -> Result<Jobs> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))
                .map_err(|e| exit::usage(format!("{e:#}")))?,
        )
    };
    let mut jobs = Jobs::default();
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {} at line {}", path.display(), n + 1))?;
        if read == 0 {
            break;
        }
        n += 1;
        let text = std::str::from_utf8(&line)
            .map_err(|_| exit::usage(format!("{}: line {n}: not UTF-8 text", path.display())))?;
        if text.trim().is_empty() {
            continue;
        }
        let spec = parse_line(model, text, n)
            .and_then(|spec| check_spec(model, spec))
            .map_err(|e| exit::usage(format!("{}: {e:#}", path.display())))?;
        jobs.add(model, spec)
            .map_err(|e| exit::usage(format!("{}: {e:#}", path.display())))?;
    }
    if jobs.is_empty() {
        return Err(exit::usage(format!(
            "{}: no jobs in the file",
            path.display()
        )));
    }
    Ok(jobs)
}

/// One line of the file: a JSON object of fields, read straight into the
/// fields' places (no map of names in between: this runs for every line
/// before anything is written).
fn parse_line(model: &Model, line: &str, n: usize) -> Result<Spec> {
    let mut why = None;
    let seed = LineSeed {
        model,
        why: &mut why,
    };
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    // A field the model lacks or a value of the wrong type stops the parse;
    // say that rather than the parser's words.
    if let Some(e) = why {
        return Err(anyhow::anyhow!("line {n}: {e:#}"));
    }
    let (given, idempotency_key) = parsed.map_err(|e| anyhow::anyhow!(json_error(n, &e)))?;
    Ok(Spec {
        given,
        idempotency_key,
        line: Some(n),
    })
}

/// A parse error of file line `n`. The parser saw the line alone, so its
/// own "at line 1 column C" would contradict the file's numbering: say the
/// file's line and the column only.
fn json_error(n: usize, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&at).unwrap_or(&text);
    match e.column() {
        // Column 0: the line ended before the object did.
        0 => format!("line {n}: not a JSON object: {what}"),
        c => format!("line {n}, column {c}: not a JSON object: {what}"),
    }
}

/// Reads a line's object into [`Given`]; the first field that is wrong is
/// left in `why`.
struct LineSeed<'a> {
    model: &'a Model,
    why: &'a mut Option<anyhow::Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for LineSeed<'_> {
    type Value = (Given, Option<String>);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LineSeed<'_> {
    type Value = (Given, Option<String>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let model = self.model;
        let mut given = Given::new(model);
        let mut idempotency_key = None;
        while let Some(name) = map.next_key::<Name<'de>>()? {
            let name = name.0;
            let value: serde_json::Value = map.next_value()?;
            if name == "idempotency_key" {
                match value {
                    serde_json::Value::String(s) => idempotency_key = Some(s),
                    serde_json::Value::Null => {}
                    _ => {
                        *self.why = Some(anyhow::anyhow!("idempotency_key must be a string"));
                        return Err(A::Error::custom("bad field"));
                    }
                }
                continue;
            }
            let Some(i) = model.field_index(&name) else {
                *self.why = Some(anyhow::anyhow!(
                    "unknown field {name:?} in the {} model",
                    model.class
                ));
                return Err(A::Error::custom("bad field"));
            };
            match model.fields[i].parse_json(&value) {
                Ok(v) => given.set_at(i, v),
                Err(e) => {
                    *self.why = Some(e);
                    return Err(A::Error::custom("bad field"));
                }
            }
        }
        Ok((given, idempotency_key))
    }
}

/// A field name, borrowed from the line unless it has escapes.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}
