//! Guarded Lua scripts, sent as pipelined EVALSHA. A server that restarted
//! has forgotten its scripts: a NOSCRIPT reply means the script did not run,
//! so the script is loaded again and only those invocations are re-sent.
//! Any other failure (a timeout above all) leaves the outcome unknown and is
//! returned as such: callers re-read instead of re-sending.
//!
//! Owns: the one registry of jobq's scripts ([`scripts`]): each is named and
//! its source assembled (shared parts prepended) here, once, and every
//! caller takes it from here. Must not: build a script's keys or arguments
//! (each request does, beside the parser of its reply).

use std::sync::OnceLock;

use anyhow::{Context, Result};
use redis::Value;

use super::{Reply, Store};

/// One Lua script of `store/scripts/`.
#[derive(Debug, Clone)]
pub struct LuaScript {
    pub name: &'static str,
    pub source: &'static str,
    pub sha: String,
}

impl LuaScript {
    fn new(name: &'static str, source: &'static str) -> LuaScript {
        let sha = redis::Script::new(source).get_hash().to_owned();
        LuaScript { name, source, sha }
    }
}

/// A script's source: the named files of `scripts/`, in order, as one text.
macro_rules! lua {
    ($($file:literal),+ $(,)?) => {
        concat!($(include_str!(concat!("scripts/", $file))),+)
    };
}

/// Every Lua script jobq runs. The name is the one errors and the audit
/// context give ("running the move script"). Every script that writes the
/// queue's data or a user may be refused starts with `acl.lua`, the one
/// permission check; the repair scripts end with `batch.lua`. reap_note,
/// reap_prune, lock_acquire and lock_extend each write one of jobq's own
/// keys with one command: a refusal there writes nothing, so they need not
/// ask first.
#[derive(Debug)]
pub struct Scripts {
    /// A guarded create (`enqueue` with an idempotency key or a job_id).
    pub enqueue: LuaScript,
    /// A record moved to another key (reap, reindex).
    pub move_record: LuaScript,
    /// An indexed status changed in place (reap, retry of the indexed
    /// layout).
    pub index_swap: LuaScript,
    /// The repair scripts, each a batch of actions (`batch.lua` appended).
    pub reconcile: LuaScript,
    pub remove_ghost: LuaScript,
    pub remove_record: LuaScript,
    /// The indexed status layout's repairs: a live record's memberships and
    /// pointer, and the pointers a gone record left.
    pub repoint: LuaScript,
    pub remove_pointers: LuaScript,
    /// A job deleted popoto-style (`delete`).
    pub delete_record: LuaScript,
    /// One guarded step of `undo`.
    pub undo: LuaScript,
    /// A batch of jobs deleted popoto-style, one audit entry (`prune`).
    pub prune_batch: LuaScript,
    /// A record re-created from a backup (`restore`, `undo`).
    pub restore_record: LuaScript,
    /// reap's bookkeeping and its lock.
    pub reap_note: LuaScript,
    pub reap_prune: LuaScript,
    pub lock_acquire: LuaScript,
    pub lock_extend: LuaScript,
    pub lock_release: LuaScript,
}

impl Scripts {
    fn build() -> Scripts {
        Scripts {
            enqueue: LuaScript::new("enqueue", lua!("acl.lua", "entry.lua", "enqueue.lua")),
            move_record: LuaScript::new("move", lua!("acl.lua", "move.lua")),
            index_swap: LuaScript::new("index_swap", lua!("acl.lua", "index_swap.lua")),
            reconcile: LuaScript::new(
                "reconcile",
                lua!("acl.lua", "entry.lua", "reconcile.lua", "batch.lua"),
            ),
            remove_ghost: LuaScript::new(
                "remove_ghost",
                lua!("acl.lua", "entry.lua", "remove_ghost.lua", "batch.lua"),
            ),
            remove_record: LuaScript::new(
                "remove_record",
                lua!("acl.lua", "entry.lua", "remove_record.lua", "batch.lua"),
            ),
            repoint: LuaScript::new(
                "repoint",
                lua!("acl.lua", "entry.lua", "repoint.lua", "batch.lua"),
            ),
            remove_pointers: LuaScript::new(
                "remove_pointers",
                lua!("acl.lua", "entry.lua", "remove_pointers.lua", "batch.lua"),
            ),
            delete_record: LuaScript::new(
                "delete_record",
                lua!("acl.lua", "entry.lua", "delete_record.lua"),
            ),
            undo: LuaScript::new("undo", lua!("acl.lua", "undo.lua")),
            prune_batch: LuaScript::new(
                "prune_batch",
                lua!("acl.lua", "entry.lua", "prune_batch.lua"),
            ),
            restore_record: LuaScript::new(
                "restore_record",
                lua!("acl.lua", "entry.lua", "restore_record.lua"),
            ),
            reap_note: LuaScript::new("reap_note", lua!("reap_note.lua")),
            reap_prune: LuaScript::new("reap_prune", lua!("reap_prune.lua")),
            lock_acquire: LuaScript::new("lock_acquire", lua!("lock_acquire.lua")),
            lock_extend: LuaScript::new("lock_extend", lua!("lock_extend.lua")),
            lock_release: LuaScript::new("lock_release", lua!("acl.lua", "lock_release.lua")),
        }
    }

    /// The repair scripts, in the order of [`super::repair::MAX_PER_CALL`].
    pub fn repairs(&self) -> [&LuaScript; 5] {
        [
            &self.reconcile,
            &self.remove_ghost,
            &self.remove_record,
            &self.repoint,
            &self.remove_pointers,
        ]
    }

    /// reap's own scripts (the move script aside).
    pub fn reap(&self) -> [&LuaScript; 5] {
        [
            &self.reap_note,
            &self.reap_prune,
            &self.lock_acquire,
            &self.lock_extend,
            &self.lock_release,
        ]
    }
}

/// The registry, its sources hashed on first use.
pub fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(Scripts::build)
}

/// One call of a script: its keys and arguments, as bytes.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub keys: Vec<Vec<u8>>,
    pub args: Vec<Vec<u8>>,
}

impl Store {
    /// `SCRIPT LOAD`, so that EVALSHA finds it.
    pub async fn load_script(&mut self, script: &LuaScript) -> Result<()> {
        let sha: String = self
            .query(redis::cmd("SCRIPT").arg("LOAD").arg(script.source))
            .await
            .with_context(|| format!("cannot load the {} script", script.name))?;
        if sha != script.sha {
            anyhow::bail!(
                "the server hashed the {} script differently ({sha})",
                script.name
            );
        }
        Ok(())
    }

    /// Run many invocations of one script in one pipeline. The replies are in
    /// invocation order; a per-invocation error stays in its reply.
    pub async fn eval_many(
        &mut self,
        script: &LuaScript,
        calls: &[Invocation],
    ) -> Result<Vec<Reply>> {
        let mut replies = self
            .send_evals(script, calls, (0..calls.len()).collect())
            .await?;
        // A NOSCRIPT reply means that invocation did not run: load the
        // script and send only those again. The cache can be flushed again
        // meanwhile (SCRIPT FLUSH, another restart), hence a few rounds.
        for _ in 0..RELOADS {
            let missing: Vec<usize> = replies
                .iter()
                .enumerate()
                .filter(|(_, r)| matches!(r, Err(e) if e.is_noscript()))
                .map(|(i, _)| i)
                .collect();
            if missing.is_empty() {
                break;
            }
            self.load_script(script).await?;
            let again = self.send_evals(script, calls, missing.clone()).await?;
            for (i, r) in missing.into_iter().zip(again) {
                replies[i] = r;
            }
        }
        Ok(replies)
    }

    async fn send_evals(
        &mut self,
        script: &LuaScript,
        calls: &[Invocation],
        which: Vec<usize>,
    ) -> Result<Vec<Reply>> {
        let mut pipe = redis::pipe();
        for &i in &which {
            let c = &calls[i];
            let cmd = pipe.cmd("EVALSHA").arg(&script.sha).arg(c.keys.len());
            for k in &c.keys {
                cmd.arg(k.as_slice());
            }
            for a in &c.args {
                cmd.arg(a.as_slice());
            }
        }
        self.pipeline(&mut pipe)
            .await
            .with_context(|| format!("running the {} script", script.name))
    }
}

/// Times [`Store::eval_many`] reloads a script the server has forgotten.
/// Each round re-sends only what met NOSCRIPT, so rounds get shorter; a
/// server flushing its scripts every few milliseconds took more than three
/// to get through a batch on a loaded machine.
const RELOADS: usize = 10;

/// A script's `{code, ...}` reply: the leading integer and the rest.
pub fn code_and_rest(v: &Value) -> Option<(i64, &[Value])> {
    let a = super::reply::array(v)?;
    let code = super::reply::int(a.first()?)?;
    Some((code, &a[1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusable_writer_opens_with_the_one_acl_check() {
        let acl = include_str!("scripts/acl.lua");
        let s = scripts();
        for w in [
            &s.enqueue,
            &s.move_record,
            &s.lock_release,
            &s.reconcile,
            &s.remove_ghost,
            &s.remove_record,
            &s.repoint,
            &s.remove_pointers,
            &s.delete_record,
            &s.prune_batch,
            &s.restore_record,
        ] {
            assert!(w.source.starts_with(acl), "{} lacks acl.lua", w.name);
            let own = w.source[acl.len()..].matches("function denied").count();
            assert_eq!(own, 0, "{} has a denied() of its own", w.name);
        }
        for r in s.repairs() {
            assert!(r.source.ends_with(include_str!("scripts/batch.lua")));
        }
    }

    #[test]
    fn names_are_unique_and_kept() {
        let s = scripts();
        let mut names: Vec<&str> = s.repairs().iter().map(|x| x.name).collect();
        names.extend(s.reap().iter().map(|x| x.name));
        names.extend([
            s.enqueue.name,
            s.move_record.name,
            s.delete_record.name,
            s.prune_batch.name,
            s.restore_record.name,
        ]);
        assert_eq!(
            names,
            [
                "reconcile",
                "remove_ghost",
                "remove_record",
                "repoint",
                "remove_pointers",
                "reap_note",
                "reap_prune",
                "lock_acquire",
                "lock_extend",
                "lock_release",
                "enqueue",
                "move",
                "delete_record",
                "prune_batch",
                "restore_record"
            ]
        );
    }
}
