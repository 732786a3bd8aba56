//! `jobq prune` resolved: the statuses pruned, the filters
//! ([`super::select`]), the limit, the backup file (or none), and whether
//! to write, ask or only show. A status other than completed and failed
//! needs --force, which always asks; --older-than is required unless
//! job_ids are given; exactly one of --backup and --no-backup; an existing
//! backup file is refused. Errors are exit 2, before connecting.
//!
//! Must not: touch Redis or print.

use std::path::PathBuf;

use anyhow::Result;

use super::repair::Gate;
use super::select::{Filter, FilterInput};
use crate::cli::PruneArgs;
use crate::exit;
use crate::schema::Model;

#[derive(Debug, Clone)]
pub struct PruneSettings {
    /// In the order given, each once.
    pub statuses: Vec<String>,
    pub filter: Filter,
    pub limit: Option<u64>,
    /// `None`: --no-backup.
    pub backup: Option<PathBuf>,
    pub force: bool,
    pub gate: Gate,
}

impl PruneSettings {
    pub fn from_args(model: &Model, a: &PruneArgs) -> Result<PruneSettings> {
        let st = &model.status;
        let mut statuses: Vec<String> = Vec::new();
        for s in &a.status {
            if !statuses.contains(s) {
                statuses.push(s.clone());
            }
        }
        if statuses.is_empty() {
            statuses.push(st.completed.clone());
        }
        for s in &statuses {
            if !model.is_status(s) {
                return Err(exit::usage(format!(
                    "--status {s:?} is not one of the model's statuses ({})",
                    st.values.join(", ")
                )));
            }
            let terminal = *s == st.completed || *s == st.failed;
            if !terminal && !a.force {
                return Err(exit::usage(format!(
                    "--status {s}: not a terminal status, a worker may be on these jobs; add --force to prune them anyway (always asks)"
                )));
            }
        }
        if a.older_than.is_none() && a.ids.is_empty() {
            return Err(exit::usage(
                "--older-than is required (or give job_ids): a prune never takes every job of a status by accident",
            ));
        }
        let backup = match (&a.backup, a.no_backup) {
            (Some(p), false) => {
                // Refused here, before anything connects; creating it
                // (O_EXCL) refuses a file that appeared since.
                if std::fs::symlink_metadata(p).is_ok() {
                    return Err(exit::usage(format!(
                        "--backup {}: the file exists; a backup never overwrites one, give a new name",
                        p.display()
                    )));
                }
                Some(p.clone())
            }
            (None, true) => None,
            _ => {
                return Err(exit::usage(
                    "give --backup FILE (pruned jobs can be restored from it) or --no-backup",
                ))
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
        } else if a.force {
            // Jobs a worker may hold: a person decides, --yes or not.
            Gate::Ask
        } else {
            Gate::from(&a.confirm)
        };
        Ok(PruneSettings {
            statuses,
            filter,
            limit: a.limit,
            backup,
            force: a.force,
            gate,
        })
    }

    /// The flags as the backup file's header records them.
    pub fn parameters(&self) -> serde_json::Value {
        let f = &self.filter;
        serde_json::json!({
            "statuses": self.statuses,
            "project": f.project.as_ref().map(|(_, p)| p),
            "older_than_seconds": f.older_than,
            "newer_than_seconds": f.newer_than,
            "matches": f.matches.iter().map(|(n, v)| format!("{n}={v:?}")).collect::<Vec<_>>(),
            "ids": f.ids.iter().map(|i| crate::bytes::Bytes(i.clone())).collect::<Vec<_>>(),
            "limit": self.limit,
            "force": self.force,
        })
    }
}
