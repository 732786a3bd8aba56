//! The backup file `jobq prune` writes before it deletes, and `jobq
//! restore` (and `jobq undo`) read back: JSON Lines, a header, one line per
//! record with every field's exact bytes and every set and zset (with its
//! score) it was in, and a closing line that says whether the run finished
//! (the format is the one CONTRACT-prune-undo.md and the README give).
//!
//! The file is created with O_EXCL and mode 0600 (it holds job data, and an
//! existing file is never overwritten), and each page's lines are fsync'd
//! before any record they hold is deleted, so a run killed at any point
//! leaves every deleted record's line on disk.
//!
//! Owns: the lines' types ([`Header`], [`Record`], [`End`]), the writer and
//! the reader (one line at a time: memory bounded by a line, never by the
//! file). Must not: talk to Redis, or decide what to restore.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;
use crate::jsonl::{JsonLines, Line, Lines};

/// The format this jobq writes and reads.
pub const FORMAT: u32 = 1;
/// What the header's `jobq` names, so another JSON Lines file is told apart.
pub const KIND: &str = "backup";

/// The first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub jobq: String,
    /// The jobq version that wrote it.
    pub version: String,
    /// The run id the audit entries of the prune carry.
    pub run: String,
    /// The model's class name.
    pub model: String,
    /// The namespace prefix of jobq's own keys.
    pub namespace: String,
    pub created_at: String,
    /// The prune's flags, for the reader's information.
    pub parameters: serde_json::Value,
}

impl Header {
    pub fn new(run: &str, model: &str, namespace: &str, parameters: serde_json::Value) -> Header {
        Header {
            format: FORMAT,
            jobq: KIND.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            run: run.to_owned(),
            model: model.to_owned(),
            namespace: namespace.to_owned(),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            parameters,
        }
    }
}

/// One record as it was read, exactly: its line is on disk before the
/// record is deleted. A line may name a record that was then not deleted
/// (its guard failed): readers check the live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: Bytes,
    pub job_id: Bytes,
    /// HGETALL, in the order the server gave them, exact bytes.
    pub fields: Vec<(Bytes, Bytes)>,
    /// Every set the key was in (and is SREM'd from), the class set
    /// included (last).
    pub sets: Vec<Bytes>,
    /// Every zset the key was in, with its score as Redis returned it.
    pub zsets: Vec<(Bytes, String)>,
    /// The string keys deleted with it and their exact values: an indexed
    /// field's `$IdxPtr` pointer (popoto deletes it with the record).
    /// Absent from lines of a jobq before it (and of a model without an
    /// indexed field): none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<(Bytes, Bytes)>,
}

/// The closing line's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// The run went through to its end (not interrupted, not failed).
    pub complete: bool,
    /// Record lines written.
    pub records: u64,
    /// Records deleted.
    pub deleted: u64,
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct EndLine {
    end: End,
}

/// A backup file being written.
pub struct Writer {
    lines: JsonLines,
    /// The path made absolute (what the audit entries name).
    pub absolute: PathBuf,
}

impl Writer {
    /// Create `path` (it must not exist: an error whose chain holds
    /// [`std::io::ErrorKind::AlreadyExists`]) and write the header, durably.
    pub fn create(path: &Path, header: &Header) -> Result<Writer> {
        let lines = JsonLines::create_new(path, header)?;
        let absolute = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        Ok(Writer { lines, absolute })
    }

    /// Add a record's line (on disk after the next [`Writer::sync`]).
    pub fn push(&mut self, record: &Record) -> Result<()> {
        self.lines.push(record)
    }

    /// Every line pushed is on disk when this returns.
    pub fn sync(&mut self) -> Result<()> {
        self.lines.sync()
    }

    /// Record lines written so far.
    pub fn records(&self) -> u64 {
        self.lines.items
    }

    /// Write the closing line, durably.
    pub fn finish(self, end: End) -> Result<()> {
        self.lines.finish(&EndLine { end })
    }
}

/// What a line of a backup holds.
#[derive(Debug)]
pub enum Item {
    Record(Box<Record>),
    End(End),
}

/// A backup file read a line at a time.
pub struct Reader {
    lines: Lines,
    pub header: Header,
    /// The closing line was read.
    pub ended: Option<End>,
    /// The file ended in a line cut short (its run was killed while writing
    /// it): that line is not a record, and was never deleted.
    pub cut: bool,
}

impl Reader {
    /// Open `path` and read its header; an error (exit 2) when it is not a
    /// jobq backup of a format this jobq reads.
    pub fn open(path: &Path) -> Result<Reader> {
        let mut lines = Lines::open(path)
            .map_err(|e| crate::exit::usage(format!("{e:#}; nothing was written")))?;
        let not_backup = |why: String| {
            crate::exit::usage(format!(
                "{} is not a jobq backup file ({why})",
                path.display()
            ))
        };
        let header = match lines.next_line()? {
            Some(Line::Complete(t)) => {
                serde_json::from_str::<Header>(t).map_err(|e| not_backup(format!("line 1: {e}")))?
            }
            Some(Line::Cut(_)) | None => return Err(not_backup("no header line".into())),
        };
        if header.jobq != KIND {
            return Err(not_backup(format!("its header says {:?}", header.jobq)));
        }
        if header.format != FORMAT {
            return Err(not_backup(format!(
                "format {}, this jobq reads format {FORMAT}",
                header.format
            )));
        }
        Ok(Reader {
            lines,
            header,
            ended: None,
            cut: false,
        })
    }

    pub fn path(&self) -> &Path {
        self.lines.path()
    }

    /// The next record, or `None` at the end of the file (see `ended` and
    /// `cut` for how it ended). A line that does not parse is an error
    /// naming it (exit 2).
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            let path = self.lines.path().to_owned();
            let number = self.lines.number + 1;
            let text = match self.lines.next_line()? {
                None => return Ok(None),
                Some(Line::Cut(_)) => {
                    self.cut = true;
                    return Ok(None);
                }
                Some(Line::Complete(t)) => t.to_owned(),
            };
            if text.trim().is_empty() {
                continue;
            }
            let item = parse(&text).map_err(|e| {
                crate::exit::usage(format!("{} line {number}: {e}", path.display()))
            })?;
            match item {
                Item::Record(r) => {
                    if self.ended.is_some() {
                        return Err(crate::exit::usage(format!(
                            "{} line {number}: a record after the closing line",
                            path.display()
                        )));
                    }
                    return Ok(Some(*r));
                }
                Item::End(e) => self.ended = Some(e),
            }
        }
    }
}

fn parse(text: &str) -> Result<Item, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    if v.get("end").is_some() {
        let e: EndLine = serde_json::from_value(v)?;
        return Ok(Item::End(e.end));
    }
    Ok(Item::Record(Box::new(serde_json::from_value(v)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            key: Bytes::from("RedisJob:j\u{e9}:p:completed"),
            job_id: Bytes(b"j\xc3\xa9".to_vec()),
            fields: vec![
                (Bytes::from("status"), Bytes(b"\xa9completed".to_vec())),
                (Bytes::from("raw"), Bytes(b"\xff\x00\x80".to_vec())),
            ],
            sets: vec![Bytes::from("$Class:RedisJob")],
            zsets: vec![(Bytes::from("$SortF:RedisJob:created_at"), "1.5".into())],
            strings: vec![(
                Bytes::from("$IdxPtr:RedisJob:j:p:completed:status"),
                Bytes::from("$IndexF:RedisJob:status:completed"),
            )],
        }
    }

    #[test]
    fn a_backup_is_private_never_overwritten_and_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.jsonl");
        let h = Header::new("run-1", "RedisJob", "jobq", serde_json::json!({"x": 1}));
        let mut w = Writer::create(&path, &h).unwrap();
        w.push(&record()).unwrap();
        w.sync().unwrap();
        assert_eq!(w.records(), 1);
        let again = Writer::create(&path, &h).err().unwrap();
        let io = again.downcast_ref::<std::io::Error>().map(|e| e.kind());
        assert_eq!(io, Some(std::io::ErrorKind::AlreadyExists), "{again:#}");
        w.finish(End {
            complete: true,
            records: 1,
            deleted: 1,
            reason: None,
        })
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut r = Reader::open(&path).unwrap();
        assert_eq!(r.header, h);
        assert_eq!(r.next_record().unwrap(), Some(record()));
        assert!(r.next_record().unwrap().is_none());
        assert!(r.ended.as_ref().is_some_and(|e| e.complete));
        // Killed mid-line: the cut line is told, not taken for a record.
        let text = std::fs::read_to_string(&path).unwrap();
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, format!("{cut}{{\"key\":\"Redis")).unwrap();
        let mut r = Reader::open(&path).unwrap();
        assert!(r.next_record().unwrap().is_some());
        assert!(r.next_record().unwrap().is_none());
        assert!(r.cut && r.ended.is_none());
    }

    #[test]
    fn a_line_without_strings_reads_as_none() {
        let line = r#"{"key":"K","job_id":"j","fields":[["a","b"]],"sets":[],"zsets":[]}"#;
        let Ok(Item::Record(r)) = parse(line) else {
            panic!("not a record");
        };
        assert!(r.strings.is_empty());
        let mut without = record();
        without.strings.clear();
        let text = serde_json::to_string(&without).unwrap();
        assert!(!text.contains("strings"), "{text}");
    }
}
