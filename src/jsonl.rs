//! JSON Lines files that jobq writes as it goes (`--plan-out`,
//! `--report-out`): a header line, one line per item, and a closing line
//! that says whether the run finished. Each batch of lines is written
//! whole and flushed, so a run stopped at any point leaves a file that is
//! valid up to its last complete line; a file without its closing line is
//! one whose run did not finish, and readers say so.
//!
//! The files hold job data (keys, fields), so they are created with mode
//! 0600, and an existing file given again is narrowed to 0600 as well.
//!
//! Owns: [`JsonLines`] (writing) and [`Lines`] (reading one line at a
//! time). Must not: know what the lines mean (plan and report do).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

/// A JSON Lines file being written.
pub struct JsonLines {
    file: File,
    path: PathBuf,
    /// Lines serialized and not yet written.
    pending: Vec<u8>,
    /// Item lines written (not counting the header).
    pub items: u64,
}

/// Lines gathered before they are written, so a write is a few large ones.
const FLUSH_AT: usize = 256 * 1024;

impl JsonLines {
    /// Create (or truncate) `path` with mode 0600 and write `header`.
    pub fn create(path: &Path, header: &impl Serialize) -> Result<JsonLines> {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        // The mode above applies only to a file created now.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} private (mode 0600)", path.display()))?;
        }
        let mut out = JsonLines {
            file,
            path: path.to_owned(),
            pending: Vec::new(),
            items: 0,
        };
        out.push(header)?;
        out.items = 0;
        out.flush()?;
        Ok(out)
    }

    /// Create `path`, which must not exist (O_EXCL: an existing file is
    /// never overwritten, nor a symlink followed), with mode 0600, write
    /// `header` and make it durable. `Err` with [`std::io::ErrorKind::AlreadyExists`]
    /// underneath when the file exists.
    pub fn create_new(path: &Path, header: &impl Serialize) -> Result<JsonLines> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = JsonLines {
            file,
            path: path.to_owned(),
            pending: Vec::new(),
            items: 0,
        };
        out.push(header)?;
        out.items = 0;
        out.sync()?;
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write the lines gathered so far and wait until they are on disk
    /// (fsync): what a caller does next may rely on them.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.file
            .sync_data()
            .with_context(|| format!("cannot sync {}", self.path.display()))
    }

    /// Add one line (written at the next [`JsonLines::flush`], or when
    /// enough lines have gathered).
    pub fn push(&mut self, line: &impl Serialize) -> Result<()> {
        serde_json::to_writer(&mut self.pending, line)
            .with_context(|| format!("cannot serialize a line of {}", self.path.display()))?;
        self.pending.push(b'\n');
        self.items += 1;
        if self.pending.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Write the lines gathered so far.
    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.pending)
            .with_context(|| format!("cannot write to {}", self.path.display()))?;
        self.pending.clear();
        Ok(())
    }

    /// Write the closing line and make the file durable.
    pub fn finish(mut self, closing: &impl Serialize) -> Result<()> {
        let items = self.items;
        self.push(closing)?;
        self.items = items;
        self.flush()?;
        self.file
            .sync_all()
            .with_context(|| format!("cannot sync {}", self.path.display()))
    }
}

/// A JSON Lines file read one line at a time.
pub struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    /// The line number of the last line read (1-based).
    pub number: u64,
    buf: String,
}

/// One line read.
pub enum Line<'a> {
    /// A complete line (without its newline).
    Complete(&'a str),
    /// The file ends in a line without a newline (its text): a write was
    /// cut short, or the file was written by hand.
    Cut(&'a str),
}

impl Lines {
    pub fn open(path: &Path) -> Result<Lines> {
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Lines {
            reader: BufReader::new(file),
            path: path.to_owned(),
            number: 0,
            buf: String::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        self.buf.clear();
        let n = self
            .reader
            .read_line(&mut self.buf)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if !self.buf.ends_with('\n') {
            return Ok(Some(Line::Cut(&self.buf)));
        }
        Ok(Some(Line::Complete(
            self.buf.trim_end_matches(['\n', '\r']),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_private_and_read_back_with_the_cut_tail_told() {
        let dir = std::env::temp_dir().join(format!("jobq-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.jsonl");
        std::fs::write(&path, "old").unwrap();
        let mut w = JsonLines::create(&path, &serde_json::json!({"h": 1})).unwrap();
        w.push(&serde_json::json!({"i": 1})).unwrap();
        w.push(&serde_json::json!({"i": 2})).unwrap();
        assert_eq!(w.items, 2);
        w.finish(&serde_json::json!({"end": true})).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"h\":1}\n{\"i\":1}\n{\"i\":2}\n{\"end\":true}\n");
        std::fs::write(&path, "{\"h\":1}\n{\"i\":1}\n{\"i\":").unwrap();
        let mut r = Lines::open(&path).unwrap();
        assert!(matches!(
            r.next_line().unwrap(),
            Some(Line::Complete("{\"h\":1}"))
        ));
        assert!(matches!(
            r.next_line().unwrap(),
            Some(Line::Complete("{\"i\":1}"))
        ));
        assert!(matches!(r.next_line().unwrap(), Some(Line::Cut("{\"i\":"))));
        assert_eq!(r.number, 3);
        assert!(r.next_line().unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
