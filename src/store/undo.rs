//! Running `jobq undo`'s guarded steps (`scripts/undo.lua`), and reading
//! the audit stream a page at a time for `jobq undo` and `jobq audit`.
//!
//! Owns: a [`Step`]'s encoding for the script, its reply, the stream's
//! pages. Must not: decide what to reverse (`plan::undo`) or build keys.

use anyhow::{Context, Result};
use redis::Value;

use super::audit::StreamEntry;
use super::moves::SkipReason;
use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Store, StoreError};
use crate::plan::undo::{Op, Step};

/// How one step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoOutcome {
    Applied,
    /// Check only: every guard holds.
    WouldApply,
    /// Nothing written: a guard failed, and why.
    Skipped(String),
    /// Nothing written: this key has the wrong type.
    WrongType(Vec<u8>),
    /// Nothing known to be written: the server answered with an error.
    Error(StoreError),
}

/// A step ready to send: its ops and its audit entry (header included).
#[derive(Debug, Clone)]
pub struct UndoStep {
    pub step: Step,
    pub entry: Vec<Vec<u8>>,
}

fn encode(stream: &[u8], maxlen: u64, check_only: bool, s: &UndoStep) -> Invocation {
    let mut keys: Vec<Vec<u8>> = vec![stream.to_vec()];
    let index = |k: &[u8], keys: &mut Vec<Vec<u8>>| -> Vec<u8> {
        let i = match keys.iter().position(|x| x.as_slice() == k) {
            Some(i) => i,
            None => {
                keys.push(k.to_vec());
                keys.len() - 1
            }
        };
        (i + 1).to_string().into_bytes()
    };
    let mut ops: Vec<Vec<u8>> = Vec::new();
    for op in s.step.guards.iter().chain(&s.step.writes) {
        let (code, parts): (&str, Vec<Vec<u8>>) = match op {
            Op::Hash(k) => ("x", vec![index(k, &mut keys)]),
            Op::Absent(k) => ("a", vec![index(k, &mut keys)]),
            Op::Text(k, v) => ("g", vec![index(k, &mut keys), v.clone()]),
            Op::Set(k, v) => ("T", vec![index(k, &mut keys), v.clone()]),
            Op::Unset(k) => ("U", vec![index(k, &mut keys)]),
            Op::Len(k, n) => ("l", vec![index(k, &mut keys), n.to_string().into_bytes()]),
            Op::Field(k, f, v) => ("f", vec![index(k, &mut keys), f.clone(), v.clone()]),
            Op::NoField(k, f) => ("n", vec![index(k, &mut keys), f.clone()]),
            Op::Member(s, m) => ("m", vec![index(s, &mut keys), index(m, &mut keys)]),
            Op::NotMember(s, m) => ("o", vec![index(s, &mut keys), index(m, &mut keys)]),
            Op::Score(z, m, sc) => (
                "z",
                vec![index(z, &mut keys), index(m, &mut keys), sc.clone()],
            ),
            Op::NoScore(z, m) => ("y", vec![index(z, &mut keys), index(m, &mut keys)]),
            Op::Hset(k, f, v) => ("H", vec![index(k, &mut keys), f.clone(), v.clone()]),
            Op::Hdel(k, f) => ("D", vec![index(k, &mut keys), f.clone()]),
            Op::Del(k) => ("X", vec![index(k, &mut keys)]),
            Op::Sadd(s, m) => ("S", vec![index(s, &mut keys), index(m, &mut keys)]),
            Op::Srem(s, m) => ("R", vec![index(s, &mut keys), index(m, &mut keys)]),
            Op::Zadd(z, m, sc) => (
                "Z",
                vec![index(z, &mut keys), index(m, &mut keys), sc.clone()],
            ),
            Op::Zrem(z, m) => ("Q", vec![index(z, &mut keys), index(m, &mut keys)]),
            Op::Unclaim(k, p) => ("I", vec![index(k, &mut keys), p.clone()]),
        };
        ops.push(code.as_bytes().to_vec());
        ops.extend(parts);
    }
    let mut args = vec![
        maxlen.to_string().into_bytes(),
        if check_only { b"1" } else { b"0" }.to_vec(),
        s.step.guards.len().to_string().into_bytes(),
        s.step.writes.len().to_string().into_bytes(),
    ];
    args.extend(ops);
    args.extend(s.entry.iter().cloned());
    Invocation { keys, args }
}

fn outcome(r: super::Reply) -> UndoOutcome {
    let v = match r {
        Ok(v) => v,
        Err(e) => return UndoOutcome::Error(e),
    };
    let odd = || UndoOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    let Some((code, rest)) = code_and_rest(&v) else {
        return odd();
    };
    let arg = rest.first().and_then(reply::bytes);
    match (code, arg) {
        (1, _) => UndoOutcome::Applied,
        (2, _) => UndoOutcome::WouldApply,
        (0, Some(b)) => UndoOutcome::Skipped(String::from_utf8_lossy(&b).into_owned()),
        (3, Some(key)) => UndoOutcome::WrongType(key),
        _ => odd(),
    }
}

/// A skip reason of the other scripts, in undo's words.
pub fn skip_text(r: &SkipReason) -> String {
    r.name().replace('_', " ")
}

impl Store {
    /// Load the undo script (before the first step).
    pub async fn load_undo_script(&mut self) -> Result<()> {
        self.load_script(&scripts().undo).await
    }

    /// Run steps in one pipelined round trip; one outcome each, in order.
    /// `check_only`: the guards alone (a dry run). An error of the whole
    /// round trip leaves which steps ran unknown.
    pub async fn undo_steps(
        &mut self,
        stream: &[u8],
        maxlen: u64,
        check_only: bool,
        steps: &[UndoStep],
    ) -> Result<Vec<UndoOutcome>> {
        let calls: Vec<Invocation> = steps
            .iter()
            .map(|s| encode(stream, maxlen, check_only, s))
            .collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self.eval_many(&scripts().undo, &calls).await?;
        Ok(replies.into_iter().map(outcome).collect())
    }

    /// One page of the stream, newest first, from `end` down: `+` (the
    /// newest entry), an id, or `(id` (exclusive): `XREVRANGE key end -
    /// COUNT n`. Never the whole stream at once.
    pub async fn audit_page_rev(
        &mut self,
        stream: &[u8],
        end: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>> {
        let v: Value = self
            .query(
                redis::cmd("XREVRANGE")
                    .arg(stream)
                    .arg(end)
                    .arg("-")
                    .arg("COUNT")
                    .arg(count),
            )
            .await
            .context("reading the audit stream")?;
        Ok(entries(v))
    }

    /// One page of the stream, oldest first, starting after `after` (none:
    /// from the oldest entry): `XRANGE key (id + COUNT n`.
    pub async fn audit_page(
        &mut self,
        stream: &[u8],
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<StreamEntry>> {
        let start = match after {
            Some(id) => format!("({id}"),
            None => "-".to_owned(),
        };
        let v: Value = self
            .query(
                redis::cmd("XRANGE")
                    .arg(stream)
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(count),
            )
            .await
            .context("reading the audit stream")?;
        Ok(entries(v))
    }

    /// The oldest entry's id and the stream's length (`XINFO STREAM` needs
    /// more rights; `XLEN` and one `XRANGE COUNT 1` do not).
    pub async fn audit_bounds(&mut self, stream: &[u8]) -> Result<(Option<String>, u64)> {
        let len: u64 = self
            .query(redis::cmd("XLEN").arg(stream))
            .await
            .context("reading the audit stream's length")?;
        let first = self.audit_page(stream, None, 1).await?;
        Ok((first.into_iter().next().map(|e| e.id), len))
    }
}

impl Store {
    /// Whether entries were ever trimmed or deleted from the stream:
    /// `XINFO STREAM`'s entries-added above its length (Redis 7+, Valkey);
    /// none when the server does not say (or the stream is missing).
    pub async fn audit_was_trimmed(&mut self, stream: &[u8]) -> Option<bool> {
        let v: Value = self
            .query(redis::cmd("XINFO").arg("STREAM").arg(stream))
            .await
            .ok()?;
        let pairs: Vec<(String, Value)> = match v {
            Value::Map(m) => m
                .into_iter()
                .filter_map(|(k, v)| {
                    reply::bytes(&k).map(|k| (String::from_utf8_lossy(&k).into_owned(), v))
                })
                .collect(),
            Value::Array(a) => a
                .chunks(2)
                .filter_map(|c| match c {
                    [k, v] => reply::bytes(k)
                        .map(|k| (String::from_utf8_lossy(&k).into_owned(), v.clone())),
                    _ => None,
                })
                .collect(),
            _ => return None,
        };
        let num = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
        };
        Some(num("entries-added")? > num("length")?)
    }
}

/// XRANGE's reply: [[id, [f, v, f, v...]], ...]. Anything else is skipped.
fn entries(v: Value) -> Vec<StreamEntry> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(mut pair) = item else {
                return None;
            };
            if pair.len() != 2 {
                return None;
            }
            let fv = pair.pop()?;
            let id = reply::bytes(&pair.pop()?)?;
            let Value::Array(fv) = fv else {
                return None;
            };
            let mut fields = Vec::with_capacity(fv.len() / 2);
            let mut it = fv.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                fields.push((reply::bytes(f)?, reply::bytes(v)?));
            }
            Some(StreamEntry {
                id: String::from_utf8_lossy(&id).into_owned(),
                fields,
            })
        })
        .collect()
}
