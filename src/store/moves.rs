//! Moving a record to another status the way popoto does, guarded and
//! audited. In the key layout the record is re-created under the new key
//! with every field, the old key dropped from every set and its zset
//! scores moved (`scripts/move.lua`); in the indexed layout the key stays
//! and the status changes in place, as popoto's INDEX_SWAP script does it
//! (`scripts/index_swap.lua`: old set left, new set joined, pointer set,
//! field written). Generic: `reap` moves running jobs back to pending or to
//! failed, `retry` failed ones to pending; `reindex` can move a record to
//! the key its status field names.
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
    /// The indexed layout's in-place change (`old_key == new_key`, no
    /// zsets): the pointer swapped with the sets. `None`: a key move.
    pub pointer: Option<PointerSwap>,
}

/// The pointer of an in-place status change (popoto's INDEX_SWAP).
#[derive(Debug, Clone, PartialEq)]
pub struct PointerSwap {
    /// `$IdxPtr:{K}:{field}`.
    pub key: Vec<u8>,
    /// The set it must name now: the one the record leaves.
    pub expect: Vec<u8>,
    /// The set it will name: the one the record joins.
    pub value: Vec<u8>,
    /// `{K}\x00idxptr\x00{field}`, which must not exist.
    pub legacy_key: Vec<u8>,
    /// `{field}\x00idxset`, which the record must not hold.
    pub legacy_field: Vec<u8>,
    /// A `UniqueField`: the set joined must hold no other record.
    pub unique: bool,
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
    /// The record's pointer no longer names the set it was read in.
    PointerChanged,
    /// The record carries a popoto 1.8.0-1.8.2 pointer: left for `reindex`.
    LegacyPointer,
    /// A unique field's new value is held by another record.
    UniqueConflict,
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
            SkipReason::PointerChanged => "pointer_changed",
            SkipReason::LegacyPointer => "legacy_pointer",
            SkipReason::UniqueConflict => "unique_conflict",
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
            SkipReason::PointerChanged,
            SkipReason::LegacyPointer,
            SkipReason::UniqueConflict,
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
        match &self.pointer {
            None => self.key_move(),
            Some(p) => self.in_place(p),
        }
    }

    /// `index_swap.lua`'s keys and arguments.
    fn in_place(&self, p: &PointerSwap) -> Invocation {
        let mut keys = vec![
            self.old_key.clone(),
            self.audit_stream.clone(),
            self.counter
                .as_ref()
                .map(|c| c.hash.clone())
                .unwrap_or_default(),
            self.forget_in.clone().unwrap_or_default(),
            p.key.clone(),
            p.legacy_key.clone(),
        ];
        for group in [&self.guard_sets, &self.srem, &self.sadd, &self.absent] {
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
            n(self.absent.len()),
            n(self.overrides.len()),
            p.expect.clone(),
            p.value.clone(),
            p.legacy_field.clone(),
            if p.unique { b"1" } else { b"0" }.to_vec(),
        ];
        for (f, v) in &self.overrides {
            args.push(f.as_bytes().to_vec());
            args.push(v.clone());
        }
        args.extend(self.audit.iter().cloned());
        Invocation { keys, args }
    }

    /// `move.lua`'s keys and arguments.
    fn key_move(&self) -> Invocation {
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
        let moves: Vec<&MoveRecord> = moves.into_iter().collect();
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        // One model has one layout: a page of moves is all of one kind.
        let script = if moves[0].pointer.is_some() {
            &scripts().index_swap
        } else {
            &scripts().move_record
        };
        let calls: Vec<Invocation> = moves.iter().map(|m| m.invocation()).collect();
        let replies = self.eval_many(script, &calls).await?;
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
