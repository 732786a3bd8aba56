//! `jobq retry` resolved: the status retried from, the filters
//! ([`super::select`]), the limit, the priority given, and whether to
//! write, ask or only show.
//! `--include-running` always asks. Errors are exit 2, before connecting.
//!
//! Must not: touch Redis or print.

use anyhow::Result;

use super::repair::Gate;
use super::select::{Filter, FilterInput};
use crate::cli::RetryArgs;
use crate::diagnose::stale::PRIORITY_FIELD;
use crate::exit;
use crate::schema::msgpack::encode;
use crate::schema::Model;

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
        let filter = Filter::from_input(
            model,
            &FilterInput {
                ids: &a.ids,
                project: a.project.as_deref(),
                older_than: a.older_than,
                newer_than: a.newer_than,
                matches: &a.matches,
            },
        )?;
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
