//! Man pages from the clap tree (clap_mangen), with the EXIT STATUS,
//! ENVIRONMENT and EXAMPLES sections clap does not know about.

use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};

use crate::cli::Cli;

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success; for checks: nothing found."),
    (
        "1",
        "Findings: the scan found damage, a dry run has actions to take.",
    ),
    (
        "2",
        "Usage error, or a prompt was needed with no terminal and no --yes.",
    ),
    (
        "3",
        "Runtime failure: Redis unreachable, auth, protocol, I/O, read-only replica.",
    ),
    (
        "4",
        "Partial: some actions were skipped (state changed under us) or failed.",
    ),
    ("5", "The user declined the confirmation."),
    ("6", "drain timed out."),
    (
        "7",
        "drain found the queue stalled (pending jobs, nobody working).",
    ),
    ("75", "reap skipped: another reaper holds the lock."),
    ("130", "Interrupted (Ctrl-C); nothing half-applied."),
];

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

const EXAMPLES: &[(&str, &str)] = &[
    ("jobq inspect", "The queue at a glance."),
    (
        "jobq orphans scan",
        "Find every kind of damage (read-only).",
    ),
    (
        "jobq reindex --dry-run",
        "Show the repair plan without writing.",
    ),
    ("jobq reindex --yes", "Repair, without asking."),
    (
        "jobq reap --once",
        "Requeue jobs whose worker died (for cron).",
    ),
    (
        "jobq enqueue --file jobs.jsonl && jobq drain --timeout 10m",
        "A CI step.",
    ),
];

fn section(roff: &mut Roff, title: &str, rows: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in rows {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

fn render(cmd: &clap::Command, with_extras: bool) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut buf)?;
    }
    let mut roff = Roff::new();
    section(&mut roff, "EXIT STATUS", EXIT_STATUS);
    section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    if with_extras {
        section(&mut roff, "EXAMPLES", EXAMPLES);
    }
    roff.to_writer(&mut buf)?;
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

/// `man/jobq.1` and one page per subcommand (`man/jobq-orphans-scan.1`, ...).
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = Cli::command();
    root.build();
    let mut out = vec![("man/jobq.1".to_owned(), render(&root, true)?)];
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        for sub in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            let name = format!("{prefix}-{}", sub.get_name());
            let page = sub
                .clone()
                .name(name.clone())
                .display_name(name.clone())
                .bin_name(name.replace('-', " "));
            out.push((format!("man/{name}.1"), render(&page, false)?));
            walk(sub, &name, out)?;
        }
        Ok(())
    }
    walk(&root, "jobq", &mut out)?;
    Ok(out)
}
