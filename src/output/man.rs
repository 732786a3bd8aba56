//! Man pages from the clap tree (clap_mangen), with the EXIT STATUS,
//! ENVIRONMENT, EXAMPLES and SEE ALSO sections clap does not know about.
//!
//! A subcommand's examples live in its long help (cli.rs), after an
//! `Examples:` line: `# what it shows` lines, each followed by the commands.
//! Here they are cut out of the description and set as an EXAMPLES section
//! whose commands are never refilled or hyphenated, so they can be copied.
//!
//! Must not: invent content the `--help` text does not have, except the
//! sections above.

use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};

use crate::cli::{Cli, ROOT_EXAMPLES};
use crate::exit;

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "REDIS_URL",
        "Default for --url. The password in it is never printed.",
    ),
    (
        "JOBQ_SCHEMA",
        "Default for --schema: a TOML file describing the popoto model.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, --color auto prints no colour.",
    ),
    ("CI", "When set, no progress bars are drawn."),
];

/// One example: what it shows, and the commands that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub what: Option<String>,
    pub commands: Vec<String>,
}

/// Split a long help into the description and the examples of its
/// `Examples:` block (`# what` lines, each followed by its commands).
pub fn split_examples(long_about: &str) -> (String, Vec<Example>) {
    match long_about.split_once("\n\nExamples:\n") {
        Some((description, block)) => (description.to_owned(), parse_examples(block)),
        None => (long_about.to_owned(), Vec::new()),
    }
}

/// Parse the lines of an `Examples:` block.
pub fn parse_examples(block: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(what) = line.strip_prefix("# ") {
            out.push(Example {
                what: Some(what.to_owned()),
                commands: Vec::new(),
            });
        } else {
            match out.last_mut() {
                Some(e) => e.commands.push(line.to_owned()),
                None => out.push(Example {
                    what: None,
                    commands: vec![line.to_owned()],
                }),
            }
        }
    }
    out
}

fn definitions(roff: &mut Roff, rows: &[(String, String)]) {
    for (term, text) in rows {
        roff.control("TP", []);
        roff.text([bold(term.as_str())]);
        roff.text([roman(text.as_str())]);
    }
}

fn examples_section(roff: &mut Roff, examples: &[Example]) {
    roff.control("SH", ["EXAMPLES"]);
    for e in examples {
        roff.control("PP", []);
        if let Some(what) = &e.what {
            roff.text([roman(format!("{what}:"))]);
        }
        // Commands are set as typed: no filling, no hyphenation.
        roff.control("RS", ["2"]);
        roff.control("nf", []);
        for c in &e.commands {
            roff.text([bold(c.as_str())]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

fn render(cmd: &clap::Command, examples: &[Example], see_also: &[String]) -> Result<Vec<u8>> {
    let page = cmd.get_name().to_owned();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    // Left-aligned and unhyphenated: URLs and flags stay whole.
    let mut head = Roff::new();
    head.control("nh", []);
    head.control("ad", ["l"]);
    head.to_writer(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut buf)?;
    }
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    let codes: Vec<(String, String)> = exit::of_command(&page)
        .into_iter()
        .map(|(code, text)| {
            let generic = exit::meaning(code).map(|m| m.text).unwrap_or_default();
            (code.to_string(), text.unwrap_or(generic).to_owned())
        })
        .collect();
    definitions(&mut roff, &codes);
    roff.control("SH", ["ENVIRONMENT"]);
    let env: Vec<(String, String)> = ENVIRONMENT
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    definitions(&mut roff, &env);
    if !examples.is_empty() {
        examples_section(&mut roff, examples);
    }
    if !see_also.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        roff.text([roman(see_also.join(", "))]);
    }
    roff.to_writer(&mut buf)?;
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

/// No `help` subcommand anywhere: it has no page of its own.
fn without_help_subcommand(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    let mut cmd = cmd.disable_help_subcommand(true);
    for n in names {
        cmd = cmd.mut_subcommand(n, without_help_subcommand);
    }
    cmd
}

/// `man/jobq.1` and one page per subcommand (`man/jobq-orphans-scan.1`, ...).
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = without_help_subcommand(Cli::command());
    root.build();
    let mut subpages = Vec::new();
    collect(&root, "jobq", &mut subpages);
    let see_all: Vec<String> = subpages.iter().map(|(n, _)| format!("{n}(1)")).collect();
    let mut out = vec![(
        "man/jobq.1".to_owned(),
        render(&root, &parse_examples(ROOT_EXAMPLES), &see_all)?,
    )];
    for (name, sub) in subpages {
        let about = sub
            .get_long_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let (description, mut examples) = split_examples(&about);
        if examples.is_empty() {
            // A group page (`jobq orphans`) shows its subcommands' examples.
            for child in sub.get_subcommands() {
                let about = child.get_long_about().map(|a| a.to_string());
                examples.extend(split_examples(&about.unwrap_or_default()).1);
            }
        }
        let mut page = sub
            .name(name.clone())
            .display_name(name.clone())
            .bin_name(name.replace('-', " "));
        if !about.is_empty() {
            page = page.long_about(description);
        }
        out.push((
            format!("man/{name}.1"),
            render(&page, &examples, &["jobq(1)".to_owned()])?,
        ));
    }
    Ok(out)
}

/// Every visible subcommand, depth first, with its page name.
fn collect(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, clap::Command)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{prefix}-{}", sub.get_name());
        out.push((name.clone(), sub.clone()));
        collect(sub, &name, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_split_from_the_description() {
        let about = "Does things.\n\nMore.\n\nExamples:\n  # First\n  jobq a\n  jobq b\n  # Second\n  jobq c";
        let (d, e) = split_examples(about);
        assert_eq!(d, "Does things.\n\nMore.");
        assert_eq!(
            e,
            vec![
                Example {
                    what: Some("First".into()),
                    commands: vec!["jobq a".into(), "jobq b".into()]
                },
                Example {
                    what: Some("Second".into()),
                    commands: vec!["jobq c".into()]
                },
            ]
        );
        // Commands without a comment form one group.
        let e = parse_examples("  jobq a\n  */5 * * * * jobq b\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].what, None);
        assert_eq!(e[0].commands.len(), 2);
        assert_eq!(split_examples("No examples.").1, vec![]);
    }

    #[test]
    fn the_table_is_the_contract_of_exit_rs() {
        use crate::exit::*;
        let codes: Vec<u8> = CONTRACT.iter().map(|m| m.code).collect();
        assert_eq!(
            codes,
            [
                OK,
                FINDINGS,
                USAGE,
                RUNTIME,
                PARTIAL,
                DECLINED,
                DRAIN_TIMEOUT,
                STALLED,
                JOBS_FAILED,
                JOBS_UNKNOWN,
                LOCKED,
                INTERRUPTED
            ]
        );
    }

    #[test]
    fn every_page_lists_only_codes_of_the_contract() {
        for page in [
            "jobq",
            "jobq-enqueue",
            "jobq-inspect",
            "jobq-orphans-scan",
            "jobq-reindex",
            "jobq-reap",
            "jobq-drain",
        ] {
            let codes = exit::of_command(page);
            assert!(codes.iter().any(|(c, _)| *c == 0), "{page}");
            for (c, _) in codes {
                assert!(
                    crate::exit::meaning(c).is_some(),
                    "{page}: {c} is not in the contract"
                );
            }
        }
    }

    #[test]
    fn the_exit_lines_of_help_name_only_codes_of_their_command() {
        let mut cli = Cli::command();
        cli.build();
        let mut checked = 0;
        for sub in cli.get_subcommands() {
            let page = format!("jobq-{}", sub.get_name());
            let help = sub.clone().render_long_help().to_string();
            let Some(at) = help.find("Exit: ") else {
                continue;
            };
            let para = help[at + 6..].split("\n\n").next().unwrap_or_default();
            let allowed: Vec<u8> = exit::of_command(&page).iter().map(|(c, _)| *c).collect();
            for part in para.replace('\n', " ").split(", ") {
                let code: u8 = part
                    .split(' ')
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or_else(|| panic!("{page}: {part:?} does not start with a code"));
                assert!(
                    allowed.contains(&code),
                    "{page}: {code} is not one of its codes"
                );
            }
            checked += 1;
        }
        assert!(checked > 0, "no subcommand's help has an Exit: line");
    }
}
