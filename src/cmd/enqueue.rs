//! `jobq enqueue`: create jobs as popoto's create() does. Validates every
//! input (the whole file) before the first write, then writes in pipelined
//! batches.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::bytes::Bytes;
use crate::cli::EnqueueArgs;
use crate::exit;
use crate::output::Ui;
use crate::schema::record::NewRecord;
use crate::schema::{Model, Value};
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::enqueue::{CreateContext, CreateJob, CreateOutcome};
use crate::store::Store;

#[derive(Debug, Serialize)]
pub struct EnqueueReport {
    pub jobs: Vec<EnqueuedJob>,
    pub created: usize,
    /// Jobs not created because their idempotency key was claimed before.
    pub existing: usize,
    /// Jobs not created because a record with their job_id exists.
    pub conflicts: usize,
}

#[derive(Debug, Serialize)]
pub struct EnqueuedJob {
    pub job_id: String,
    pub key: Bytes,
    pub created: bool,
    /// Line of the input file, for `--file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Why the job was not created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One job to create, validated.
struct Spec {
    given: BTreeMap<String, Value>,
    idempotency_key: Option<String>,
    line: Option<usize>,
}

const PRIORITIES: [&str; 3] = ["high", "normal", "low"];

pub async fn run(settings: &Settings, ui: &Ui, args: &EnqueueArgs) -> Result<(EnqueueReport, u8)> {
    let model = &settings.model;
    let specs = match &args.file {
        Some(path) => read_file(model, path)?,
        None => vec![spec_from_flags(model, args)?],
    };
    let mut store = Store::connect(&settings.connect).await?;
    store.require_writable()?;
    let now = store.server_time().await?;
    // Build every record before writing any, so that an error (say, a
    // default that does not fit) leaves nothing half-written.
    let mut records = Vec::with_capacity(specs.len());
    for s in &specs {
        let rec = model
            .new_record(s.given.clone(), now)
            .map_err(|e| exit::usage(with_line(s.line, format!("{e:#}"))))?;
        records.push(rec);
    }
    let audit = Audit::new(settings.ns.audit(), "enqueue");
    let mut ctx = CreateContext {
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        idempotency_ttl_secs: args.idempotency_ttl.as_secs(),
        checked: HashSet::new(),
    };
    let progress = ui.progress(Some(records.len() as u64), "enqueue");
    let mut report = EnqueueReport {
        jobs: Vec::with_capacity(records.len()),
        created: 0,
        existing: 0,
        conflicts: 0,
    };
    let batch = args.batch as usize;
    for (chunk_specs, chunk_recs) in specs.chunks(batch).zip(records.chunks(batch)) {
        let jobs: Vec<CreateJob> = chunk_specs
            .iter()
            .zip(chunk_recs)
            .map(|(s, r)| create_job(settings, &audit, s, r))
            .collect();
        let outcomes = store.create_jobs(&mut ctx, &jobs).await?;
        for ((s, r), o) in chunk_specs.iter().zip(chunk_recs).zip(outcomes) {
            let (key, created, reason) = match o {
                CreateOutcome::Created => {
                    report.created += 1;
                    (r.key(model), true, None)
                }
                CreateOutcome::Existing(k) => {
                    report.existing += 1;
                    (k, false, Some("idempotency key already used".to_owned()))
                }
                CreateOutcome::Conflict(k) => {
                    report.conflicts += 1;
                    (
                        k,
                        false,
                        Some("a record with this job_id exists".to_owned()),
                    )
                }
            };
            // A repeat reports the job the key created first.
            let job_id = match model.parse_key(&key) {
                Ok(p) => model.job_id(&p).to_owned(),
                Err(_) => r.job_id(model),
            };
            report.jobs.push(EnqueuedJob {
                job_id,
                key: Bytes(key),
                created,
                line: s.line,
                reason,
            });
        }
        progress.inc(jobs.len() as u64);
    }
    progress.finish();
    if report.conflicts > 0 {
        ui.warn(format!(
            "{} job(s) not created: a record with that job_id exists",
            report.conflicts
        ));
    }
    let code = if report.conflicts > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    Ok((report, code))
}

fn create_job(settings: &Settings, audit: &Audit, spec: &Spec, rec: &NewRecord) -> CreateJob {
    let model = &settings.model;
    let key = rec.key(model);
    let job_id = rec.job_id(model);
    let mut sets = vec![model.class_set()];
    sets.extend(rec.index_sets(model));
    // A job_id given by the user may exist already: guard every other
    // status's key so that the job cannot exist twice.
    let explicit_id = spec.given.contains_key(&model.auto_field().name);
    let guard_keys = if explicit_id {
        model
            .status
            .values
            .iter()
            .map(|st| {
                model.record_key(|n| {
                    if n == model.status.field {
                        Some(st.as_str())
                    } else {
                        rec.key_value(n)
                    }
                })
            })
            .filter(|k| *k != key)
            .collect()
    } else {
        Vec::new()
    };
    CreateJob {
        key: key.clone(),
        fields: rec
            .hash_pairs()
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect(),
        sets,
        zsets: rec.sorted_entries(model),
        guard_keys,
        idempotency_key: spec
            .idempotency_key
            .as_deref()
            .map(|k| settings.ns.idempotency(&model.class, k)),
        audit: audit.entry(&[
            ("action", b"create"),
            ("job", job_id.as_bytes()),
            ("key", &key),
        ]),
    }
}

fn with_line(line: Option<usize>, msg: String) -> String {
    match line {
        Some(n) => format!("line {n}: {msg}"),
        None => msg,
    }
}

fn spec_from_flags(model: &Model, args: &EnqueueArgs) -> Result<Spec> {
    let mut given = BTreeMap::new();
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
        given.insert(field.to_owned(), v);
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
        given.insert(name.to_owned(), v);
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
    spec.given
        .entry(status_field.clone())
        .or_insert_with(|| Value::Str(model.status.pending.clone()));
    if let Some(Value::Str(s)) = spec.given.get(status_field) {
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
    if let Some(Value::Str(id)) = spec.given.get(&model.auto_field().name) {
        if id.is_empty() {
            return Err(exit::usage(with_line(
                spec.line,
                format!("{} must not be empty", model.auto_field().name),
            )));
        }
    }
    for f in model.indexed_fields() {
        if !spec.given.contains_key(&f.name) {
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

fn read_file(model: &Model, path: &std::path::Path) -> Result<Vec<Spec>> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))
                .map_err(|e| exit::usage(format!("{e:#}")))?,
        )
    };
    let mut specs = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("reading {} at line {n}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let spec = parse_line(model, &line, n)
            .map_err(|e| exit::usage(format!("{}: {e:#}", path.display())))?;
        specs.push(
            check_spec(model, spec)
                .map_err(|e| exit::usage(format!("{}: {e:#}", path.display())))?,
        );
    }
    if specs.is_empty() {
        return Err(exit::usage(format!(
            "{}: no jobs in the file",
            path.display()
        )));
    }
    Ok(specs)
}

fn parse_line(model: &Model, line: &str, n: usize) -> Result<Spec> {
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
        .map_err(|e| anyhow::anyhow!("line {n}: not a JSON object: {e}"))?;
    let mut given = BTreeMap::new();
    let mut idempotency_key = None;
    for (name, value) in obj {
        if name == "idempotency_key" {
            match value {
                serde_json::Value::String(s) => idempotency_key = Some(s),
                serde_json::Value::Null => {}
                _ => anyhow::bail!("line {n}: idempotency_key must be a string"),
            }
            continue;
        }
        let f = model.field(&name).ok_or_else(|| {
            anyhow::anyhow!(
                "line {n}: unknown field {name:?} in the {} model",
                model.class
            )
        })?;
        let v = f
            .parse_json(&value)
            .map_err(|e| anyhow::anyhow!("line {n}: {e:#}"))?;
        given.insert(name, v);
    }
    Ok(Spec {
        given,
        idempotency_key,
        line: Some(n),
    })
}
