//! Applying a repair plan: each action is one guarded step of a Lua script
//! that re-reads the state the plan saw and does nothing (`skipped`) when it
//! changed. One script call carries up to [`MAX_PER_CALL`] actions of one
//! script (`scripts/batch.lua`), each checked on its own before its own
//! first write, its ACL included (`scripts/acl.lua`, shared by every
//! writing script); calls go out as pipelined EVALSHA in batches.
//!
//! A call that meets an error (a refusal above all) stops before that
//! action writes anything and still reports the actions it applied before
//! it; after a refusal nothing more is sent, after any other error the
//! actions behind it are sent again in a call of their own.
//!
//! A batch whose reply did not arrive (a timeout, a dropped connection) has
//! an unknown outcome: it is reported as such, never sent again; a rerun
//! re-reads and its guards make that safe.

use std::ops::Range;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;

use super::audit::Audit;
use super::moves::{MoveOutcome, MoveRecord};
use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Store};
use crate::bytes::Bytes;
use crate::plan::{Action, Step};

/// Actions per script call, by script (reconcile, remove_ghost,
/// remove_record, repoint, remove_pointers): enough that a call's own cost is paid once for many,
/// few enough that a call stays far under the 10 ms a SLOWLOG entry marks.
/// A removed record's before-image is read whole, so those go fewer.
pub const MAX_PER_CALL: [usize; 5] = [32, 32, 8, 32, 32];

/// Argument bytes per script call: a few records with huge values must not
/// make one long call.
const MAX_CALL_BYTES: usize = 256 * 1024;

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum RepairOutcome {
    Applied,
    /// The step's changes were all in place already (a plan applied
    /// before, by a run whose reply was lost or by the same plan run twice,
    /// or the same change made by someone else); nothing was written.
    AlreadyApplied(String),
    /// The guard found another state; nothing was written.
    Skipped(String),
    /// The server refused the step; nothing was written (scripts check
    /// before they write).
    Failed(String),
    /// The server refuses writes altogether (no permission, out of memory,
    /// a read-only replica, a failing disk): nothing was written, and every
    /// other step would be refused the same way.
    Refused(String),
    /// No reply arrived: it may or may not have been applied.
    Unknown(String),
    /// Not sent, or not run: an earlier step's outcome was unknown, or the
    /// server refused one, so the run stopped there.
    NotAttempted,
}

fn b(x: &[u8]) -> Vec<u8> {
    x.to_vec()
}

fn n(x: usize) -> Vec<u8> {
    x.to_string().into_bytes()
}

fn keys(v: &[Bytes]) -> impl Iterator<Item = Vec<u8>> + '_ {
    v.iter().map(|x| x.0.clone())
}

/// The script and the part of a call that is one action's (its keys and
/// arguments, see `scripts/batch.lua`); `None` for [`Step::Move`], which
/// goes through the shared move script (`store::moves`).
fn invocation(action: &Action) -> Option<(usize, Invocation)> {
    let key = action.key.0.clone();
    let job = action.job_id.as_deref().unwrap_or_default();
    let entry = |what: &str| {
        [
            ("action", what.as_bytes()),
            ("kind", action.kind.name().as_bytes()),
            ("job", job.as_bytes()),
            ("key", &key[..]),
        ]
        .into_iter()
        .flat_map(|(k, v)| [b(k.as_bytes()), b(v)])
        .collect::<Vec<_>>()
    };
    match &action.step {
        Step::Reconcile {
            expect_status,
            restore,
            overwrite,
            sadd,
            srem,
            zadd,
        } => {
            let mut k = vec![key.clone()];
            k.extend(keys(sadd));
            k.extend(keys(srem));
            k.extend(zadd.iter().map(|(z, _)| z.0.clone()));
            let mut a = vec![
                b(if expect_status.is_some() { b"1" } else { b"0" }),
                expect_status
                    .as_ref()
                    .map(|s| s.0.clone())
                    .unwrap_or_default(),
                n(sadd.len()),
                n(srem.len()),
                n(zadd.len()),
                n(restore.len()),
                n(overwrite.len()),
            ];
            for (f, v) in restore.iter().chain(overwrite) {
                a.push(b(f.as_bytes()));
                a.push(v.0.clone());
            }
            a.extend(
                zadd.iter()
                    .map(|(_, s)| super::enqueue::score_text(*s).into_bytes()),
            );
            a.extend(entry("reconcile"));
            Some((0, Invocation { keys: k, args: a }))
        }
        Step::RemoveGhost { srem, zrem } => {
            let mut k = vec![key.clone()];
            k.extend(keys(srem));
            k.extend(keys(zrem));
            let mut a = vec![n(srem.len()), n(zrem.len())];
            a.extend(entry("remove_ghost"));
            Some((1, Invocation { keys: k, args: a }))
        }
        Step::RemoveDuplicate { keep, srem, zrem } => {
            let mut k = vec![key.clone(), keep.0.clone()];
            k.extend(keys(srem));
            k.extend(keys(zrem));
            let mut a = vec![n(srem.len()), n(zrem.len())];
            a.extend(entry("remove_duplicate"));
            a.push(b(b"kept"));
            a.push(keep.0.clone());
            Some((2, Invocation { keys: k, args: a }))
        }
        Step::Repoint(r) => {
            let crate::plan::Repoint {
                expect_status,
                sadd,
                srem,
                zadd,
                pointer,
                expect_pointer,
                point_to,
                legacy,
                migrate,
            } = &**r;
            let mut k = vec![key.clone(), pointer.0.clone(), legacy.key.0.clone()];
            k.extend(keys(sadd));
            k.extend(keys(srem));
            k.extend(zadd.iter().map(|(z, _)| z.0.clone()));
            let flag = |v: &Option<Bytes>| -> [Vec<u8>; 2] {
                match v {
                    Some(v) => [b(b"1"), v.0.clone()],
                    None => [b(b"0"), Vec::new()],
                }
            };
            let mut a = vec![expect_status.0.clone()];
            a.extend(flag(expect_pointer));
            a.extend(flag(point_to));
            a.push(b(if *migrate { b"1" } else { b"0" }));
            a.extend(flag(&legacy.expect_key));
            a.push(legacy.field.0.clone());
            a.extend(flag(&legacy.expect_field));
            a.extend([n(sadd.len()), n(srem.len()), n(zadd.len())]);
            a.extend(
                zadd.iter()
                    .map(|(_, s)| super::enqueue::score_text(*s).into_bytes()),
            );
            a.extend(entry("repoint"));
            Some((3, Invocation { keys: k, args: a }))
        }
        Step::RemovePointers {
            pointers,
            srem,
            zrem,
        } => {
            let mut k = vec![key.clone()];
            k.extend(pointers.iter().map(|(p, _)| p.0.clone()));
            k.extend(keys(srem));
            k.extend(keys(zrem));
            let mut a = vec![n(pointers.len()), n(srem.len()), n(zrem.len())];
            a.extend(pointers.iter().map(|(_, v)| v.0.clone()));
            a.extend(entry("remove_pointers"));
            Some((4, Invocation { keys: k, args: a }))
        }
        Step::Move { .. } => None,
    }
}

/// The actions of one script call: their positions in the batch, in order.
type CallOf = Vec<usize>;

/// Group actions (positions into `parts`) into script calls of at most
/// `max` actions and [`MAX_CALL_BYTES`] of arguments, and build each call
/// (see `scripts/batch.lua`).
fn calls(
    which: &[usize],
    parts: &[Option<(usize, Invocation)>],
    max: usize,
    audit: &Audit,
    common: &[u8],
) -> Vec<(CallOf, Invocation)> {
    let header = audit.header();
    let mut out: Vec<(CallOf, Invocation)> = Vec::new();
    let mut group: CallOf = Vec::new();
    let mut bytes = 0;
    let size = |inv: &Invocation| -> usize {
        inv.keys
            .iter()
            .chain(&inv.args)
            .map(Vec::len)
            .sum::<usize>()
    };
    let flush = |group: &mut CallOf, out: &mut Vec<(CallOf, Invocation)>| {
        if group.is_empty() {
            return;
        }
        let mut k = vec![audit.stream.clone()];
        let mut a = vec![n(audit.maxlen as usize), n(group.len()), n(header.len())];
        a.extend(header.iter().cloned());
        a.push(b(common));
        for &i in group.iter() {
            if let Some((_, inv)) = &parts[i] {
                k.extend(inv.keys.iter().cloned());
                a.push(n(inv.keys.len()));
                a.push(n(inv.args.len()));
                a.extend(inv.args.iter().cloned());
            }
        }
        out.push((std::mem::take(group), Invocation { keys: k, args: a }));
    };
    for &i in which {
        let Some((_, inv)) = &parts[i] else {
            continue;
        };
        let s = size(inv);
        if !group.is_empty() && (group.len() >= max || bytes + s > MAX_CALL_BYTES) {
            flush(&mut group, &mut out);
            bytes = 0;
        }
        group.push(i);
        bytes += s;
    }
    flush(&mut group, &mut out);
    out
}

/// A `--prefer field` move as the shared move script takes it.
fn move_record(action: &Action, audit: &Audit, status_field: &str) -> Option<MoveRecord> {
    let Step::Move {
        to,
        expect_status,
        srem,
        sadd,
        zsets,
    } = &action.step
    else {
        return None;
    };
    let job = action.job_id.clone().unwrap_or_default();
    Some(MoveRecord {
        old_key: action.key.0.clone(),
        new_key: to.0.clone(),
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        expect_field: status_field.to_owned(),
        expect_value: expect_status.0.clone(),
        guard_sets: Vec::new(),
        srem: keys(srem).collect(),
        sadd: keys(sadd).collect(),
        zsets: keys(zsets).collect(),
        absent: Vec::new(),
        overrides: Vec::new(),
        counter: None,
        forget_in: None,
        // A `--prefer field` move re-keys: the key layout's alone.
        pointer: None,
        audit: audit.entry(&[
            ("action", b"move"),
            ("kind", action.kind.name().as_bytes()),
            ("job", job.as_bytes()),
            ("key", &action.key.0),
            ("to", &to.0),
        ]),
    })
}

/// A batch of repairs already sent (see [`Store::apply_in_flight`]).
pub struct InFlightApply(tokio::task::JoinHandle<Result<Vec<RepairOutcome>>>);

impl InFlightApply {
    /// The batch's outcomes, one per action, in order.
    pub async fn outcomes(self) -> Result<Vec<RepairOutcome>> {
        self.0.await.context("a repair task failed")?
    }
}

impl Store {
    /// [`Store::apply`], sent at once by a task of its own, so that the next
    /// batch can be built while this one runs.
    pub fn apply_in_flight(
        &self,
        actions: Arc<Vec<Action>>,
        range: Range<usize>,
        audit: &Audit,
        status_field: &str,
    ) -> InFlightApply {
        let mut store = self.clone();
        let audit = audit.clone();
        let field = status_field.to_owned();
        InFlightApply(tokio::spawn(async move {
            let refs: Vec<&Action> = actions[range].iter().collect();
            store.apply(&refs, &audit, &field).await
        }))
    }

    /// Load every repair script (before the first batch, so that EVALSHA
    /// finds them; `eval_many` reloads after a server restart).
    pub async fn load_repair_scripts(&mut self) -> Result<()> {
        for s in scripts().repairs() {
            self.load_script(s).await?;
        }
        Ok(())
    }

    /// Apply a batch of actions; one outcome per action, in order.
    pub async fn apply(
        &mut self,
        actions: &[&Action],
        audit: &Audit,
        status_field: &str,
    ) -> Result<Vec<RepairOutcome>> {
        let scripts = scripts().repairs();
        let commons: [&[u8]; 5] = [
            status_field.as_bytes(),
            b"",
            b"",
            status_field.as_bytes(),
            b"",
        ];
        let mut outcomes: Vec<Option<RepairOutcome>> = vec![None; actions.len()];
        let parts: Vec<Option<(usize, Invocation)>> =
            actions.iter().map(|a| invocation(a)).collect();
        let mut moves: Vec<(usize, MoveRecord)> = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            if parts[i].is_none() {
                if let Some(m) = move_record(a, audit, status_field) {
                    moves.push((i, m));
                }
            }
        }
        if !moves.is_empty() {
            match self.move_records(moves.iter().map(|(_, m)| m)).await {
                Ok(outs) => {
                    for ((i, _), o) in moves.iter().zip(outs) {
                        outcomes[*i] = Some(match o {
                            MoveOutcome::Moved { .. } => RepairOutcome::Applied,
                            MoveOutcome::Skipped(r) => {
                                RepairOutcome::Skipped(r.name().replace('_', " "))
                            }
                            MoveOutcome::WrongType(k) => RepairOutcome::Failed(format!(
                                "{} has the wrong type",
                                crate::bytes::escape_bytes(&k)
                            )),
                            MoveOutcome::Error(e) if e.is_refusal() => {
                                RepairOutcome::Refused(e.to_string())
                            }
                            MoveOutcome::Error(e) => RepairOutcome::Failed(e.to_string()),
                        });
                    }
                }
                Err(e) => {
                    let why = format!("{e:#}");
                    for (i, _) in &moves {
                        outcomes[*i] = Some(RepairOutcome::Unknown(why.clone()));
                    }
                }
            }
        }
        // After a call with no reply or a refusal, nothing more is sent.
        let mut stop = false;
        for (si, script) in scripts.iter().enumerate() {
            let mut todo: Vec<usize> = (0..actions.len())
                .filter(|&i| matches!(&parts[i], Some((s, _)) if *s == si))
                .collect();
            while !todo.is_empty() {
                if stop {
                    for &i in &todo {
                        outcomes[i] = Some(RepairOutcome::NotAttempted);
                    }
                    break;
                }
                let (groups, invs): (Vec<CallOf>, Vec<Invocation>) =
                    calls(&todo, &parts, MAX_PER_CALL[si], audit, commons[si])
                        .into_iter()
                        .unzip();
                todo.clear();
                match self.eval_many(script, &invs).await {
                    Ok(replies) => {
                        for (group, r) in groups.iter().zip(replies) {
                            let (outs, rest) = call_outcomes(r, group.len());
                            for (&i, o) in group.iter().zip(outs) {
                                stop |= matches!(o, RepairOutcome::Refused(_));
                                outcomes[i] = Some(o);
                            }
                            match rest {
                                Rest::None => {}
                                // Not run because an action before them failed:
                                // they go again in a call of their own.
                                Rest::Resend(from) => todo.extend(&group[from..]),
                                Rest::Stopped(from) => {
                                    for &i in &group[from..] {
                                        outcomes[i] = Some(RepairOutcome::NotAttempted);
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        let why = format!("{e:#}");
                        for group in &groups {
                            for &i in group {
                                outcomes[i] = Some(RepairOutcome::Unknown(why.clone()));
                            }
                        }
                        stop = true;
                    }
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| RepairOutcome::Unknown("not sent".into())))
            .collect())
    }
}

/// What became of the actions of a call after the ones it reported.
#[derive(Debug, PartialEq)]
enum Rest {
    /// Every action was reported.
    None,
    /// From this position on they were not run (an action before them met
    /// an error that is not a refusal): send them again.
    Resend(usize),
    /// From this position on they were not run, and must not be: the
    /// server refuses writes, or the reply was not understood.
    Stopped(usize),
}

/// One script call's reply (see `scripts/batch.lua`) as the outcomes of
/// the actions it reports, and what became of the rest of its `n` actions.
fn call_outcomes(r: super::Reply, n: usize) -> (Vec<RepairOutcome>, Rest) {
    let v = match r {
        // The call as a whole failed (nothing ran): every action alike.
        Err(e) => return (vec![outcome(Err(e)); n], Rest::None),
        Ok(v) => v,
    };
    let Some(items) = reply::array(&v) else {
        let why = format!("unexpected reply {v:?}");
        return (vec![RepairOutcome::Unknown(why); n], Rest::None);
    };
    let mut outs = Vec::with_capacity(n);
    for item in items.iter().take(n) {
        if let Some((-1, rest)) = code_and_rest(item) {
            let why = rest
                .first()
                .and_then(reply::text)
                .unwrap_or_else(|| "error".into());
            let o = outcome(Err(why.into()));
            let refused = matches!(o, RepairOutcome::Refused(_));
            outs.push(o);
            let from = outs.len();
            let rest = if from == n {
                Rest::None
            } else if refused {
                Rest::Stopped(from)
            } else {
                Rest::Resend(from)
            };
            return (outs, rest);
        }
        outs.push(outcome(Ok(item.clone())));
    }
    if outs.len() < n {
        // A reply this code does not write: what happened to the rest is
        // not known, and a rerun re-reads.
        let from = outs.len();
        outs.extend(std::iter::repeat_n(
            RepairOutcome::Unknown("the reply ended early".into()),
            n - from,
        ));
    }
    (outs, Rest::None)
}

/// A script's reply as an outcome.
pub fn outcome(r: super::Reply) -> RepairOutcome {
    match r {
        Err(e) if e.is_refusal() => RepairOutcome::Refused(e.to_string()),
        Err(e) => RepairOutcome::Failed(e.to_string()),
        Ok(v) => match code_and_rest(&v) {
            Some((1, _)) => RepairOutcome::Applied,
            Some((0, rest)) => {
                let why = rest
                    .first()
                    .and_then(reply::text)
                    .unwrap_or_else(|| "state changed".into());
                // The scripts word a guard that found their own end state
                // "already ...".
                if why.starts_with("already ") {
                    RepairOutcome::AlreadyApplied(why)
                } else {
                    RepairOutcome::Skipped(why)
                }
            }
            _ => RepairOutcome::Failed(format!("unexpected reply {v:?}")),
        },
    }
}

#[cfg(test)]
mod tests;
