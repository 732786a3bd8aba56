//! The command line as clap sees it: its own consistency check and the
//! shapes of the values it accepts.

use super::parse::NOT_NEGATIVE;
use super::*;
use clap::CommandFactory;

#[test]
fn clap_debug_assert() {
    Cli::command().debug_assert();
}

/// Every visible subcommand that does something (a leaf).
fn leaves(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let p = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            leaves(sub, p, out);
        } else {
            out.push((p, sub.clone()));
        }
    }
}

#[test]
fn every_flag_has_a_one_line_help() {
    let mut root = Cli::command();
    root.build();
    let mut all = vec![("jobq".to_owned(), root.clone())];
    leaves(&root, "jobq".into(), &mut all);
    for (path, cmd) in &all {
        for arg in cmd.get_arguments() {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(
                !help.trim().is_empty() && !help.contains('\n'),
                "{path} {}: needs a one-line help, got {help:?}",
                arg.get_id()
            );
        }
    }
}

#[test]
fn every_subcommand_long_help_has_examples() {
    let mut root = Cli::command();
    root.build();
    let mut subs = Vec::new();
    leaves(&root, "jobq".into(), &mut subs);
    assert!(
        subs.len() >= 6,
        "{:?}",
        subs.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    for (path, cmd) in subs {
        let about = cmd
            .get_long_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let (_, examples) = about
            .split_once("\n\nExamples:\n")
            .unwrap_or_else(|| panic!("{path}: its long help needs an \"Examples:\" block"));
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with(&path[..]) || l.contains(&format!(" {path} "))),
            "{path}: no example runs it:\n{examples}"
        );
    }
}

#[test]
fn command_paths() {
    let path = |a: &[&str]| command_path(&a.iter().map(OsString::from).collect::<Vec<_>>());
    assert_eq!(path(&["jobq"]), "jobq");
    assert_eq!(
        path(&["jobq", "--json", "orphans", "scan", "--bogus"]),
        "jobq orphans scan"
    );
    assert_eq!(path(&["jobq", "reindex", "--", "drain"]), "jobq reindex");
    assert_eq!(path(&["jobq", "bogus"]), "jobq");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
    assert_eq!(
        parse_duration("-1"),
        Err(format!("{NOT_NEGATIVE} (a duration such as 2s or 30m)"))
    );
    assert!(parse_duration("-2s").is_err());
    assert_eq!(parse_grace("10m"), Ok(MAX_GRACE));
    assert!(parse_grace("99999999999h").is_err());
    assert_eq!(parse_count::<usize>("-1"), Err(NOT_NEGATIVE.to_owned()));
    assert_eq!(parse_count::<u64>("7"), Ok(7));
    assert!(parse_count::<usize>("x").is_err());
    assert!(parse_duration("soon").is_err());
}
