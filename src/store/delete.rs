//! Deleting a job record the way popoto does (SREM from every index, ZREM,
//! DEL, SREM from the class set), guarded and audited, through
//! `scripts/delete_record.lua` (`jobq delete`; prune batches its own).
//!
//! Owns: [`DeleteRecord`] (everything one delete touches, as bytes, built by
//! `plan` from `schema`) and reading the script's reply. Must not: build
//! keys or decide which records to delete.

use anyhow::Result;

use super::moves::SkipReason;
use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Store, StoreError};

/// One delete, fully planned.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteRecord {
    pub key: Vec<u8>,
    pub audit_stream: Vec<u8>,
    pub audit_maxlen: u64,
    /// The field whose raw bytes must still be `expect_value` (the status
    /// field as the plan read it).
    pub expect_field: String,
    pub expect_value: Vec<u8>,
    /// Sets to SREM the key from: every index it may be in, the class set
    /// last (popoto's order).
    pub srem: Vec<Vec<u8>>,
    /// Zsets to ZREM it from.
    pub zrem: Vec<Vec<u8>>,
    /// The pointers of each indexed field (none for a model without one).
    pub pointers: Vec<FieldPointers>,
    /// Write the record's before-image into the entry (off when a backup
    /// file holds it).
    pub before_image: bool,
    /// XADD field/value list (see `Audit::entry`).
    pub audit: Vec<Vec<u8>>,
}

/// An indexed field's pointer keys for one record, deleted with it as
/// popoto deletes them; the set the pointer names is left too.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPointers {
    /// `$IdxPtr:{K}:{field}`.
    pub pointer: Vec<u8>,
    /// `{K}\x00idxptr\x00{field}` (popoto 1.8.1-1.8.2).
    pub legacy: Vec<u8>,
    /// `$IndexF:{Model}:{field}:`: a pointer's value is taken as a set to
    /// leave only when it starts with this.
    pub set_prefix: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    Deleted,
    /// Nothing written: the record is gone, or its guarded field changed.
    Skipped(SkipReason),
    /// Nothing written: this key has the wrong Redis type.
    WrongType(Vec<u8>),
    /// Nothing known to be written: the server answered with an error.
    Error(StoreError),
}

impl DeleteRecord {
    fn invocation(&self) -> Invocation {
        let mut keys = vec![self.key.clone(), self.audit_stream.clone()];
        keys.extend(self.srem.iter().cloned());
        keys.extend(self.zrem.iter().cloned());
        for p in &self.pointers {
            keys.push(p.pointer.clone());
            keys.push(p.legacy.clone());
        }
        let n = |v: usize| v.to_string().into_bytes();
        let mut args = vec![
            self.expect_field.as_bytes().to_vec(),
            self.expect_value.clone(),
            self.audit_maxlen.to_string().into_bytes(),
            n(self.srem.len()),
            n(self.zrem.len()),
            if self.before_image { b"1" } else { b"0" }.to_vec(),
            n(self.pointers.len()),
        ];
        args.extend(self.pointers.iter().map(|p| p.set_prefix.clone()));
        args.extend(self.audit.iter().cloned());
        Invocation { keys, args }
    }
}

impl Store {
    /// Load the delete script (before the first batch).
    pub async fn load_delete_script(&mut self) -> Result<()> {
        self.load_script(&scripts().delete_record).await
    }

    /// Apply deletes in one pipelined round trip (EVALSHA each); one outcome
    /// per delete, in order. An error of the whole round trip is returned as
    /// such: which deletes ran is then unknown, and the caller must re-read
    /// rather than re-send.
    pub async fn delete_records<'a>(
        &mut self,
        deletes: impl IntoIterator<Item = &'a DeleteRecord>,
    ) -> Result<Vec<DeleteOutcome>> {
        let calls: Vec<Invocation> = deletes.into_iter().map(DeleteRecord::invocation).collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self.eval_many(&scripts().delete_record, &calls).await?;
        Ok(replies.into_iter().map(outcome).collect())
    }
}

fn outcome(r: super::Reply) -> DeleteOutcome {
    let v = match r {
        Ok(v) => v,
        Err(e) => return DeleteOutcome::Error(e),
    };
    let odd = || DeleteOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    let Some((code, rest)) = code_and_rest(&v) else {
        return odd();
    };
    let arg = rest.first().and_then(reply::bytes);
    match (code, arg) {
        (1, _) => DeleteOutcome::Deleted,
        (0, Some(b)) if b == b"gone" => DeleteOutcome::Skipped(SkipReason::Gone),
        (0, Some(b)) if b == b"field_changed" => DeleteOutcome::Skipped(SkipReason::FieldChanged),
        (3, Some(key)) => DeleteOutcome::WrongType(key),
        _ => odd(),
    }
}
