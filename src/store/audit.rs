//! Who is writing: the fields every audit-stream entry carries. The entries
//! themselves are written inside each guarded step (the MULTI or Lua script
//! that makes the change), so a change and its record are one atomic step.
//!
//! Every entry (format `v` 2) holds enough to reverse its change exactly,
//! as the README's "Audit stream" section lays out: the sets the key was
//! added to (`sadd.N`) and removed from (`srem.N`), the zset scores it got
//! (`zadd.N`, `zadd.N.score`, and `zadd.N.before` when it had one) or lost
//! (`zrem.N`, `zrem.N.score`), every field written (`hset.F`) with its old
//! value (`before.F`, absent when the field was), and a deleted or moved
//! record's whole before-image (`before.F`). Only what changed is listed:
//! an SADD of a key already in the set is not. `run` names the run that
//! wrote it, the id every mutating command prints at its end.
//!
//! Owns: the audit header. Must not: choose the stream's key (see `schema`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Entries kept in the stream (`XADD ... MAXLEN ~`).
pub const DEFAULT_MAXLEN: u64 = 100_000;

/// The entries' format: 2 since they are reversible and name their run.
pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone)]
pub struct Audit {
    pub stream: Vec<u8>,
    pub command: String,
    pub host: String,
    pub pid: u32,
    pub maxlen: u64,
    /// Shared by every entry of one run (see [`new_run_id`]).
    pub run_id: String,
}

/// A run's id: its start in UTC to the second, and four random hex digits
/// for runs started in the same second (`20261203T150602Z-9f3a`). Sorts by
/// time, and is short enough to type.
pub fn new_run_id() -> String {
    let when = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let compact: String = when.chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("{compact}-{:04x}", rand::random::<u16>())
}

/// `prefix.1`, `prefix.2`, ...: the names of a list's items in an entry.
pub fn numbered(prefix: &str, i: usize) -> String {
    format!("{prefix}.{}", i + 1)
}

impl Audit {
    pub fn new(stream: Vec<u8>, command: &str) -> Audit {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        Audit {
            stream,
            command: command.to_owned(),
            host,
            pid: std::process::id(),
            maxlen: DEFAULT_MAXLEN,
            run_id: new_run_id(),
        }
    }

    /// Flat field/value list for XADD: command, host, pid, time, then the
    /// given pairs (job, action, key, ...).
    pub fn entry(&self, pairs: &[(&str, &[u8])]) -> Vec<Vec<u8>> {
        let mut out = self.header();
        out.reserve(pairs.len() * 2);
        for (k, v) in pairs {
            out.push(k.as_bytes().to_vec());
            out.push(v.to_vec());
        }
        out
    }

    /// The pairs every entry opens with (format version, run, command,
    /// host, pid, time), as of now: a batch of steps sent together shares
    /// them.
    pub fn header(&self) -> Vec<Vec<u8>> {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        self.header_at(&ms.to_string())
    }

    /// [`Audit::header`] with a given time (milliseconds since the epoch).
    pub fn header_at(&self, time_ms: &str) -> Vec<Vec<u8>> {
        let pid = self.pid.to_string();
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(16);
        for (k, v) in [
            ("v", FORMAT_VERSION.as_bytes()),
            ("run", self.run_id.as_bytes()),
            ("command", self.command.as_bytes()),
            ("host", self.host.as_bytes()),
            ("pid", pid.as_bytes()),
            ("time_ms", time_ms.as_bytes()),
        ] {
            out.push(k.as_bytes().to_vec());
            out.push(v.to_vec());
        }
        out
    }
}

impl super::Store {
    /// Before the first write of a run, on a server whose scripts cannot
    /// check ACL permissions (before Redis 7.0): refuse up front when the
    /// user may not append to the audit stream, since a script would make
    /// its writes and then fail on the entry that records them. `XADD key
    /// 0-0 ...` is refused by every server after the ACL check and before
    /// it touches the key, so asking writes nothing. Other permissions
    /// cannot be asked without writing; the README's Servers section says
    /// so.
    pub async fn require_audit_permission(&mut self, stream: &[u8]) -> anyhow::Result<()> {
        if self.server.scripts_check_acl() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(stream)
            .arg("0-0")
            .arg("jobq")
            .arg("probe");
        let replies = self
            .pipeline(&mut pipe)
            .await
            .map_err(|e| e.context("checking that the audit stream may be written"))?;
        match replies.into_iter().next() {
            Some(Err(
                e @ super::StoreError::Refused {
                    why: super::Refusal::NoPerm,
                    ..
                },
            )) => Err(anyhow::anyhow!(
                "{e}: jobq writes nothing it cannot record in {}; nothing was written",
                crate::bytes::escape_bytes(stream)
            )),
            _ => Ok(()),
        }
    }
}
