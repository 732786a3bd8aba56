//! `read_from`: what the reports of the commands that read a replica
//! (`--read-from`) say of it.
//!
//! Owns: the [`ReadFrom`] fact. Must not: do I/O or print.

use serde::Serialize;

/// The replica the walks read, as jobq found it at start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadFrom {
    /// `--read-from`, its password replaced by `***`.
    pub url: String,
    /// The replica's primary, `host:port` as the replica names it.
    pub primary: String,
    /// Replication bytes the replica had not applied: the primary's
    /// `master_repl_offset` less the replica's `slave_repl_offset`.
    pub lag_bytes: Option<u64>,
    /// The replica's `master_last_io_seconds_ago`.
    pub master_last_io_seconds_ago: Option<i64>,
    /// Whether the lag was over what jobq warns about (1 MiB, or 10 s
    /// without a word from the primary).
    pub lagging: bool,
}
