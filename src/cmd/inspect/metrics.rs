//! `jobq inspect --format prometheus`: the overview (and with `--scan` the
//! read-only consistency scan's counts) as a metrics report. Read-only.
//!
//! Must not: print (`output::metrics` renders the exposition text).

use anyhow::Result;

use super::overview;
use crate::cmd::Ctx;
use crate::exit;
use crate::report::metrics::{Metrics, ScanFigures};
use crate::scan::{scan, CountKinds, ScanOptions};
use crate::settings::inspect::{InspectSettings, Metrics as MetricsSettings};

/// The scan's options with `--scan`: those `orphans scan` has by default.
const SCAN: ScanOptions = ScanOptions {
    grace: std::time::Duration::from_secs(2),
    deep: false,
    batch: 1000,
};

/// The metrics, and exit 0: the health is a gauge, so that a cron job
/// writing the file with `&& mv` keeps publishing an unhealthy queue's
/// figures. A failed read is an error (exit 3) and prints nothing.
pub async fn run(ctx: Ctx<'_>, is: &InspectSettings, m: MetricsSettings) -> Result<(Metrics, u8)> {
    let Ctx { settings, ui, .. } = ctx;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let (overview, _) = overview::run(settings, &mut store, is.discover).await?;
    let scan = if m.scan {
        // Counted as the windows are confirmed: nothing held but the counts.
        let mut kinds = CountKinds::new();
        let primary = store.clone();
        let out = scan(&mut store, &primary, &settings.model, &SCAN, ui, &mut kinds).await?;
        Some(ScanFigures {
            counts: kinds.0,
            unconfirmed: out.unconfirmed.count,
        })
    } else {
        None
    };
    Ok((
        Metrics {
            namespace: settings.ns.prefix().to_owned(),
            overview,
            scan,
        },
        exit::OK,
    ))
}
