//! `jobq inspect --format prometheus`: the overview (and with `--scan` the
//! read-only consistency scan's counts) as a metrics report. Read-only.
//!
//! Must not: print (`output::metrics` renders the exposition text).

use anyhow::Result;

use super::overview;
use crate::cmd::Ctx;
use crate::exit;
use crate::report::metrics::{Metrics, ScanFigures};
use crate::report::scan::counts;
use crate::scan::{scan, ScanOptions};
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
        let out = scan(&mut store, &settings.model, &SCAN, ui).await?;
        Some(ScanFigures {
            counts: counts(&out.findings),
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
