//! The README's tables and lists, checked against the code they describe:
//! the first screen, the exit-code table (the contract of `exit.rs` and the
//! man pages), the damage kinds, every JSON field of `orphans scan` and
//! `reindex`, "Reliability": every test its table names exists, and
//! "Production safety": every Redis command jobq sends is listed, and none
//! of the commands it promises never to send appears in `src/store/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("read README.md")
}

/// The text of the README section `## {title}`, up to the next `## `.
fn section(title: &str) -> String {
    let text = readme();
    let head = format!("\n## {title}\n");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("README.md has no section {title:?}"))
        + head.len();
    let end = text[start..]
        .find("\n## ")
        .map(|e| start + e)
        .unwrap_or(text.len());
    text[start..end].to_owned()
}

/// The first cells of a markdown table's body rows, and the rows.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .skip(1)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn the_first_screen_says_what_jobq_is_and_how_to_run_and_test_it() {
    let text = readme();
    let first: Vec<&str> = text.lines().take(24).collect();
    let first = first.join("\n");
    assert!(first.contains("popoto"), "{first}");
    assert!(first.contains("cargo run --release -- inspect"), "{first}");
    assert!(first.contains("\n./test\n"), "{first}");
    // The test command is cargo test, after installing what it needs.
    let script = std::fs::read_to_string(root().join("test")).expect("read ./test");
    assert!(
        script.trim_end().ends_with("exec cargo test \"$@\""),
        "./test must end by running cargo test"
    );
}

#[test]
fn the_exit_code_table_is_the_contract() {
    let normal = |s: &str| -> String {
        s.replace('`', "")
            .trim_end_matches('.')
            .to_ascii_lowercase()
    };
    let rows = table_rows(&section("Exit codes"));
    let readme: Vec<(String, String)> =
        rows.iter().map(|r| (r[0].clone(), normal(&r[1]))).collect();
    let contract: Vec<(String, String)> = jobq::exit::CONTRACT
        .iter()
        .map(|m| (m.code.to_string(), normal(m.text)))
        .collect();
    assert_eq!(readme, contract, "README's exit codes vs the man pages'");
}

#[test]
fn the_damage_kinds_table_names_every_kind_in_order() {
    let rows = table_rows(&section("Damage kinds"));
    let kinds: Vec<String> = rows.iter().map(|r| r[0].replace('`', "")).collect();
    let want: Vec<&str> = jobq::diagnose::Kind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(kinds, want);
    for r in &rows {
        assert_eq!(r.len(), 4, "a row needs seen/effect/repair: {r:?}");
    }
}

fn keys_of(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    if let Some(o) = v.as_object() {
        out.extend(o.keys().cloned());
    }
}

#[test]
fn every_json_field_of_scan_and_reindex_is_documented() {
    let r = Redis::start();
    let mut con = r.con();
    let k = seed(&mut con, 3, "billing");
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:status:pending", k[0].as_bytes()],
    );
    cmd(&mut con, &[b"DEL", k[1].as_bytes()]);
    let plan = r.dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path");
    let scan = r.jobq(&[
        "--json",
        "orphans",
        "scan",
        "--grace",
        "0",
        "--plan-out",
        plan_s,
    ]);
    scan.expect_code(1);
    let reindex = r.jobq(&["--json", "reindex", "--dry-run", "--grace", "0"]);
    reindex.expect_code(1);
    let (s, x) = (scan.json(), reindex.json());
    let p = read_plan(&plan);
    let lines = json_lines(&plan);
    let report_out = r.dir.path().join("report.jsonl");
    r.jobq(&[
        "--json",
        "reindex",
        "--dry-run",
        "--grace",
        "0",
        "--report-out",
        report_out.to_str().expect("path"),
    ])
    .expect_code(1);
    let rep = json_lines(&report_out);

    let mut fields = BTreeSet::new();
    for v in [
        &s,
        &s["findings"][0],
        &s["findings"][0]["observed"],
        &s["findings"][0]["observed"]["hash"],
        &s["findings"][0]["observed"]["class_set"],
        &s["findings"][0]["observed"]["zsets"][0],
        &s["scanned"],
        &x,
        &x["counts"]["orphan"],
        &x["actions"][0],
        &p,
        &p["actions"][0],
        &p["actions"][0]["step"],
        &p["end"],
        &lines[0],
        &lines[0]["parameters"],
        &x["not_listed"],
        &rep[0],
        &rep[rep.len() - 1]["end"],
    ] {
        assert!(v.is_object(), "not an object in {s}\n{x}\n{p}");
        keys_of(v, &mut fields);
    }
    // Step fields are the guard's internals, documented in plan.rs.
    for internal in [
        "expect_status",
        "restore",
        "overwrite",
        "sadd",
        "srem",
        "zadd",
    ] {
        fields.remove(internal);
    }
    let docs = section("JSON output");
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !docs.contains(&format!("\"{f}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "README \"JSON output\" does not mention {missing:?}"
    );
}

/// The Redis commands a source file sends: the first word of each
/// `cmd("...")` (or `cmd(if .. { "A" } else { "B" })`) in Rust, of each
/// `redis.call('...'` / `redis.pcall('...'` in Lua; with, for Lua, the
/// line it is on.
fn commands_in(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("read source");
    let lua = path.extension().is_some_and(|e| e == "lua");
    let quote = if lua { '\'' } else { '"' };
    let upper = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase());
    let mut out = Vec::new();
    for line in text.lines() {
        let markers: &[&str] = if lua {
            &["redis.call(", "redis.pcall("]
        } else {
            &["cmd(", "let cmd = "]
        };
        for m in markers {
            for (at, _) in line.match_indices(m) {
                let rest = &line[at + m.len()..];
                let rest = if lua {
                    rest.split(',').next().unwrap_or("")
                } else if rest.starts_with("if ") {
                    rest.split(';').next().unwrap_or("")
                } else {
                    rest.split(')').next().unwrap_or("")
                };
                for (i, part) in rest.split(quote).enumerate() {
                    if i % 2 == 1 && upper(part) {
                        out.push((part.to_owned(), line.trim().to_owned()));
                    }
                }
            }
        }
    }
    out
}

fn store_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("src/store")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read src/store") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs" || x == "lua") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn production_safety_lists_every_command_sent_and_none_forbidden_is_sent() {
    let docs = section("Production safety");
    let words: BTreeSet<&str> = docs
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let forbidden = [
        "KEYS",
        "SMEMBERS",
        "SDIFF",
        "SDIFFSTORE",
        "SINTER",
        "SINTERSTORE",
        "SUNION",
        "SUNIONSTORE",
        "SORT",
        "FLUSHDB",
        "FLUSHALL",
    ];
    // Walking a set from Lua would loop over it inside the server.
    let not_in_lua = [
        "SSCAN",
        "SCAN",
        "ZRANGE",
        "HKEYS",
        "HVALS",
        "SRANDMEMBER",
        "SPOP",
    ];
    let mut sent = BTreeSet::new();
    for file in store_sources() {
        let rel = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let lua = rel.ends_with(".lua");
        for (c, line) in commands_in(&file) {
            assert!(
                !forbidden.contains(&c.as_str()),
                "{rel} sends {c}, which README promises never to send: {line}"
            );
            if c == "HGETALL" {
                // Scripts read the one record they were handed, for its
                // before-image; the client reads whole hashes only for
                // prune's backup file, a page of selected jobs at a time.
                assert!(
                    lua || rel.ends_with("src/store/prune.rs"),
                    "HGETALL only inside a script, of one job's hash: {rel}: {line}"
                );
            }
            if lua {
                assert!(
                    !not_in_lua.contains(&c.as_str()),
                    "{rel} walks a set in Lua: {line}"
                );
            }
            sent.insert(c);
        }
    }
    assert!(sent.len() >= 30, "the scanner found only {sent:?}");
    let undocumented: Vec<&String> = sent
        .iter()
        .filter(|c| !words.contains(c.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "README \"Production safety\" does not list {undocumented:?}, which src/store/ sends"
    );
    for f in forbidden {
        assert!(words.contains(f), "README's never-sent list lacks {f}");
    }
}

#[test]
fn the_reliability_table_names_tests_that_exist() {
    let rows = table_rows(&section("Reliability"));
    assert!(rows.len() >= 15, "{rows:?}");
    let mut sources = String::new();
    let mut dirs = vec![root().join("tests")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read tests/") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                sources.push_str(&std::fs::read_to_string(&p).expect("read test"));
            }
        }
    }
    for r in &rows {
        assert_eq!(r.len(), 3, "a row needs fault/test/result: {r:?}");
        let names: Vec<&str> = r[1].split('`').skip(1).step_by(2).collect();
        assert!(!names.is_empty(), "no test named in {r:?}");
        for name in names {
            assert!(
                sources.contains(&format!("#[test]\nfn {name}()")),
                "README names the test {name}, which tests/ does not have"
            );
        }
    }
    // Every fault of issue 9 has its row.
    let faults: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let text = faults.join("\n");
    for f in [
        "SIGKILL of `reindex`",
        "SIGKILL of `enqueue --file`",
        "SIGKILL of `reap`",
        "restarted (AOF) in the middle of a scan",
        "restarted (AOF) in the middle of a repair",
        "SCRIPT FLUSH",
        "read-only replica",
        "DEBUG SLEEP",
        "ACL users",
        "maxmemory",
        "bad data",
        "1M members",
        "plan applied twice",
        "proptest",
    ] {
        assert!(text.contains(f), "the Reliability table lacks {f:?}");
    }
}
