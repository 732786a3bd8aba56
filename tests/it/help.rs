//! `--help` of every command, compared with the insta snapshots in
//! tests/it/snapshots/help/<name>.snap, so that a change to what users read
//! is a reviewed change. To accept a new help text:
//! `INSTA_UPDATE=always cargo test --test it -- help::` rewrites the
//! snapshots (or `cargo insta review`, with cargo-insta installed, after a
//! failing run); then regenerate the man pages:
//! `cargo run -- generate --out-dir .`.

use std::path::PathBuf;
use std::process::Command;

use clap::CommandFactory;

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/help")
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
    let commands = commands();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (name, args) in &commands {
        let text = help_text(args);
        // insta compares text up to trailing whitespace and line endings;
        // the help is compared byte for byte: one final newline, no CR.
        assert!(
            text.ends_with('\n')
                && !text[..text.len() - 1].ends_with(char::is_whitespace)
                && !text.starts_with(char::is_whitespace)
                && !text.contains('\r'),
            "jobq {} --help: whitespace at either end, or a CR",
            args.join(" ")
        );
        settings.set_description(format!("jobq {} --help", args.join(" ")).replace("  ", " "));
        settings.bind(|| insta::assert_snapshot!(name.as_str(), text));
    }
    // A snapshot of a command that is gone is stale too.
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(snapshot_dir()).expect("tests/it/snapshots/help") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        if !commands.iter().any(|(n, _)| n == stem) {
            stale.push(format!(
                "tests/it/snapshots/help/{name}: no such command; delete it"
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
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
        "delete",
        "retry",
        "prune",
        "restore",
        "generate",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}
