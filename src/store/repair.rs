//! Applying a repair plan: each action is one guarded Lua script that
//! re-reads the state the plan saw and does nothing (`skipped`) when it
//! changed. Actions go out as pipelined EVALSHA in batches.
//!
//! A batch whose reply did not arrive (a timeout, a dropped connection) has
//! an unknown outcome: it is reported as such, never sent again; a rerun
//! re-reads and its guards make that safe.

use anyhow::{Context, Result};
use serde::Serialize;

use super::audit::Audit;
use super::moves::{MoveOutcome, MoveRecord};
use super::script::{code_and_rest, Invocation, LuaScript};
use super::{reply, Store};
use crate::bytes::Bytes;
use crate::plan::{Action, Step};

pub fn reconcile_script() -> LuaScript {
    LuaScript::new("reconcile", include_str!("scripts/reconcile.lua"))
}
pub fn remove_ghost_script() -> LuaScript {
    LuaScript::new("remove_ghost", include_str!("scripts/remove_ghost.lua"))
}
pub fn remove_record_script() -> LuaScript {
    LuaScript::new("remove_record", include_str!("scripts/remove_record.lua"))
}

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
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
    /// Not sent: an earlier batch's outcome was unknown, so the run stopped.
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

/// The script and invocation for one action; `None` for [`Step::Move`],
/// which goes through the shared move script (`store::moves`).
fn invocation(action: &Action, audit: &Audit, status_field: &str) -> Option<(usize, Invocation)> {
    let key = action.key.0.clone();
    let job = action.job_id.clone().unwrap_or_default();
    let entry = |what: &str| {
        audit.entry(&[
            ("action", what.as_bytes()),
            ("kind", action.kind.name().as_bytes()),
            ("job", job.as_bytes()),
            ("key", &key),
        ])
    };
    let maxlen = n(audit.maxlen as usize);
    match &action.step {
        Step::Reconcile {
            expect_status,
            restore,
            overwrite,
            sadd,
            srem,
            zadd,
        } => {
            let mut k = vec![key.clone(), audit.stream.clone()];
            k.extend(keys(sadd));
            k.extend(keys(srem));
            k.extend(zadd.iter().map(|(z, _)| z.0.clone()));
            let mut a = vec![
                b(status_field.as_bytes()),
                b(if expect_status.is_some() { b"1" } else { b"0" }),
                expect_status
                    .as_ref()
                    .map(|s| s.0.clone())
                    .unwrap_or_default(),
                maxlen,
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
            let mut k = vec![key.clone(), audit.stream.clone()];
            k.extend(keys(srem));
            k.extend(keys(zrem));
            let mut a = vec![maxlen, n(srem.len()), n(zrem.len())];
            a.extend(entry("remove_ghost"));
            Some((1, Invocation { keys: k, args: a }))
        }
        Step::RemoveDuplicate { keep, srem, zrem } => {
            let mut k = vec![key.clone(), keep.0.clone(), audit.stream.clone()];
            k.extend(keys(srem));
            k.extend(keys(zrem));
            let mut a = vec![maxlen, n(srem.len()), n(zrem.len())];
            a.extend(entry("remove_duplicate"));
            a.push(b(b"kept"));
            a.push(keep.0.clone());
            Some((2, Invocation { keys: k, args: a }))
        }
        Step::Move { .. } => None,
    }
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
pub struct InFlightApply(tokio::task::JoinHandle<Result<Vec<Outcome>>>);

impl InFlightApply {
    /// The batch's outcomes, one per action, in order.
    pub async fn outcomes(self) -> Result<Vec<Outcome>> {
        self.0.await.context("a repair task failed")?
    }
}

impl Store {
    /// [`Store::apply`], sent at once by a task of its own, so that the next
    /// batch can be built while this one runs.
    pub fn apply_in_flight(
        &self,
        actions: Vec<Action>,
        audit: &Audit,
        status_field: &str,
    ) -> InFlightApply {
        let mut store = self.clone();
        let audit = audit.clone();
        let field = status_field.to_owned();
        InFlightApply(tokio::spawn(async move {
            let refs: Vec<&Action> = actions.iter().collect();
            store.apply(&refs, &audit, &field).await
        }))
    }

    /// Load every repair script (before the first batch, so that EVALSHA
    /// finds them; `eval_many` reloads after a server restart).
    pub async fn load_repair_scripts(&mut self) -> Result<()> {
        for s in [
            reconcile_script(),
            remove_ghost_script(),
            remove_record_script(),
        ] {
            self.load_script(&s).await?;
        }
        Ok(())
    }

    /// Apply a batch of actions; one outcome per action, in order.
    pub async fn apply(
        &mut self,
        actions: &[&Action],
        audit: &Audit,
        status_field: &str,
    ) -> Result<Vec<Outcome>> {
        let scripts = [
            reconcile_script(),
            remove_ghost_script(),
            remove_record_script(),
        ];
        let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
        let mut by_script: [Vec<(usize, Invocation)>; 3] = Default::default();
        let mut moves: Vec<(usize, MoveRecord)> = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            match invocation(a, audit, status_field) {
                Some((s, inv)) => by_script[s].push((i, inv)),
                None => {
                    if let Some(m) = move_record(a, audit, status_field) {
                        moves.push((i, m));
                    }
                }
            }
        }
        if !moves.is_empty() {
            match self.move_records(moves.iter().map(|(_, m)| m)).await {
                Ok(outs) => {
                    for ((i, _), o) in moves.iter().zip(outs) {
                        outcomes[*i] = Some(match o {
                            MoveOutcome::Moved { .. } => Outcome::Applied,
                            MoveOutcome::Skipped(r) => Outcome::Skipped(r.name().replace('_', " ")),
                            MoveOutcome::WrongType(k) => Outcome::Failed(format!(
                                "{} has the wrong type",
                                crate::bytes::escape_bytes(&k)
                            )),
                            MoveOutcome::Error(e) if super::is_refusal(&e) => Outcome::Refused(e),
                            MoveOutcome::Error(e) => Outcome::Failed(e),
                        });
                    }
                }
                Err(e) => {
                    let why = format!("{e:#}");
                    for (i, _) in &moves {
                        outcomes[*i] = Some(Outcome::Unknown(why.clone()));
                    }
                }
            }
        }
        // After a batch with no reply or a refusal, nothing more is sent.
        let mut stop = false;
        for (script, calls) in scripts.iter().zip(by_script) {
            if calls.is_empty() {
                continue;
            }
            if stop {
                for (i, _) in &calls {
                    outcomes[*i] = Some(Outcome::NotAttempted);
                }
                continue;
            }
            let invs: Vec<Invocation> = calls.iter().map(|(_, inv)| inv.clone()).collect();
            match self.eval_many(script, &invs).await {
                Ok(replies) => {
                    for ((i, _), r) in calls.iter().zip(replies) {
                        let o = outcome(r);
                        stop |= matches!(o, Outcome::Refused(_));
                        outcomes[*i] = Some(o);
                    }
                }
                Err(e) => {
                    let why = format!("{e:#}");
                    for (i, _) in &calls {
                        outcomes[*i] = Some(Outcome::Unknown(why.clone()));
                    }
                    stop = true;
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Unknown("not sent".into())))
            .collect())
    }
}

/// A script's reply as an outcome.
pub fn outcome(r: super::Reply) -> Outcome {
    match r {
        Err(e) if super::is_refusal(&e) => Outcome::Refused(e),
        Err(e) => Outcome::Failed(e),
        Ok(v) => match code_and_rest(&v) {
            Some((1, _)) => Outcome::Applied,
            Some((0, rest)) => {
                let why = rest
                    .first()
                    .and_then(reply::text)
                    .unwrap_or_else(|| "state changed".into());
                // The scripts word a guard that found their own end state
                // "already ...".
                if why.starts_with("already ") {
                    Outcome::AlreadyApplied(why)
                } else {
                    Outcome::Skipped(why)
                }
            }
            _ => Outcome::Failed(format!("unexpected reply {v:?}")),
        },
    }
}
