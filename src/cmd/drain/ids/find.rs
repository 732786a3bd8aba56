//! How `drain --ids` finds each job's records before the wait: its
//! identity (the key under the model's first status) from enqueue's JSON,
//! from `--project`, or from one walk of the model's keys (two for the jobs
//! the first does not see), checked against `--project`.
//!
//! Must not: print, format keys other than through `schema`, or read
//! anything per poll.

use std::collections::HashMap;

use anyhow::{Context, Result};

use super::Jobs;
use crate::cmd::drain::jobs::{Answer, Open, Roles, State, MAX_STATUSES};
use crate::cmd::drain::PROJECT_FIELD;
use crate::exit;
use crate::output::Ui;
use crate::schema::Model;
use crate::settings::drain::IdEntry;
use crate::store::Store;

/// Keys per SCAN step of the walk that finds jobs' identities.
const WALK_COUNT: u32 = 1000;

/// The position of each status role among the model's statuses.
pub(super) fn roles(model: &Model) -> Result<Roles> {
    let st = &model.status;
    if st.values.len() > MAX_STATUSES {
        return Err(exit::usage(format!(
            "--ids follows models with at most {MAX_STATUSES} status values; {} has {}",
            model.class,
            st.values.len()
        )));
    }
    let at = |v: &str| st.values.iter().position(|x| x == v).unwrap_or(usize::MAX);
    Ok(Roles {
        pending: at(&st.pending),
        running: at(&st.running),
        completed: at(&st.completed),
        failed: at(&st.failed),
        count: st.values.len(),
    })
}

/// A job's identity from what the file and the flags say, before any read:
/// `(template, from --project)`. A key of another project is a usage error.
pub(super) fn identity(
    model: &Model,
    e: &IdEntry,
    project: Option<&str>,
) -> Result<(Option<Vec<u8>>, bool)> {
    let st = &model.status;
    let first = st.values[0].as_str();
    if let Some(parsed) = e.key.as_ref().and_then(|k| model.parse_key(k).ok()) {
        if model.job_id(&parsed) == e.job_id {
            check_project(e, parsed.get(PROJECT_FIELD), project)?;
            return Ok((Some(model.rekey(&parsed, &st.field, first)), false));
        }
    }
    // The key is known from the job_id and the project when those (and the
    // status, in the key layout) are its only segments.
    let only_project = model.field(PROJECT_FIELD).is_some_and(|f| f.is_key())
        && model.key_fields().all(|f| {
            f.role == crate::schema::FieldRole::Auto
                || f.name == PROJECT_FIELD
                || f.name == st.field
        });
    match project {
        Some(p) if only_project => {
            let auto = &model.auto_field().name;
            let key = model.record_key(|name| {
                if name == auto {
                    Some(e.job_id.as_str())
                } else if name == PROJECT_FIELD {
                    Some(p)
                } else {
                    Some(first)
                }
            });
            Ok((Some(key), true))
        }
        _ => Ok((None, false)),
    }
}

fn check_project(e: &IdEntry, found: Option<&str>, project: Option<&str>) -> Result<()> {
    match (found, project) {
        (Some(f), Some(p)) if f != p => Err(exit::usage(format!(
            "line {}: job {} is of project {f:?}, not {p:?} (--project): nothing was waited for",
            e.line, e.job_id
        ))),
        _ => Ok(()),
    }
}

/// Every record key of the given job ids, from one walk of the model's
/// keys (SCAN MATCH, bounded steps; memory: the keys of these jobs only).
async fn walk(
    store: &mut Store,
    model: &Model,
    wanted: &HashMap<Vec<u8>, usize>,
) -> Result<HashMap<usize, Vec<Vec<u8>>>> {
    let pattern = model.record_pattern();
    let mut found: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
    let mut cursor = 0;
    loop {
        let page = store
            .scan_keys(&pattern, cursor, WALK_COUNT)
            .await
            .context("cannot walk the keys to find the jobs' records")?;
        for k in page.items {
            let Some(&i) = model.key_job_id_bytes(&k).and_then(|id| wanted.get(&id)) else {
                continue;
            };
            let keys = found.entry(i).or_default();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        cursor = page.cursor;
        if cursor == 0 {
            return Ok(found);
        }
    }
}

/// Give the jobs not found by the first read an identity from the walk
/// (twice, for a job moved while the first ran): one record, a duplicate,
/// or none (gone).
pub(super) async fn discover(
    ui: &Ui,
    store: &mut Store,
    jobs: &mut Jobs<'_>,
    lost: Vec<usize>,
    project: Option<&str>,
) -> Result<()> {
    let model = jobs.model;
    let mut wanted: HashMap<Vec<u8>, usize> = lost
        .iter()
        .map(|&i| (jobs.ids[i].job_id.as_bytes().to_vec(), i))
        .collect();
    ui.debug(format!(
        "{} job(s) without a known record: walking the keys of {}",
        wanted.len(),
        model.class
    ));
    let mut found = walk(store, model, &wanted).await?;
    wanted.retain(|_, i| !found.contains_key(i));
    if !wanted.is_empty() {
        found.extend(walk(store, model, &wanted).await?);
    }
    let first = model.status.values[0].as_str();
    for i in lost {
        let Some(keys) = found.remove(&i) else {
            jobs.states[i] = State::Settled {
                answer: Answer::Gone,
                seen: 0,
            };
            continue;
        };
        let mut identities: Vec<Vec<u8>> = Vec::new();
        let mut projects = Vec::new();
        for k in &keys {
            if let Ok(p) = model.parse_key(k) {
                projects.push(p.get(PROJECT_FIELD).map(str::to_owned));
                let t = model.rekey(&p, &model.status.field, first);
                if !identities.contains(&t) {
                    identities.push(t);
                }
            }
        }
        if let Some(p) = project {
            if !projects.iter().any(|f| f.as_deref() == Some(p)) {
                let other = projects.iter().flatten().next().map(String::as_str);
                check_project(&jobs.ids[i], other, project)?;
            }
        }
        match identities.len() {
            0 => {
                jobs.states[i] = State::Settled {
                    answer: Answer::Gone,
                    seen: 0,
                }
            }
            1 => {
                jobs.templates[i] = identities.pop();
                jobs.states[i] = State::Open(Open::Other);
            }
            _ => {
                jobs.templates[i] = None;
                jobs.twins.insert(i, keys);
                jobs.states[i] = State::Settled {
                    answer: Answer::Duplicate,
                    seen: 0,
                };
            }
        }
    }
    Ok(())
}
