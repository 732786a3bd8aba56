//! The one Ctrl-C service. `lib::run` installs it once, before any command
//! runs, and hands it to every command: a flag set by SIGINT, so that a
//! command that stops cleanly (`reap`, `reindex`, `inspect --watch`) reads
//! it between steps and a step in flight (one round trip of atomic scripts)
//! completes and what was done can still be reported; a command that can
//! stop anywhere is raced against it ([`Interrupt::or_stop`]). Either way
//! Ctrl-C means exit 130 (`exit::INTERRUPTED`). Installed before any
//! prompt, too: a Ctrl-C at a prompt is raised as SIGINT by the prompt
//! itself, and without a handler it would end the process with the cursor
//! still hidden and nothing said.
//!
//! Owns: [`Interrupt`]. Must not: print or decide what a command does when
//! interrupted.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::exit;

/// Whether Ctrl-C (SIGINT) has been received since [`Interrupt::install`].
#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Take over SIGINT for the rest of the process: from now on it sets the
    /// flag instead of ending the process. The handler is in place when this
    /// returns (a signal an instant later is not lost); call it inside the
    /// runtime.
    pub fn install() -> Interrupt {
        let (tx, rx) = watch::channel(false);
        // Without a handler the flag is never set, and SIGINT still ends the
        // process as it would have anyway.
        if let Ok(mut sigint) = signal(SignalKind::interrupt()) {
            tokio::spawn(async move {
                if sigint.recv().await.is_some() {
                    let _ = tx.send(true);
                }
            });
        }
        Interrupt { rx }
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Wait for Ctrl-C.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|v| *v).await.is_err() {
            // No handler could be installed: Ctrl-C will never be seen here.
            std::future::pending::<()>().await;
        }
    }

    /// Sleep, or return early on Ctrl-C; whether interrupted.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_set(),
            _ = self.wait() => true,
        }
    }

    /// Run `work` unless Ctrl-C comes first; then it is dropped where it
    /// stands and the result is exit 130 saying `what`. Only for work that
    /// can stop anywhere: reads, or writes that are one atomic step each.
    pub async fn or_stop<T>(&self, work: impl Future<Output = Result<T>>, what: &str) -> Result<T> {
        tokio::select! {
            r = work => r,
            _ = self.wait() => Err(exit::with_code(exit::INTERRUPTED, what.to_owned())),
        }
    }
}
