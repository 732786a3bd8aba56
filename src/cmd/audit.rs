//! `jobq audit`: the history in the audit stream, read a page at a time
//! (XREVRANGE/XRANGE COUNT): the last runs, one run's entries, or one
//! job's. Also [`survey`], the look at one run `undo` starts with.
//!
//! Memory: the runs listed (at most `--limit`), the entries listed (at most
//! `--limit`), and one page.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Ctx;
use crate::bytes::Bytes;
use crate::exit;
use crate::report::undo::{AuditReport, EntryRow, RunRow, Trimmed};
use crate::settings::undo::AuditView;
use crate::store::audit::{StreamEntry, START};
use crate::store::Store;

/// Entries per page read.
pub(super) const PAGE: usize = 500;

/// Header fields every entry opens with; the rest is the change.
const HEADER: [&str; 6] = ["v", "run", "command", "host", "pid", "time_ms"];

/// How far before its id's time a run's entries may be stamped by the
/// server (the id is the client's clock, the entry ids the server's).
const CLOCK_SKEW_MS: u64 = 3_600_000;

/// The run id's start, in milliseconds since the epoch.
pub(super) fn run_start_ms(run: &str) -> Option<u64> {
    let b = run.as_bytes();
    if b.len() < 16 {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &run[0..4],
        &run[4..6],
        &run[6..8],
        &run[9..11],
        &run[11..13],
        &run[13..15]
    );
    let t = humantime::parse_rfc3339(&text).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

/// What the stream holds of one run, read newest first down to its start
/// entry (or to entries older than the run could have written).
#[derive(Debug, Default)]
pub(super) struct Survey {
    /// Its changes (the start entry aside).
    pub changes: u64,
    pub start: Option<StreamEntry>,
    /// Its newest entry's id.
    pub newest: Option<String>,
    /// Whether any of its entries is of format 3 (which opens with a start
    /// entry).
    pub format3: bool,
    /// The stream's oldest entry, and whether it is this run's.
    pub stream_oldest: Option<String>,
    pub oldest_is_run: bool,
}

impl Survey {
    /// What is missing when the run's start is not in the stream: none
    /// when nothing says it was trimmed (a format 2 run has no start).
    pub fn trimmed(&self, run: &str) -> Option<Trimmed> {
        if self.start.is_some() || !(self.format3 || self.oldest_is_run) {
            return None;
        }
        Some(Trimmed {
            oldest_entry: self.stream_oldest.clone(),
            missing: format!(
                "the audit stream was trimmed (MAXLEN) past the start of run {run}: its entries older than {} are gone, and their changes are not covered",
                self.stream_oldest.as_deref().unwrap_or("the oldest entry")
            ),
        })
    }
}

/// One run's entries, counted, newest first, a page at a time.
pub(super) async fn survey(store: &mut Store, stream: &[u8], run: &str) -> Result<Survey> {
    let mut s = Survey::default();
    let floor = run_start_ms(run).map(|ms| ms.saturating_sub(CLOCK_SKEW_MS));
    let mut end = "+".to_owned();
    'pages: loop {
        let page = store.audit_page_rev(stream, &end, PAGE).await?;
        let Some(last) = page.last() else { break };
        end = format!("({}", last.id);
        for e in &page {
            if floor.is_some_and(|f| e.ms() < f) {
                break 'pages;
            }
            if e.get("run") != Some(run.as_bytes()) {
                continue;
            }
            if e.get("action") == Some(START.as_bytes()) {
                s.start = Some(e.clone());
                break 'pages;
            }
            s.changes += 1;
            s.format3 |= e.get("v") == Some(b"3");
            if s.newest.is_none() {
                s.newest = Some(e.id.clone());
            }
        }
        if page.len() < PAGE {
            break;
        }
    }
    if s.start.is_none() {
        let first = store.audit_page(stream, None, 1).await?;
        if let Some(f) = first.into_iter().next() {
            s.oldest_is_run = f.get("run") == Some(run.as_bytes());
            s.stream_oldest = Some(f.id);
        }
    }
    Ok(s)
}

/// A run the stream holds nothing of: exit 2, or exit 4 when the stream
/// was trimmed and the run's time is before its oldest entry (trimmed away
/// whole).
pub(super) async fn unknown_run(
    store: &mut Store,
    run: &str,
    stream: &[u8],
    oldest: Option<&str>,
) -> anyhow::Error {
    // Without the server's word (Redis 6.2), a full stream was trimmed.
    let trimmed = match store.audit_was_trimmed(stream).await {
        Some(t) => t,
        None => store
            .audit_bounds(stream)
            .await
            .is_ok_and(|(_, len)| len >= crate::store::audit::DEFAULT_MAXLEN),
    };
    let oldest_ms = oldest
        .and_then(|id| id.split('-').next())
        .and_then(|m| m.parse::<u64>().ok());
    let name = crate::bytes::escape_bytes(stream);
    match (run_start_ms(run), oldest_ms) {
        (Some(r), Some(o)) if trimmed && r + CLOCK_SKEW_MS < o => exit::with_code(
            exit::PARTIAL,
            format!("{name} was trimmed (MAXLEN) past run {run}: none of its entries are left"),
        ),
        _ => exit::usage(format!("{name} holds no entry of run {run}")),
    }
}

fn row(e: &StreamEntry) -> EntryRow {
    EntryRow {
        id: e.id.clone(),
        run: e.text("run"),
        action: e.text("action"),
        job_id: Bytes(e.get("job").unwrap_or_default().to_vec()),
        key: Bytes(e.get("key").unwrap_or_default().to_vec()),
        time_ms: e.ms(),
        fields: e
            .fields
            .iter()
            .filter(|(f, _)| !HEADER.iter().any(|h| h.as_bytes() == f.as_slice()))
            .map(|(f, v)| (Bytes(f.clone()), Bytes(v.clone())))
            .collect(),
    }
}

/// Whether an entry is about this job (a prune entry lists `job.N`).
fn is_about(e: &StreamEntry, job: &[u8]) -> bool {
    e.fields
        .iter()
        .any(|(f, v)| v.as_slice() == job && (f == b"job" || f.starts_with(b"job.")))
}

pub async fn run(ctx: Ctx<'_>, view: &AuditView) -> Result<(AuditReport, u8)> {
    let stream = ctx.settings.ns.audit();
    let mut store = ctx.connect().await?;
    let (oldest, len) = store.audit_bounds(&stream).await?;
    let mut report = AuditReport {
        view: "runs",
        subject: None,
        runs: Vec::new(),
        more_runs: false,
        entries: Vec::new(),
        entries_not_listed: 0,
        stream_length: len,
        oldest_entry: oldest.clone(),
        trimmed: None,
    };
    match view {
        AuditView::Runs(limit) => {
            runs(&mut store, &stream, *limit, &mut report).await?;
            Ok((report, exit::OK))
        }
        AuditView::Job(job, limit) => {
            report.view = "job";
            report.subject = Some(Bytes(job.clone()));
            let mut after: Option<String> = None;
            loop {
                let page = store.audit_page(&stream, after.as_deref(), PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for e in page.iter().filter(|e| is_about(e, job)) {
                    if report.entries.len() < *limit {
                        report.entries.push(row(e));
                    } else {
                        report.entries_not_listed += 1;
                    }
                }
                if page.len() < PAGE {
                    break;
                }
            }
            Ok((report, exit::OK))
        }
        AuditView::Run(run, limit) => {
            report.view = "run";
            report.subject = Some(Bytes::from(run.as_str()));
            let s = survey(&mut store, &stream, run).await?;
            if s.start.is_none() && s.changes == 0 {
                return Err(
                    unknown_run(&mut store, run, &stream, s.stream_oldest.as_deref()).await,
                );
            }
            report.trimmed = s.trimmed(run);
            // Oldest first: from the start entry (or the stream's start)
            // forward, up to the run's newest entry.
            let mut after: Option<String> = None;
            let mut first = true;
            let newest = s.newest.clone().unwrap_or_default();
            'pages: loop {
                let page = match (&s.start, first) {
                    (Some(st), true) => {
                        // XRANGE from the start entry itself.
                        let mut p = vec![st.clone()];
                        p.extend(store.audit_page(&stream, Some(&st.id), PAGE).await?);
                        p
                    }
                    _ => store.audit_page(&stream, after.as_deref(), PAGE).await?,
                };
                first = false;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for e in &page {
                    if e.get("run") == Some(run.as_bytes()) {
                        if report.entries.len() < *limit {
                            report.entries.push(row(e));
                        } else {
                            report.entries_not_listed += 1;
                        }
                    }
                    if e.id == newest {
                        break 'pages;
                    }
                }
                if page.len() < PAGE {
                    break;
                }
            }
            let code = if report.trimmed.is_some() {
                exit::PARTIAL
            } else {
                exit::OK
            };
            Ok((report, code))
        }
    }
}

/// The last `limit` runs, newest first. Entries of more runs than that are
/// passed over; the walk ends once every run listed has shown its start
/// entry (or the stream ends).
async fn runs(
    store: &mut Store,
    stream: &[u8],
    limit: usize,
    report: &mut AuditReport,
) -> Result<()> {
    let mut order: Vec<String> = Vec::new();
    let mut by_run: BTreeMap<String, RunRow> = BTreeMap::new();
    let mut end = "+".to_owned();
    loop {
        let page = store.audit_page_rev(stream, &end, PAGE).await?;
        let Some(last) = page.last() else { break };
        end = format!("({}", last.id);
        for e in &page {
            let run = e.text("run");
            if !by_run.contains_key(&run) {
                if order.len() == limit {
                    report.more_runs = true;
                    continue;
                }
                order.push(run.clone());
                by_run.insert(
                    run.clone(),
                    RunRow {
                        run_id: run.clone(),
                        command: e.text("command"),
                        host: e.text("host"),
                        ..RunRow::default()
                    },
                );
            }
            let Some(r) = by_run.get_mut(&run) else {
                continue;
            };
            r.time_ms = e.ms();
            if e.get("action") == Some(START.as_bytes()) {
                r.start_seen = true;
                r.argv = Some(e.text("argv"));
                r.version = Some(e.text("version"));
            } else if !r.start_seen {
                r.changes += 1;
                *r.actions.entry(e.text("action")).or_default() += 1;
            }
        }
        if page.len() < PAGE {
            break;
        }
        if order.len() == limit && by_run.values().all(|r| r.start_seen) {
            // Older entries remain: older runs, not listed.
            report.more_runs = true;
            break;
        }
    }
    report.runs = order
        .into_iter()
        .filter_map(|r| by_run.remove(&r))
        .collect();
    Ok(())
}
