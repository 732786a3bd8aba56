//! `jobq enqueue`: create jobs as popoto's create() does. Validates every
//! input (the whole file) before the first write, then writes in pipelined
//! batches.

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::{Context, Result};

use crate::bytes::Bytes;
use crate::cmd::Ctx;
use crate::exit;
use crate::report::enqueue::{EnqueueReport, EnqueuedJob};
use crate::schema::record::Filler;
use crate::schema::Model;
use crate::settings::enqueue::{EnqueueSettings, Jobs};
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::enqueue::{
    content_digest, CreateBatch, CreateContext, CreateJob, CreateOutcome, PendingBatch,
};
use crate::store::Store;

/// Batches sent and not yet answered: the server writes one while the next
/// is built.
const IN_FLIGHT: usize = 3;

/// Jobs built between letting the connection run: it writes what the
/// server has room for and reads its replies, so that the server is never
/// left idle while a batch is being built.
const YIELD_EVERY: usize = 64;

pub async fn run(ctx: Ctx<'_>, es: &EnqueueSettings) -> Result<(EnqueueReport, u8)> {
    let Ctx { settings, ui, .. } = ctx;
    let model = &settings.model;
    let jobs = &es.jobs;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    store.require_writable()?;
    store.require_audit_permission(&settings.ns.audit()).await?;
    let audit = Audit::new(settings.ns.audit(), "enqueue");
    let filler = model.filler(store.server_time().await?);
    let run_id = audit.run_id.clone();
    let mut ctx = CreateContext::new(
        model
            .hset_order()
            .into_iter()
            .map(|i| model.fields[i].name.clone())
            .collect(),
        model.class_set(),
        model
            .sorted_fields()
            .map(|f| model.sorted_key(&f.name))
            .collect(),
        audit,
        es.idempotency_ttl.as_secs(),
    );
    let total = jobs.len();
    let holders = records_holding(&mut store, settings, jobs, &filler).await?;
    let progress = ui.progress(Some(total as u64), "enqueue");
    let mut report = EnqueueReport {
        jobs: Vec::with_capacity(total),
        created: 0,
        existing: 0,
        conflicts: 0,
        run_id,
    };
    let batch = es.batch;
    // Each sent batch, with the job_id of each of its jobs.
    let mut in_flight: VecDeque<(PendingBatch, Vec<String>)> = VecDeque::new();
    let mut next = 0;
    while next < total || !in_flight.is_empty() {
        if next < total && in_flight.len() < IN_FLIGHT {
            let end = (next + batch).min(total);
            let mut b = CreateBatch::new();
            let mut ids = Vec::with_capacity(end - next);
            for i in next..end {
                let (job, job_id) = create_job(settings, jobs, i, &filler, &holders);
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
                CreateOutcome::UniqueConflict(set) => {
                    report.conflicts += 1;
                    (
                        set,
                        false,
                        Some("another record holds this value of a unique field (the key is its set)"),
                        job_id,
                    )
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
            "{} job(s) not created: a record with that job_id exists, a unique field's value is taken, or the idempotency key was used for other fields (each job's \"reason\" says which)",
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
        // A pointer left by a record of this key (a legacy one too) would
        // make popoto take it for this job's: never write over one. This
        // also sends the create through the script, which checks the key.
        for f in model.indexf_fields() {
            guard_keys.push(model.legacy_pointer_key(&rec.key, &f.name));
        }
    }
    let mut values = rec.values;
    let values = model
        .hset_order()
        .into_iter()
        .map(|i| std::mem::take(&mut values[i]))
        .collect();
    let mut index_sets = rec.index_sets;
    let mut pointers = Vec::with_capacity(rec.indexf.len());
    let mut unique_sets = Vec::new();
    for (e, f) in rec.indexf.into_iter().zip(model.indexf_fields()) {
        if f.role == crate::schema::FieldRole::Unique {
            unique_sets.push(e.set.clone());
        }
        pointers.push((e.pointer, e.set.clone()));
        index_sets.push(e.set);
    }
    let idempotency_key = jobs.idempotency_keys[i]
        .as_deref()
        .map(|k| settings.ns.idempotency(&model.class, k));
    let job = CreateJob {
        content_digest: content_digest(jobs.drafts.given_bytes(i)),
        key: rec.key,
        job_id: rec.job_id.as_bytes().to_vec(),
        values,
        index_sets,
        pointers,
        unique_sets,
        scores: rec.scores,
        guard_keys,
        idempotency_key,
    };
    (job, rec.job_id)
}
