//! Which records an admin verb (`retry`, `prune`) takes, resolved from its
//! flags: the project, the age (by the since or first sorted field), exact
//! field matches, the job_ids given. `plan::select` applies it.
//!
//! Must not: touch Redis or print.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use anyhow::Result;

use crate::exit;
use crate::schema::{Model, Value};

/// Which records a verb takes (pure data; `plan::select` applies it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// `--project`: the key field it names (`project_key`, else the
    /// model's first key field besides the status) and the value.
    pub project: Option<(String, String)>,
    /// The field ages are read from, with `older_than`/`newer_than`.
    pub time_field: Option<String>,
    /// Seconds: older than (time <= now - s) and newer than (time > now - s).
    pub older_than: Option<f64>,
    pub newer_than: Option<f64>,
    /// Exact matches on decoded values.
    pub matches: Vec<(String, Value)>,
    /// Only these job_ids (empty: any).
    pub ids: Vec<Vec<u8>>,
}

impl Filter {
    /// The fields a record must be read with to be judged by this filter.
    pub fn read_fields(&self, model: &Model) -> Vec<String> {
        let mut out = vec![model.status.field.clone()];
        let extra = self
            .time_field
            .iter()
            .chain(self.matches.iter().map(|(f, _)| f));
        for f in extra {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
        out
    }
}

/// The filter flags as given (each verb's own clap struct lends them).
#[derive(Debug, Clone, Copy)]
pub struct FilterInput<'a> {
    pub ids: &'a [OsString],
    pub project: Option<&'a str>,
    pub older_than: Option<Duration>,
    pub newer_than: Option<Duration>,
    pub matches: &'a [String],
}

impl Filter {
    /// The filter the flags give, checked against the model (exit 2).
    pub fn from_input(model: &Model, a: &FilterInput<'_>) -> Result<Filter> {
        let time_field = if a.older_than.is_some() || a.newer_than.is_some() {
            let field = model
                .since_field
                .clone()
                .or_else(|| model.sorted_fields().next().map(|f| f.name.clone()));
            match field {
                Some(f) => Some(f),
                None => {
                    return Err(exit::usage(format!(
                        "--older-than/--newer-than: the {} model has no since_field and no sorted field to date jobs by",
                        model.class
                    )))
                }
            }
        } else {
            None
        };
        let mut matches = Vec::new();
        for m in a.matches {
            let Some((name, text)) = m.split_once('=') else {
                return Err(exit::usage(format!("--match {m:?}: give FIELD=VALUE")));
            };
            let Some(f) = model.field(name) else {
                return Err(exit::usage(format!(
                    "--match {m:?}: the {} model has no field {name:?}",
                    model.class
                )));
            };
            let v = f
                .parse_text(text)
                .map_err(|e| exit::usage(format!("--match {m:?}: {e:#}")))?;
            matches.push((f.name.clone(), v));
        }
        let mut ids: Vec<Vec<u8>> = Vec::new();
        for id in a.ids {
            let id = id.as_bytes().to_vec();
            if id.is_empty() {
                return Err(exit::usage("a JOB_ID must not be empty"));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let project = match a.project {
            None => None,
            Some(p) => {
                let field = model
                    .secondary_key_fields()
                    .find(|f| f.name == "project_key")
                    .or_else(|| model.secondary_key_fields().next());
                let Some(field) = field else {
                    return Err(exit::usage(format!(
                        "--project: the {} model has no key field besides {}",
                        model.class, model.status.field
                    )));
                };
                Some((field.name.clone(), p.to_owned()))
            }
        };
        Ok(Filter {
            project,
            time_field,
            older_than: a.older_than.map(|d| d.as_secs_f64()),
            newer_than: a.newer_than.map(|d| d.as_secs_f64()),
            matches,
            ids,
        })
    }
}
