//! The joint walk's bookkeeping: which member each SSCAN/ZSCAN walk has
//! returned, by position in the walks' common order. Pure; the scan engine
//! (`scan::walker`) feeds it pages and asks it questions.
//!
//! Why it works: Redis walks every hash table (the class set, the indexes,
//! a zset's members) in the same order, by the bit-reversed hash of the
//! member, and every table of a server hashes with the same seed. A cursor
//! is a position in that order that does not depend on the table's size:
//! reversing its bits gives the fraction of the order walked so far. So a
//! page of any walk, read from cursor `a` to cursor `b`, holds the members
//! whose position lies in `[pos(a), pos(b))`, and whether the class set
//! holds a member of an index is answered by the class set's pages over
//! the same stretch, already read, rather than by asking the server.
//!
//! An answer is only ever a sighting: "seen" means the walk returned it
//! (true when it was read, as a server lookup would be); "not seen" may be
//! wrong (a table resized between pages, a member added meanwhile, another
//! server's order), so callers treat it as a suspicion to check with a
//! full read, never as a finding.
//!
//! Memory: a page is kept until every other walk has read past it, so the
//! walks must move through the order at about the same pace (the caller
//! always reads the walk that is furthest behind, and sizes each walk's
//! pages to its set's size).

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

/// The end of the order: where a walk whose cursor came back to 0 is.
pub const END: u128 = 1 << 64;

/// Where in the common order a cursor stands (0 as a *next* cursor means
/// the walk is complete).
pub fn position(next_cursor: u64) -> u128 {
    if next_cursor == 0 {
        END
    } else {
        next_cursor.reverse_bits() as u128
    }
}

#[derive(Debug)]
struct LanePage {
    start: u128,
    end: u128,
    /// Until the page is judged (then handed to the caller).
    items: Vec<Vec<u8>>,
    decided: bool,
}

#[derive(Debug, Default)]
struct Lane {
    /// Where the pages read so far end.
    frontier: u128,
    pages: VecDeque<LanePage>,
    /// Members of the kept pages, each with the end of the last page that
    /// returned it (a walk can return a member twice), so that dropping
    /// pages drops exactly the members no kept page holds.
    window: FxHashMap<Vec<u8>, u128>,
}

impl Lane {
    /// Where this walk's next undecided member can start.
    fn undecided_from(&self) -> u128 {
        self.pages
            .iter()
            .find(|p| !p.decided)
            .map(|p| p.start)
            .unwrap_or(self.frontier)
    }
}

/// A page every walk has read past: its members can be judged.
#[derive(Debug, PartialEq)]
pub struct Ready {
    pub lane: usize,
    pub items: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Join {
    lanes: Vec<Lane>,
}

impl Join {
    /// A new walk, starting at the beginning of the order; its id.
    pub fn add_lane(&mut self) -> usize {
        self.lanes.push(Lane::default());
        self.lanes.len() - 1
    }

    /// The unfinished walk furthest behind: the one to read next.
    pub fn next_lane(&self) -> Option<usize> {
        self.lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| l.frontier < END)
            .min_by_key(|(_, l)| l.frontier)
            .map(|(i, _)| i)
    }

    #[cfg(test)]
    pub fn frontier(&self, lane: usize) -> u128 {
        self.lanes.get(lane).map_or(END, |l| l.frontier)
    }

    /// A page of `lane`'s walk: the members from where it stood to
    /// `next_cursor`.
    pub fn push(&mut self, lane: usize, next_cursor: u64, items: Vec<Vec<u8>>) {
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        let start = l.frontier;
        // A cursor behind the frontier (a table that shrank) re-reads a
        // stretch: the page is taken to start where the walk stood.
        let end = position(next_cursor).max(start);
        for m in &items {
            l.window.insert(m.clone(), end);
        }
        l.pages.push_back(LanePage {
            start,
            end,
            items,
            decided: false,
        });
        l.frontier = end;
    }

    /// The walk cannot go on (its key has another type): nothing more
    /// will come from it.
    pub fn finish(&mut self, lane: usize) {
        if let Some(l) = self.lanes.get_mut(lane) {
            l.frontier = END;
        }
    }

    /// Whether `lane`'s walk returned `member` in the pages kept: those
    /// over every stretch not yet judged.
    pub fn seen(&self, lane: usize, member: &[u8]) -> bool {
        self.lanes
            .get(lane)
            .is_some_and(|l| l.window.contains_key(member))
    }

    /// Pages every walk has read past, in order per walk; each once. Ask
    /// [`Join::seen`] about their members, then [`Join::compact`].
    pub fn ready(&mut self) -> Vec<Ready> {
        let reached = self.lanes.iter().map(|l| l.frontier).min().unwrap_or(END);
        let mut out = Vec::new();
        for (i, l) in self.lanes.iter_mut().enumerate() {
            for p in l.pages.iter_mut().filter(|p| !p.decided) {
                if p.end > reached {
                    break;
                }
                p.decided = true;
                out.push(Ready {
                    lane: i,
                    items: std::mem::take(&mut p.items),
                });
            }
        }
        out
    }

    /// Forget the judged pages no page still to be judged overlaps.
    pub fn compact(&mut self) {
        let from: Vec<u128> = self.lanes.iter().map(Lane::undecided_from).collect();
        for (i, l) in self.lanes.iter_mut().enumerate() {
            let needed_from = from
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, f)| *f)
                .min()
                .unwrap_or(END);
            let mut dropped = false;
            while l
                .pages
                .front()
                .is_some_and(|p| p.decided && p.end <= needed_from)
            {
                l.pages.pop_front();
                dropped = true;
            }
            if dropped {
                l.window.retain(|_, end| *end > needed_from);
            }
        }
    }

    /// Members kept, over all walks.
    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.lanes.iter().map(|l| l.window.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    /// A cursor whose position is `num/den` of the order (den a power of 2).
    fn cursor_at(num: u64, den: u64) -> u64 {
        let bits = den.trailing_zeros();
        (num << (64 - bits)).reverse_bits()
    }

    #[test]
    fn a_cursor_position_does_not_depend_on_the_table_size() {
        // Cursor 1 is half-way whatever the table's size; 0 is the end.
        assert_eq!(position(1), 1u128 << 63);
        assert_eq!(position(0), END);
        assert_eq!(position(cursor_at(1, 4)), 1u128 << 62);
        assert_eq!(position(cursor_at(3, 4)), 3u128 << 62);
        // In a table of 8 buckets, bucket 4 comes right after bucket 0.
        assert_eq!(position(4), 1u128 << 61);
    }

    #[test]
    fn a_page_is_ready_once_every_walk_has_read_past_it() {
        let mut j = Join::default();
        let class = j.add_lane();
        let index = j.add_lane();
        j.push(class, cursor_at(1, 4), vec![m("a")]);
        j.push(class, cursor_at(1, 2), vec![m("b")]);
        assert!(j.ready().is_empty(), "the index has read nothing yet");
        assert_eq!(j.next_lane(), Some(index));
        j.push(index, cursor_at(3, 8), vec![m("a"), m("x")]);
        let r = j.ready();
        assert_eq!(
            r,
            vec![
                Ready {
                    lane: class,
                    items: vec![m("a")]
                },
                Ready {
                    lane: index,
                    items: vec![m("a"), m("x")]
                }
            ]
        );
        assert!(j.seen(class, b"a") && j.seen(index, b"a"));
        assert!(!j.seen(class, b"x"), "x is in the index only");
        j.compact();
        // The class set's first page is behind everything still to judge;
        // the index page reaches into the class set's second page, which
        // will be judged against it.
        assert!(!j.seen(class, b"a"));
        assert!(j.seen(index, b"a"));
        assert_eq!(j.next_lane(), Some(index));
        j.push(index, 0, vec![m("b")]);
        assert_eq!(j.next_lane(), Some(class));
        assert_eq!(
            j.ready(),
            vec![Ready {
                lane: class,
                items: vec![m("b")]
            }]
        );
        assert!(j.seen(index, b"b"));
        j.compact();
        j.push(class, 0, vec![m("c")]);
        let r = j.ready();
        assert_eq!(r.len(), 2, "the last pages of both: {r:?}");
        j.compact();
        assert_eq!(j.next_lane(), None);
        assert_eq!(j.kept(), 0, "everything judged is forgotten");
    }

    #[test]
    fn a_walk_added_late_holds_back_what_it_has_not_read() {
        let mut j = Join::default();
        let class = j.add_lane();
        j.push(class, cursor_at(1, 2), vec![m("a")]);
        assert_eq!(j.ready().len(), 1);
        j.compact();
        let late = j.add_lane();
        j.push(class, 0, vec![m("b")]);
        assert!(j.ready().is_empty(), "the late walk is at the start");
        j.push(late, cursor_at(1, 2), vec![m("z")]);
        let r = j.ready();
        assert_eq!(r.len(), 1);
        assert!(!j.seen(class, b"z"), "the class pages before it are gone");
        j.compact();
        j.push(late, 0, vec![m("b")]);
        assert_eq!(j.ready().len(), 2);
        assert!(j.seen(late, b"b") && j.seen(class, b"b"));
    }

    #[test]
    fn a_walk_that_cannot_go_on_stops_holding_the_others_back() {
        let mut j = Join::default();
        let class = j.add_lane();
        let broken = j.add_lane();
        j.push(class, 0, vec![m("a")]);
        assert!(j.ready().is_empty());
        j.finish(broken);
        assert_eq!(j.ready().len(), 1);
        assert!(!j.seen(broken, b"a"));
        assert_eq!(j.next_lane(), None);
    }

    #[test]
    fn a_cursor_that_goes_back_does_not_move_the_frontier_back() {
        let mut j = Join::default();
        let a = j.add_lane();
        j.push(a, cursor_at(1, 2), vec![m("x")]);
        j.push(a, cursor_at(1, 4), vec![m("y")]);
        assert_eq!(j.frontier(a), 1u128 << 63);
    }

    #[test]
    fn a_member_returned_twice_is_kept_until_both_pages_go() {
        let mut j = Join::default();
        let a = j.add_lane();
        let b = j.add_lane();
        j.push(a, cursor_at(1, 4), vec![m("x")]);
        j.push(a, cursor_at(1, 2), vec![m("x")]);
        j.push(b, cursor_at(1, 4), vec![]);
        j.ready();
        j.compact();
        assert!(j.seen(a, b"x"), "still in the second page");
    }

    /// A small deterministic generator (xorshift), so a failure replays.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// A set as a walk returns it: its members by position in the common
    /// order, cut into about `pages` pages at random points.
    fn pages_of(
        members: &[(u64, Vec<u8>)],
        pages: usize,
        rng: &mut Rng,
    ) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut cuts: Vec<u64> = (1..pages).map(|_| rng.next() | 1).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = Vec::new();
        let mut from = 0u64;
        for &cut in &cuts {
            let items = members
                .iter()
                .filter(|(p, _)| *p >= from && *p < cut)
                .map(|(_, m)| m.clone())
                .collect();
            // The cursor whose position is `cut`.
            out.push((cut.reverse_bits(), items));
            from = cut;
        }
        let last = members
            .iter()
            .filter(|(p, _)| *p >= from)
            .map(|(_, m)| m.clone())
            .collect();
        out.push((0, last));
        out
    }

    #[test]
    fn every_member_is_judged_once_and_membership_is_exact_in_a_stable_order() {
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            // The class set, an index of about half of it, and a zset with
            // a few members the class set lacks.
            let class: Vec<(u64, Vec<u8>)> = (0..300)
                .map(|i| (rng.next(), format!("k{i}").into_bytes()))
                .collect();
            let index: Vec<(u64, Vec<u8>)> = class
                .iter()
                .filter(|_| rng.next().is_multiple_of(2))
                .cloned()
                .collect();
            let mut zset: Vec<(u64, Vec<u8>)> = class
                .iter()
                .filter(|_| !rng.next().is_multiple_of(4))
                .cloned()
                .collect();
            zset.extend((0..10).map(|i| (rng.next(), format!("ghost{i}").into_bytes())));
            let sets = [&class, &index, &zset];
            let mut j = Join::default();
            let mut queued: Vec<std::collections::VecDeque<(u64, Vec<Vec<u8>>)>> = sets
                .iter()
                .map(|set| {
                    j.add_lane();
                    let n = 1 + (rng.next() % 40) as usize;
                    pages_of(set, n, &mut rng).into()
                })
                .collect();
            let mut judged: Vec<Vec<Vec<u8>>> = vec![Vec::new(); sets.len()];
            let mut peak = 0;
            while let Some(lane) = j.next_lane() {
                let (cursor, items) = queued[lane].pop_front().expect("a page left");
                j.push(lane, cursor, items);
                for r in j.ready() {
                    for item in &r.items {
                        for (other, set) in sets.iter().enumerate() {
                            let holds = set.iter().any(|(_, m)| m == item);
                            assert_eq!(
                                j.seen(other, item),
                                holds,
                                "seed {seed}: lane {other} holds {item:?}"
                            );
                        }
                    }
                    judged[r.lane].extend(r.items);
                }
                j.compact();
                peak = peak.max(j.kept());
            }
            for (lane, set) in sets.iter().enumerate() {
                assert!(
                    queued[lane].is_empty(),
                    "seed {seed}: lane {lane} read to the end"
                );
                let mut want: Vec<&Vec<u8>> = set.iter().map(|(_, m)| m).collect();
                let mut got: Vec<&Vec<u8>> = judged[lane].iter().collect();
                want.sort();
                got.sort();
                assert_eq!(got, want, "seed {seed}: lane {lane}, each member once");
            }
            assert_eq!(j.kept(), 0, "seed {seed}: all forgotten at the end");
            let total: usize = sets.iter().map(|s| s.len()).sum();
            assert!(peak <= total, "seed {seed}: peak {peak} of {total}");
        }
    }

    #[test]
    fn a_member_added_behind_a_walk_is_only_not_seen() {
        // The index gets `late` after the class set's walk passed its
        // position: the class set's pages never return it, so the join says
        // "not seen" (a suspicion for a full read), and judges it once.
        let mut j = Join::default();
        let class = j.add_lane();
        let index = j.add_lane();
        j.push(class, cursor_at(1, 2), vec![m("a")]);
        j.push(index, cursor_at(1, 2), vec![m("a"), m("late")]);
        let r = j.ready();
        assert_eq!(r.len(), 2);
        assert!(j.seen(class, b"a"));
        assert!(!j.seen(class, b"late"));
        j.compact();
        j.push(class, 0, vec![]);
        j.push(index, 0, vec![]);
        let rest: Vec<_> = j.ready().into_iter().flat_map(|r| r.items).collect();
        assert!(rest.is_empty(), "nothing judged twice: {rest:?}");
        assert_eq!(j.next_lane(), None);
    }

    #[test]
    fn a_page_for_an_unknown_lane_is_ignored() {
        let mut j = Join::default();
        let a = j.add_lane();
        j.push(7, 0, vec![m("x")]);
        j.finish(7);
        assert!(!j.seen(7, b"x"));
        assert_eq!(j.frontier(7), END);
        assert_eq!(j.next_lane(), Some(a));
        assert_eq!(j.kept(), 0);
    }

    #[test]
    fn no_walks_are_nothing_to_read() {
        let mut j = Join::default();
        assert_eq!(j.next_lane(), None);
        assert!(j.ready().is_empty());
        j.compact();
        assert_eq!(j.kept(), 0);
    }
}
