//! Text forms of the `jobq inspect` reports, and the `--watch` redraw.

use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use comfy_table::Cell;

use super::{Render, Style, Ui};
use crate::bytes::{escape_bytes, Bytes};
use crate::report::inspect::{
    FieldValue, InspectReport, JobList, JobReport, Overview, RecordFacts, SetCheck, HEALTHY,
};
use crate::schema::calendar::iso_utc;
use crate::schema::msgpack::format_float;
use crate::schema::Value;

/// Characters of a message shown in a list.
const PREVIEW_CHARS: usize = 50;
/// Characters of one value shown in the one-job view (JSON has it all).
const VALUE_CHARS: usize = 2000;

impl Render for InspectReport {
    fn command(&self) -> &'static str {
        "inspect"
    }

    fn text(&self, style: &Style) -> String {
        match self {
            InspectReport::Overview(o) => overview(o, style),
            InspectReport::List(l) => list(l, style),
            InspectReport::Job(j) => job(j, style),
        }
    }
}

/// The `--watch` redraw: each frame replaces the last on a terminal; when
/// stdout is a pipe or a file the frames follow one another (with `--json`,
/// one object per line: JSON Lines).
pub struct Frames<'a> {
    ui: &'a Ui,
    term: Option<console::Term>,
}

impl<'a> Frames<'a> {
    pub fn new(ui: &'a Ui) -> Frames<'a> {
        let term =
            (!ui.settings.json && std::io::stdout().is_terminal()).then(console::Term::stdout);
        Frames { ui, term }
    }

    pub fn show(&mut self, report: &InspectReport) -> Result<()> {
        if let Some(t) = &self.term {
            t.clear_screen()?;
        }
        self.ui.emit(report)
    }

    /// Leave the terminal as it was found: the last frame stays on screen.
    pub fn finish(&mut self) {
        if let Some(t) = &self.term {
            let _ = t.show_cursor();
        }
    }
}

fn age(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    if secs < 0.0 {
        return "in the future (clock skew?)".into();
    }
    let d = Duration::from_secs(secs as u64);
    if d.is_zero() {
        return "0s".into();
    }
    // Two units are enough to judge an age at a glance.
    humantime::format_duration(d)
        .to_string()
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn overview(o: &Overview, style: &Style) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} at {} UTC",
        style.bold(&o.model),
        iso_utc(o.server_time.floor())
    );
    let mut t = style.table(&["", "set", "jobs"]);
    let size = |n: Option<u64>, e: &Option<String>| match (n, e) {
        (Some(n), _) => Cell::new(n),
        // The first word (WRONGTYPE) fits a table; the health line has it all.
        (None, Some(e)) => style.bad_cell(e.split(' ').next().unwrap_or("error")),
        (None, None) => Cell::new("?"),
    };
    t.add_row(vec![
        Cell::new("class set"),
        Cell::new(&o.class_set.key),
        size(o.class_set.size, &o.class_set.error),
    ]);
    for st in &o.status_indexes {
        let label = if st.declared {
            st.status.to_string()
        } else {
            format!("{} (not in schema)", st.status)
        };
        t.add_row(vec![
            Cell::new(label),
            Cell::new(&st.key),
            size(st.size, &st.error),
        ]);
    }
    t.add_row(vec![
        "all statuses".to_owned(),
        String::new(),
        o.status_total.to_string(),
    ]);
    right_align(&mut t, 2);
    let _ = writeln!(s, "{t}");
    match (&o.oldest_pending, &o.oldest_pending_note) {
        (Some(p), _) => {
            let since = p
                .age_seconds
                .map(|a| format!(" {} ago", age(a)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "oldest pending: {} ({}{since})",
                p.job_id.as_ref().unwrap_or(&p.key),
                p.field,
            );
        }
        (None, Some(n)) => {
            let _ = writeln!(s, "oldest pending: none ({n})");
        }
        (None, None) => {}
    }
    let verdict = if o.health.ok {
        style.good("ok")
    } else {
        style.bad("DOES NOT ADD UP")
    };
    let _ = writeln!(s, "health: {verdict}: {}", o.health.message);
    if o.discovery.walked_keyspace {
        let _ = writeln!(
            s,
            "note: other status indexes were looked for with SCAN MATCH {} over all {} keys (--no-discover skips this walk)",
            o.discovery.pattern,
            o.discovery.keys_in_db.unwrap_or(0)
        );
    }
    s
}

fn right_align(t: &mut comfy_table::Table, col: usize) {
    if let Some(c) = t.column_mut(col) {
        c.set_cell_alignment(comfy_table::CellAlignment::Right);
    }
}

/// One value on one line: control characters escaped, long text cut.
fn short(v: &FieldValue, max: usize) -> String {
    let text = match v {
        FieldValue::Value(Value::Str(s)) => s.clone(),
        FieldValue::Value(v) => v.display(),
        FieldValue::Undecodable { undecodable, .. } => format!("<undecodable: {undecodable}>"),
        FieldValue::TooLarge { too_large_bytes } => format!("<{too_large_bytes} bytes>"),
    };
    cut(&escape_bytes(text.as_bytes()), max)
}

fn cut(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_owned()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}… ({n} chars)")
    }
}

fn list(l: &JobList, style: &Style) -> String {
    let mut s = String::new();
    for p in &l.problems {
        let _ = writeln!(s, "{} {p}", style.bad("problem:"));
    }
    if !l.problems.is_empty() {
        return s;
    }
    let mut t = style.table(&["job_id", "project", "status", "priority", "age", "message"]);
    for j in &l.jobs {
        let status = match (&j.status, &j.key_status) {
            (Some(f), Some(k)) if f != k => style.warn_cell(format!("{f} (key: {k})")),
            (Some(f), _) => Cell::new(f),
            (None, Some(k)) => Cell::new(k),
            (None, None) => Cell::new("?"),
        };
        let message = match &j.problem {
            Some(p) => style.bad_cell(format!("{p}: {}", j.key)),
            None => Cell::new(
                j.message
                    .as_ref()
                    .map(|m| short(m, PREVIEW_CHARS))
                    .unwrap_or_default(),
            ),
        };
        t.add_row(vec![
            Cell::new(
                j.job_id
                    .as_ref()
                    .map(Bytes::to_string)
                    .unwrap_or_else(|| j.key.to_string()),
            ),
            Cell::new(j.project.clone().unwrap_or_default()),
            status,
            Cell::new(j.priority.clone().unwrap_or_default()),
            Cell::new(j.age_seconds.map(age).unwrap_or_default()),
            message,
        ]);
    }
    if !l.jobs.is_empty() {
        let _ = writeln!(s, "{t}");
    }
    let filter = [
        l.status.as_ref().map(|x| format!("status {x}")),
        l.project.as_ref().map(|x| format!("project {x}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let more = match (l.more_not_shown, l.more_exist) {
        (Some(0), _) | (None, false) => String::new(),
        (Some(n), _) => format!("; {n} more not shown (--limit)"),
        (None, true) => "; more exist, not shown (--limit)".into(),
    };
    let _ = writeln!(s, "{} job(s) with {filter}{more}", l.jobs.len());
    for n in &l.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn job(j: &JobReport, style: &Style) -> String {
    let mut s = String::new();
    if !j.found && j.records.is_empty() {
        return s;
    }
    let _ = writeln!(s, "{} {}", style.bold("job_id"), j.job_id);
    let v = &j.verdict;
    let kind = if v.kind == HEALTHY {
        style.good(&v.kind)
    } else {
        style.bad(&v.kind)
    };
    let _ = writeln!(s, "{} {kind}: {}", style.bold("verdict"), v.detail);
    let _ = writeln!(s, "  repair: {}", v.repair);
    for f in v.findings.iter().skip(1) {
        // With several records, say which one each finding is about.
        let on = if j.records.len() > 1 {
            format!(" ({})", f.key)
        } else {
            String::new()
        };
        let _ = writeln!(s, "  also {}{on}: {}", style.warn(&f.kind), f.detail);
        let _ = writeln!(s, "    repair: {}", f.repair);
    }
    for r in &j.records {
        s.push('\n');
        record(&mut s, r, style);
    }
    for n in &j.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn record(s: &mut String, r: &RecordFacts, style: &Style) {
    let ttl = match r.ttl_seconds {
        Some(t) => format!("expires in {}", age(t)),
        None if r.redis_type == "none" => "does not exist".into(),
        None => "no TTL".into(),
    };
    let _ = writeln!(
        s,
        "{} {} ({}, {ttl})",
        style.bold("record"),
        r.key,
        r.redis_type
    );
    if let Some(e) = &r.parse_error {
        let _ = writeln!(s, "  {} the key does not parse: {e}", style.bad("!"));
    }
    if !r.fields.0.is_empty() || !r.extra_fields.is_empty() {
        let _ = writeln!(s, "  fields:");
        let mut t = style.bare_table();
        for (name, v) in &r.fields.0 {
            t.add_row(vec![String::new(), name.clone(), value(v)]);
        }
        for x in &r.extra_fields {
            t.add_row(vec![
                String::new(),
                format!("{} (not declared)", x.name),
                value(&x.value),
            ]);
        }
        let _ = writeln!(s, "{t}");
    }
    if r.fields_not_listed > 0 {
        let _ = writeln!(
            s,
            "  the hash has {} fields: only the declared ones were read",
            r.fields_not_listed
        );
    }
    if !r.missing_fields.is_empty() {
        let _ = writeln!(
            s,
            "  {} missing declared fields: {}",
            style.bad("!"),
            r.missing_fields.join(", ")
        );
    }
    let _ = writeln!(s, "  sets:");
    let mut t = style.bare_table();
    for c in std::iter::once(&r.class_set)
        .chain(&r.status_indexes)
        .chain(&r.key_field_indexes)
        .chain(&r.sorted_sets)
    {
        t.add_row(vec![
            Cell::new(""),
            membership(c, style),
            Cell::new(set_label(c)),
        ]);
    }
    let _ = writeln!(s, "{t}");
    if !r.pointers.is_empty() {
        let _ = writeln!(s, "  pointers:");
        for p in &r.pointers {
            pointer(s, p, style);
        }
    }
}

/// An indexed field's pointer beside the memberships: the set it names and
/// whether the record is in it; the legacy forms popoto still adopts.
fn pointer(s: &mut String, p: &crate::report::inspect::PointerFacts, style: &Style) {
    let names = match (&p.names, p.names_member) {
        (Some(n), Some(true)) => format!("-> {n} {}", style.good("(member)")),
        (Some(n), Some(false)) => format!("-> {n} {}", style.bad("(not a member)")),
        (Some(n), None) => format!("-> {n}"),
        (None, _) => style.bad("missing").to_string(),
    };
    let _ = writeln!(s, "    {} {names}", p.key);
    if let Some((k, v)) = &p.legacy_key {
        let _ = writeln!(
            s,
            "    {} legacy pointer (popoto 1.8.1-1.8.2) {k} -> {v}",
            style.bad("!")
        );
    }
    if let Some(v) = &p.legacy_field {
        let name = crate::bytes::Bytes(format!("{}\x00idxset", p.field).into_bytes());
        let _ = writeln!(
            s,
            "    {} legacy pointer field {name} (popoto 1.8.0) -> {v}",
            style.bad("!"),
        );
    }
    if let Some(e) = &p.error {
        let _ = writeln!(s, "    {} {e}", style.bad("error:"));
    }
}

fn membership(c: &SetCheck, style: &Style) -> Cell {
    match (c.member, &c.error) {
        (Some(true), _) => style.good_cell("member"),
        (Some(false), _) => Cell::new("-"),
        (None, Some(e)) => style.bad_cell(format!("error: {e}")),
        (None, None) => Cell::new("?"),
    }
}

fn set_label(c: &SetCheck) -> String {
    let mut l = c.set.to_string();
    if let Some(score) = c.score {
        let _ = write!(l, " (score {})", format_float(score));
    }
    if c.declared == Some(false) {
        l.push_str(" (status not in schema)");
    }
    if c.source == Some("field") {
        l.push_str(" (the value in its field, not its key)");
    }
    l
}

/// A value in the one-job view: strings quoted, so that the text `None`
/// and a None value look different.
fn value(v: &FieldValue) -> String {
    match v {
        FieldValue::Value(Value::Str(t)) => cut(&format!("{t:?}"), VALUE_CHARS),
        other => short(other, VALUE_CHARS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(age(0.2), "0s");
        assert_eq!(age(7384.0), "2h 3m");
        assert_eq!(age(-3.0), "in the future (clock skew?)");
    }

    #[test]
    fn values_on_one_line() {
        let v = FieldValue::Value(Value::Str("a\nb".into()));
        assert_eq!(short(&v, 10), "a\\nb");
        assert_eq!(value(&v), "\"a\\nb\"");
        let big = FieldValue::TooLarge {
            too_large_bytes: 104_857_600,
        };
        assert_eq!(short(&big, 50), "<104857600 bytes>");
        let long = FieldValue::Value(Value::Str("x".repeat(60)));
        assert_eq!(short(&long, 5), "xxxxx… (60 chars)");
        assert_eq!(value(&FieldValue::Value(Value::Nil)), "None");
    }
}
