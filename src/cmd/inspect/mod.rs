//! `jobq inspect`: the queue at a glance ([`overview`]), a list of jobs
//! ([`list`]), or one job under the microscope ([`job`], judged by
//! [`verdict`]). Read-only: nothing here writes to Redis.
//!
//! Owns: the inspect reports, and the reasoning over what was read (value
//! decoding, sorting, the provisional verdict). Must not: print (the reports
//! are rendered by `output::inspect`), talk to Redis other than through
//! `store::inspect`, or format keys (`schema` does).

pub mod job;
pub mod list;
pub mod metrics;
pub mod overview;

use std::time::Duration;

use anyhow::{Context, Result};

use crate::bytes::Bytes;
use crate::cmd::read_from::{self, Reads};
use crate::cmd::session::Session;
use crate::cmd::Ctx;
use crate::exit;
use crate::report::inspect::{Discovery, FieldValue, InspectReport};
use crate::report::read_from::ReadFrom;
use crate::schema::{msgpack, Model};
use crate::settings::inspect::{InspectSettings, View};
use crate::settings::Settings;
use crate::store::inspect::RawValue;
use crate::store::Store;

/// Keys per SCAN step when walking the keyspace.
pub const SCAN_COUNT: u32 = 1000;
/// Members per SSCAN step.
pub const SSCAN_COUNT: u32 = 1000;
/// Raw bytes of an undecodable value kept for display.
const RAW_PREVIEW: usize = 256;

/// One run: the overview, a list, or one job, and the exit code.
pub async fn run(ctx: Ctx<'_>, is: &InspectSettings) -> Result<(InspectReport, u8)> {
    let Ctx { settings, ui, .. } = ctx;
    // One job is examined on the primary: its verdict is a second look.
    if let View::Job(job) = &is.view {
        let mut store = crate::cmd::connect(&settings.connect, ui).await?;
        let (r, code) = job::run(settings, ui, &mut store, job, is.discover).await?;
        return Ok((InspectReport::Job(r), code));
    }
    let Reads {
        mut read, report, ..
    } = read_from::connect(settings, ui).await?;
    match &is.view {
        View::List {
            status,
            project,
            limit,
        } => {
            let (mut r, code) = list::run(
                settings,
                &mut read,
                status.as_deref(),
                project.as_deref(),
                *limit,
            )
            .await?;
            r.read_from = report;
            Ok((InspectReport::List(r), code))
        }
        _ => {
            let (mut r, code) = overview::run(settings, &mut read, is.discover).await?;
            r.read_from = report;
            Ok((InspectReport::Overview(r), code))
        }
    }
}

/// `--watch SECONDS`: hand an overview to `sink` every period until Ctrl-C
/// (then exit 130). A failed frame after the first is reported and retried
/// with a new connection: an on-call engineer watching a failover wants the
/// figures back when Redis is, not an exit.
pub async fn watch<F>(
    ctx: Ctx<'_>,
    is: &InspectSettings,
    period: Duration,
    mut sink: F,
) -> Result<u8>
where
    F: FnMut(&InspectReport) -> Result<()>,
{
    let Ctx { settings, ui, intr } = ctx;
    let secs = period.as_secs_f64();
    let discover = is.discover;
    // Installed before the command started, so that Ctrl-C at any point
    // is ours and ends the loop cleanly.
    // With --read-from the frames read the replica, checked at start as
    // every command checks it, and its link again before each frame.
    let (mut session, read_from) = tokio::select! {
        r = read_from::connect(settings, ui) => {
            let r = r?;
            (Session::new(r.read_settings(settings), r.read), r.report)
        }
        _ = intr.wait() => return Ok(exit::INTERRUPTED),
    };
    loop {
        let frame = tokio::select! {
            f = frame(settings, &mut session, discover, read_from.as_ref()) => f,
            _ = intr.wait() => return Ok(exit::INTERRUPTED),
        };
        match frame {
            Ok(report) => sink(&InspectReport::Overview(report))?,
            Err(e) => {
                ui.warn(format!("{e:#}; trying again in {secs} s"));
                session.mark_broken();
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = intr.wait() => return Ok(exit::INTERRUPTED),
        }
    }
}

async fn frame(
    settings: &Settings,
    session: &mut Session<'_>,
    discover: bool,
    read_from: Option<&ReadFrom>,
) -> Result<crate::report::inspect::Overview> {
    session.reconnect_if_broken().await?;
    if read_from.is_some() {
        read_from::link_up(session.store()).await?;
    }
    let mut overview = overview::run(settings, session.store(), discover).await?.0;
    overview.read_from = read_from.cloned();
    Ok(overview)
}

/// A status index to look at: one of the schema's, or one found by SCAN.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusIndex {
    pub status: Bytes,
    pub key: Bytes,
    /// Listed in the schema (as opposed to found in Redis).
    pub declared: bool,
}

/// The schema's status indexes, then (unless `discover` is off) every other
/// `$KeyF:<Model>:<status field>:*` that exists.
pub async fn status_indexes(
    store: &mut Store,
    model: &Model,
    discover: bool,
) -> Result<(Vec<StatusIndex>, Discovery)> {
    let mut out: Vec<StatusIndex> = model
        .status
        .values
        .iter()
        .map(|v| StatusIndex {
            status: Bytes::from(v.as_str()),
            key: Bytes(model.status_index(v)),
            declared: true,
        })
        .collect();
    let pattern = model.index_pattern(&model.status.field);
    let mut disc = Discovery {
        walked_keyspace: discover,
        pattern: Bytes(pattern.clone()),
        keys_in_db: None,
        undeclared_found: 0,
    };
    if discover {
        disc.keys_in_db = Some(store.dbsize().await?);
        let mut found = store
            .scan_match(&pattern, SCAN_COUNT)
            .await
            .context("discovering status indexes")?;
        found.sort();
        for key in found {
            if out.iter().any(|s| s.key.0 == key) {
                continue;
            }
            let status = model
                .index_value(&model.status.field, &key)
                .unwrap_or_default();
            out.push(StatusIndex {
                status: Bytes(status),
                key: Bytes(key),
                declared: false,
            });
            disc.undeclared_found += 1;
        }
    }
    Ok((out, disc))
}

impl FieldValue {
    pub fn from_raw(raw: &RawValue) -> FieldValue {
        match raw {
            RawValue::TooLarge(n) => FieldValue::TooLarge {
                too_large_bytes: *n,
            },
            RawValue::Bytes(b) => match msgpack::decode(b) {
                Ok(v) => FieldValue::Value(v),
                Err(e) => FieldValue::Undecodable {
                    undecodable: e.to_string(),
                    raw: Bytes(b[..b.len().min(RAW_PREVIEW)].to_vec()),
                    bytes: b.len() as u64,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::inspect::Fields;
    use crate::schema::Value;

    #[test]
    fn values_decode_or_say_why_not() {
        let ok = FieldValue::from_raw(&RawValue::Bytes(b"\xa7pending".to_vec()));
        assert_eq!(ok.key_text(), Some("pending"));
        let nil = FieldValue::from_raw(&RawValue::Bytes(b"\xc0".to_vec()));
        assert_eq!(nil.key_text(), Some("None"));
        let bad = FieldValue::from_raw(&RawValue::Bytes(b"pending".to_vec()));
        assert!(
            matches!(&bad, FieldValue::Undecodable { bytes: 7, .. }),
            "{bad:?}"
        );
        assert_eq!(bad.key_text(), None);
        let big = FieldValue::from_raw(&RawValue::TooLarge(104_857_600));
        assert_eq!(
            serde_json::to_value(&big).ok(),
            Some(serde_json::json!({"too_large_bytes": 104857600}))
        );
        let long = FieldValue::from_raw(&RawValue::Bytes(vec![0xc1; 1000]));
        match long {
            FieldValue::Undecodable { raw, bytes, .. } => {
                assert_eq!(raw.0.len(), RAW_PREVIEW);
                assert_eq!(bytes, 1000);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_keep_their_order_in_json() {
        let f = Fields(vec![
            ("z".into(), FieldValue::Value(Value::Int(1))),
            ("a".into(), FieldValue::Value(Value::Nil)),
        ]);
        assert_eq!(
            serde_json::to_string(&f).ok().as_deref(),
            Some(r#"{"z":1,"a":null}"#)
        );
    }
}
