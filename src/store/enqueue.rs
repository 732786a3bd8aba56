//! Writing new jobs: popoto's create() transaction, pipelined in batches, or
//! the guarded enqueue script when an idempotency key or an explicit job_id
//! must be checked atomically with the create.

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use redis::Value;

use super::script::{code_and_rest, is_noscript, Invocation, LuaScript};
use super::{reply, Store};

pub fn script() -> LuaScript {
    LuaScript::new("enqueue", include_str!("scripts/enqueue.lua"))
}

/// Everything one create writes, as bytes, built by `schema`.
#[derive(Debug, Clone)]
pub struct CreateJob {
    pub key: Vec<u8>,
    /// HSET pairs in declaration order.
    pub fields: Vec<(String, Vec<u8>)>,
    /// Class set, then each key-field index.
    pub sets: Vec<Vec<u8>>,
    pub zsets: Vec<(Vec<u8>, f64)>,
    /// Keys that must not exist (the job_id under another status).
    pub guard_keys: Vec<Vec<u8>>,
    pub idempotency_key: Option<Vec<u8>>,
    /// XADD field/value list for the audit stream.
    pub audit: Vec<Vec<u8>>,
}

impl CreateJob {
    fn needs_script(&self) -> bool {
        self.idempotency_key.is_some() || !self.guard_keys.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// The idempotency key was claimed before; the key it names.
    Existing(Vec<u8>),
    /// A record for this job_id exists already.
    Conflict(Vec<u8>),
}

/// Settings shared by a run of creates.
pub struct CreateContext {
    pub audit_stream: Vec<u8>,
    pub audit_maxlen: u64,
    pub idempotency_ttl_secs: u64,
    /// Target sets whose type was checked already in this run.
    pub checked: HashSet<Vec<u8>>,
}

impl Store {
    /// Create a batch of jobs in one round trip. Targets of the wrong Redis
    /// type are refused before anything is written.
    pub async fn create_jobs(
        &mut self,
        ctx: &mut CreateContext,
        jobs: &[CreateJob],
    ) -> Result<Vec<CreateOutcome>> {
        self.check_target_types(ctx, jobs).await?;
        let script = script();
        if jobs.iter().any(CreateJob::needs_script) {
            self.load_script(&script).await?;
        }
        let mut pipe = redis::pipe();
        // Which pipeline reply holds each job's outcome.
        let mut at = Vec::with_capacity(jobs.len());
        let mut n = 0usize;
        for job in jobs {
            if job.needs_script() {
                let inv = invocation(ctx, job);
                let cmd = pipe.cmd("EVALSHA").arg(&script.sha).arg(inv.keys.len());
                for k in &inv.keys {
                    cmd.arg(k.as_slice());
                }
                for a in &inv.args {
                    cmd.arg(a.as_slice());
                }
                at.push((n, true));
                n += 1;
            } else {
                // popoto's create(): MULTI, HSET, SADD..., ZADD..., EXEC.
                pipe.cmd("MULTI");
                let h = pipe.cmd("HSET").arg(job.key.as_slice());
                for (f, v) in &job.fields {
                    h.arg(f.as_str()).arg(v.as_slice());
                }
                for s in &job.sets {
                    pipe.cmd("SADD").arg(s.as_slice()).arg(job.key.as_slice());
                }
                for (z, score) in &job.zsets {
                    pipe.cmd("ZADD")
                        .arg(z.as_slice())
                        .arg(score_text(*score))
                        .arg(job.key.as_slice());
                }
                let x = pipe
                    .cmd("XADD")
                    .arg(ctx.audit_stream.as_slice())
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(ctx.audit_maxlen)
                    .arg("*");
                for a in &job.audit {
                    x.arg(a.as_slice());
                }
                pipe.cmd("EXEC");
                let cmds = 4 + job.sets.len() + job.zsets.len();
                at.push((n + cmds - 1, false));
                n += cmds;
            }
        }
        let mut replies = self.pipeline(&mut pipe).await.context("writing jobs")?;
        // The server forgot the script (a restart, SCRIPT FLUSH): those
        // creates did not run; send them again, reloading the script.
        let lost: Vec<usize> = at
            .iter()
            .enumerate()
            .filter(|(_, (i, scripted))| {
                *scripted && matches!(replies.get(*i), Some(Err(e)) if is_noscript(e))
            })
            .map(|(j, _)| j)
            .collect();
        if !lost.is_empty() {
            let calls: Vec<Invocation> = lost.iter().map(|&j| invocation(ctx, &jobs[j])).collect();
            let again = self.eval_many(&script, &calls).await?;
            for (&j, r) in lost.iter().zip(again) {
                replies[at[j].0] = r;
            }
        }
        let mut out = Vec::with_capacity(jobs.len());
        for (job, (i, scripted)) in jobs.iter().zip(at) {
            let mut r = replies
                .get(i)
                .cloned()
                .unwrap_or_else(|| Err("missing reply".into()));
            if !scripted && matches!(&r, Err(e) if e.starts_with("EXECABORT")) {
                // Say why the transaction was discarded (NOPERM, OOM...):
                // the first refusal among its queued commands.
                let queued = i + 1 - (4 + job.sets.len() + job.zsets.len())..i;
                if let Some(why) = queued.filter_map(|q| replies.get(q)?.clone().err()).next() {
                    r = Err(why);
                }
            }
            out.push(outcome(job, r, scripted)?);
        }
        Ok(out)
    }

    async fn check_target_types(
        &mut self,
        ctx: &mut CreateContext,
        jobs: &[CreateJob],
    ) -> Result<()> {
        let mut todo: Vec<(Vec<u8>, &'static str)> = Vec::new();
        let mut seen = HashSet::new();
        for job in jobs {
            for s in &job.sets {
                if !ctx.checked.contains(s) && seen.insert(s.clone()) {
                    todo.push((s.clone(), "set"));
                }
            }
            for (z, _) in &job.zsets {
                if !ctx.checked.contains(z) && seen.insert(z.clone()) {
                    todo.push((z.clone(), "zset"));
                }
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (k, _) in &todo {
            pipe.cmd("TYPE").arg(k.as_slice());
        }
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("checking key types")?;
        for ((k, want), r) in todo.into_iter().zip(replies) {
            let t = r.ok().and_then(|v| reply::text(&v)).unwrap_or_default();
            if t != want && t != "none" {
                bail!(
                    "{} is a {t}, not a {want}: refusing to write any job (fix or remove that key first)",
                    crate::bytes::escape_bytes(&k)
                );
            }
            ctx.checked.insert(k);
        }
        Ok(())
    }
}

fn invocation(ctx: &CreateContext, job: &CreateJob) -> Invocation {
    let mut keys = vec![
        job.key.clone(),
        ctx.audit_stream.clone(),
        // Unused without an idempotency key, but still checked by ACLs: an
        // empty key name would need `~*`, so name one of jobq's own keys.
        job.idempotency_key
            .clone()
            .unwrap_or_else(|| ctx.audit_stream.clone()),
    ];
    keys.extend(job.sets.iter().cloned());
    keys.extend(job.zsets.iter().map(|(z, _)| z.clone()));
    keys.extend(job.guard_keys.iter().cloned());
    let mut args: Vec<Vec<u8>> = vec![
        if job.idempotency_key.is_some() {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        },
        ctx.idempotency_ttl_secs.max(1).to_string().into_bytes(),
        ctx.audit_maxlen.to_string().into_bytes(),
        job.sets.len().to_string().into_bytes(),
        job.zsets.len().to_string().into_bytes(),
        job.guard_keys.len().to_string().into_bytes(),
        job.fields.len().to_string().into_bytes(),
    ];
    for (f, v) in &job.fields {
        args.push(f.as_bytes().to_vec());
        args.push(v.clone());
    }
    args.extend(job.zsets.iter().map(|(_, s)| score_text(*s).into_bytes()));
    args.extend(job.audit.iter().cloned());
    Invocation { keys, args }
}

/// A score as Redis reads it back exactly (shortest round-trip form).
pub fn score_text(score: f64) -> String {
    format!("{score}")
}

fn outcome(job: &CreateJob, r: super::Reply, scripted: bool) -> Result<CreateOutcome> {
    let key = crate::bytes::escape_bytes(&job.key);
    let v = r.map_err(|e| anyhow::anyhow!("creating {key}: {e}"))?;
    if !scripted {
        // EXEC: an array of replies, or nil when the transaction was aborted.
        let items =
            reply::array(&v).with_context(|| format!("creating {key}: transaction aborted"))?;
        if let Some(e) = items.iter().find_map(reply::is_error) {
            bail!("creating {key}: {e}");
        }
        return Ok(CreateOutcome::Created);
    }
    let (code, rest) =
        code_and_rest(&v).with_context(|| format!("creating {key}: unexpected reply {v:?}"))?;
    let other = rest.first().and_then(reply::bytes).unwrap_or_default();
    match code {
        1 => Ok(CreateOutcome::Created),
        0 => Ok(CreateOutcome::Existing(other)),
        2 => Ok(CreateOutcome::Conflict(other)),
        3 => bail!(
            "{} has the wrong type: refusing to write {key}",
            crate::bytes::escape_bytes(&other)
        ),
        _ => bail!("creating {key}: unexpected reply {:?}", Value::Int(code)),
    }
}
