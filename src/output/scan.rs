use std::fmt::Write;

use super::{Render, Style};
use crate::bytes::escape_bytes;
use crate::diagnose::Kind;
use crate::report::scan::ScanReport;

impl Render for ScanReport {
    fn command(&self) -> &'static str {
        "orphans scan"
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        let u = &self.unconfirmed;
        let empty = self.scanned.class_members == 0
            && self.scanned.index_members == 0
            && self.scanned.keyspace_keys == 0;
        if self.total == 0 && u.count == 0 && empty {
            // Most often the wrong --url or db number, not a healthy queue.
            let _ = writeln!(
                s,
                "Nothing to check: the class set and every index are empty or missing here (no jobs of this model; is --url, or its /db number, right?)."
            );
        } else if self.total == 0 && u.count == 0 {
            let _ = writeln!(s, "{}", style.good("No damage found."));
        } else if self.total == 0 {
            let _ = writeln!(
                s,
                "No damage confirmed, but not every job could be checked."
            );
        } else {
            let mut t = style.table(&["kind", "count", "meaning"]);
            for k in Kind::ALL {
                let n = self.counts.get(k.name()).copied().unwrap_or(0);
                if n > 0 {
                    t.add_row(vec![style.bad_cell(k.name()), n.into(), k.meaning().into()]);
                }
            }
            let _ = writeln!(s, "{t}");
            for k in Kind::ALL {
                let of_kind: Vec<_> = self.findings.iter().filter(|f| f.kind == k).collect();
                if of_kind.is_empty() {
                    continue;
                }
                let total = self
                    .counts
                    .get(k.name())
                    .copied()
                    .unwrap_or(0)
                    .max(of_kind.len() as u64);
                let _ = writeln!(s, "\n{} ({total})", style.bold(k.name()));
                let mut t = style.table(&["job_id", "key", "seen", "repair"]);
                for f in of_kind.iter().take(self.limit) {
                    t.add_row(vec![
                        f.job_id.clone().unwrap_or_else(|| "-".into()),
                        escape_bytes(f.key.as_slice()),
                        f.seen.clone(),
                        f.repair.clone(),
                    ]);
                }
                let _ = writeln!(s, "{t}");
                let shown = of_kind.len().min(self.limit) as u64;
                if total > shown {
                    let how = if total > of_kind.len() as u64 {
                        "--show all and --limit N list more, --report-out FILE writes every one"
                    } else {
                        "--limit N shows more, --json shows all"
                    };
                    let _ = writeln!(s, "  ... {} more ({how})", total - shown);
                }
            }
        }
        if u.count > 0 {
            let _ = writeln!(
                s,
                "\n{} ({}): a set their diagnosis depends on could not be read; fix that set, then scan again",
                style.bad("unconfirmed"),
                u.count
            );
            let mut t = style.table(&["key", "why"]);
            for j in &u.sample {
                t.add_row(vec![escape_bytes(j.key.as_slice()), j.why.clone()]);
            }
            let _ = writeln!(s, "{t}");
            if u.count > u.sample.len() as u64 {
                let _ = writeln!(s, "  ... {} more", u.count - u.sample.len() as u64);
            }
        }
        let _ = writeln!(
            s,
            "\nScanned {} class-set members and {} index entries in {} sets in {:.2}s; {} candidate(s), {} gone on the re-check after {:.1}s.",
            self.scanned.class_members,
            self.scanned.index_members,
            self.scanned.indexes,
            self.elapsed_seconds,
            self.candidates,
            self.transient,
            self.grace_seconds
        );
        if self.deep {
            let _ = writeln!(
                s,
                "The keyspace was walked (--deep): {} keys; {} stored values decoded.",
                self.scanned.keyspace_keys, self.scanned.values_checked
            );
            if self.scanned.values_too_large > 0 {
                let _ = writeln!(
                    s,
                    "{} values over 64 KiB were not decoded (their validity is not known).",
                    self.scanned.values_too_large
                );
            }
        } else {
            let _ = writeln!(s, "The keyspace was not walked: records missing from the class set (unlisted), and stored values that are not valid msgpack, are found only with --deep.");
        }
        if let Some(p) = &self.plan_out {
            let _ = writeln!(
                s,
                "Repair plan written to {p} (apply with: jobq reindex --plan {p})."
            );
        } else if self.total > 0 {
            let _ = writeln!(s, "Next: jobq reindex --dry-run");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{Bytes, PREVIEW_BYTES};
    use crate::diagnose::testkit::healthy;
    use crate::diagnose::Finding;
    use crate::report::scan::counts;
    use crate::scan::{Scanned, Unconfirmed, UnconfirmedJob};

    const PLAIN: Style = Style { color: false };

    fn scanned(members: u64) -> Scanned {
        Scanned {
            class_members: members,
            index_members: 7,
            indexes: 3,
            ..Scanned::default()
        }
    }

    fn report(findings: Vec<Finding>, members: u64) -> ScanReport {
        ScanReport {
            counts: counts(&findings),
            total: findings.len() as u64,
            findings,
            findings_not_listed: 0,
            listed_at_most: Some(30),
            unconfirmed: Unconfirmed::default(),
            scanned: scanned(members),
            candidates: 0,
            transient: 0,
            deep: false,
            grace_seconds: 2.0,
            elapsed_seconds: 0.5,
            plan_out: None,
            report_out: None,
            limit: 20,
            read_from: None,
        }
    }

    fn finding(kind: Kind, key: &[u8], id: Option<&str>) -> Finding {
        Finding {
            kind,
            also: vec![],
            job_id: id.map(str::to_owned),
            key: Bytes(key.to_vec()),
            sets: vec![],
            seen: "in no status index".into(),
            repair: "add to $IndexF:RedisJob:status:pending".into(),
            observed: healthy("j1", "pending"),
        }
    }

    #[test]
    fn a_healthy_queue_says_no_damage_found() {
        let text = report(vec![], 10).text(&PLAIN);
        let first = text.lines().next().unwrap();
        assert_eq!(first, "No damage found.");
        assert!(
            text.contains("\nScanned 10 class-set members and 7 index entries in 3 sets in 0.50s; 0 candidate(s), 0 gone on the re-check after 2.0s.\n"),
            "{text}"
        );
        assert!(text.contains("The keyspace was not walked:"), "{text}");
        assert!(!text.contains("Next:"), "nothing to repair: {text}");
    }

    #[test]
    fn nothing_walked_is_not_called_healthy() {
        let mut r = report(vec![], 0);
        r.scanned.index_members = 0;
        let text = r.text(&PLAIN);
        assert!(
            text.starts_with(
                "Nothing to check: the class set and every index are empty or missing here"
            ),
            "{text}"
        );
        assert!(!text.contains("No damage found"), "{text}");
    }

    #[test]
    fn unconfirmed_jobs_are_never_called_healthy() {
        let mut r = report(vec![], 10);
        r.unconfirmed = Unconfirmed {
            count: 12,
            sample: vec![UnconfirmedJob {
                key: Bytes(b"RedisJob:\xff:projA:pending".to_vec()),
                why: "$IndexF:RedisJob:status:running is not a set".into(),
            }],
        };
        let text = r.text(&PLAIN);
        assert!(!text.contains("No damage found"), "{text}");
        assert!(!text.contains("Nothing to check"), "{text}");
        assert_eq!(
            text.lines().next().unwrap(),
            "No damage confirmed, but not every job could be checked."
        );
        assert!(
            text.contains("\nunconfirmed (12): a set their diagnosis depends on could not be read; fix that set, then scan again\n"),
            "{text}"
        );
        let row = text
            .lines()
            .find(|l| l.contains("not a set"))
            .expect("the sample row");
        assert!(row.contains(r"RedisJob:\xff:projA:pending"), "{row}");
        assert!(text.contains("  ... 11 more\n"), "{text}");
    }

    #[test]
    fn findings_show_a_count_table_and_a_row_per_finding() {
        let r = report(
            vec![
                finding(Kind::Orphan, b"RedisJob:j1:projA:pending", Some("j1")),
                finding(Kind::Orphan, b"RedisJob:j2:projA:pending", Some("j2")),
                finding(Kind::Dangling, b"RedisJob:\xfe\x01:projA:running", None),
            ],
            10,
        );
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        let orphan = lines
            .iter()
            .find(|l| l.trim_start().starts_with("orphan") && l.contains("never picked up"))
            .expect("the orphan count row");
        assert!(orphan.contains(" 2 "), "{orphan}");
        assert!(lines.contains(&"orphan (2)"), "{text}");
        assert!(lines.contains(&"dangling (1)"), "{text}");
        assert!(
            !text.contains("wrong_index"),
            "kinds with 0 are left out: {text}"
        );
        let row = lines
            .iter()
            .find(|l| l.contains("RedisJob:j1:projA:pending"))
            .expect("the finding row");
        assert!(row.trim_start().starts_with("j1"), "{row}");
        assert!(row.contains("in no status index"), "{row}");
        assert!(
            row.contains("add to $IndexF:RedisJob:status:pending"),
            "{row}"
        );
        // No job_id: a dash; a key that is not UTF-8: escaped.
        let ghost = lines
            .iter()
            .find(|l| l.contains(r"RedisJob:\xfe\u{1}:projA:running"))
            .unwrap_or_else(|| panic!("the escaped key in {text}"));
        assert!(ghost.trim_start().starts_with('-'), "{ghost}");
        assert!(text.ends_with("Next: jobq reindex --dry-run\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "colour off: {text:?}");
    }

    #[test]
    fn findings_over_the_limit_are_counted() {
        let mut r = report(
            (0..5)
                .map(|i| {
                    let key = format!("RedisJob:j{i}:projA:pending");
                    finding(Kind::Orphan, key.as_bytes(), Some(&format!("j{i}")))
                })
                .collect(),
            10,
        );
        r.limit = 2;
        let text = r.text(&PLAIN);
        assert!(text.contains("j0") && text.contains("j1"), "{text}");
        assert!(!text.contains("RedisJob:j2:"), "{text}");
        assert!(
            text.contains("  ... 3 more (--limit N shows more, --json shows all)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_huge_key_is_shown_bounded() {
        let key = vec![b'k'; 1_000_000];
        let r = report(vec![finding(Kind::Orphan, &key, Some("j1"))], 10);
        let text = r.text(&PLAIN);
        assert!(text.len() < 10_000, "{} bytes of text", text.len());
        assert!(text.contains("… <1000000 bytes>"), "the cut mark");
        assert!(text.contains(&"k".repeat(PREVIEW_BYTES)));
        assert!(!text.contains(&"k".repeat(PREVIEW_BYTES + 1)));
    }

    #[test]
    fn deep_and_plan_lines() {
        let mut r = report(
            vec![finding(
                Kind::Orphan,
                b"RedisJob:j1:projA:pending",
                Some("j1"),
            )],
            10,
        );
        r.deep = true;
        r.scanned.keyspace_keys = 40;
        r.scanned.values_checked = 120;
        r.scanned.values_too_large = 2;
        r.plan_out = Some("plan.json".into());
        let text = r.text(&PLAIN);
        assert!(
            text.contains(
                "The keyspace was walked (--deep): 40 keys; 120 stored values decoded.\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("2 values over 64 KiB were not decoded (their validity is not known).\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Repair plan written to plan.json (apply with: jobq reindex --plan plan.json).\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Next:"), "{text}");
    }

    #[test]
    fn colour_on_paints_the_kinds() {
        let r = report(
            vec![finding(
                Kind::Orphan,
                b"RedisJob:j1:projA:pending",
                Some("j1"),
            )],
            10,
        );
        let painted = r.text(&Style { color: true });
        assert!(painted.contains('\u{1b}'), "{painted:?}");
        assert_eq!(console::strip_ansi_codes(&painted), r.text(&PLAIN));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let r = report(vec![finding(Kind::Orphan, b"\xffk", None)], 10);
        assert_eq!(r.command(), "orphans scan");
        let v = serde_json::to_value(&r).unwrap();
        let obj = v.as_object().unwrap();
        let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "candidates",
                "counts",
                "deep",
                "elapsed_seconds",
                "findings",
                "findings_not_listed",
                "grace_seconds",
                "listed_at_most",
                "scanned",
                "total",
                "transient",
                "unconfirmed"
            ],
            "no plan_out without a plan, never the table's limit"
        );
        assert_eq!(v["counts"]["orphan"], 1);
        assert_eq!(v["counts"]["malformed"], 0, "every kind is present");
        assert_eq!(v["counts"].as_object().unwrap().len(), Kind::ALL.len());
        assert_eq!(v["findings"][0]["kind"], "orphan");
        assert_eq!(v["findings"][0]["job_id"], serde_json::Value::Null);
        assert_eq!(
            v["findings"][0]["key"]["hex"], "ff6b",
            "a key that is not UTF-8"
        );
        for f in [
            "class_members",
            "index_members",
            "indexes",
            "keyspace_keys",
            "values_checked",
            "values_too_large",
        ] {
            assert!(v["scanned"].get(f).is_some(), "scanned.{f}");
        }
        assert_eq!(v["unconfirmed"]["count"], 0);
        assert!(v["unconfirmed"]["sample"].as_array().unwrap().is_empty());
        let mut r = r;
        r.plan_out = Some("p.json".into());
        assert_eq!(serde_json::to_value(&r).unwrap()["plan_out"], "p.json");
    }

    #[test]
    fn findings_and_unconfirmed_jobs_are_both_listed() {
        let mut r = report(
            vec![finding(
                Kind::Orphan,
                b"RedisJob:j1:projA:pending",
                Some("j1"),
            )],
            10,
        );
        r.unconfirmed = Unconfirmed {
            count: 1,
            sample: vec![UnconfirmedJob {
                key: Bytes::from("RedisJob:j2:projA:running"),
                why: "not a set".into(),
            }],
        };
        let text = r.text(&PLAIN);
        assert!(!text.contains("No damage"), "{text}");
        let found = text.find("orphan (1)").expect("the orphan section");
        let unconfirmed = text
            .find("unconfirmed (1)")
            .expect("the unconfirmed section");
        assert!(found < unconfirmed, "{text}");
        assert!(!text.contains("... "), "the whole sample is shown: {text}");
        assert!(text.ends_with("Next: jobq reindex --dry-run\n"), "{text}");
    }
}
