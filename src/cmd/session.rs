//! The one reconnecting connection, for the commands that outlive a Redis
//! outage (`drain`, `reap --interval`, `inspect --watch`): a command marks
//! the connection broken when a step fails, and the next step connects
//! again first. The server having restarted meanwhile (a new `run_id`) is
//! noted for the command to weigh: a restart without persistence loses the
//! queue.
//!
//! Owns: [`Session`], when to connect again, and counting reconnects. Must
//! not: print, decide which errors break a connection (the command does),
//! or talk to Redis other than through `store`.

use anyhow::Result;

use crate::settings::ConnectSettings;
use crate::store::Store;

/// A connection, replaced after it failed.
pub struct Session<'a> {
    connect: &'a ConnectSettings,
    store: Store,
    /// The connection failed: connect again before the next step.
    broken: bool,
    /// The server restarted (new run_id) and the command has not yet said
    /// it weighed that.
    restarted: bool,
    reconnects: u32,
}

impl<'a> Session<'a> {
    /// A session on a connection made with `connect`.
    pub fn new(connect: &'a ConnectSettings, store: Store) -> Session<'a> {
        Session {
            connect,
            store,
            broken: false,
            restarted: false,
            reconnects: 0,
        }
    }

    /// The connection as it stands, broken or not (after a failed reconnect
    /// it is the last one that worked).
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn display_url(&self) -> &str {
        self.store.display_url()
    }

    /// A step failed in a way that may have taken the connection with it:
    /// the next [`Session::reconnect_if_broken`] connects again.
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Connect again if the connection was marked broken; whether it did.
    /// A failed attempt leaves it broken, so the next call tries again.
    pub async fn reconnect_if_broken(&mut self) -> Result<bool> {
        if !self.broken {
            return Ok(false);
        }
        let store = Store::connect(self.connect).await?;
        self.restarted |= store.run_id != self.store.run_id;
        self.store = store;
        self.broken = false;
        self.reconnects += 1;
        Ok(true)
    }

    /// Times the connection was made again.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// Whether the server restarted since the command last called
    /// [`Session::restart_weighed`].
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    pub fn restart_weighed(&mut self) {
        self.restarted = false;
    }
}
