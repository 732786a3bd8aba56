//! The only module that prints, prompts or draws progress. Data goes to
//! stdout (a table, or one JSON object per report with `--json`); progress,
//! warnings, prompts and errors go to stderr.
//!
//! Owns: [`Ui`] (handed to commands for progress, warnings and prompts), the
//! [`Render`] trait and each report's text form. Must not: talk to Redis or
//! decide anything about the data.

mod admin;
mod drain;
mod enqueue;
pub mod inspect;
pub mod man;
mod metrics;
mod reap;
mod reindex;
mod scan;
mod undo;

use std::fmt::Display;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Serialize;

use crate::exit;
use crate::settings::OutputSettings;

/// Version of the JSON output format; bumped on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// A typed report a command returns, printable as text or JSON.
pub trait Render: Serialize {
    /// The `"command"` of the JSON envelope.
    fn command(&self) -> &'static str;
    /// The text form for stdout.
    fn text(&self, style: &Style) -> String;
}

/// Colour decisions for text rendering.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn bold(&self, s: impl Display) -> String {
        if self.color {
            console::style(s.to_string())
                .bold()
                .force_styling(true)
                .to_string()
        } else {
            s.to_string()
        }
    }
    pub fn good(&self, s: impl Display) -> String {
        self.paint(s, console::Color::Green)
    }
    pub fn bad(&self, s: impl Display) -> String {
        self.paint(s, console::Color::Red)
    }
    pub fn warn(&self, s: impl Display) -> String {
        self.paint(s, console::Color::Yellow)
    }
    fn paint(&self, s: impl Display, c: console::Color) -> String {
        if self.color {
            console::style(s.to_string())
                .fg(c)
                .force_styling(true)
                .to_string()
        } else {
            s.to_string()
        }
    }

    /// A table with the project's look, and no header.
    ///
    /// A table measures its cells' text as given, so text painted with
    /// [`Style::good`] and the like would count its escape codes towards the
    /// column width; cells that need a colour come from [`Style::good_cell`]
    /// and the like, which the table paints after laying them out.
    pub fn bare_table(&self) -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING);
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        // Only the text, not the padding after it, is painted.
        t.style_text_only();
        if self.color {
            t.enforce_styling();
            // The table paints through crossterm, which drops colours when
            // NO_COLOR is set; by now --color has been weighed against it.
            crossterm::style::force_color_output(true);
        }
        t
    }

    /// A table with the project's look and a bold header.
    pub fn table(&self, header: &[&str]) -> comfy_table::Table {
        let mut t = self.bare_table();
        t.set_header(
            header
                .iter()
                .map(|h| self.cell(h, |c| c.add_attribute(comfy_table::Attribute::Bold))),
        );
        t
    }

    /// A table cell painted like [`Style::good`].
    pub fn good_cell(&self, s: impl Display) -> comfy_table::Cell {
        self.cell(s, |c| c.fg(comfy_table::Color::Green))
    }
    /// A table cell painted like [`Style::bad`].
    pub fn bad_cell(&self, s: impl Display) -> comfy_table::Cell {
        self.cell(s, |c| c.fg(comfy_table::Color::Red))
    }
    /// A table cell painted like [`Style::warn`].
    pub fn warn_cell(&self, s: impl Display) -> comfy_table::Cell {
        self.cell(s, |c| c.fg(comfy_table::Color::Yellow))
    }
    fn cell(
        &self,
        s: impl Display,
        paint: impl FnOnce(comfy_table::Cell) -> comfy_table::Cell,
    ) -> comfy_table::Cell {
        let c = comfy_table::Cell::new(s);
        if self.color {
            paint(c)
        } else {
            c
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, R: Serialize> {
    schema: u32,
    command: &'static str,
    #[serde(flatten)]
    body: &'a R,
}

/// The user interface handed to commands.
#[derive(Debug, Clone)]
pub struct Ui {
    pub settings: OutputSettings,
}

impl Ui {
    pub fn new(settings: OutputSettings) -> Ui {
        Ui { settings }
    }

    /// Print a report on stdout: one line of JSON with `--json`, else its text.
    pub fn emit<R: Render>(&self, report: &R) -> Result<()> {
        let mut out = io::stdout().lock();
        if self.settings.json {
            let env = Envelope {
                schema: JSON_SCHEMA_VERSION,
                command: report.command(),
                body: report,
            };
            let mut line = serde_json::to_vec(&env).context("cannot serialize the report")?;
            line.push(b'\n');
            write_quietly(&mut out, &line)?;
        } else {
            let text = report.text(&Style {
                color: self.settings.color_stdout,
            });
            out.write_all(text.as_bytes())?;
            if !text.is_empty() && !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
        // A closed pipe (`jobq ... | head`) is not a failure worth a message.
        match out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write to stdout"),
        }
    }

    fn err_style(&self) -> Style {
        Style {
            color: self.settings.color_stderr,
        }
    }

    /// A warning on stderr (unless `-q`).
    pub fn warn(&self, msg: impl Display) {
        if !self.settings.quiet {
            eprintln!("{} {msg}", self.err_style().warn("warning:"));
        }
    }

    /// A note on stderr (unless `-q`).
    pub fn info(&self, msg: impl Display) {
        if !self.settings.quiet {
            eprintln!("{msg}");
        }
    }

    /// Detail on stderr with `-v`.
    pub fn debug(&self, msg: impl Display) {
        if self.settings.verbose > 0 && !self.settings.quiet {
            eprintln!("{} {msg}", self.err_style().bold("jobq:"));
        }
    }

    /// An error on stderr, as [`print_error`] prints a fatal one, even with
    /// `-q`: for errors a command reports and survives (a failed sweep of
    /// `reap --interval`). The text must already be free of the password.
    pub fn error(&self, err: &anyhow::Error) {
        print_error(err, &[], self.settings.color_stderr);
    }

    /// A progress bar on stderr; hidden when stderr is not a terminal, with
    /// `--json`, `-q`, or when `CI` is set.
    pub fn progress(&self, len: Option<u64>, what: &str) -> Progress {
        if !self.settings.progress {
            return Progress(ProgressBar::hidden());
        }
        let bar = match len {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let tmpl = if len.is_some() {
            "{prefix:.bold} [{bar:30}] {pos}/{len} {rate} eta {eta} {msg}"
        } else {
            "{prefix:.bold} {spinner} {pos} {rate} {elapsed} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(tmpl) {
            let style = style
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&rate(s.per_sec()));
                })
                .progress_chars("=> ");
            bar.set_style(style);
        }
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(bar)
    }

    /// Ask a yes/no question. Without a terminal this is a usage error
    /// (exit 2): the caller must pass `--yes`.
    pub fn confirm(&self, prompt: &str) -> Result<bool> {
        if !self.settings.interactive {
            return Err(exit::usage(format!(
                "{prompt}: confirmation needed but there is no terminal; pass --yes to proceed"
            )));
        }
        match dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(false)
            .interact()
        {
            Ok(answer) => Ok(answer),
            // The prompt reads keys in raw mode, where Ctrl-C is a key: the
            // terminal library raises SIGINT for it (the command's handler
            // takes that) and dialoguer hands it back as an I/O error. It is
            // an interrupt all the same, and nothing has been written yet.
            Err(dialoguer::Error::IO(e)) if e.kind() == io::ErrorKind::Interrupted => {
                // dialoguer returns before undoing what it did to the
                // terminal: the cursor is hidden and the prompt line open.
                let term = console::Term::stderr();
                let _ = term.show_cursor();
                let _ = term.write_line("");
                Err(exit::with_code(
                    exit::INTERRUPTED,
                    "interrupted at the prompt; nothing was written",
                ))
            }
            Err(e) => Err(anyhow::Error::new(e).context("cannot read the answer")),
        }
    }
}

/// A progress rate as people read one: whole steps with thousands
/// separators (`283,483/s`); one decimal only where it says something
/// (`2.5/s`). indicatif's own `{per_sec}` prints four decimals.
fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_owned()
    } else if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        // Rates are far below 2^53: the cast neither wraps nor loses a step.
        format!("{}/s", HumanCount(per_sec.round() as u64))
    }
}

/// Write and flush; a closed pipe (`jobq ... | head`) is not a failure worth
/// a message.
fn write_quietly(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to stdout"),
    }
}

/// A progress handle; all methods are no-ops when hidden. Dropping it clears
/// the bar so that what follows starts on a clean line.
#[derive(Debug)]
pub struct Progress(ProgressBar);

impl Progress {
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    pub fn set_position(&self, n: u64) {
        self.0.set_position(n);
    }
    pub fn set_length(&self, n: u64) {
        self.0.set_length(n);
    }
    pub fn set_message(&self, m: impl Into<String>) {
        self.0.set_message(m.into());
    }
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}

/// Print a fatal error: one line, `jobq: error: ...`, with the passwords
/// (of `--url` and `--read-from`, if any) scrubbed from every part of it.
pub fn print_error(err: &anyhow::Error, secrets: &[&str], color: bool) {
    let msg = secrets.iter().fold(format!("{err:#}"), |msg, s| {
        crate::settings::scrub(&msg, Some(s))
    });
    // One line, so that logs and scripts see one error per line; only a
    // message that lays itself out (a caret under a schema file's mistake)
    // keeps its lines, since flattened the caret points nowhere.
    let msg = if crate::exit::keeps_lines(err) {
        msg.trim_end().to_owned()
    } else {
        msg.replace('\n', " ")
    };
    let style = Style { color };
    eprintln!("{} {msg}", style.bad("jobq: error:"));
}

/// Print clap's help or version text as clap wrote it; a usage error as
/// one `jobq: error:` line that ends by naming the help to read
/// (`command`: the subcommand the arguments name, e.g. `jobq reindex`).
pub fn print_clap(err: &clap::Error, command: &str) {
    use clap::error::ErrorKind;
    if !err.use_stderr() || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return;
    }
    let msg = usage_error_line(&err.render().to_string(), command);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = !no_color && io::IsTerminal::is_terminal(&io::stderr());
    eprintln!("{} {msg}", Style { color }.bad("jobq: error:"));
}

/// clap's multi-line error text as one line: the message and its tips,
/// then which `--help` to read.
pub fn usage_error_line(rendered: &str, command: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        match parts.last_mut() {
            Some(last) if !line.starts_with("tip:") => {
                last.push(' ');
                last.push_str(line);
            }
            _ => parts.push(line.to_owned()),
        }
    }
    parts.push(format!("see '{command} --help'"));
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_whole_steps() {
        assert_eq!(rate(283_483.386_3), "283,483/s");
        assert_eq!(rate(1_000_000.0), "1,000,000/s");
        assert_eq!(rate(42.6), "43/s");
        assert_eq!(rate(2.54), "2.5/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }

    #[test]
    fn painted_cells_do_not_widen_columns() {
        let plain = Style { color: false };
        let color = Style { color: true };
        let table = |style: &Style| {
            let mut t = style.table(&["kind", "job_id"]);
            t.add_row(vec![style.bad_cell("orphan"), "a".into()]);
            t.add_row(vec![
                comfy_table::Cell::new("duplicate"),
                style.good_cell("b"),
            ]);
            t.to_string()
        };
        assert_eq!(console::strip_ansi_codes(&table(&color)), table(&plain));
        assert_ne!(table(&color), table(&plain), "colour is on");
    }

    #[test]
    fn usage_errors_become_one_line() {
        let clap = "error: unexpected argument '--dry-rn' found\n\n  tip: a similar argument exists: '--dry-run'\n\nUsage: jobq reindex --dry-run\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(clap, "jobq reindex"),
            "unexpected argument '--dry-rn' found; tip: a similar argument exists: '--dry-run'; see 'jobq reindex --help'"
        );
        let missing = "error: the following required arguments were not provided:\n  --out-dir <DIR>\n\nUsage: jobq generate --out-dir <DIR>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(missing, "jobq generate"),
            "the following required arguments were not provided: --out-dir <DIR>; see 'jobq generate --help'"
        );
        let bare = "error: invalid value 'soon' for '--grace <DURATION>'\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(bare, "jobq orphans scan"),
            "invalid value 'soon' for '--grace <DURATION>'; see 'jobq orphans scan --help'"
        );
    }

    #[test]
    fn styles_are_plain_text_with_colour_off() {
        let plain = Style { color: false };
        assert_eq!(plain.bold("x"), "x");
        assert_eq!(plain.good(3), "3");
        assert_eq!(plain.bad("no"), "no");
        assert_eq!(plain.warn("w"), "w");
        let color = Style { color: true };
        for painted in [
            color.bold("x"),
            color.good("x"),
            color.bad("x"),
            color.warn("x"),
        ] {
            assert!(painted.starts_with('\u{1b}'), "{painted:?}");
            assert_eq!(console::strip_ansi_codes(&painted), "x");
        }
        assert_ne!(color.good("x"), color.bad("x"));
    }

    #[test]
    fn tables_have_no_borders_and_an_optional_header() {
        let plain = Style { color: false };
        let mut t = plain.table(&["kind", "count"]);
        t.add_row(vec!["orphan", "12"]);
        t.add_row(vec!["multi_indexed", "3"]);
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["kind", "count"]
        );
        // Columns line up: the second column starts at the same place.
        let col = |l: &str, w: &str| l.find(w).unwrap();
        assert_eq!(col(lines[0], "count"), col(lines[1], "12"));
        assert_eq!(col(lines[1], "12"), col(lines[2], "3"));
        for c in ['|', '+', '-', '\u{2500}', '\u{2502}'] {
            assert!(!text.contains(c), "no border ({c:?}): {text}");
        }
        let mut bare = plain.bare_table();
        bare.add_row(vec!["a", "b"]);
        assert_eq!(bare.to_string().lines().count(), 1, "no header row");
    }

    #[test]
    fn a_long_cell_is_not_wrapped() {
        let plain = Style { color: false };
        let mut t = plain.bare_table();
        let long = "k".repeat(500);
        t.add_row(vec![long.as_str(), "x"]);
        let text = t.to_string();
        assert_eq!(text.lines().count(), 1, "one row, one line");
        assert!(text.contains(&long));
    }

    #[test]
    fn the_json_envelope_carries_schema_and_command_beside_the_body() {
        let report = crate::report::enqueue::EnqueueReport {
            jobs: vec![],
            created: 0,
            existing: 0,
            conflicts: 0,
            run_id: "r1".into(),
        };
        let env = Envelope {
            schema: JSON_SCHEMA_VERSION,
            command: report.command(),
            body: &report,
        };
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["command"], "enqueue");
        assert_eq!(v["run_id"], "r1", "the body is flattened into the envelope");
        assert!(v.get("body").is_none());
        let line = serde_json::to_string(&env).unwrap();
        assert!(!line.contains('\n'), "one line: {line}");
    }

    #[test]
    fn quiet_writes_accept_a_closed_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(write_quietly(&mut Closed, b"x").is_ok());
        let err = write_quietly(&mut Full, b"x").unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot write to stdout"),
            "{err:#}"
        );
        let mut buf = Vec::new();
        write_quietly(&mut buf, b"abc").unwrap();
        assert_eq!(buf, b"abc");
    }
}
