//! Moving a record to another key the way popoto does (re-create it under
//! the new key with every field, drop the old key from every set, move its
//! zset scores), guarded and audited, through `scripts/move.lua`. Generic:
//! `reap` moves running jobs back to pending or to failed; `reindex` can move
//! a record to the key its status field names.
//!
//! Owns: [`MoveRecord`] (everything one move touches, as bytes, built by the
//! caller from `schema`) and reading the script's reply. Must not: build keys
//! or decide which records to move.

use anyhow::Result;

use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Store, StoreError};

/// One move, fully planned. Every key is a full Redis key.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveRecord {
    pub old_key: Vec<u8>,
    pub new_key: Vec<u8>,
    pub audit_stream: Vec<u8>,
    pub audit_maxlen: u64,
    /// The field whose raw bytes must still be `expect_value` (the status
    /// field, msgpack-encoded).
    pub expect_field: String,
    pub expect_value: Vec<u8>,
    /// Sets the old key must still be a member of (its status index).
    pub guard_sets: Vec<Vec<u8>>,
    /// Sets to SREM the old key from: the class set and every key-field index.
    pub srem: Vec<Vec<u8>>,
    /// Sets to SADD the new key to.
    pub sadd: Vec<Vec<u8>>,
    /// Zsets in which the old key's score moves to the new key.
    pub zsets: Vec<Vec<u8>>,
    /// Keys that must not exist (a worker's heartbeat).
    pub absent: Vec<Vec<u8>>,
    /// Fields written over the record's values (status, priority), raw bytes.
    pub overrides: Vec<(String, Vec<u8>)>,
    /// A counter HINCRBY'd by the move, guarded by its current value.
    pub counter: Option<Counter>,
    /// A hash whose field named by the old key is deleted by the move.
    pub forget_in: Option<Vec<u8>>,
    /// XADD field/value list (see `Audit::entry`); the script appends the
    /// old hash's fields as `before.<field>`.
    pub audit: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub hash: Vec<u8>,
    pub field: Vec<u8>,
    /// The value the plan saw (0 when absent).
    pub expect: u64,
}

/// Why a move wrote nothing because the state is not what it was planned from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The old key is gone (a worker moved or deleted the record).
    Gone,
    /// The guarded field changed (e.g. the status is no longer running).
    FieldChanged,
    /// The old key left a guard set (e.g. its status index).
    NotInSet,
    /// A record exists under the new key already.
    TargetExists,
    /// A key that had to be absent exists (the worker's heartbeat is back).
    KeyExists,
    /// The counter moved (another reaper acted on this record meanwhile).
    CounterChanged,
}

impl SkipReason {
    /// The reason's name in reports (`gone`, `field_changed`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Gone => "gone",
            SkipReason::FieldChanged => "field_changed",
            SkipReason::NotInSet => "not_in_set",
            SkipReason::TargetExists => "target_exists",
            SkipReason::KeyExists => "key_exists",
            SkipReason::CounterChanged => "counter_changed",
        }
    }

    pub(super) fn parse(s: &[u8]) -> Option<SkipReason> {
        [
            SkipReason::Gone,
            SkipReason::FieldChanged,
            SkipReason::NotInSet,
            SkipReason::TargetExists,
            SkipReason::KeyExists,
            SkipReason::CounterChanged,
        ]
        .into_iter()
        .find(|r| r.name().as_bytes() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MoveOutcome {
    /// Moved; the counter's value after the move (0 without a counter).
    Moved {
        count: u64,
    },
    Skipped(SkipReason),
    /// Nothing written: this key has the wrong Redis type.
    WrongType(Vec<u8>),
    /// Nothing known to be written: the server answered with an error (or
    /// not at all); the outcome of this one move is in the error text.
    Error(StoreError),
}

impl MoveRecord {
    fn invocation(&self) -> Invocation {
        let mut keys = vec![
            self.old_key.clone(),
            self.new_key.clone(),
            self.audit_stream.clone(),
            self.counter
                .as_ref()
                .map(|c| c.hash.clone())
                .unwrap_or_default(),
            self.forget_in.clone().unwrap_or_default(),
        ];
        for group in [
            &self.guard_sets,
            &self.srem,
            &self.sadd,
            &self.zsets,
            &self.absent,
        ] {
            keys.extend(group.iter().cloned());
        }
        let n = |v: usize| v.to_string().into_bytes();
        let mut args = vec![
            self.expect_field.as_bytes().to_vec(),
            self.expect_value.clone(),
            self.counter
                .as_ref()
                .map(|c| c.field.clone())
                .unwrap_or_default(),
            self.counter
                .as_ref()
                .map(|c| c.expect.to_string().into_bytes())
                .unwrap_or_else(|| b"0".to_vec()),
            self.audit_maxlen.to_string().into_bytes(),
            n(self.guard_sets.len()),
            n(self.srem.len()),
            n(self.sadd.len()),
            n(self.zsets.len()),
            n(self.absent.len()),
            n(self.overrides.len()),
        ];
        for (f, v) in &self.overrides {
            args.push(f.as_bytes().to_vec());
            args.push(v.clone());
        }
        args.extend(self.audit.iter().cloned());
        Invocation { keys, args }
    }
}

impl Store {
    /// Apply moves in one pipelined round trip (EVALSHA each); one outcome
    /// per move, in order. An error of the whole round trip (connection
    /// lost, timeout) is returned as such: which moves ran is then unknown,
    /// and the caller must re-read rather than re-send.
    pub async fn move_records<'a>(
        &mut self,
        moves: impl IntoIterator<Item = &'a MoveRecord>,
    ) -> Result<Vec<MoveOutcome>> {
        let calls: Vec<Invocation> = moves.into_iter().map(MoveRecord::invocation).collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self.eval_many(&scripts().move_record, &calls).await?;
        Ok(replies.into_iter().map(outcome).collect())
    }
}

fn outcome(r: super::Reply) -> MoveOutcome {
    let v = match r {
        Ok(v) => v,
        Err(e) => return MoveOutcome::Error(e),
    };
    let Some((code, rest)) = code_and_rest(&v) else {
        return MoveOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    };
    let arg = rest.first();
    let odd = || MoveOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    match code {
        1 => match arg.and_then(reply::int) {
            Some(count) => MoveOutcome::Moved {
                count: count.max(0) as u64,
            },
            None => odd(),
        },
        0 => match arg
            .and_then(reply::bytes)
            .and_then(|b| SkipReason::parse(&b))
        {
            Some(reason) => MoveOutcome::Skipped(reason),
            None => odd(),
        },
        3 => match arg.and_then(reply::bytes) {
            Some(key) => MoveOutcome::WrongType(key),
            None => odd(),
        },
        _ => odd(),
    }
}
