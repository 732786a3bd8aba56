//! `jobq restore` resolved: the backup file and whether to write, ask or
//! only show. The file itself is read (a line at a time) by the command.
//!
//! Must not: touch Redis or print.

use std::path::PathBuf;

use super::repair::Gate;
use crate::cli::RestoreArgs;

#[derive(Debug, Clone)]
pub struct RestoreSettings {
    pub file: PathBuf,
    pub gate: Gate,
}

impl RestoreSettings {
    pub fn from_args(a: &RestoreArgs) -> RestoreSettings {
        RestoreSettings {
            file: a.file.clone(),
            gate: Gate::from(&a.confirm),
        }
    }
}
