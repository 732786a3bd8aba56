//! `--read-from`: the connections of a command that reads a replica. The
//! walks and polls read [`Reads::read`]; the second sightings, the guards
//! and the writes use [`Reads::primary`]. Without `--read-from` both are
//! the one connection to `--url`.
//!
//! The replica is checked once, before anything is read: it must replicate
//! `--url` (the same replication id: host names differ between the two
//! sides of a link, so `master_host` alone proves nothing), with its link
//! up and no full sync in progress, and select the same database. What
//! jobq makes of the two `INFO replication` replies is [`judge`], pure.
//!
//! Owns: that check, its lag report, and choosing the reading connection
//! in one place. Must not: print (the `Ui` does) or talk to Redis but
//! through `store`.

use anyhow::{Context, Result};

use crate::exit;
use crate::output::Ui;
use crate::report::read_from::ReadFrom;
use crate::settings::{ConnectSettings, Settings};
use crate::store::replication::{database, Replication};
use crate::store::Store;

/// A replica further behind than this is read with a warning.
pub const LAG_WARN_BYTES: u64 = 1 << 20;
/// A replica that has not heard from its primary for longer than this is
/// read with a warning (primaries ping their replicas every 10 s).
pub const LAG_WARN_SECONDS: i64 = 10;

/// The connections of one command.
pub struct Reads {
    /// `--url`: second sightings, guards and writes.
    pub primary: Store,
    /// Where the walks read: the replica, or the primary's connection.
    pub read: Store,
    /// The replica as found at start; `None` without `--read-from`.
    pub report: Option<ReadFrom>,
}

impl Reads {
    /// How to connect again to [`Reads::read`] (for a [`super::session::Session`]).
    pub fn read_settings<'s>(&self, settings: &'s Settings) -> &'s ConnectSettings {
        match (&self.report, &settings.read_from) {
            (Some(_), Some(cfg)) => cfg,
            _ => &settings.connect,
        }
    }
}

/// A replica read again after it was checked (a poll, a frame): its link
/// must still be up, else what it shows may be far behind and the read is
/// refused like a connection that failed.
pub async fn link_up(replica: &mut Store) -> Result<()> {
    let r = replica.replication().await?;
    if r.is_replica && !r.link_up {
        anyhow::bail!(
            "the link of --read-from {} to its primary ({}) went down: what it shows may be far behind",
            replica.display_url(),
            r.primary()
        );
    }
    Ok(())
}

/// What one side of the link says, for [`judge`].
#[derive(Debug, Clone)]
pub struct Side {
    pub run_id: String,
    pub db: Option<i64>,
    pub replication: Replication,
}

/// Whether a `--read-from` server may be read instead of `--url`.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// It is `--url` itself (the same `run_id`): reading it changes nothing.
    SameServer,
    /// A replica of `--url`, its link up: read it.
    Replica(Lag),
    /// Never read: the one line says why.
    Refuse(String),
}

/// How far the replica was behind its primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    pub bytes: Option<u64>,
    pub last_io_seconds_ago: Option<i64>,
}

impl Lag {
    /// Over what jobq warns about.
    pub fn lagging(&self) -> bool {
        self.bytes.is_some_and(|b| b > LAG_WARN_BYTES)
            || self
                .last_io_seconds_ago
                .is_some_and(|s| s > LAG_WARN_SECONDS)
    }
}

/// The decision on `--read-from`, from what both servers said. `primary`
/// is read after `replica`, so the lag is never under the true one.
pub fn judge(primary: &Side, replica: &Side) -> Judgement {
    let (p, r) = (&primary.replication, &replica.replication);
    if let (Some(a), Some(b)) = (primary.db, replica.db) {
        if a != b {
            return Judgement::Refuse(format!(
                "it selects database {b} and --url database {a}; give both the same"
            ));
        }
    }
    if !primary.run_id.is_empty() && primary.run_id == replica.run_id {
        return Judgement::SameServer;
    }
    if !r.is_replica {
        return Judgement::Refuse(
            "it is not a replica (INFO replication says role:master): give a replica of --url, or leave --read-from out".into(),
        );
    }
    if r.sync_in_progress {
        return Judgement::Refuse(format!(
            "it is in the middle of a full sync from {}: its data is not yet its primary's",
            r.primary()
        ));
    }
    if !r.link_up {
        return Judgement::Refuse(format!(
            "its link to its primary ({}) is down (master_link_status:down): what it shows may be far behind",
            r.primary()
        ));
    }
    match (&p.replid, &r.replid) {
        (Some(a), Some(b)) if a == b => {}
        _ => {
            return Judgement::Refuse(format!(
                "it replicates {}, which is not --url (their replication ids differ)",
                r.primary()
            ))
        }
    }
    Judgement::Replica(Lag {
        bytes: match (p.offset, r.applied()) {
            (Some(p), Some(r)) => Some(p.saturating_sub(r)),
            _ => None,
        },
        last_io_seconds_ago: r.last_io_seconds_ago,
    })
}

/// Connect to `--url`, and to `--read-from` if given, checked by [`judge`]:
/// a refusal is exit 3 with one line, before anything is read. The lag is
/// told on stderr.
pub async fn connect(settings: &Settings, ui: &Ui) -> Result<Reads> {
    let mut primary = super::connect(&settings.connect, ui).await?;
    let Some(cfg) = &settings.read_from else {
        return Ok(Reads {
            read: primary.clone(),
            primary,
            report: None,
        });
    };
    let mut replica = Store::connect(cfg).await.context("--read-from")?;
    for note in &replica.notes {
        ui.debug(format!("--read-from: {note}"));
    }
    let replica_side = Side {
        run_id: replica.run_id.clone(),
        db: database(&cfg.url),
        replication: replica.replication().await?,
    };
    let primary_side = Side {
        run_id: primary.run_id.clone(),
        db: database(&settings.connect.url),
        replication: primary.replication().await?,
    };
    let url = &cfg.display_url;
    match judge(&primary_side, &replica_side) {
        Judgement::Refuse(why) => Err(exit::with_code(
            exit::RUNTIME,
            format!("--read-from {url} cannot be read instead of --url: {why}"),
        )),
        Judgement::SameServer => {
            ui.warn(format!(
                "--read-from {url} is --url's server itself (the same run_id): everything is read from it"
            ));
            Ok(Reads {
                read: primary.clone(),
                primary,
                report: None,
            })
        }
        Judgement::Replica(lag) => {
            let report = ReadFrom {
                url: url.clone(),
                primary: replica_side.replication.primary(),
                lag_bytes: lag.bytes,
                master_last_io_seconds_ago: lag.last_io_seconds_ago,
                lagging: lag.lagging(),
            };
            let said = format!(
                "reading from {url}, a replica of {}: {} behind, last heard from its primary {} ago; re-checks and writes go to {}",
                report.primary,
                lag.bytes
                    .map_or_else(|| "? bytes".to_owned(), |b| format!("{b} bytes")),
                lag.last_io_seconds_ago
                    .map_or_else(|| "? s".to_owned(), |s| format!("{s} s")),
                primary.display_url()
            );
            if report.lagging {
                ui.warn(format!("{said} (lagging)"));
            } else {
                ui.info(said);
            }
            Ok(Reads {
                primary,
                read: replica,
                report: Some(report),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primary() -> Side {
        Side {
            run_id: "p".into(),
            db: Some(0),
            replication: Replication {
                replid: Some("abc".into()),
                offset: Some(5000),
                ..Replication::default()
            },
        }
    }

    fn replica() -> Side {
        Side {
            run_id: "r".into(),
            db: Some(0),
            replication: Replication {
                is_replica: true,
                master_host: Some("10.0.0.1".into()),
                master_port: Some(6379),
                link_up: true,
                last_io_seconds_ago: Some(1),
                replid: Some("abc".into()),
                offset: Some(5000),
                replica_offset: Some(4000),
                ..Replication::default()
            },
        }
    }

    fn refused(j: Judgement, words: &str) {
        match j {
            Judgement::Refuse(why) => assert!(why.contains(words), "{why}"),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_replica_of_the_primary_is_read_with_its_lag() {
        let j = judge(&primary(), &replica());
        let lag = Lag {
            bytes: Some(1000),
            last_io_seconds_ago: Some(1),
        };
        assert_eq!(j, Judgement::Replica(lag));
        assert!(!lag.lagging());
    }

    #[test]
    fn lagging_by_bytes_or_silence() {
        let mut r = replica();
        r.replication.replica_offset = Some(0);
        r.replication.offset = Some(0);
        let mut p = primary();
        p.replication.offset = Some(LAG_WARN_BYTES + 1);
        let Judgement::Replica(lag) = judge(&p, &r) else {
            panic!("refused")
        };
        assert!(lag.lagging());
        let mut r = replica();
        r.replication.last_io_seconds_ago = Some(LAG_WARN_SECONDS + 1);
        let Judgement::Replica(lag) = judge(&primary(), &r) else {
            panic!("refused")
        };
        assert!(lag.lagging());
        // A replica read ahead of the (later) primary reading is not behind.
        let mut p = primary();
        p.replication.offset = Some(10);
        let Judgement::Replica(lag) = judge(&p, &replica()) else {
            panic!("refused")
        };
        assert_eq!(lag.bytes, Some(0));
    }

    #[test]
    fn refusals() {
        let mut r = replica();
        r.replication.link_up = false;
        refused(judge(&primary(), &r), "is down");
        let mut r = replica();
        r.replication.sync_in_progress = true;
        refused(judge(&primary(), &r), "full sync");
        let mut r = replica();
        r.replication.replid = Some("other".into());
        refused(
            judge(&primary(), &r),
            "replicates 10.0.0.1:6379, which is not --url",
        );
        let mut r = replica();
        r.replication.replid = None;
        refused(judge(&primary(), &r), "which is not --url");
        let mut r = replica();
        r.replication = Replication {
            replid: Some("abc".into()),
            ..Replication::default()
        };
        refused(judge(&primary(), &r), "not a replica");
        let mut r = replica();
        r.db = Some(2);
        refused(judge(&primary(), &r), "database 2");
    }

    #[test]
    fn the_primary_itself_is_the_same_server() {
        let mut r = primary();
        assert_eq!(judge(&primary(), &r), Judgement::SameServer);
        r.db = Some(1);
        refused(judge(&primary(), &r), "database 1");
    }
}
