//! The records a prune deleted, for `undo`: a prune's audit entry names
//! the keys of its batch, and its backup file (`backup`, or `undo
//! --backup FILE` when it was moved) holds each record exactly. The file
//! is read a line at a time, once per page of entries, keeping only the
//! records that page names: memory is bounded by a page, never by the
//! file.
//!
//! Owns: finding a pruned record's line. Must not: write, or decide how to
//! reverse it (`plan::undo`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::plan::undo::Change;
use crate::store::audit::StreamEntry;

/// Each backup file a page's prune entries name: the records wanted from
/// it, or why it cannot be read.
#[derive(Debug, Default)]
pub struct Pruned {
    files: HashMap<PathBuf, Result<HashMap<Vec<u8>, Change>, String>>,
    moved_to: Option<PathBuf>,
}

impl Pruned {
    /// The change that deleted `key`, as prune entry `e` recorded it.
    pub fn change(&self, e: &StreamEntry, key: &[u8]) -> Result<Change, String> {
        let path = self.path_of(e);
        match self.files.get(&path) {
            Some(Ok(records)) => records.get(key).cloned().ok_or_else(|| {
                format!(
                    "{} holds no line of this record: it cannot be put back",
                    path.display()
                )
            }),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("{}: not read", path.display())),
        }
    }

    fn path_of(&self, e: &StreamEntry) -> PathBuf {
        match &self.moved_to {
            Some(p) => p.clone(),
            None => PathBuf::from(e.text("backup")),
        }
    }
}

/// Read, for the prune entries among `entries`, the records they name.
pub fn records(entries: &[&StreamEntry], moved_to: Option<&Path>) -> Pruned {
    let mut out = Pruned {
        files: HashMap::new(),
        moved_to: moved_to.map(Path::to_path_buf),
    };
    let mut wanted: HashMap<PathBuf, Vec<Vec<u8>>> = HashMap::new();
    for e in entries.iter().filter(|e| e.get("action") == Some(b"prune")) {
        let path = out.path_of(e);
        let keys = wanted.entry(path).or_default();
        keys.extend(
            crate::plan::undo::pruned_keys(e)
                .into_iter()
                .map(|(k, _)| k),
        );
    }
    for (path, keys) in wanted {
        let read = read_backup(&path, &keys);
        out.files.insert(path, read);
    }
    out
}

/// The records of `keys` in the backup at `path`, read a line at a time.
fn read_backup(path: &Path, keys: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, Change>, String> {
    let wanted: std::collections::HashSet<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut reader = crate::backup::Reader::open(path)
        .map_err(|e| format!("{e:#} (undo --backup FILE names a backup that was moved)"))?;
    let mut out = HashMap::new();
    while let Some(rec) = reader.next_record().map_err(|e| format!("{e:#}"))? {
        if !wanted.contains(rec.key.as_slice()) {
            continue;
        }
        let change = crate::plan::undo::pruned(
            rec.key.as_slice(),
            rec.job_id.as_slice(),
            rec.fields.into_iter().map(|(f, v)| (f.0, v.0)).collect(),
            rec.sets.into_iter().map(|s| s.0).collect(),
            rec.zsets
                .into_iter()
                .map(|(z, sc)| (z.0, sc.into_bytes()))
                .collect(),
            rec.strings.into_iter().map(|(k, v)| (k.0, v.0)).collect(),
        );
        out.insert(change.key.clone(), change);
    }
    Ok(out)
}
