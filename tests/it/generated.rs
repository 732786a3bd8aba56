//! The generated completions and man pages: checked in at the top of the
//! repository, identical to what the code generates, and working in the
//! programs that read them: groff renders every page without a warning
//! within 80 columns, bash and zsh load the completions and complete
//! subcommands, flags and flag values. A missing groff, bash or zsh is a
//! failure with an install hint, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::CommandFactory;
use jobq::output::man::split_examples;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generated() -> Vec<(String, Vec<u8>)> {
    jobq::cmd::generate::files().expect("generate files in memory")
}

/// Fail, saying how to install it, unless `tool` runs.
fn require(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{tool} is not installed (or not on PATH); this test needs it.\n\
         Install it with: sudo apt-get install {package}   (Debian/Ubuntu; .ci/run does this)"
    );
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!(
                "line {}:\n      checked in: {x}\n      generated:  {y}",
                i + 1
            );
        }
    }
    format!(
        "{} lines checked in, {} generated",
        a.lines().count(),
        b.lines().count()
    )
}

#[test]
fn checked_in_files_are_what_the_code_generates() {
    let files = generated();
    let mut problems = Vec::new();
    for (rel, bytes) in &files {
        match std::fs::read(repo().join(rel)) {
            Ok(on_disk) if &on_disk == bytes => {}
            Ok(on_disk) => problems.push(format!(
                "{rel} differs, first at {}",
                first_difference(&on_disk, bytes)
            )),
            Err(e) => problems.push(format!("{rel} is missing ({e})")),
        }
    }
    for dir in ["completions", "man"] {
        let entries = std::fs::read_dir(repo().join(dir)).unwrap_or_else(|e| {
            panic!("{dir}/ is missing ({e}); run: cargo run -- generate --out-dir .")
        });
        for entry in entries {
            let name = entry.expect("dir entry").file_name();
            let rel = format!("{dir}/{}", name.to_string_lossy());
            if !files.iter().any(|(r, _)| *r == rel) {
                problems.push(format!("{rel} is no longer generated: delete it"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the checked-in completions and man pages are not what the code generates:\n  {}\n\
         Regenerate them with: cargo run -- generate --out-dir .   and commit the result.",
        problems.join("\n  ")
    );
}

/// groff's terminal output without its overstrike bold and underline.
fn plain(text: &[u8]) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in String::from_utf8_lossy(text).chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

/// The lines of one section of a rendered page (its heading excluded).
fn section<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    page.lines()
        .skip_while(|l| l.trim_end() != name)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

fn render(path: &Path) -> Output {
    Command::new("groff")
        .args(["-wall", "-mandoc", "-Tutf8", "-rLL=80n"])
        .arg(path)
        .env("GROFF_SGR", "")
        .output()
        .expect("run groff")
}

#[test]
fn man_pages_render_cleanly_with_every_section() {
    require("groff", "groff-base");
    let dir = tempfile::tempdir().expect("temp dir");
    let pages: Vec<(String, Vec<u8>)> = generated()
        .into_iter()
        .filter(|(rel, _)| rel.starts_with("man/"))
        .collect();
    let mut names: Vec<&str> = pages.iter().map(|(r, _)| &r[4..]).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "jobq-audit.1",
            "jobq-delete.1",
            "jobq-drain.1",
            "jobq-enqueue.1",
            "jobq-inspect.1",
            "jobq-orphans-scan.1",
            "jobq-orphans.1",
            "jobq-prune.1",
            "jobq-reap.1",
            "jobq-reindex.1",
            "jobq-restore.1",
            "jobq-retry.1",
            "jobq-undo.1",
            "jobq.1"
        ]
    );
    for (rel, bytes) in &pages {
        let path = dir.path().join(&rel[4..]);
        std::fs::write(&path, bytes).expect("write page");
        let out = render(&path);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "groff -wall warns about {rel}:\n{warnings}"
        );
        let page = plain(&out.stdout);
        for line in page.lines() {
            assert!(
                line.chars().count() <= 80,
                "{rel}: a line wider than 80 columns:\n{line}"
            );
        }
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                !section(&page, heading).is_empty(),
                "{rel} has no {heading} section:\n{page}"
            );
        }
        let env = section(&page, "ENVIRONMENT").join("\n");
        for var in ["REDIS_URL", "JOBQ_SCHEMA", "NO_COLOR"] {
            assert!(env.contains(var), "{rel}: ENVIRONMENT lacks {var}:\n{env}");
        }
        let exit = section(&page, "EXIT STATUS").join("\n");
        for code in ["0", "2", "3", "130"] {
            assert!(
                exit.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{rel}: EXIT STATUS lacks {code}:\n{exit}"
            );
        }
    }
    // Every example of every subcommand's --help is on its page, whole and
    // on one line, so it can be copied from the terminal.
    let mut root = jobq::cli::Cli::command();
    root.build();
    let mut checked = 0;
    let mut stack: Vec<(String, clap::Command)> = vec![("jobq".into(), root)];
    while let Some((name, cmd)) = stack.pop() {
        for sub in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            stack.push((format!("{name}-{}", sub.get_name()), sub.clone()));
        }
        let about = match cmd.get_long_about() {
            _ if name == "jobq" => format!("\n\nExamples:\n{}", jobq::cli::ROOT_EXAMPLES),
            Some(a) => a.to_string(),
            None => continue,
        };
        let path = dir.path().join(format!("{name}.1"));
        let page = plain(&render(&path).stdout);
        let examples = section(&page, "EXAMPLES");
        for e in split_examples(&about).1 {
            for c in &e.commands {
                assert!(
                    examples.iter().any(|l| l.trim() == c),
                    "{name}.1: the example {c:?} of --help is not a line of EXAMPLES:\n{}",
                    examples.join("\n")
                );
                checked += 1;
            }
            if let Some(what) = &e.what {
                let flat = examples
                    .iter()
                    .map(|l| l.trim())
                    .collect::<Vec<_>>()
                    .join(" ");
                assert!(flat.contains(what.as_str()), "{name}.1 lacks {what:?}");
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples checked");
}

/// COMPREPLY of the checked-in bash completion for `words` (the last one is
/// the word being completed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = r#"
        source "$0" || exit 9
        complete -p jobq >/dev/null || exit 8
        COMP_WORDS=("$@")
        COMP_CWORD=$(( $# - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _jobq jobq "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .arg(repo().join("completions/jobq.bash"))
        .args(words)
        .output()
        .expect("run bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "bash could not load or run completions/jobq.bash for {words:?} (exit {:?}):\n{stderr}",
        out.status.code()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    require("bash", "bash");
    let has = |words: &[&str], want: &[&str]| {
        let got = bash_complete(words);
        for w in want {
            assert!(got.iter().any(|g| g == w), "{words:?}: no {w:?} in {got:?}");
        }
        got
    };
    has(
        &["jobq", ""],
        &[
            "enqueue", "inspect", "orphans", "reindex", "reap", "drain", "--url", "--json",
        ],
    );
    has(&["jobq", "orphans", ""], &["scan"]);
    has(
        &["jobq", "orphans", "scan", "--"],
        &["--plan-out", "--deep", "--grace", "--url"],
    );
    let got = has(&["jobq", "reindex", "--pre"], &["--prefer"]);
    assert_eq!(got, ["--prefer"]);
    has(&["jobq", "reindex", "--prefer", ""], &["key", "field"]);
    has(&["jobq", "--color", ""], &["auto", "always", "never"]);
    has(&["jobq", "drain", "--"], &["--timeout", "--stall-timeout"]);
}

/// Drive an interactive zsh in a pseudo-terminal (zsh/zpty): load the
/// checked-in `_jobq` with compinit, then for each (line, expected) pair
/// type the line and TAB, and print what the terminal showed.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 7
zpty -b z 'zsh -f -i' || exit 6
zpty -w z "PS1='> '; autoload -U compinit; compinit -D -u; source ${(q)1}; print -- LOADED-\$+functions[_jobq]-\${_comps[jobq]}"
shift
read_until() {
  local want=$1 got chunk
  for i in {1..150}; do
    while zpty -r -t z chunk; do got+=$chunk; done
    [[ $got == *$want* ]] && break
    sleep 0.1
  done
  print -r -- "$got"
}
read_until LOADED-1-_jobq
n=0
while (( $# >= 2 )); do
  print -r -- "@@@ case $((n++)) @@@"
  zpty -n -w z $'\C-u'"$1"$'\t'
  read_until "$2"
  shift 2
done
zpty -d z
"#;

/// The terminal transcript without escape sequences.
fn strip_terminal(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for x in chars.by_ref() {
                        if x.is_ascii_alphabetic() || x == '~' {
                            break;
                        }
                    }
                }
            }
            '\r' | '\u{7}' => {}
            '\u{8}' => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn zsh_loads_the_completion_and_completes() {
    require("zsh", "zsh");
    // Loading it the way a user's .zshrc does: no output, _jobq defined
    // and registered for jobq.
    let file = repo().join("completions/_jobq");
    let home = tempfile::tempdir().expect("temp home");
    let out = Command::new("zsh")
        .args(["-fc", "autoload -U compinit; compinit -D -u; source \"$0\"; (( $+functions[_jobq] )) && print -r -- \"${_comps[jobq]}\""])
        .arg(&file)
        .env("HOME", home.path())
        .output()
        .expect("run zsh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "zsh could not load completions/_jobq:\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "_jobq");

    // Completing in a real (pseudo-terminal) zsh.
    let cases: &[(&str, &[&str])] = &[
        ("jobq ", &["orphans", "reindex", "drain"]),
        ("jobq orphans ", &["scan"]),
        ("jobq --", &["--url", "--json", "--namespace"]),
        ("jobq reindex --prefer ", &["key", "field"]),
        ("jobq orphans scan --pla", &["--plan-out"]),
    ];
    let mut args: Vec<String> = vec![file.display().to_string()];
    for (line, want) in cases {
        args.push((*line).to_owned());
        args.push(want[want.len() - 1].to_owned());
    }
    let out = Command::new("zsh")
        .args(["-fc", ZSH_DRIVER, "zsh-driver"])
        .args(&args)
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .output()
        .expect("run zsh");
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the zsh driver failed ({:?}): {}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        strip_terminal(&raw)
    );
    for (n, (line, want)) in cases.iter().enumerate() {
        let shown = raw
            .split(&format!("@@@ case {n} @@@\n"))
            .nth(1)
            .map(|rest| strip_terminal(rest.split("@@@ case ").next().unwrap_or(rest)))
            .unwrap_or_else(|| panic!("no transcript for {line:?}:\n{}", strip_terminal(&raw)));
        let words: Vec<&str> = shown
            .split_whitespace()
            .map(|w| w.trim_end_matches('='))
            .collect();
        for w in *want {
            assert!(
                words.contains(w),
                "zsh: `{line}<TAB>` did not offer {w:?}; the terminal showed:\n{shown}"
            );
        }
    }
}
