//! `jobq retry` resolved: the status retried from, the filters (project,
//! age by the since or first sorted field, exact field matches, ids), the
//! limit, the priority given, and whether to write, ask or only show.
//! `--include-running` always asks. Errors are exit 2, before connecting.
//!
//! Must not: touch Redis or print.

use std::os::unix::ffi::OsStrExt;

use anyhow::Result;

use super::repair::Gate;
use crate::cli::RetryArgs;
use crate::diagnose::stale::PRIORITY_FIELD;
use crate::exit;
use crate::schema::msgpack::encode;
use crate::schema::{Model, Value};

/// Which records a verb takes (pure data; `plan::select` applies it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// `--project`: the key field it names (`project_key`, else the
    /// model's first key field besides the status) and the value.
    pub project: Option<(String, String)>,
    /// The field ages are read from, with `older_than`/`newer_than`.
    pub time_field: Option<String>,
    /// Seconds: older than (time <= now - s) and newer than (time > now - s).
    pub older_than: Option<f64>,
    pub newer_than: Option<f64>,
    /// Exact matches on decoded values.
    pub matches: Vec<(String, Value)>,
    /// Only these job_ids (empty: any).
    pub ids: Vec<Vec<u8>>,
}

impl Filter {
    /// The fields a record must be read with to be judged by this filter.
    pub fn read_fields(&self, model: &Model) -> Vec<String> {
        let mut out = vec![model.status.field.clone()];
        let extra = self
            .time_field
            .iter()
            .chain(self.matches.iter().map(|(f, _)| f));
        for f in extra {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct RetrySettings {
    pub status: String,
    pub filter: Filter,
    pub limit: Option<u64>,
    /// The priority field and the packed value written over it.
    pub priority: Option<(String, Vec<u8>)>,
    pub gate: Gate,
}

impl RetrySettings {
    pub fn from_args(model: &Model, a: &RetryArgs) -> Result<RetrySettings> {
        let st = &model.status;
        let status = a.status.clone().unwrap_or_else(|| st.failed.clone());
        if !model.is_status(&status) {
            return Err(exit::usage(format!(
                "--status {status:?} is not one of the model's statuses ({})",
                st.values.join(", ")
            )));
        }
        if status == st.pending {
            return Err(exit::usage(format!(
                "--status {status}: retry moves jobs to {status}; give another status"
            )));
        }
        if status == st.running && !a.include_running {
            return Err(exit::usage(format!(
                "--status {status}: a worker may still be on these jobs; add --include-running to retry them anyway (always asks)"
            )));
        }
        let priority = match &a.priority {
            None => None,
            Some(p) => {
                let Some(f) = model.field(PRIORITY_FIELD) else {
                    return Err(exit::usage(format!(
                        "--priority: the {} model has no {PRIORITY_FIELD} field",
                        model.class
                    )));
                };
                let v = f
                    .parse_text(p)
                    .map_err(|e| exit::usage(format!("--priority: {e:#}")))?;
                Some((f.name.clone(), encode(&v)))
            }
        };
        let filter = filter(model, a)?;
        let gate = if a.confirm.dry_run {
            Gate::DryRun
        } else if a.include_running {
            // Running jobs may be in a worker's hands: a person decides.
            Gate::Ask
        } else {
            Gate::from(&a.confirm)
        };
        Ok(RetrySettings {
            status,
            filter,
            limit: a.limit,
            priority,
            gate,
        })
    }
}

fn filter(model: &Model, a: &RetryArgs) -> Result<Filter> {
    let time_field = if a.older_than.is_some() || a.newer_than.is_some() {
        let field = model
            .since_field
            .clone()
            .or_else(|| model.sorted_fields().next().map(|f| f.name.clone()));
        match field {
            Some(f) => Some(f),
            None => {
                return Err(exit::usage(format!(
                    "--older-than/--newer-than: the {} model has no since_field and no sorted field to date jobs by",
                    model.class
                )))
            }
        }
    } else {
        None
    };
    let mut matches = Vec::new();
    for m in &a.matches {
        let Some((name, text)) = m.split_once('=') else {
            return Err(exit::usage(format!("--match {m:?}: give FIELD=VALUE")));
        };
        let Some(f) = model.field(name) else {
            return Err(exit::usage(format!(
                "--match {m:?}: the {} model has no field {name:?}",
                model.class
            )));
        };
        let v = f
            .parse_text(text)
            .map_err(|e| exit::usage(format!("--match {m:?}: {e:#}")))?;
        matches.push((f.name.clone(), v));
    }
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for id in &a.ids {
        let id = id.as_bytes().to_vec();
        if id.is_empty() {
            return Err(exit::usage("a JOB_ID must not be empty"));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let project = match &a.project {
        None => None,
        Some(p) => {
            let field = model
                .secondary_key_fields()
                .find(|f| f.name == "project_key")
                .or_else(|| model.secondary_key_fields().next());
            let Some(field) = field else {
                return Err(exit::usage(format!(
                    "--project: the {} model has no key field besides {}",
                    model.class, model.status.field
                )));
            };
            Some((field.name.clone(), p.clone()))
        }
    };
    Ok(Filter {
        project,
        time_field,
        older_than: a.older_than.map(|d| d.as_secs_f64()),
        newer_than: a.newer_than.map(|d| d.as_secs_f64()),
        matches,
        ids,
    })
}
