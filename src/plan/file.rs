//! The plan file (`--plan-out`, `--plan`): JSON Lines, written as the scan
//! confirms each window and read back one line at a time, so neither side
//! holds the whole plan.
//!
//! ```text
//! {"format":2,"jobq":"plan","model":"RedisJob","version":"…","parameters":{…}}
//! {"action":{"kind":"orphan","job_id":"…","key":"…","description":"…","step":{"op":"reconcile",…}}}
//! {"needs_policy":{"kind":"duplicate","job_id":"…","key":"…","reason":"…"}}
//! {"untouched":{"kind":"malformed",…}}
//! {"end":{"complete":true,"actions":1,"needs_policy":1,"untouched":1}}
//! ```
//!
//! A file whose run was stopped ends without the `end` line, or with
//! `"complete": false`; it is still valid up to its last line. Format 1
//! (one pretty-printed JSON object, jobq before the streaming repair) is
//! still read.
//!
//! Owns: the file's lines ([`PlanLine`]), [`PlanWriter`] and [`PlanReader`].
//! Must not: talk to Redis or print.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{check, Action, Plan, Skip, PLAN_FORMAT};
use crate::bytes::escape_bytes;
use crate::exit;
use crate::jsonl::{JsonLines, Line, Lines};
use crate::schema::Model;

/// The first line of a plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanHeader {
    pub format: u32,
    /// Always "plan": what kind of jobq file this is.
    pub jobq: String,
    pub model: String,
    /// The jobq version that wrote it.
    #[serde(default)]
    pub version: String,
    /// The run's parameters (the command and its options), for the reader.
    #[serde(default)]
    pub parameters: serde_json::Value,
}

/// One line after the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanLine {
    Action(Action),
    NeedsPolicy(Skip),
    Untouched(Skip),
    End(PlanEnd),
}

/// The closing line: how many of each the file holds, and whether the run
/// that wrote it finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanEnd {
    pub complete: bool,
    pub actions: u64,
    pub needs_policy: u64,
    pub untouched: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A plan file being written.
pub struct PlanWriter {
    out: JsonLines,
    end: PlanEnd,
}

impl PlanWriter {
    pub fn create(path: &Path, model: &Model, parameters: serde_json::Value) -> Result<PlanWriter> {
        let header = PlanHeader {
            format: PLAN_FORMAT,
            jobq: "plan".into(),
            model: model.class.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            parameters,
        };
        Ok(PlanWriter {
            out: JsonLines::create(path, &header)?,
            end: PlanEnd::default(),
        })
    }

    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Add one window's plan, and write it out.
    pub fn window(&mut self, plan: &Plan) -> Result<()> {
        for a in &plan.actions {
            self.out.push(&PlanLine::Action(a.clone()))?;
        }
        for s in &plan.needs_policy {
            self.out.push(&PlanLine::NeedsPolicy(s.clone()))?;
        }
        for s in &plan.untouched {
            self.out.push(&PlanLine::Untouched(s.clone()))?;
        }
        self.end.actions += plan.actions.len() as u64;
        self.end.needs_policy += plan.needs_policy.len() as u64;
        self.end.untouched += plan.untouched.len() as u64;
        self.out.flush()
    }

    /// Close the file: `None` when the run finished, else why it did not.
    pub fn finish(mut self, stopped: Option<&str>) -> Result<()> {
        self.end.complete = stopped.is_none();
        self.end.reason = stopped.map(str::to_owned);
        let end = PlanLine::End(self.end.clone());
        self.out.finish(&end)
    }
}

/// A plan file read one line at a time; every action's step is checked
/// against the model as it is read (see `check`).
pub struct PlanReader {
    source: Source,
    /// The closing line, once read (`None`: not reached, or absent).
    pub end: Option<PlanEnd>,
    /// The file ends in a cut line (a run killed mid-write).
    pub cut: bool,
    /// Steps read so far, for naming a bad one.
    step: u64,
}

enum Source {
    Lines(Lines),
    /// A format-1 file, read whole (it was written whole).
    Whole(std::vec::IntoIter<PlanLine>),
}

fn usage(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    exit::usage(format!("{}: {what}", path.display()))
}

impl PlanReader {
    /// Open a plan file made for `model` (exit 2 for anything else).
    pub fn open(path: &Path, model: &Model) -> Result<PlanReader> {
        let mut lines = Lines::open(path).map_err(|e| exit::usage(format!("{e:#}")))?;
        let first = match lines.next_line()? {
            Some(Line::Complete(l)) | Some(Line::Cut(l)) => l.to_owned(),
            None => return Err(usage(path, "is not a jobq plan: it is empty")),
        };
        let (model_name, source) = match serde_json::from_str::<PlanHeader>(&first) {
            Ok(h) if h.jobq == "plan" => {
                if h.format != PLAN_FORMAT {
                    return Err(usage(
                        path,
                        format!("plan format {} is not supported", h.format),
                    ));
                }
                (h.model, Source::Lines(lines))
            }
            _ => {
                // Format 1: one JSON object, perhaps over many lines.
                let text = std::fs::read_to_string(path)
                    .map_err(|e| usage(path, format!("cannot read it: {e}")))?;
                let plan: Plan = serde_json::from_str(&text)
                    .map_err(|e| usage(path, format!("is not a jobq plan: {e}")))?;
                if plan.format != 1 {
                    return Err(usage(
                        path,
                        format!("plan format {} is not supported", plan.format),
                    ));
                }
                let end = PlanEnd {
                    complete: true,
                    actions: plan.actions.len() as u64,
                    needs_policy: plan.needs_policy.len() as u64,
                    untouched: plan.untouched.len() as u64,
                    reason: None,
                };
                let mut all: Vec<PlanLine> =
                    plan.actions.into_iter().map(PlanLine::Action).collect();
                all.extend(plan.needs_policy.into_iter().map(PlanLine::NeedsPolicy));
                all.extend(plan.untouched.into_iter().map(PlanLine::Untouched));
                all.push(PlanLine::End(end));
                (plan.model, Source::Whole(all.into_iter()))
            }
        };
        if model_name != model.class {
            return Err(usage(
                path,
                format!(
                    "was made for the {model_name} model, not {} (check --schema)",
                    model.class
                ),
            ));
        }
        Ok(PlanReader {
            source,
            end: None,
            cut: false,
            step: 0,
        })
    }

    /// The next action, need-a-policy or untouched line; `None` at the end.
    /// A step that does not check out refuses the plan (exit 2).
    pub fn next(&mut self, path: &Path, model: &Model) -> Result<Option<PlanLine>> {
        loop {
            let line = match &mut self.source {
                Source::Whole(it) => it.next(),
                Source::Lines(lines) => match lines.next_line()? {
                    None => None,
                    Some(Line::Cut(_)) => {
                        self.cut = true;
                        None
                    }
                    Some(Line::Complete("")) => continue,
                    Some(Line::Complete(l)) => {
                        Some(serde_json::from_str::<PlanLine>(l).map_err(|e| {
                            usage(path, format!("line {}: not a plan line: {e}", lines.number))
                        })?)
                    }
                },
            };
            let Some(line) = line else {
                return Ok(None);
            };
            match line {
                PlanLine::End(end) => {
                    self.end = Some(end);
                    continue;
                }
                _ if self.end.is_some() => {
                    return Err(usage(path, "has lines after its closing line"));
                }
                PlanLine::Action(mut a) => {
                    self.step += 1;
                    check::check(model, &a).map_err(|why| {
                        usage(
                            path,
                            format!(
                                "step {} ({}): {why}; the plan is refused whole and nothing was written",
                                self.step,
                                escape_bytes(a.key.as_slice())
                            ),
                        )
                    })?;
                    a.description = check::describe(&a);
                    return Ok(Some(PlanLine::Action(a)));
                }
                other => return Ok(Some(other)),
            }
        }
    }

    /// Whether the file said it was complete.
    pub fn complete(&self) -> bool {
        !self.cut && self.end.as_ref().is_some_and(|e| e.complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{build, Policy};

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jobq-planfile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("plan.jsonl")
    }

    #[test]
    fn an_empty_plan_round_trips_and_says_it_is_complete() {
        let m = Model::redis_job();
        let path = temp("empty");
        let mut w = PlanWriter::create(&path, &m, serde_json::json!({"grace": 2})).unwrap();
        w.window(&build(&m, &[], &Policy::default())).unwrap();
        w.finish(None).unwrap();
        let mut r = PlanReader::open(&path, &m).unwrap();
        assert!(r.next(&path, &m).unwrap().is_none());
        assert!(r.complete());
        assert_eq!(r.end.as_ref().map(|e| e.actions), Some(0));
    }

    #[test]
    fn a_plan_without_its_closing_line_is_not_complete() {
        let m = Model::redis_job();
        let path = temp("open");
        std::fs::write(
            &path,
            "{\"format\":2,\"jobq\":\"plan\",\"model\":\"RedisJob\"}\n",
        )
        .unwrap();
        let mut r = PlanReader::open(&path, &m).unwrap();
        assert!(r.next(&path, &m).unwrap().is_none());
        assert!(!r.complete());
        std::fs::write(
            &path,
            "{\"format\":2,\"jobq\":\"plan\",\"model\":\"RedisJob\"}\n{\"end\":{\"comp",
        )
        .unwrap();
        let mut r = PlanReader::open(&path, &m).unwrap();
        assert!(r.next(&path, &m).unwrap().is_none());
        assert!(r.cut && !r.complete());
    }

    #[test]
    fn another_models_plan_or_another_format_is_refused() {
        let m = Model::redis_job();
        let path = temp("other");
        std::fs::write(
            &path,
            "{\"format\":2,\"jobq\":\"plan\",\"model\":\"Task\"}\n",
        )
        .unwrap();
        let e = PlanReader::open(&path, &m).err().unwrap();
        assert!(format!("{e}").contains("Task"), "{e}");
        std::fs::write(
            &path,
            "{\"format\":3,\"jobq\":\"plan\",\"model\":\"RedisJob\"}\n",
        )
        .unwrap();
        let e = PlanReader::open(&path, &m).err().unwrap();
        assert!(format!("{e}").contains("format 3"), "{e}");
    }
}
