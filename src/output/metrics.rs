//! `jobq inspect --format prometheus`: the metrics report in the Prometheus
//! text exposition format (0.0.4), for node_exporter's textfile collector.
//! Every family has its `# HELP` and `# TYPE` lines; every sample carries
//! the `model` and `namespace` labels. A figure that could not be read is
//! left out (never written as 0): an unreadable index is not an empty one.

use std::fmt::Write;

use super::{Render, Style};
use crate::bytes::escape_bytes;
use crate::report::metrics::Metrics;

impl Render for Metrics {
    fn command(&self) -> &'static str {
        "inspect"
    }

    /// Never painted: a scraper reads this text.
    fn text(&self, _style: &Style) -> String {
        exposition(self)
    }
}

/// One metric family: its name, help, and samples (extra labels, value).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

fn exposition(m: &Metrics) -> String {
    let o = &m.overview;
    let base = [
        ("model", o.model.clone()),
        ("namespace", m.namespace.clone()),
    ];
    let mut families = vec![
        Family {
            name: "jobq_class_set_jobs",
            help: "Members of the model's class set ($Class:<Model>).",
            samples: o
                .class_set
                .size
                .map(|n| (vec![], n as f64))
                .into_iter()
                .collect(),
        },
        Family {
            name: "jobq_status_jobs",
            help: "Members of each status index ($KeyF:<Model>:<status field>:<status>); declared=false for an index the schema does not list.",
            samples: o
                .status_indexes
                .iter()
                .filter_map(|s| {
                    let labels = vec![
                        ("status", escape_bytes(&s.status.0)),
                        ("declared", s.declared.to_string()),
                    ];
                    s.size.map(|n| (labels, n as f64))
                })
                .collect(),
        },
        Family {
            name: "jobq_oldest_pending_age_seconds",
            help: "Age of the oldest pending job by the model's first sorted field, in seconds (absent when there is none).",
            samples: o
                .oldest_pending
                .as_ref()
                .and_then(|p| p.age_seconds)
                .map(|a| (vec![], a))
                .into_iter()
                .collect(),
        },
        Family {
            name: "jobq_healthy",
            help: "1 when every index could be read and the status indexes add up to the class set, else 0.",
            samples: vec![(vec![], if o.health.ok { 1.0 } else { 0.0 })],
        },
    ];
    if let Some(scan) = &m.scan {
        families.push(Family {
            name: "jobq_findings",
            help: "Confirmed findings of the consistency scan, per kind.",
            samples: scan
                .counts
                .iter()
                .map(|(kind, n)| (vec![("kind", (*kind).to_owned())], *n as f64))
                .collect(),
        });
        families.push(Family {
            name: "jobq_unconfirmed_jobs",
            help:
                "Records the scan could not judge because a set they depend on could not be read.",
            samples: vec![(vec![], scan.unconfirmed as f64)],
        });
    }
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} gauge", f.name);
        for (labels, value) in f.samples {
            let labels: Vec<String> = base
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .chain(labels.iter().map(|(k, v)| (*k, v.as_str())))
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(out, "{}{{{}}} {}", f.name, labels.join(","), number(value));
        }
    }
    out
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as Go's ParseFloat reads it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
    }

    #[test]
    fn numbers_read_as_go_floats() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(1e21), "1000000000000000000000");
    }
}
