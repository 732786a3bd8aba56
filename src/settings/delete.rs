//! `jobq delete` resolved: the job_ids (non-empty, byte for byte, each once),
//! `--force`, and whether to write, ask or only show.
//!
//! Must not: touch Redis or print.

use std::os::unix::ffi::OsStrExt;

use anyhow::Result;

use super::repair::Gate;
use crate::cli::DeleteArgs;
use crate::exit;

#[derive(Debug, Clone)]
pub struct DeleteSettings {
    /// In the order given, duplicates dropped.
    pub ids: Vec<Vec<u8>>,
    pub force: bool,
    pub gate: Gate,
}

impl DeleteSettings {
    pub fn from_args(a: &DeleteArgs) -> Result<DeleteSettings> {
        let mut ids: Vec<Vec<u8>> = Vec::with_capacity(a.ids.len());
        for id in &a.ids {
            let id = id.as_bytes().to_vec();
            if id.is_empty() {
                return Err(exit::usage("a JOB_ID must not be empty"));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(DeleteSettings {
            ids,
            force: a.force,
            gate: Gate::from(&a.confirm),
        })
    }
}
