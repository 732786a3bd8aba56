//! The integration tests, one binary: each module drives the built `jobq`
//! against real redis-servers that `common` starts (never the shared one on
//! 6379). One module per area; test names are `area::test`, so
//! `cargo test --test it -- scan::` runs one area (libtest filters are
//! substrings: no module name ends in another's, see .ci/run's matrix).

mod common;

mod acl;
mod audit;
mod bounded_output;
mod concurrency;
mod delete;
mod drain;
mod drain_ids;
mod enqueue;
mod exit_codes;
mod faults;
mod generated;
mod help;
mod hostile;
mod idxptr;
mod indexed;
mod inspect;
mod prune;
mod read_from;
mod readme;
mod reap;
mod reindex;
mod reindex_live;
mod retry;
mod scan;
mod servers;
mod snapshots_output;
mod streaming;
mod terminal;
mod tls;
mod undo;
mod usage_edges;
mod walker;
