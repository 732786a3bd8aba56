//! The streaming scan and repair (issue 17): findings confirmed, planned
//! and applied window by window, the report listing at most `--show N`
//! with every count exact, `--plan-out` and `--report-out` written as JSON
//! Lines as the run goes (private, closed with a line saying whether the
//! run finished), and a repair of 200,000 findings under a memory cap.

use std::path::Path;
use std::time::Duration;

use crate::common::faults::jobq_peak_rss;
use crate::common::*;

const PENDING: &str = "$KeyF:RedisJob:status:pending";

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// `n` jobs taken out of the pending index (orphans), in one pipeline.
fn orphan(con: &mut redis::Connection, keys: &[String]) {
    for chunk in keys.chunks(5000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("SREM").arg(PENDING).arg(k).ignore();
        }
        let _: () = pipe.query(con).expect("SREM");
    }
}

/// Ghosts whose hash is gone, in the class set and the small failed index
/// (walked by pass B, after the class set met them in pass A).
fn ghost(con: &mut redis::Connection, keys: &[String]) {
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("DEL").arg(k).ignore();
        pipe.cmd("SADD")
            .arg("$KeyF:RedisJob:status:failed")
            .arg(k)
            .ignore();
    }
    let _: () = pipe.query(con).expect("ghosts");
}

#[test]
fn the_report_lists_at_most_show_and_the_files_hold_every_line() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 40, "p");
    orphan(&mut con, &keys[0..5]);
    ghost(&mut con, &keys[5..7]);
    let plan = r.dir.path().join("plan.jsonl");
    let out = r.dir.path().join("scan.jsonl");
    // An old file given again is rewritten, and made private.
    std::fs::write(&out, "old").expect("write");
    let scan = r.jobq(&[
        "--json",
        "orphans",
        "scan",
        "--grace",
        "0",
        "--show",
        "3",
        "--plan-out",
        plan.to_str().expect("path"),
        "--report-out",
        out.to_str().expect("path"),
    ]);
    scan.expect_code(1);
    let j = scan.json();
    assert_eq!(j["total"], 7, "{}", scan.explain());
    assert_eq!(j["findings"].as_array().map(Vec::len), Some(3));
    assert_eq!(j["findings_not_listed"], 4);
    assert_eq!(j["listed_at_most"], 3);
    assert_eq!(j["report_out"], out.to_str().expect("path"));
    assert_eq!(mode_of(&plan), 0o600);
    assert_eq!(mode_of(&out), 0o600);

    let lines = json_lines(&out);
    assert_eq!(lines[0]["jobq"], "scan-report");
    assert_eq!(lines[0]["format"], 1);
    assert_eq!(lines[0]["parameters"]["command"], "orphans scan");
    let findings: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("finding")).collect();
    assert_eq!(findings.len(), 7, "every finding is in the file");
    let end = &lines[lines.len() - 1]["end"];
    assert_eq!(end["complete"], true);
    assert_eq!(end["findings"], 7);
    assert_eq!(end["counts"]["orphan"], 5);
    let p = read_plan(&plan);
    assert_eq!(p["actions"].as_array().map(Vec::len), Some(7));
    assert_eq!(p["end"]["complete"], true);
    assert_eq!(p["end"]["actions"], 7);

    let rep = r.dir.path().join("reindex.jsonl");
    let run = r.jobq(&[
        "--json",
        "reindex",
        "--yes",
        "--show",
        "2",
        "--plan",
        plan.to_str().expect("path"),
        "--report-out",
        rep.to_str().expect("path"),
    ]);
    run.expect_code(0);
    let x = run.json();
    assert_eq!(x["applied"], 7, "{}", run.explain());
    assert_eq!(x["actions"].as_array().map(Vec::len), Some(2));
    assert_eq!(x["not_listed"]["actions"], 5);
    assert_eq!(x["counts"]["orphan"]["applied"], 5);
    let lines = json_lines(&rep);
    assert_eq!(lines[0]["jobq"], "reindex-report");
    let outcomes: Vec<&serde_json::Value> = lines
        .iter()
        .filter_map(|l| l.get("action"))
        .map(|a| &a["outcome"])
        .collect();
    assert_eq!(outcomes.len(), 7);
    assert!(outcomes.iter().all(|o| *o == "applied"), "{outcomes:?}");
    assert_eq!(lines[lines.len() - 1]["end"]["applied"], 7);
    assert_eq!(lines[lines.len() - 1]["end"]["complete"], true);
    r.jobq(&["orphans", "scan", "--grace", "0"]).expect_code(0);

    // The table says what it did not list.
    orphan(&mut con, &keys[10..15]);
    let table = r.jobq(&["reindex", "--dry-run", "--grace", "0", "--show", "1"]);
    table.expect_code(1);
    assert!(
        table.stdout().contains("4 more (--show all lists them"),
        "{}",
        table.explain()
    );
    assert!(table.stdout().contains("Dry run: 5 action(s) planned"));
    let all = r.jobq(&[
        "--json",
        "reindex",
        "--dry-run",
        "--grace",
        "0",
        "--show",
        "all",
    ]);
    assert_eq!(all.json()["actions"].as_array().map(Vec::len), Some(5));
    assert_eq!(all.json()["listed_at_most"], serde_json::Value::Null);
}

#[test]
fn one_file_for_two_flags_or_a_bad_show_is_refused_before_anything() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 3, "p");
    orphan(&mut con, &keys[0..1]);
    let f = r.dir.path().join("same.jsonl");
    let fs = f.to_str().expect("path");
    let run = r.jobq(&["reindex", "--yes", "--plan-out", fs, "--report-out", fs]);
    run.expect_code(2);
    assert!(run.stderr().contains("same file"), "{}", run.explain());
    assert!(!f.exists(), "nothing written");
    r.jobq(&["orphans", "scan", "--show", "some"])
        .expect_code(2);
    let dir = r.dir.path().join("no-such-dir").join("x.jsonl");
    let run = r.jobq(&[
        "orphans",
        "scan",
        "--report-out",
        dir.to_str().expect("path"),
    ]);
    run.expect_code(2);
    assert_eq!(smembers(&mut con, PENDING).len(), 2, "nothing repaired");
}

#[test]
fn an_interrupted_scan_closes_its_files_saying_so() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 60_000, "p");
    let every_tenth: Vec<String> = keys.iter().step_by(10).cloned().collect();
    orphan(&mut con, &every_tenth);
    let plan = r.dir.path().join("plan.jsonl");
    let child = crate::common::faults::spawn_jobq(
        &r,
        &[
            "orphans",
            "scan",
            "--batch",
            "10",
            "--grace",
            "1s",
            "--plan-out",
            plan.to_str().expect("path"),
        ],
    );
    assert!(
        crate::common::faults::wait_for(Duration::from_secs(30), || {
            std::fs::read_to_string(&plan)
                .map(|t| t.lines().count() > 1)
                .unwrap_or(false)
        }),
        "no window was written"
    );
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("marked unfinished"), "{stderr}");
    let p = read_plan(&plan);
    assert_eq!(p["end"]["complete"], false, "{}", p["end"]);
    assert_eq!(p["end"]["reason"], "interrupted");
    let n = p["actions"].as_array().map(Vec::len).unwrap_or(0);
    assert!(n > 0 && n < 6000, "{n} actions");
    // The partial plan applies what it holds, and says it is partial.
    let run = r.jobq(&[
        "--json",
        "reindex",
        "--yes",
        "--plan",
        plan.to_str().expect("path"),
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["applied"], n as u64);
    assert!(
        run.stderr().contains("does not say it is complete"),
        "{}",
        run.explain()
    );
}

/// The check: 200,000 findings repaired in windows, every count
/// exact (a ghost met by several walks, or again by pass B, is counted
/// once), under a memory cap far below what holding them all took (about
/// 3 KB a finding: 600 MB).
#[test]
fn two_hundred_thousand_findings_are_repaired_in_bounded_memory() {
    const N: usize = 180_000;
    const GHOSTS: usize = 20_000;
    const SMALL: usize = 1_000;
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, N + GHOSTS + SMALL, "p");
    orphan(&mut con, &keys[..N]);
    // Ghosts left in the class set, the pending index, the project index
    // and the zset: four walks of the joint pass meet each one.
    for chunk in keys[N..N + GHOSTS].chunks(5000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("DEL").arg(k).ignore();
        }
        let _: () = pipe.query(&mut con).expect("DEL");
    }
    ghost(&mut con, &keys[N + GHOSTS..]);
    let dangling = (GHOSTS + SMALL) as u64;
    let total = N as u64 + dangling;

    let (scan, scan_kib) = jobq_peak_rss(&r, &["--json", "orphans", "scan", "--grace", "0"]);
    scan.expect_code(1);
    let s = scan.json();
    assert_eq!(s["counts"]["orphan"], N as u64, "{}", scan.explain());
    assert_eq!(s["counts"]["dangling"], dangling);
    assert_eq!(s["total"], total, "each key once");
    assert_eq!(s["findings"].as_array().map(Vec::len), Some(30));

    let (run, kib) = jobq_peak_rss(&r, &["--json", "reindex", "--yes", "--grace", "0"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["applied"], total, "{}", run.explain());
    assert_eq!(j["already_applied"], 0, "no step planned twice");
    assert_eq!(j["counts"]["orphan"]["applied"], N as u64);
    assert_eq!(j["counts"]["dangling"]["applied"], dangling);
    assert_eq!(j["skipped"], 0);
    assert_eq!(j["not_listed"]["actions"], total - 30);
    assert_eq!(smembers(&mut con, PENDING).len(), N);
    r.jobq(&["orphans", "scan", "--grace", "0"]).expect_code(0);
    const CAP_KIB: u64 = 200 * 1024;
    assert!(scan_kib < CAP_KIB, "orphans scan peak RSS {scan_kib} KiB");
    assert!(kib < CAP_KIB, "reindex peak RSS {kib} KiB");
}

/// With a grace period, windows wait for their second sighting while the
/// walk goes on; every candidate is confirmed once.
#[test]
fn windows_wait_for_their_grace_while_the_walk_goes_on() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 12_000, "p");
    orphan(&mut con, &keys[..9_000]);
    let run = r.jobq(&["--json", "reindex", "--yes", "--grace", "300ms"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["applied"], 9_000, "{}", run.explain());
    assert_eq!(j["counts"]["orphan"]["applied"], 9_000);
    assert_eq!(smembers(&mut con, PENDING).len(), 12_000);
}
