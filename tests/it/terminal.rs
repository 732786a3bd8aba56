//! What a person at a terminal sees: coloured tables line up exactly as
//! plain ones do, and the progress bar's rate reads as a whole number.

use std::process::{Command, Stdio};

use crate::common::*;

/// `s` without its ANSI escape sequences (CSI ... final byte).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Three jobs, the first of which lost its status index: painted cells in
/// the scan's counts and the inspected job's memberships.
fn damaged(r: &Redis) -> Vec<String> {
    let mut con = r.con();
    let keys = seed(&mut con, 3, "billing");
    cmd(
        &mut con,
        &[
            b"SREM",
            b"$KeyF:RedisJob:status:pending",
            keys[0].as_bytes(),
        ],
    );
    keys
}

#[test]
fn coloured_tables_line_up_like_plain_ones() {
    let r = Redis::start();
    let keys = damaged(&r);
    let id = job_id(1);
    let commands: [&[&str]; 3] = [
        &["orphans", "scan", "--grace", "0"],
        &["reindex", "--dry-run", "--grace", "0"],
        &["inspect", &id],
    ];
    for args in commands {
        let with = |when: &str| {
            let mut a = vec!["--color", when];
            a.extend_from_slice(args);
            let run = r.jobq(&a);
            assert!(matches!(run.code(), 0 | 1), "{}", run.explain());
            // The scan's summary line has its run time in it.
            run.stdout()
                .lines()
                .filter(|l| !l.starts_with("Scanned "))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        let (painted, plain) = (with("always"), with("never"));
        // The scan's counts and the job's memberships have painted cells
        // (the dry run only a header): --color always paints them, even
        // with NO_COLOR set.
        let cells = painted.lines().skip(1).any(|l| l.contains('\u{1b}'));
        assert!(
            cells || args[0] == "reindex",
            "{args:?}: no painted cell:\n{painted}"
        );
        assert!(painted.contains('\u{1b}'), "{args:?}: not painted");
        assert_eq!(
            strip_ansi(&painted),
            plain,
            "{args:?}: colour must not move the columns\n--- painted ---\n{painted}"
        );
    }
    assert!(!keys.is_empty());
}

/// `s` quoted for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Every rate the progress bar drew (the text before each `/s`).
fn rates(transcript: &str) -> Vec<String> {
    let clean = strip_ansi(transcript);
    let mut out = Vec::new();
    let mut rest = clean.as_str();
    while let Some(i) = rest.find("/s") {
        let head = &rest[..i];
        let start = head
            .rfind(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
            .map(|j| j + 1)
            .unwrap_or(0);
        if start < head.len() {
            out.push(head[start..].to_owned());
        }
        rest = &rest[i + 2..];
    }
    out
}

#[test]
fn progress_rate_reads_as_whole_steps() {
    let r = Redis::start();
    let mut con = r.con();
    seed_fast(&mut con, 100_000, "p");
    // A terminal with room for the whole bar; the bar shows only on one.
    let line = format!(
        "stty cols 200 rows 50; exec {} --url {} orphans scan --grace 0",
        sh_quote(jobq_bin()),
        sh_quote(&r.url())
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run script(1) ({e}); install it with: sudo apt-get install bsdutils (Debian/Ubuntu)"
            )
        });
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let seen = rates(&shown);
    assert!(!seen.is_empty(), "the bar was never drawn:\n{shown:?}");
    for rate in &seen {
        let (whole, frac) = rate.split_once('.').unwrap_or((rate, ""));
        let value: f64 = whole.replace(',', "").parse().unwrap_or(f64::NAN);
        assert!(
            frac.is_empty() || (frac.len() == 1 && value < 10.0),
            "rate {rate:?}/s: whole steps, one decimal only below 10\n{seen:?}"
        );
        assert!(
            !whole.contains(',') || whole.split(',').skip(1).all(|g| g.len() == 3),
            "rate {rate:?}/s: thousands grouped by three"
        );
    }
}
