//! Guarded Lua scripts, sent as pipelined EVALSHA. A server that restarted
//! has forgotten its scripts: a NOSCRIPT reply means the script did not run,
//! so the script is loaded again and only those invocations are re-sent.
//! Any other failure (a timeout above all) leaves the outcome unknown and is
//! returned as such: callers re-read instead of re-sending.

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
    pub fn new(name: &'static str, source: &'static str) -> LuaScript {
        let sha = redis::Script::new(source).get_hash().to_owned();
        LuaScript { name, source, sha }
    }
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
