//! Who is writing: the fields every audit-stream entry carries. The entries
//! themselves are written inside each guarded step (the MULTI or Lua script
//! that makes the change), so a change and its record are one atomic step.
//!
//! Every entry (format `v` 3) holds enough to reverse its change exactly,
//! as the README's "Audit stream" section lays out: the sets the key was
//! added to (`sadd.N`) and removed from (`srem.N`), the zset scores it got
//! (`zadd.N`, `zadd.N.score`, and `zadd.N.before` when it had one) or lost
//! (`zrem.N`, `zrem.N.score`), every field written (`hset.F`) with its old
//! value (`before.F`, absent when the field was), and a deleted or moved
//! record's whole before-image (`before.F`). Only what changed is listed:
//! an SADD of a key already in the set is not. `run` names the run that
//! wrote it, the id every mutating command prints at its end.
//!
//! Format 3 adds a run's opening entry (`action` `start`: the whole
//! command line, scrubbed of passwords, and the jobq version), written by
//! [`super::Store::open_run`] before the run's first change, and `hset.F`
//! for every field an `enqueue` writes, so that undo can tell an untouched
//! job from one a worker changed. Format 2 entries mean what they meant.
//!
//! Owns: the audit header and the start entry. Must not: choose the
//! stream's key (see `schema`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Entries kept in the stream (`XADD ... MAXLEN ~`).
pub const DEFAULT_MAXLEN: u64 = 100_000;

/// The entries' format: 2 since they are reversible and name their run, 3
/// since a run opens with a `start` entry (see the module doc).
pub const FORMAT_VERSION: &str = "3";

/// Formats this jobq reads (`jobq audit`, `jobq undo`).
pub const READABLE_VERSIONS: [&str; 2] = ["2", "3"];

/// The `action` of a run's opening entry.
pub const START: &str = "start";

/// The run's command line, scrubbed of passwords (set by `jobq::run`,
/// which knows them; see [`set_command_line`]).
static COMMAND_LINE: Mutex<String> = Mutex::new(String::new());

/// Record the command line the start entries carry, already scrubbed
/// (`settings::command_line`). Each `jobq::run` sets its own.
pub fn set_command_line(line: String) {
    if let Ok(mut l) = COMMAND_LINE.lock() {
        *l = line;
    }
}

/// One entry of the stream as read: its id and its field/value pairs in
/// order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl StreamEntry {
    /// The value of the first field so named.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(f, _)| f.as_slice() == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// A field's value as text (lossy), empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    }

    /// The entry's time: the milliseconds of its stream id.
    pub fn ms(&self) -> u64 {
        self.id
            .split('-')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct Audit {
    pub stream: Vec<u8>,
    pub command: String,
    pub host: String,
    pub pid: u32,
    pub maxlen: u64,
    /// Shared by every entry of one run (see [`new_run_id`]).
    pub run_id: String,
    /// Whether the run's start entry is written (shared by the clones a
    /// run hands its tasks, so that a run opens once).
    pub started: Arc<AtomicBool>,
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
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The start entry's field/value list: the header, `action` `start`,
    /// the scrubbed command line (`argv`) and the jobq version.
    pub fn start_entry(&self) -> Vec<Vec<u8>> {
        let line = COMMAND_LINE.lock().map(|l| l.clone()).unwrap_or_default();
        self.entry(&[
            ("action", START.as_bytes()),
            ("argv", line.as_bytes()),
            ("version", env!("CARGO_PKG_VERSION").as_bytes()),
        ])
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
    /// Before a run's first change: check the stream may be written (see
    /// [`super::Store::require_audit_permission`]) and XADD the run's
    /// start entry, once per run. Not atomic with the first change: a run
    /// killed in between leaves a start entry and no change, which reads
    /// as a run that did nothing.
    pub async fn open_run(&mut self, audit: &Audit) -> anyhow::Result<()> {
        self.require_audit_permission(&audit.stream).await?;
        if audit.started.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&audit.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(audit.maxlen)
            .arg("*");
        for part in audit.start_entry() {
            cmd.arg(part);
        }
        let _: redis::Value = self.query(&cmd).await.map_err(|e| {
            e.context(format!(
                "writing the run's start entry to the audit stream {}",
                crate::bytes::escape_bytes(&audit.stream)
            ))
        })?;
        audit.started.store(true, Ordering::SeqCst);
        Ok(())
    }

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
