//! `jobq inspect` resolved: which view it shows (the overview, a list, one
//! job), whether it walks the keyspace for undeclared status indexes, and
//! the `--watch` period. Flags that contradict each other are refused here,
//! before anything connects.
//!
//! Must not: touch Redis or print.

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{InspectArgs, InspectFormat};
use crate::exit;

/// Jobs listed when `--limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// The `--watch` periods allowed, in seconds.
const WATCH_RANGE_SECS: std::ops::RangeInclusive<f64> = 0.1..=86_400.0;

/// What `jobq inspect` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Overview,
    /// `--status` and/or `--project`: a page of jobs.
    List {
        status: Option<String>,
        project: Option<String>,
        limit: usize,
    },
    /// One job_id, matched byte for byte.
    Job(Vec<u8>),
}

/// What `jobq inspect` was asked.
#[derive(Debug, Clone)]
pub struct InspectSettings {
    pub view: View,
    /// Walk the keyspace for status indexes the schema does not list
    /// (off with `--no-discover`).
    pub discover: bool,
    /// `--watch`: show the overview this often until Ctrl-C.
    pub watch: Option<Duration>,
    /// `--format prometheus`: the overview as metrics.
    pub metrics: Option<Metrics>,
}

/// `--format prometheus`: what the metrics hold besides the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    /// `--scan`: the confirmed findings per kind, from the read-only scan.
    pub scan: bool,
}

impl InspectSettings {
    /// `json` is the global `--json`, which a metrics page cannot honour.
    pub fn from_args(a: &InspectArgs, json: bool) -> Result<InspectSettings> {
        let metrics = match a.format {
            InspectFormat::Table if a.scan => return Err(exit::usage(
                "--scan adds the scan's findings to the metrics: give --format prometheus with it",
            )),
            InspectFormat::Table => None,
            InspectFormat::Prometheus if json => {
                return Err(exit::usage(
                    "--format prometheus prints the text exposition format, not JSON: drop --json",
                ))
            }
            InspectFormat::Prometheus => Some(Metrics { scan: a.scan }),
        };
        // Only a list has a length: a `--limit` that changes nothing would
        // let the user believe the output was cut to it.
        if a.limit.is_some() && a.status.is_none() && a.project.is_none() {
            return Err(exit::usage(
                "--limit sets how many jobs a list shows: give --status or --project with it",
            ));
        }
        let watch = match a.watch {
            None => None,
            Some(secs) => {
                if !(secs.is_finite() && WATCH_RANGE_SECS.contains(&secs)) {
                    return Err(exit::usage(format!(
                        "--watch {secs}: give a period between 0.1 and 86400 seconds"
                    )));
                }
                Some(Duration::from_secs_f64(secs))
            }
        };
        let view = if let Some(job) = &a.job {
            View::Job(job.as_bytes().to_vec())
        } else if a.status.is_some() || a.project.is_some() {
            View::List {
                status: a.status.clone(),
                project: a.project.clone(),
                limit: a.limit.unwrap_or(DEFAULT_LIMIT),
            }
        } else {
            View::Overview
        };
        Ok(InspectSettings {
            view,
            discover: !a.no_discover,
            watch,
            metrics,
        })
    }
}
