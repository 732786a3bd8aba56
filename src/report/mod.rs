//! The typed reports commands return and `output` renders: plain data with
//! `Serialize`, one file per command. The JSON documented in the README is
//! these types.
//!
//! Owns: the report types and the small facts they carry. Must not: do I/O,
//! print, or import `cmd` (the commands import these; `output` renders them
//! without knowing how they were made).

pub mod reap;
