//! `jobq orphans scan`: the scan engine's findings (`crate::scan`) as a
//! typed report, and the plan file with `--plan-out`.

use anyhow::Result;

use crate::cmd::Ctx;
use crate::exit;
use crate::plan::{self, Policy};
use crate::report::scan::{counts, ScanReport};
use crate::scan::scan;
use crate::settings::repair::ScanSettings;

// ---- the subcommand ------------------------------------------------------

pub async fn run(ctx: Ctx<'_>, ss: &ScanSettings) -> Result<(ScanReport, u8)> {
    let Ctx { settings, ui, .. } = ctx;
    let opts = &ss.options;
    let mut reads = crate::cmd::read_from::connect(settings, ui).await?;
    let out = scan(&mut reads.read, &reads.primary, &settings.model, opts, ui).await?;
    let mut findings = out.findings;
    findings.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let plan_out = match &ss.plan_out {
        Some(path) => {
            let plan = plan::build(&settings.model, &findings, &Policy::default());
            plan::write(&plan, path)?;
            Some(path.display().to_string())
        }
        None => None,
    };
    let total = findings.len() as u64;
    let report = ScanReport {
        counts: counts(&findings),
        total,
        findings,
        unconfirmed: out.unconfirmed,
        scanned: out.scanned,
        candidates: out.candidates,
        transient: out.transient,
        deep: opts.deep,
        grace_seconds: opts.grace.as_secs_f64(),
        elapsed_seconds: out.elapsed.as_secs_f64(),
        plan_out,
        limit: ss.limit,
        read_from: reads.report,
    };
    // An unconfirmed record is not healthy: the answer is not "no damage".
    let code = if total > 0 || report.unconfirmed.count > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok((report, code))
}
