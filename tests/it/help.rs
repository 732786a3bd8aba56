//! `--help` of every command, compared with the snapshots in
//! tests/snapshots/help/<name>.txt, so that a change to what users read is
//! a reviewed change. `JOBQ_UPDATE_SNAPSHOTS=1 cargo test --test it -- help::`
//! rewrites them.

use std::path::PathBuf;
use std::process::Command;

use clap::CommandFactory;

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help")
}

/// Every command a user can ask help for: (snapshot name, arguments).
fn commands() -> Vec<(String, Vec<String>)> {
    let mut root = jobq::cli::Cli::command();
    root.build();
    let mut out = vec![("jobq".to_owned(), vec![])];
    let mut stack: Vec<(Vec<String>, clap::Command)> = vec![(vec![], root)];
    while let Some((path, cmd)) = stack.pop() {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            out.push((p.join("-"), p.clone()));
            stack.push((p, sub.clone()));
        }
    }
    out.sort();
    out
}

fn help_text(args: &[String]) -> String {
    let out = Command::new(crate::common::jobq_bin())
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .output()
        .expect("run jobq --help");
    assert_eq!(
        out.status.code(),
        Some(0),
        "jobq {args:?} --help failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "--help writes to stdout only");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

#[test]
fn help_of_every_command_matches_its_snapshot() {
    let update = std::env::var_os("JOBQ_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let dir = snapshot_dir();
    let commands = commands();
    let mut stale = Vec::new();
    for (name, args) in &commands {
        let text = help_text(args);
        let path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&dir).expect("create snapshot dir");
            std::fs::write(&path, &text).expect("write snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != text {
            let at = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| want.lines().count().min(text.lines().count()));
            stale.push(format!(
                "jobq {} --help differs from {} at line {}:\n    snapshot: {}\n    now:      {}",
                args.join(" "),
                path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&path)
                    .display(),
                at + 1,
                want.lines().nth(at).unwrap_or("<end>"),
                text.lines().nth(at).unwrap_or("<end>"),
            ));
        }
    }
    // A snapshot of a command that is gone is stale too.
    for entry in std::fs::read_dir(&dir).expect("tests/snapshots/help") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let known = commands.iter().any(|(n, _)| format!("{n}.txt") == name);
        if !known && !update {
            stale.push(format!(
                "tests/snapshots/help/{name}: no such command; delete it"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n\nIf the new help is what you want, rewrite the snapshots with:\n  \
         JOBQ_UPDATE_SNAPSHOTS=1 cargo test --test it -- help::\n\
         (and regenerate the man pages: cargo run -- generate --out-dir .)",
        stale.join("\n\n")
    );
}

#[test]
fn snapshots_cover_every_subcommand() {
    let names: Vec<String> = commands().into_iter().map(|(n, _)| n).collect();
    for want in [
        "jobq",
        "enqueue",
        "inspect",
        "orphans",
        "orphans-scan",
        "reindex",
        "reap",
        "drain",
        "generate",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}
