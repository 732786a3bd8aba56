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
                let _ = writeln!(s, "\n{} ({})", style.bold(k.name()), of_kind.len());
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
                if of_kind.len() > self.limit {
                    let _ = writeln!(
                        s,
                        "  ... {} more (--limit N shows more, --json shows all)",
                        of_kind.len() - self.limit
                    );
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
