//! Writing new jobs: popoto's create() transaction, pipelined in batches, or
//! the guarded enqueue script when an idempotency key or an explicit job_id
//! must be checked atomically with the create.
//!
//! A batch is written to the pipeline as it is built (no per-job copy of
//! what is shared: field names, the class set, zset names, the audit
//! header), and several batches can be in flight at once: the server works
//! on one while the next is built.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use redis::{Cmd, Pipeline, Value};
use tokio::task::JoinHandle;

use super::audit::Audit;
use super::script::{code_and_rest, scripts, Invocation, LuaScript};
use super::{reply, Reply, Store, StoreError};

/// What one create writes that is its own, as bytes built by `schema`. What
/// every job shares is in [`CreateContext`].
#[derive(Debug, Clone, Default)]
pub struct CreateJob {
    pub key: Vec<u8>,
    pub job_id: Vec<u8>,
    /// HSET values, in the order of `CreateContext::fields` (popoto's: see
    /// `Model::hset_order`).
    pub values: Vec<Vec<u8>>,
    /// Each index set: the `$KeyF` sets of the key fields, then the
    /// `$IndexF` set of each indexed field (the class set comes first, from
    /// the context).
    pub index_sets: Vec<Vec<u8>>,
    /// Each indexed field's `$IdxPtr` pointer and its value, the name of the
    /// `$IndexF` set the record joins (popoto 1.10.1's INDEX_SWAP writes).
    pub pointers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The `$IndexF` sets of unique fields (`UniqueField`): no other record
    /// may be in one (popoto's uniqueness rule, checked in the script).
    pub unique_sets: Vec<Vec<u8>>,
    /// (which of `CreateContext::zsets`, score), for each sorted field that
    /// has a value.
    pub scores: Vec<(usize, f64)>,
    /// Keys that must not exist (the job_id under another status).
    pub guard_keys: Vec<Vec<u8>>,
    pub idempotency_key: Option<Vec<u8>>,
    /// What the job gives (its explicit fields), digested: kept beside the
    /// idempotency key, so that the key reused for other content is told
    /// from a retry of the same job.
    pub content_digest: Vec<u8>,
}

impl CreateJob {
    fn needs_script(&self) -> bool {
        self.idempotency_key.is_some()
            || !self.guard_keys.is_empty()
            || !self.unique_sets.is_empty()
    }

    /// Commands of its MULTI/EXEC, both included.
    fn transaction_len(&self) -> usize {
        // MULTI HSET SADD(class) SADD(index)... SET(pointer)... ZADD... XADD EXEC
        5 + self.index_sets.len() + self.pointers.len() + self.scores.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// The idempotency key was claimed before, for the same content; the
    /// key it names.
    Existing(Vec<u8>),
    /// The idempotency key was claimed before for other content: the key
    /// of the job it names. Nothing written.
    IdempotencyConflict(Vec<u8>),
    /// A record for this job_id exists already.
    Conflict(Vec<u8>),
    /// Another record holds this value of a unique field: the set. Nothing
    /// written.
    UniqueConflict(Vec<u8>),
}

/// What a run of creates shares.
pub struct CreateContext {
    /// Field names, in the order popoto leaves them in the hash
    /// (`Model::hset_order`).
    pub fields: Vec<String>,
    fields_len: usize,
    pub class_set: Vec<u8>,
    /// The `$SortF` zset of each sorted field, in declaration order.
    pub zsets: Vec<Vec<u8>>,
    pub audit: Audit,
    pub idempotency_ttl_secs: u64,
    audit_maxlen: String,
    /// Target sets whose type was checked already in this run.
    checked: HashSet<Vec<u8>>,
    script: &'static LuaScript,
    script_loaded: bool,
}

impl CreateContext {
    pub fn new(
        fields: Vec<String>,
        class_set: Vec<u8>,
        zsets: Vec<Vec<u8>>,
        audit: Audit,
        idempotency_ttl_secs: u64,
    ) -> CreateContext {
        CreateContext {
            fields_len: fields.iter().map(String::len).sum(),
            fields,
            class_set,
            zsets,
            audit_maxlen: audit.maxlen.to_string(),
            audit,
            idempotency_ttl_secs,
            checked: HashSet::new(),
            script: &scripts().enqueue,
            script_loaded: false,
        }
    }

    /// The audit entry of one create: the header (see `Audit::header`),
    /// then action, job, key, every field written (`hset.F`). A create by MULTI (a fresh job_id: its key
    /// can be in no set yet) also lists every set and zset it is added to;
    /// the script lists the ones it added itself (see `scripts/enqueue.lua`).
    fn audit_entry(&self, job: &CreateJob, time_ms: &str, scripted: bool) -> Vec<Vec<u8>> {
        let mut e = self.audit.header_at(time_ms);
        for (k, v) in [
            (&b"action"[..], &b"create"[..]),
            (b"job", &job.job_id),
            (b"key", &job.key),
        ] {
            e.push(k.to_vec());
            e.push(v.to_vec());
        }
        for (name, v) in self.fields.iter().zip(&job.values) {
            e.push(format!("hset.{name}").into_bytes());
            e.push(v.clone());
        }
        if !scripted {
            for (i, set) in std::iter::once(&self.class_set)
                .chain(&job.index_sets)
                .enumerate()
            {
                e.push(super::audit::numbered("sadd", i).into_bytes());
                e.push(set.clone());
            }
            pointer_entries(&mut e, job);
            for (i, (z, score)) in job.scores.iter().enumerate() {
                let name = super::audit::numbered("zadd", i);
                e.push(name.clone().into_bytes());
                e.push(self.zsets[*z].clone());
                e.push(format!("{name}.score").into_bytes());
                e.push(score_text(*score).into_bytes());
            }
        }
        e
    }
}

/// A create's pointers in its audit entry: `pointer.N` the key, and
/// `pointer.N.value` what it was set to (no `.before`: it did not exist).
fn pointer_entries(e: &mut Vec<Vec<u8>>, job: &CreateJob) {
    for (i, (ptr, value)) in job.pointers.iter().enumerate() {
        let name = super::audit::numbered("pointer", i);
        e.push(name.clone().into_bytes());
        e.push(ptr.clone());
        e.push(format!("{name}.value").into_bytes());
        e.push(value.clone());
    }
}

/// Where one job's outcome is in the pipeline's replies.
struct Slot {
    /// The reply holding the outcome (EXEC's, or the script's).
    reply: usize,
    /// Commands of its transaction (0 for a script).
    cmds: usize,
    /// A scripted job, kept to send again if the server forgot the script.
    scripted: Option<CreateJob>,
}

/// Jobs being written as one pipeline.
pub struct CreateBatch {
    pipe: Pipeline,
    slots: Vec<Slot>,
    /// Record keys, one per job, in order.
    keys: Vec<Vec<u8>>,
    /// Sets and zsets not yet type-checked in this run, with the type each
    /// must be.
    targets: Vec<(Vec<u8>, &'static str)>,
    target_seen: HashSet<Vec<u8>>,
    replies: usize,
}

impl Default for CreateBatch {
    fn default() -> Self {
        CreateBatch::new()
    }
}

impl CreateBatch {
    pub fn new() -> CreateBatch {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        CreateBatch {
            pipe,
            slots: Vec::new(),
            keys: Vec::new(),
            targets: Vec::new(),
            target_seen: HashSet::new(),
            replies: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Add one job: popoto's MULTI, HSET, SADD..., ZADD..., EXEC (with the
    /// audit entry's XADD before EXEC), or the guarded script.
    pub fn push(&mut self, ctx: &CreateContext, job: CreateJob) {
        // The class set and the zsets are the same for every job: see
        // send_batch.
        for s in &job.index_sets {
            self.target(ctx, s, "set");
        }
        let time_ms = now_ms();
        if job.needs_script() {
            let inv = invocation(ctx, &job, &time_ms);
            push_eval(&mut self.pipe, ctx.script, &inv);
            self.slots.push(Slot {
                reply: self.replies,
                cmds: 0,
                scripted: None,
            });
            self.replies += 1;
            self.keys.push(job.key.clone());
            if let Some(s) = self.slots.last_mut() {
                s.scripted = Some(job);
            }
            return;
        }
        let key = job.key.as_slice();
        let pipe = &mut self.pipe;
        // Each command sized up front: growing a command's buffer argument
        // by argument was a good part of the client's time.
        let at = |args: usize, bytes: usize| Cmd::with_capacity(args, bytes + 16 * args);
        pipe.add_command(at(1, 5)).arg("MULTI");
        let values: usize = job.values.iter().map(Vec::len).sum();
        pipe.add_command(at(
            2 + 2 * job.values.len(),
            ctx.fields_len + values + key.len(),
        ))
        .arg("HSET")
        .arg(key);
        for (name, v) in ctx.fields.iter().zip(&job.values) {
            pipe.arg(name.as_str()).arg(v.as_slice());
        }
        for s in std::iter::once(&ctx.class_set).chain(&job.index_sets) {
            pipe.add_command(at(3, 4 + s.len() + key.len()))
                .arg("SADD")
                .arg(s.as_slice())
                .arg(key);
        }
        for (ptr, value) in &job.pointers {
            pipe.add_command(at(3, 3 + ptr.len() + value.len()))
                .arg("SET")
                .arg(ptr.as_slice())
                .arg(value.as_slice());
        }
        for (z, score) in &job.scores {
            let z = &ctx.zsets[*z];
            pipe.add_command(at(4, 28 + z.len() + key.len()))
                .arg("ZADD")
                .arg(z.as_slice())
                .arg(score_text(*score))
                .arg(key);
        }
        let entry = ctx.audit_entry(&job, &time_ms, false);
        let entry_len: usize = entry.iter().map(|a| a.len()).sum();
        pipe.add_command(at(6 + entry.len(), 32 + ctx.audit.stream.len() + entry_len))
            .arg("XADD")
            .arg(ctx.audit.stream.as_slice())
            .arg("MAXLEN")
            .arg("~")
            .arg(ctx.audit_maxlen.as_str())
            .arg("*");
        for a in entry {
            pipe.arg(a);
        }
        pipe.add_command(at(1, 4)).arg("EXEC");
        let cmds = job.transaction_len();
        self.slots.push(Slot {
            reply: self.replies + cmds - 1,
            cmds,
            scripted: None,
        });
        self.replies += cmds;
        self.keys.push(job.key);
    }

    fn target(&mut self, ctx: &CreateContext, key: &[u8], want: &'static str) {
        if !ctx.checked.contains(key) && !self.target_seen.contains(key) {
            self.target_seen.insert(key.to_vec());
            self.targets.push((key.to_vec(), want));
        }
    }
}

/// A batch sent and not yet answered.
pub struct PendingBatch {
    replies: JoinHandle<Result<Vec<Reply>>>,
    slots: Vec<Slot>,
    keys: Vec<Vec<u8>>,
}

impl PendingBatch {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl Store {
    /// Send a batch without waiting for its replies (see
    /// [`Store::finish_batch`]). Targets of the wrong Redis type are refused
    /// before anything of the batch is sent.
    pub async fn send_batch(
        &mut self,
        ctx: &mut CreateContext,
        batch: CreateBatch,
    ) -> Result<PendingBatch> {
        let CreateBatch {
            mut pipe,
            slots,
            keys,
            mut targets,
            ..
        } = batch;
        targets.push((ctx.class_set.clone(), "set"));
        targets.extend(ctx.zsets.iter().map(|z| (z.clone(), "zset")));
        // The audit entry is the last write of each create: a stream of the
        // wrong type would fail it after the record was written, and exit 3
        // must mean nothing was written.
        targets.push((ctx.audit.stream.clone(), "stream"));
        self.check_target_types(ctx, targets).await?;
        // The run's start entry, after the checks: a refused run writes nothing.
        self.open_run(&ctx.audit).await?;
        if !ctx.script_loaded && slots.iter().any(|s| s.scripted.is_some()) {
            // Once per run: a server that forgets it meanwhile answers
            // NOSCRIPT, and those jobs are sent again (finish_batch). Not
            // left to that path: the guarded creates share a pipeline with
            // the plain ones, and each would be written after them.
            self.load_script(ctx.script).await?;
            ctx.script_loaded = true;
        }
        let mut store = self.clone();
        let replies =
            tokio::spawn(async move { store.pipeline(&mut pipe).await.context("writing jobs") });
        Ok(PendingBatch {
            replies,
            slots,
            keys,
        })
    }

    /// Wait for a sent batch: its record keys and each job's outcome, in
    /// order.
    pub async fn finish_batch(
        &mut self,
        ctx: &CreateContext,
        batch: PendingBatch,
    ) -> Result<Vec<(Vec<u8>, CreateOutcome)>> {
        let PendingBatch {
            replies,
            slots,
            keys,
        } = batch;
        let mut replies = replies.await.map_err(|e| anyhow!("writing jobs: {e}"))??;
        // The server forgot the script (a restart, SCRIPT FLUSH): those
        // creates did not run; send them again (`eval_many` loads the
        // script when it meets NOSCRIPT).
        let lost: Vec<usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.scripted.is_some()
                    && matches!(replies.get(s.reply), Some(Err(e)) if e.is_noscript())
            })
            .map(|(j, _)| j)
            .collect();
        if !lost.is_empty() {
            let time_ms = now_ms();
            let calls: Vec<Invocation> = lost
                .iter()
                .filter_map(|&j| slots[j].scripted.as_ref())
                .map(|job| invocation(ctx, job, &time_ms))
                .collect();
            let again = self.eval_many(ctx.script, &calls).await?;
            for (&j, r) in lost.iter().zip(again) {
                if let Some(slot) = replies.get_mut(slots[j].reply) {
                    *slot = r;
                }
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for (key, slot) in keys.into_iter().zip(&slots) {
            let i = slot.reply;
            let mut r = replies
                .get_mut(i)
                .map(|r| std::mem::replace(r, Err(StoreError::unexpected(""))))
                .unwrap_or_else(|| Err("missing reply".into()));
            let scripted = slot.scripted.is_some();
            let digest = slot.scripted.as_ref().map(|j| j.content_digest.as_slice());
            if !scripted && matches!(&r, Err(StoreError::ExecAbort(_))) {
                // Say why the transaction was discarded (NOPERM, OOM...):
                // the first refusal among its queued commands.
                let queued = i + 1 - slot.cmds..i;
                if let Some(why) = queued.filter_map(|q| replies.get(q)?.clone().err()).next() {
                    r = Err(why);
                }
            }
            let o = outcome(&key, r, scripted, digest)?;
            out.push((key, o));
        }
        Ok(out)
    }

    async fn check_target_types(
        &mut self,
        ctx: &mut CreateContext,
        todo: Vec<(Vec<u8>, &'static str)>,
    ) -> Result<()> {
        let todo: Vec<_> = todo
            .into_iter()
            .filter(|(k, _)| !ctx.checked.contains(k))
            .collect();
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
            let t = match r {
                Ok(v) => reply::text(&v).ok_or_else(|| {
                    anyhow!(
                        "TYPE {}: unexpected reply {v:?}",
                        crate::bytes::escape_bytes(&k)
                    )
                })?,
                Err(e) => bail!("TYPE {}: {e}", crate::bytes::escape_bytes(&k)),
            };
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

fn now_ms() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

fn push_eval(pipe: &mut Pipeline, script: &LuaScript, inv: &Invocation) {
    let cmd = pipe
        .cmd("EVALSHA")
        .arg(script.sha.as_str())
        .arg(inv.keys.len());
    for k in &inv.keys {
        cmd.arg(k.as_slice());
    }
    for a in &inv.args {
        cmd.arg(a.as_slice());
    }
}

fn invocation(ctx: &CreateContext, job: &CreateJob, time_ms: &str) -> Invocation {
    let stream = &ctx.audit.stream;
    let mut keys = vec![
        job.key.clone(),
        stream.clone(),
        // Unused without an idempotency key, but still checked by ACLs: an
        // empty key name would need `~*`, so name one of jobq's own keys.
        job.idempotency_key
            .clone()
            .unwrap_or_else(|| stream.clone()),
        ctx.class_set.clone(),
    ];
    keys.extend(job.index_sets.iter().cloned());
    keys.extend(job.scores.iter().map(|(z, _)| ctx.zsets[*z].clone()));
    keys.extend(job.guard_keys.iter().cloned());
    keys.extend(job.pointers.iter().map(|(p, _)| p.clone()));
    keys.extend(job.unique_sets.iter().cloned());
    let mut args: Vec<Vec<u8>> = vec![
        if job.idempotency_key.is_some() {
            job.content_digest.clone()
        } else {
            b"0".to_vec()
        },
        ctx.idempotency_ttl_secs.max(1).to_string().into_bytes(),
        ctx.audit_maxlen.clone().into_bytes(),
        (1 + job.index_sets.len()).to_string().into_bytes(),
        job.scores.len().to_string().into_bytes(),
        job.guard_keys.len().to_string().into_bytes(),
        job.values.len().to_string().into_bytes(),
        job.pointers.len().to_string().into_bytes(),
        job.unique_sets.len().to_string().into_bytes(),
    ];
    for (f, v) in ctx.fields.iter().zip(&job.values) {
        args.push(f.as_bytes().to_vec());
        args.push(v.clone());
    }
    args.extend(job.scores.iter().map(|(_, s)| score_text(*s).into_bytes()));
    args.extend(job.pointers.iter().map(|(_, v)| v.clone()));
    args.extend(ctx.audit_entry(job, time_ms, true));
    Invocation { keys, args }
}

/// A score as Redis reads it back exactly (shortest round-trip form).
pub fn score_text(score: f64) -> String {
    format!("{score}")
}

/// A claimed idempotency key's value: the record key, then (since the
/// content digest was kept) a newline and the digest.
fn claimed(value: &[u8]) -> (Vec<u8>, Option<&[u8]>) {
    match value.iter().position(|&b| b == b'\n') {
        Some(i) => (value[..i].to_vec(), Some(&value[i + 1..])),
        None => (value.to_vec(), None),
    }
}

/// The digest of what a job gives, as the script stores it (never `0`,
/// which means "no idempotency key").
pub fn content_digest(given: &[u8]) -> Vec<u8> {
    format!("sha1:{}", sha1_smol::Sha1::from(given).digest()).into_bytes()
}

fn outcome(key: &[u8], r: Reply, scripted: bool, digest: Option<&[u8]>) -> Result<CreateOutcome> {
    let key = || crate::bytes::escape_bytes(key);
    let v = r.map_err(|e| anyhow!("creating {}: {e}", key()))?;
    if !scripted {
        // EXEC: an array of replies, or nil when the transaction was aborted.
        let items =
            reply::array(&v).with_context(|| format!("creating {}: transaction aborted", key()))?;
        if let Some(e) = items.iter().find_map(reply::is_error) {
            bail!("creating {}: {e}", key());
        }
        return Ok(CreateOutcome::Created);
    }
    let (code, rest) =
        code_and_rest(&v).with_context(|| format!("creating {}: unexpected reply {v:?}", key()))?;
    let other = rest.first().and_then(reply::bytes).unwrap_or_default();
    match code {
        1 => Ok(CreateOutcome::Created),
        0 => {
            let (record, stored) = claimed(&other);
            // A claim from before digests were kept cannot be compared.
            match (stored, digest) {
                (Some(a), Some(b)) if a != b => Ok(CreateOutcome::IdempotencyConflict(record)),
                _ => Ok(CreateOutcome::Existing(record)),
            }
        }
        2 => Ok(CreateOutcome::Conflict(other)),
        4 => Ok(CreateOutcome::UniqueConflict(other)),
        3 => bail!(
            "{} has the wrong type: refusing to write {}",
            crate::bytes::escape_bytes(&other),
            key()
        ),
        _ => bail!(
            "creating {}: unexpected reply {:?}",
            key(),
            Value::Int(code)
        ),
    }
}
