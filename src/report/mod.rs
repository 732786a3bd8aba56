//! The typed reports commands return and `output` renders: plain data with
//! `Serialize`, one file per command. The JSON documented in the README is
//! these types.
//!
//! Owns: the report types and the small facts they carry. Must not: do I/O,
//! print, or import `cmd` (the commands import these; `output` renders them
//! without knowing how they were made).

pub mod admin;
pub mod drain;
pub mod enqueue;
pub mod inspect;
pub mod metrics;
pub mod read_from;
pub mod reap;
pub mod reindex;
pub mod scan;
pub mod undo;

use serde::Serialize;

use crate::bytes::Bytes;

/// A list kept to at most `--show N` items (`None`: all), with a count of
/// those it did not keep: what a report lists of a run whose findings may
/// be millions. The complete list goes to `--report-out`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub not_listed: u64,
    #[serde(skip)]
    pub at_most: Option<usize>,
}

impl<T> Listed<T> {
    pub fn new(at_most: Option<usize>) -> Listed<T> {
        Listed {
            items: Vec::new(),
            not_listed: 0,
            at_most,
        }
    }

    /// Keep `item` if there is room, else count it.
    pub fn push(&mut self, item: T) {
        if self.at_most.is_none_or(|n| self.items.len() < n) {
            self.items.push(item);
        } else {
            self.not_listed += 1;
        }
    }

    /// Whether `push` would keep another item.
    pub fn has_room(&self) -> bool {
        self.at_most.is_none_or(|n| self.items.len() < n)
    }

    /// Items kept and counted.
    pub fn total(&self) -> u64 {
        self.items.len() as u64 + self.not_listed
    }
}

/// The pending job lowest in the model's first sorted field (created_at for
/// RedisJob): what `inspect` and `drain` show of a queue's backlog.
#[cfg(test)]
mod listed_tests {
    use super::Listed;

    #[test]
    fn a_listing_keeps_at_most_its_share_and_counts_the_rest() {
        let mut l = Listed::new(Some(2));
        for i in 0..5 {
            l.push(i);
        }
        assert_eq!(l.items, vec![0, 1]);
        assert_eq!((l.not_listed, l.total()), (3, 5));
        assert!(!l.has_room());
        let mut all = Listed::new(None);
        for i in 0..5 {
            all.push(i);
        }
        assert_eq!((all.items.len(), all.not_listed), (5, 0));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OldestPending {
    pub key: Bytes,
    pub job_id: Option<Bytes>,
    /// The sorted field, and the job's score in it.
    pub field: String,
    pub score: f64,
    /// Server time minus the score; `None` when the score does not look
    /// like unix seconds (drain reads any sorted field).
    pub age_seconds: Option<f64>,
}
