//! Ctrl-C for the commands that stop cleanly rather than being cut short
//! (`reap`, `reindex`): a flag set by the signal and read between steps, so
//! that a step in flight (one round trip of atomic scripts) completes and
//! what was done can still be reported.
//!
//! Owns: [`Interrupt`]. Must not: print or decide what a command does when
//! interrupted.

use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Whether Ctrl-C (SIGINT) has been received since [`Interrupt::install`].
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
}
