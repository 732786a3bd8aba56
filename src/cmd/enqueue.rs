//! `jobq enqueue`: create jobs as popoto's create() does. Validates every
//! input (the whole file) before the first write, then writes in pipelined
//! batches.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::bytes::Bytes;
use crate::cli::EnqueueArgs;
use crate::exit;
use crate::output::Ui;
use crate::schema::record::{Drafts, Filler, Given};
use crate::schema::{Model, Value};
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::enqueue::{
    content_digest, CreateBatch, CreateContext, CreateJob, CreateOutcome, PendingBatch,
};
use crate::store::Store;

#[derive(Debug, Serialize)]
pub struct EnqueueReport {
    pub jobs: Vec<EnqueuedJob>,
    pub created: usize,
    /// Jobs not created because their idempotency key was claimed before.
    pub existing: usize,
    /// Jobs not created because a record with their job_id exists.
    pub conflicts: usize,
    /// The id every audit entry of this run carries (`jobq:audit`).
    pub run_id: String,
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

/// One job to create, as given (flags or a line), before it is checked.
struct Spec {
    given: Given,
    idempotency_key: Option<String>,
    line: Option<usize>,
}

const PRIORITIES: [&str; 3] = ["high", "normal", "low"];

/// Batches sent and not yet answered: the server writes one while the next
/// is built.
const IN_FLIGHT: usize = 3;

/// Jobs built between letting the connection run: it writes what the
/// server has room for and reads its replies, so that the server is never
/// left idle while a batch is being built.
const YIELD_EVERY: usize = 64;

/// Every job to create, checked, packed: each job's values as a draft
/// (encoded, see [`Drafts`]), its idempotency key and its input line. The
/// whole input is checked before the first write, so it is all held at
/// once; this keeps it at about the size of the encoded values.
#[derive(Default)]
struct Jobs {
    drafts: Drafts,
    idempotency_keys: Vec<Option<Box<str>>>,
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

    fn len(&self) -> usize {
        self.lines.len()
    }

    fn line(&self, i: usize) -> Option<usize> {
        match self.lines[i] {
            0 => None,
            n => Some(n as usize),
        }
    }
}

pub async fn run(settings: &Settings, ui: &Ui, args: &EnqueueArgs) -> Result<(EnqueueReport, u8)> {
    let model = &settings.model;
    let jobs = match &args.file {
        Some(path) => read_file(model, path)?,
        None => {
            let mut jobs = Jobs::default();
            jobs.add(model, spec_from_flags(model, args)?)?;
            jobs
        }
    };
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    store.require_writable()?;
    store.require_audit_permission(&settings.ns.audit()).await?;
    let filler = model.filler(store.server_time().await?);
    let audit = Audit::new(settings.ns.audit(), "enqueue");
    let run_id = audit.run_id.clone();
    let mut ctx = CreateContext::new(
        model.fields.iter().map(|f| f.name.clone()).collect(),
        model.class_set(),
        model
            .sorted_fields()
            .map(|f| model.sorted_key(&f.name))
            .collect(),
        audit,
        args.idempotency_ttl.as_secs(),
    );
    let total = jobs.len();
    let holders = records_holding(&mut store, settings, &jobs, &filler).await?;
    let progress = ui.progress(Some(total as u64), "enqueue");
    let mut report = EnqueueReport {
        jobs: Vec::with_capacity(total),
        created: 0,
        existing: 0,
        conflicts: 0,
        run_id,
    };
    let batch = args.batch as usize;
    // Each sent batch, with the job_id of each of its jobs.
    let mut in_flight: VecDeque<(PendingBatch, Vec<String>)> = VecDeque::new();
    let mut next = 0;
    while next < total || !in_flight.is_empty() {
        if next < total && in_flight.len() < IN_FLIGHT {
            let end = (next + batch).min(total);
            let mut b = CreateBatch::new();
            let mut ids = Vec::with_capacity(end - next);
            for i in next..end {
                let (job, job_id) = create_job(settings, &jobs, i, &filler, &holders);
                ids.push(job_id);
                b.push(&ctx, job);
                if (i - next) % YIELD_EVERY == YIELD_EVERY - 1 {
                    tokio::task::yield_now().await;
                }
            }
            in_flight.push_back((store.send_batch(&mut ctx, b).await?, ids));
            next = end;
            // Let the batch go out before building the next.
            tokio::task::yield_now().await;
            continue;
        }
        let Some((pending, ids)) = in_flight.pop_front() else {
            break;
        };
        let n = pending.len();
        let first = report.jobs.len();
        let outcomes = store.finish_batch(&ctx, pending).await?;
        for (j, ((key, o), job_id)) in outcomes.into_iter().zip(ids).enumerate() {
            let (key, created, reason, job_id) = match o {
                CreateOutcome::Created => {
                    report.created += 1;
                    (key, true, None, job_id)
                }
                CreateOutcome::Existing(k) => {
                    report.existing += 1;
                    // A repeat reports the job the key created first.
                    let id = job_id_of(model, &k).unwrap_or(job_id);
                    (k, false, Some("idempotency key already used"), id)
                }
                CreateOutcome::Conflict(k) => {
                    report.conflicts += 1;
                    let id = job_id_of(model, &k).unwrap_or(job_id);
                    (k, false, Some("a record with this job_id exists"), id)
                }
                CreateOutcome::IdempotencyConflict(k) => {
                    report.conflicts += 1;
                    let id = job_id_of(model, &k).unwrap_or(job_id);
                    (
                        k,
                        false,
                        Some("idempotency key already used for a job with other fields"),
                        id,
                    )
                }
            };
            report.jobs.push(EnqueuedJob {
                job_id,
                key: Bytes(key),
                created,
                line: jobs.line(first + j),
                reason: reason.map(str::to_owned),
            });
        }
        progress.inc(n as u64);
    }
    progress.finish();
    // Not on stdout, which holds the job ids alone.
    if report.created > 0 {
        ui.info(format!(
            "Run {}: {} job(s) created, each in the audit stream.",
            report.run_id, report.created
        ));
    }
    if report.conflicts > 0 {
        ui.warn(format!(
            "{} job(s) not created: a record with that job_id exists, or the idempotency key was used for other fields (each job's \"reason\" says which)",
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

fn job_id_of(model: &Model, key: &[u8]) -> Option<String> {
    model
        .parse_key(key)
        .ok()
        .map(|p| model.job_id(&p).to_owned())
}

/// The records in the class set that hold a job_id the user gave (by
/// key), found with one SSCAN walk of the class set; empty when no job has
/// an explicit job_id (a generated one is new). A job_id under another
/// project is the same job: such a record is guarded against like the
/// job's own keys under other statuses, inside the create's atomic step.
async fn records_holding(
    store: &mut Store,
    settings: &Settings,
    jobs: &Jobs,
    filler: &Filler,
) -> Result<HashMap<String, Vec<Vec<u8>>>> {
    let model = &settings.model;
    let wanted: HashSet<String> = (0..jobs.len())
        .map(|i| model.render(&jobs.drafts, i, filler))
        .filter(|r| r.explicit_id)
        .map(|r| r.job_id)
        .collect();
    let mut holders: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    if wanted.is_empty() {
        return Ok(holders);
    }
    let class = model.class_set();
    let mut pages = store.pages_ahead(&class, crate::store::Collection::Set, 1000, 2);
    while let Some(page) = pages.next().await {
        let page = page.context("looking for records of the given job_id(s)")?;
        if let Some(why) = page.wrong_type {
            return Err(exit::with_code(
                exit::RUNTIME,
                format!(
                    "{} cannot be read ({why}): refusing to write any job (fix that key first)",
                    crate::bytes::escape_bytes(&class)
                ),
            ));
        }
        for k in page.items {
            if let Some(id) = job_id_of(model, &k).filter(|id| wanted.contains(id)) {
                let keys = holders.entry(id).or_default();
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    Ok(holders)
}

/// What the `i`-th job writes, as bytes, and its job_id.
fn create_job(
    settings: &Settings,
    jobs: &Jobs,
    i: usize,
    filler: &Filler,
    holders: &HashMap<String, Vec<Vec<u8>>>,
) -> (CreateJob, String) {
    let model = &settings.model;
    let rec = model.render(&jobs.drafts, i, filler);
    // A job_id given by the user may exist already: guard every other
    // status's key so that the job cannot exist twice.
    let parsed = rec
        .explicit_id
        .then(|| model.parse_key(&rec.key).ok())
        .flatten();
    let mut guard_keys: Vec<Vec<u8>> = match parsed {
        Some(parsed) => model
            .status
            .values
            .iter()
            .map(|st| model.rekey(&parsed, &model.status.field, st))
            .filter(|k| *k != rec.key)
            .collect(),
        None => Vec::new(),
    };
    if rec.explicit_id {
        for k in holders.get(&rec.job_id).into_iter().flatten() {
            if *k != rec.key && !guard_keys.contains(k) {
                guard_keys.push(k.clone());
            }
        }
    }
    let idempotency_key = jobs.idempotency_keys[i]
        .as_deref()
        .map(|k| settings.ns.idempotency(&model.class, k));
    let job = CreateJob {
        content_digest: content_digest(jobs.drafts.given_bytes(i)),
        key: rec.key,
        job_id: rec.job_id.as_bytes().to_vec(),
        values: rec.values,
        index_sets: rec.index_sets,
        scores: rec.scores,
        guard_keys,
        idempotency_key,
    };
    (job, rec.job_id)
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
    for f in model.indexed_fields() {
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
    if jobs.len() == 0 {
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
