//! `jobq drain` resolved: the project to wait for and the limits.
//!
//! Must not: touch Redis or print.

use std::time::Duration;

use crate::cli::DrainArgs;

/// What `jobq drain` was asked.
#[derive(Debug, Clone)]
pub struct DrainSettings {
    /// Wait only for this project's jobs.
    pub project: Option<String>,
    /// Give up after this long (exit 6).
    pub timeout: Option<Duration>,
    /// Two empty reads this far apart mean drained.
    pub settle: Duration,
    /// Pending jobs, nothing running and no change for this long: stalled.
    pub stall_timeout: Duration,
    /// A database with no keys of the model counts as drained.
    pub allow_empty: bool,
}

impl From<&DrainArgs> for DrainSettings {
    fn from(a: &DrainArgs) -> DrainSettings {
        DrainSettings {
            project: a.project.clone(),
            timeout: a.timeout,
            settle: a.settle,
            stall_timeout: a.stall_timeout,
            allow_empty: a.allow_empty,
        }
    }
}
