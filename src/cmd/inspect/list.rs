//! `jobq inspect --status S --project P --limit N`: a page of jobs, their
//! fields decoded.
//!
//! The walk is bounded by `--limit`: SSCAN the filter's set (with both
//! filters, the smaller one, checking the other with SMISMEMBER) until
//! enough members are found, read only those records, then sort them.
//! Sorting a whole set by priority and time would need every record read,
//! so the order is that of the jobs shown, and the report says how many
//! more exist.

use std::cmp::Ordering;

use anyhow::Result;

use super::SSCAN_COUNT;
use crate::bytes::Bytes;
use crate::exit;
use crate::report::inspect::{FieldValue, Fields, JobList, ListedJob, SetSize};
use crate::schema::{Field, Model};
use crate::settings::Settings;
use crate::store::inspect::{FieldSelection, RawRecord};
use crate::store::Store;

/// A value longer than this is shown as its length only.
pub const LIST_VALUE_CAP: u64 = 64 * 1024;
const PRIORITY_FIELD: &str = "priority";
const MESSAGE_FIELD: &str = "message_text";

/// The key field `--project` filters on: `project_key`, else the model's
/// first key field other than the status.
fn project_field(model: &Model) -> Option<&Field> {
    model
        .secondary_key_fields()
        .find(|f| f.name == "project_key")
        .or_else(|| model.secondary_key_fields().next())
}

pub async fn run(
    settings: &Settings,
    store: &mut Store,
    status: Option<&str>,
    project: Option<&str>,
    limit: usize,
) -> Result<(JobList, u8)> {
    let model = &settings.model;
    let pfield = project_field(model);
    let mut sets = Vec::new();
    if let Some(s) = status {
        sets.push(model.status_index(s));
    }
    if let Some(p) = project {
        let f = pfield.ok_or_else(|| {
            exit::usage(format!(
                "--project: the {} model has no key field besides {}",
                model.class, model.status.field
            ))
        })?;
        sets.push(model.index_key(&f.name, Some(p)));
    }
    let sizes = store.sizes(&sets).await?;
    let server_time = store.server_time().await?;
    let set_sizes: Vec<SetSize> = sets
        .iter()
        .zip(&sizes)
        .map(|(k, s)| SetSize {
            key: Bytes(k.clone()),
            size: s.as_ref().ok().copied(),
            error: s.as_ref().err().cloned(),
        })
        .collect();
    let problems: Vec<String> = set_sizes
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{} cannot be listed: {e}", s.key))
        })
        .collect();
    let mut notes = Vec::new();
    if let Some(s) = status.filter(|s| !model.is_status(s)) {
        notes.push(format!(
            "{s:?} is not one of the schema's statuses ({})",
            model.status.values.join(", ")
        ));
    }
    let time_field = model.sorted_fields().next().map(|f| f.name.clone());
    // Walk the smaller set; check the other.
    let count = |i: usize| set_sizes.get(i).and_then(|s| s.size).unwrap_or(0);
    let (walk, other) = match sets.len() {
        2 if count(1) < count(0) => (1, Some(0)),
        2 => (0, Some(1)),
        _ => (0, None),
    };
    let mut list = JobList {
        status: status.map(str::to_owned),
        project: project.map(str::to_owned),
        limit,
        walked: Bytes(sets.get(walk).cloned().unwrap_or_default()),
        checked_against: other.map(|o| Bytes(sets[o].clone())),
        sets: set_sizes.clone(),
        time_field: time_field.clone(),
        server_time,
        jobs: Vec::new(),
        more_not_shown: None,
        more_exist: false,
        problems,
        notes,
        read_from: None,
    };
    if !list.problems.is_empty() {
        return Ok((list, exit::FINDINGS));
    }

    // With a second filter, one match beyond the limit says whether more exist.
    let want = if other.is_some() { limit + 1 } else { limit };
    let walked = collect(store, &sets[walk], other.map(|o| sets[o].as_slice()), want).await?;
    let mut matches = walked.matches;
    let shown = matches.len().min(limit);
    let found = (matches.len() + walked.left_over) as u64;
    match (other, walked.finished) {
        // The walk saw every member: the count is exact.
        (_, true) => list.more_not_shown = Some(found - shown as u64),
        (None, false) => {
            list.more_not_shown = Some(count(walk).saturating_sub(shown as u64));
        }
        // Some candidates were never checked: only "more exist" is known.
        (Some(_), false) => list.more_not_shown = None,
    }
    list.more_exist = found > shown as u64;
    matches.truncate(limit);
    let declared: Vec<String> = model.fields.iter().map(|f| f.name.clone()).collect();
    let raws = store
        .read_records(
            &matches,
            FieldSelection::Declared(&declared),
            LIST_VALUE_CAP,
        )
        .await?;
    let ctx = RowContext {
        model,
        project_field: pfield.map(|f| f.name.as_str()),
        time_field: time_field.as_deref(),
        now: server_time,
    };
    list.jobs = raws.into_iter().map(|r| ctx.row(r)).collect();
    sort_rows(&mut list.jobs);
    if list.more_exist {
        list.notes.push(format!(
            "sorted by priority, then {}, among the {} found first in SSCAN order: ordering the whole set would need every record read",
            time_field.as_deref().unwrap_or("key"),
            list.jobs.len()
        ));
    }
    Ok((list, exit::OK))
}

/// What a bounded walk found.
struct Walked {
    /// The first `want` matches.
    matches: Vec<Vec<u8>>,
    /// Further matches seen in the last page but not kept.
    left_over: usize,
    /// The walk reached the end of the set.
    finished: bool,
}

/// SSCAN `walk` until `want` members (also in `other`, if given) are found.
async fn collect(
    store: &mut Store,
    walk: &[u8],
    other: Option<&[u8]>,
    want: usize,
) -> Result<Walked> {
    let mut out = Walked {
        matches: Vec::new(),
        left_over: 0,
        finished: false,
    };
    if want == 0 {
        return Ok(out);
    }
    let mut cursor = 0u64;
    loop {
        let (next, page) = store.sscan_page(walk, cursor, SSCAN_COUNT).await?;
        let page: Vec<Vec<u8>> = match other {
            Some(o) => {
                let flags = store.smismember(o, &page).await?;
                page.into_iter()
                    .zip(flags)
                    .filter(|(_, f)| *f)
                    .map(|(m, _)| m)
                    .collect()
            }
            None => page,
        };
        // SSCAN may return a member twice; only matches are remembered, so
        // memory stays bounded by `want` however large the set.
        for m in page {
            if out.matches.contains(&m) {
                continue;
            }
            if out.matches.len() < want {
                out.matches.push(m);
            } else {
                out.left_over += 1;
            }
        }
        if next == 0 {
            out.finished = true;
            return Ok(out);
        }
        if out.matches.len() >= want {
            return Ok(out);
        }
        cursor = next;
    }
}

struct RowContext<'a> {
    model: &'a Model,
    project_field: Option<&'a str>,
    time_field: Option<&'a str>,
    now: f64,
}

impl RowContext<'_> {
    fn row(&self, raw: RawRecord) -> ListedJob {
        let model = self.model;
        let parsed = model.parse_key(&raw.key);
        let fields = Fields(
            raw.fields
                .iter()
                .filter_map(|(n, v)| {
                    Some((String::from_utf8(n.clone()).ok()?, FieldValue::from_raw(v)))
                })
                .collect(),
        );
        let text = |name: &str| {
            fields
                .get(name)
                .and_then(FieldValue::key_text)
                .map(str::to_owned)
        };
        let key_value = |name: &str| {
            parsed
                .as_ref()
                .ok()
                .and_then(|p| p.get(name))
                .map(str::to_owned)
        };
        let project = self
            .project_field
            .and_then(|f| key_value(f).or_else(|| text(f)));
        let time = self
            .time_field
            .and_then(|f| fields.get(f))
            .and_then(FieldValue::as_f64);
        let problem = match (raw.redis_type.as_str(), &parsed) {
            ("hash", Ok(_)) => None,
            ("hash", Err(e)) => Some(format!("the key does not parse: {e}")),
            ("none", _) => Some("no such key: a dangling member".to_owned()),
            (t, _) => Some(format!("a {t}, not a hash")),
        };
        ListedJob {
            job_id: model.key_job_id_bytes(&raw.key).map(Bytes),
            key_status: key_value(&model.status.field),
            status: text(&model.status.field),
            project,
            priority: model
                .field(PRIORITY_FIELD)
                .and_then(|_| fields.get(PRIORITY_FIELD))
                .and_then(FieldValue::value)
                .map(|v| v.display()),
            time,
            age_seconds: time.map(|t| self.now - t),
            message: model
                .field(MESSAGE_FIELD)
                .and_then(|_| fields.get(MESSAGE_FIELD))
                .cloned(),
            key: Bytes(raw.key),
            fields,
            problem,
        }
    }
}

fn priority_rank(p: Option<&str>) -> u8 {
    match p {
        Some("high") => 0,
        Some("normal") => 1,
        Some("low") => 2,
        _ => 3,
    }
}

/// Priority (high, normal, low, anything else), then time (oldest first,
/// none last), then key.
pub fn sort_rows(rows: &mut [ListedJob]) {
    rows.sort_by(|a, b| {
        priority_rank(a.priority.as_deref())
            .cmp(&priority_rank(b.priority.as_deref()))
            .then_with(|| match (a.time, b.time) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| a.key.cmp(&b.key))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, priority: Option<&str>, time: Option<f64>) -> ListedJob {
        ListedJob {
            key: Bytes::from(key),
            job_id: None,
            project: None,
            status: None,
            key_status: None,
            priority: priority.map(str::to_owned),
            time,
            age_seconds: None,
            message: None,
            fields: Fields::default(),
            problem: None,
        }
    }

    #[test]
    fn priority_then_time_then_key() {
        let mut rows = vec![
            row("a", Some("low"), Some(1.0)),
            row("b", None, Some(0.0)),
            row("c", Some("normal"), None),
            row("d", Some("normal"), Some(9.0)),
            row("e", Some("high"), Some(5.0)),
            row("f", Some("urgent"), Some(0.0)),
            row("g", Some("high"), Some(2.0)),
        ];
        sort_rows(&mut rows);
        let keys: Vec<String> = rows.iter().map(|r| r.key.to_string()).collect();
        assert_eq!(keys, ["g", "e", "d", "c", "a", "b", "f"]);
    }

    #[test]
    fn project_field_of_models() {
        assert_eq!(
            project_field(&Model::redis_job()).map(|f| f.name.as_str()),
            Some("project_key")
        );
    }
}
