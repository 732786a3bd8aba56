//! "Keep N requests in flight": requests already sent, oldest first, so
//! that the server always has the next batch while this side handles the
//! reply of an earlier one. Every pipelined walk and apply uses this one
//! queue rather than its own `VecDeque` arithmetic.
//!
//! Owns: the order and the count of requests in flight. Must not: send or
//! await anything itself (the caller awaits what [`InFlightQueue::push`]
//! hands back, in order).

use std::collections::VecDeque;

/// Requests sent and not yet handled, at most `keep` once `push` has
/// handed back the oldest.
#[derive(Debug)]
pub struct InFlightQueue<T> {
    sent: VecDeque<T>,
    keep: usize,
}

impl<T> InFlightQueue<T> {
    /// A queue that keeps up to `keep` requests in flight while the caller
    /// handles the oldest.
    pub fn new(keep: usize) -> InFlightQueue<T> {
        InFlightQueue {
            sent: VecDeque::with_capacity(keep + 1),
            keep,
        }
    }

    /// Note a request just sent; when more than `keep` are now in flight,
    /// the oldest, for the caller to await before sending more.
    pub fn push(&mut self, request: T) -> Option<T> {
        self.sent.push_back(request);
        if self.sent.len() > self.keep {
            self.sent.pop_front()
        } else {
            None
        }
    }

    /// The oldest request still in flight: at the end, to drain them all.
    pub fn pop_oldest(&mut self) -> Option<T> {
        self.sent.pop_front()
    }

    pub fn len(&self) -> usize {
        self.sent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_comes_back_once_more_than_keep_are_in_flight() {
        let mut q = InFlightQueue::new(2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_oldest(), Some(2));
        assert_eq!(q.pop_oldest(), Some(3));
        assert!(q.is_empty());
    }
}
