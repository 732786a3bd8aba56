//! The judgement of `drain --ids`, pure: what the reads of one job mean
//! (still open, completed, failed, gone, or a duplicate), when a settled
//! answer no longer holds, and the counts the wait and the report need.
//!
//! A job is found through its candidate record keys (its key under each
//! status of the model). A read first asks the status indexes which of
//! them they hold; a job found in exactly one index of a status that is not
//! terminal is open. Anything else (a terminal index, no index, two) is
//! settled only from the records themselves: which candidate keys exist.
//!
//! Must not: do I/O.

/// A job that is not finished, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    Pending,
    Running,
    /// Another status that is not terminal, or seen in a way only its
    /// records can settle and not checked yet: something is happening.
    Other,
}

/// A job's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Completed,
    Failed,
    /// No live record of it: deleted after it finished, or lost.
    Gone,
    /// Two or more live records.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open(Open),
    Settled {
        answer: Answer,
        /// The status indexes that held it when it settled (bit i: the
        /// model's status i): a later read that sees otherwise reopens it.
        seen: u64,
    },
}

/// The most statuses a model may have for `--ids` (one bit each).
pub const MAX_STATUSES: usize = 64;

/// The roles of the model's statuses, by position.
#[derive(Debug, Clone)]
pub struct Roles {
    pub pending: usize,
    pub running: usize,
    pub completed: usize,
    pub failed: usize,
    pub count: usize,
}

impl Roles {
    fn terminal(&self, i: usize) -> bool {
        i == self.completed || i == self.failed
    }
}

/// What the status indexes say of a job: bit i set when status i's index
/// holds its key under status i.
pub fn mask(flags: impl IntoIterator<Item = bool>) -> u64 {
    flags
        .into_iter()
        .enumerate()
        .filter(|(_, f)| *f)
        .fold(0, |m, (i, _)| m | (1 << i))
}

/// The judgement of an index read: `Some(open)` when the job is open in
/// one status, `None` when only its records can tell.
pub fn from_indexes(roles: &Roles, seen: u64) -> Option<Open> {
    if seen.count_ones() != 1 {
        return None;
    }
    let i = seen.trailing_zeros() as usize;
    if roles.terminal(i) {
        None
    } else if i == roles.pending {
        Some(Open::Pending)
    } else if i == roles.running {
        Some(Open::Running)
    } else {
        Some(Open::Other)
    }
}

/// The judgement of a record read (`live`: which candidate keys exist),
/// with the index read it follows.
pub fn from_records(roles: &Roles, seen: u64, live: u64) -> State {
    let answer = match live.count_ones() {
        0 => Answer::Gone,
        1 => {
            let i = live.trailing_zeros() as usize;
            if i == roles.completed {
                Answer::Completed
            } else if i == roles.failed {
                Answer::Failed
            } else if i == roles.pending {
                return State::Open(Open::Pending);
            } else if i == roles.running {
                return State::Open(Open::Running);
            } else {
                return State::Open(Open::Other);
            }
        }
        _ => Answer::Duplicate,
    };
    State::Settled { answer, seen }
}

/// Whether a settled job still reads as it did: the same indexes hold it.
pub fn still_holds(state: State, seen: u64) -> bool {
    matches!(state, State::Settled { seen: s, .. } if s == seen)
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub pending: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub gone: u64,
    pub duplicate: u64,
}

impl Tally {
    pub fn of<'a>(states: impl IntoIterator<Item = &'a State>) -> Tally {
        let mut t = Tally::default();
        for s in states {
            match s {
                State::Open(Open::Pending) => t.pending += 1,
                State::Open(_) => t.running += 1,
                State::Settled { answer, .. } => match answer {
                    Answer::Completed => t.completed += 1,
                    Answer::Failed => t.failed += 1,
                    Answer::Gone => t.gone += 1,
                    Answer::Duplicate => t.duplicate += 1,
                },
            }
        }
        t
    }

    pub fn settled(&self) -> u64 {
        self.completed + self.failed + self.gone + self.duplicate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Roles {
        // pending, running, completed, failed, cancelled
        Roles {
            pending: 0,
            running: 1,
            completed: 2,
            failed: 3,
            count: 5,
        }
    }

    #[test]
    fn one_open_index_is_open_anything_else_asks_the_records() {
        let r = roles();
        assert_eq!(from_indexes(&r, mask([true])), Some(Open::Pending));
        assert_eq!(from_indexes(&r, 0b10), Some(Open::Running));
        assert_eq!(from_indexes(&r, 0b10000), Some(Open::Other));
        assert_eq!(from_indexes(&r, 0b100), None, "completed: check the record");
        assert_eq!(from_indexes(&r, 0b1000), None);
        assert_eq!(from_indexes(&r, 0), None, "in no index");
        assert_eq!(from_indexes(&r, 0b11), None, "in two");
    }

    #[test]
    fn the_records_settle_it() {
        let r = roles();
        let settled = |answer, seen| State::Settled { answer, seen };
        assert_eq!(
            from_records(&r, 0b100, 0b100),
            settled(Answer::Completed, 0b100)
        );
        assert_eq!(
            from_records(&r, 0b1000, 0b1000),
            settled(Answer::Failed, 0b1000)
        );
        assert_eq!(from_records(&r, 0, 0), settled(Answer::Gone, 0));
        // A dangling member of the completed index, no record: gone.
        assert_eq!(from_records(&r, 0b100, 0), settled(Answer::Gone, 0b100));
        assert_eq!(
            from_records(&r, 0b101, 0b101),
            settled(Answer::Duplicate, 0b101)
        );
        // A record in no index (an orphan) is judged by its key.
        assert_eq!(from_records(&r, 0, 0b100), settled(Answer::Completed, 0));
        assert_eq!(from_records(&r, 0, 0b1), State::Open(Open::Pending));
        assert_eq!(from_records(&r, 0b11, 0b10), State::Open(Open::Running));
        assert_eq!(from_records(&r, 0, 0b10000), State::Open(Open::Other));
    }

    #[test]
    fn a_settled_answer_holds_while_the_indexes_read_the_same() {
        let s = State::Settled {
            answer: Answer::Failed,
            seen: 0b1000,
        };
        assert!(still_holds(s, 0b1000));
        assert!(!still_holds(s, 0b1), "retried: back in pending");
        assert!(!still_holds(State::Open(Open::Pending), 0b1));
    }

    #[test]
    fn the_tally_counts_every_job_once() {
        let states = [
            State::Open(Open::Pending),
            State::Open(Open::Running),
            State::Open(Open::Other),
            State::Settled {
                answer: Answer::Completed,
                seen: 4,
            },
            State::Settled {
                answer: Answer::Gone,
                seen: 0,
            },
            State::Settled {
                answer: Answer::Duplicate,
                seen: 5,
            },
        ];
        let t = Tally::of(&states);
        assert_eq!(
            (t.pending, t.running, t.completed, t.gone, t.duplicate),
            (1, 2, 1, 1, 1)
        );
        assert_eq!(t.settled(), 3);
    }
}
