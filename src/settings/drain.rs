//! `jobq drain` resolved: the project to wait for, the limits, and with
//! `--ids` the job ids read and checked from their file (a bad line is a
//! usage error naming it, before anything connects).
//!
//! Must not: touch Redis or print.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::bytes::Bytes;
use crate::cli::{DrainArgs, GoneMeans};
use crate::exit;

/// The longest job id accepted from an id file.
pub const MAX_ID_LEN: usize = 512;

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
    /// `--ids`: wait for just these jobs.
    pub ids: Option<Vec<IdEntry>>,
    /// `--gone-means completed`: a job with no live record counts completed.
    pub gone_completed: bool,
}

/// One job to wait for, as the id file gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdEntry {
    pub job_id: String,
    /// The record key `enqueue --json` reported for it, if the file is that.
    pub key: Option<Vec<u8>>,
    /// The line of the file it is on.
    pub line: usize,
}

impl DrainSettings {
    pub fn from_args(a: &DrainArgs) -> Result<DrainSettings> {
        let ids = match &a.ids {
            Some(path) => Some(read_ids(path)?),
            None => None,
        };
        Ok(DrainSettings {
            project: a.project.clone(),
            timeout: a.timeout,
            settle: a.settle,
            stall_timeout: a.stall_timeout,
            allow_empty: a.allow_empty,
            ids,
            gone_completed: a.gone_means == GoneMeans::Completed,
        })
    }
}

fn read_ids(path: &Path) -> Result<Vec<IdEntry>> {
    let name = path.display();
    let mut raw = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut raw)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut raw))
    };
    read.with_context(|| format!("cannot read {name}"))
        .map_err(|e| exit::usage(format!("{e:#}")))?;
    let text = match std::str::from_utf8(&raw) {
        Ok(t) => t,
        Err(e) => {
            let line = raw[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(exit::usage(format!("{name}: line {line}: not UTF-8 text")));
        }
    };
    parse_ids(text).map_err(|e| exit::usage(format!("{name}: {e}")))
}

/// The ids of an id file: one per line (blank lines skipped), or the JSON
/// that `jobq enqueue --json` prints (one object, or several one after the
/// other). Each id once, at its first line. A message naming the line when
/// a line is not a job id.
pub fn parse_ids(text: &str) -> Result<Vec<IdEntry>, String> {
    let mut ids = if text.trim_start().starts_with('{') {
        json_ids(text)?
    } else {
        line_ids(text)?
    };
    if ids.is_empty() {
        return Err("no job ids in the file".into());
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.retain(|e| seen.insert(e.job_id.clone()));
    Ok(ids)
}

fn check_id(id: &str, line: usize) -> Result<(), String> {
    let bad = |why: &str| {
        let shown: String = id.chars().take(60).collect();
        Err(format!("line {line}: {shown:?} is not a job id ({why})"))
    };
    if id.len() > MAX_ID_LEN {
        return bad(&format!("longer than {MAX_ID_LEN} bytes"));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    Ok(())
}

fn line_ids(text: &str) -> Result<Vec<IdEntry>, String> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let id = l.trim();
        if id.is_empty() {
            continue;
        }
        check_id(id, i + 1)?;
        out.push(IdEntry {
            job_id: id.to_owned(),
            key: None,
            line: i + 1,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct EnqueueOutput {
    command: String,
    jobs: Vec<EnqueueJob>,
}

#[derive(Deserialize)]
struct EnqueueJob {
    job_id: String,
    key: Option<Bytes>,
}

fn json_ids(text: &str) -> Result<Vec<IdEntry>, String> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    loop {
        // The line the next object starts on, after any blank lines.
        let at = stream.byte_offset();
        let start = at + (text[at..].len() - text[at..].trim_start().len());
        let line = text[..start].matches('\n').count() + 1;
        let value = match stream.next() {
            None => return Ok(out),
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                return Err(format!(
                    "line {}: not the JSON of `jobq enqueue --json`: {e}",
                    e.line()
                ))
            }
        };
        let parsed: EnqueueOutput = serde_json::from_value(value)
            .map_err(|e| format!("line {line}: not the JSON of `jobq enqueue --json`: {e}"))?;
        if parsed.command != "enqueue" {
            return Err(format!(
                "line {line}: the JSON of `jobq {}`, not of `jobq enqueue --json`",
                parsed.command
            ));
        }
        for j in parsed.jobs {
            check_id(&j.job_id, line)?;
            out.push(IdEntry {
                job_id: j.job_id,
                key: j.key.map(|k| k.0),
                line,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_id_a_line_blank_lines_skipped_repeats_once() {
        let ids = parse_ids("a1\n\n  b2 \na1\n").unwrap();
        let got: Vec<(&str, usize)> = ids.iter().map(|e| (e.job_id.as_str(), e.line)).collect();
        assert_eq!(got, [("a1", 1), ("b2", 3)]);
        assert!(ids.iter().all(|e| e.key.is_none()));
    }

    #[test]
    fn a_bad_line_is_named() {
        let e = parse_ids("a1\nb2\ndrained: RedisJob after 3s\n").unwrap_err();
        assert_eq!(
            e,
            "line 3: \"drained: RedisJob after 3s\" is not a job id (it contains spaces or control characters)"
        );
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(parse_ids(&long).unwrap_err().starts_with("line 1: "));
        assert_eq!(parse_ids("\n \n").unwrap_err(), "no job ids in the file");
    }

    #[test]
    fn enqueue_json_is_accepted_with_its_keys() {
        let text = r#"{"schema":1,"command":"enqueue","jobs":[{"job_id":"a1","key":"RedisJob:a1:p:pending","created":true},{"job_id":"b2","key":{"hex":"ff"},"created":false}],"created":1,"existing":1,"conflicts":0,"run_id":"r"}
{"schema":1,"command":"enqueue","jobs":[{"job_id":"c3","key":"RedisJob:c3:p:pending","created":true}],"created":1,"existing":0,"conflicts":0,"run_id":"s"}
"#;
        let ids = parse_ids(text).unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0].key.as_deref(), Some(&b"RedisJob:a1:p:pending"[..]));
        assert_eq!(ids[1].key.as_deref(), Some(&b"\xff"[..]));
        assert_eq!((ids[2].job_id.as_str(), ids[2].line), ("c3", 2));
        let e = parse_ids("{\"schema\":1,\"command\":\"drain\",\"jobs\":[]}").unwrap_err();
        assert!(e.contains("`jobq drain`"), "{e}");
        let e = parse_ids("{\"command\":\"enqueue\",\"jobs\":[]}\n{oops").unwrap_err();
        assert!(e.starts_with("line 2: "), "{e}");
    }
}
