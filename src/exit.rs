//! The exit-code contract (the README's "Exit codes"), and the error type
//! that carries a code other than the default through `anyhow`.
//!
//! Owns: the numbers. Must not: print.

/// Success; for checks: nothing found.
pub const OK: u8 = 0;
/// Findings: the scan found damage, a dry run has actions to take.
pub const FINDINGS: u8 = 1;
/// Usage error, or a prompt was needed with no terminal and no `--yes`.
pub const USAGE: u8 = 2;
/// Runtime failure: Redis unreachable, auth, protocol, I/O, read-only replica.
pub const RUNTIME: u8 = 3;
/// Partial: some actions were skipped (state changed under us) or failed.
pub const PARTIAL: u8 = 4;
/// The user declined the confirmation.
pub const DECLINED: u8 = 5;
/// `drain` timed out.
pub const DRAIN_TIMEOUT: u8 = 6;
/// `drain` found the queue stalled (pending jobs, nobody working).
pub const STALLED: u8 = 7;
/// `drain --ids`: every job finished, and at least one of them failed.
pub const JOBS_FAILED: u8 = 8;
/// `drain --ids`: the outcome of at least one job is unknown (no live
/// record of it any more, or two).
pub const JOBS_UNKNOWN: u8 = 9;
/// `reap` skipped: another reaper holds the lock.
pub const LOCKED: u8 = 75;
/// Interrupted (Ctrl-C); nothing half-applied.
pub const INTERRUPTED: u8 = 130;

/// One exit code of the contract: the words `--help` sums it up in, and the
/// meaning the man pages and the README's "Exit codes" give it (a test holds
/// the README to this table word for word).
#[derive(Debug, Clone, Copy)]
pub struct Meaning {
    pub code: u8,
    pub brief: &'static str,
    pub text: &'static str,
}

/// Every exit code jobq can return, in order: the one table `--help`, the
/// man pages and the README are made from or checked against.
pub const CONTRACT: &[Meaning] = &[
    Meaning {
        code: OK,
        brief: "success/nothing found",
        text: "Success; for checks: nothing found.",
    },
    Meaning {
        code: FINDINGS,
        brief: "findings",
        text: "Findings: the scan found damage, a dry run has actions to take.",
    },
    Meaning {
        code: USAGE,
        brief: "usage",
        text: "Usage error, or a prompt was needed with no terminal and no --yes.",
    },
    Meaning {
        code: RUNTIME,
        brief: "runtime failure",
        text: "Runtime failure: Redis unreachable, auth, protocol, I/O, read-only replica.",
    },
    Meaning {
        code: PARTIAL,
        brief: "partial",
        text: "Partial: some actions were skipped (state changed under us) or failed.",
    },
    Meaning {
        code: DECLINED,
        brief: "declined",
        text: "The user declined the confirmation.",
    },
    Meaning {
        code: DRAIN_TIMEOUT,
        brief: "drain timeout",
        text: "drain timed out.",
    },
    Meaning {
        code: STALLED,
        brief: "drain stalled",
        text: "drain found the queue stalled (pending jobs, nobody working).",
    },
    Meaning {
        code: JOBS_FAILED,
        brief: "drain: jobs failed",
        text: "drain --ids: every job finished, and at least one failed.",
    },
    Meaning {
        code: JOBS_UNKNOWN,
        brief: "drain: jobs unknown",
        text: "drain --ids: the outcome of at least one job is unknown (no live record of it, or two).",
    },
    Meaning {
        code: LOCKED,
        brief: "reap lock held",
        text: "reap skipped: another reaper holds the lock.",
    },
    Meaning {
        code: INTERRUPTED,
        brief: "interrupted",
        text: "Interrupted (Ctrl-C); nothing half-applied.",
    },
];

/// The contract's entry for a code.
pub fn meaning(code: u8) -> Option<&'static Meaning> {
    CONTRACT.iter().find(|m| m.code == code)
}

/// The exit codes in one paragraph, as `jobq --help` ends: every code of
/// [`CONTRACT`] with its brief words, wrapped to 79 columns.
pub fn help_summary() -> String {
    let mut words: Vec<String> = vec!["Exit".into(), "status:".into()];
    for (i, m) in CONTRACT.iter().enumerate() {
        let last = i + 1 == CONTRACT.len();
        // A code and its words stay on one line.
        words.push(format!(
            "{} {}{}",
            m.code,
            m.brief,
            if last { "." } else { "," }
        ));
    }
    words.extend(
        "See `man jobq` or the README."
            .split(' ')
            .map(str::to_owned),
    );
    let mut out = String::new();
    let mut line = 0;
    for w in words {
        if line > 0 && line + 1 + w.len() > 79 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(&w);
        line += w.len();
    }
    out
}

/// The codes a subcommand can exit with, and what they mean for it (`None`:
/// the meaning in [`CONTRACT`]).
pub fn of_command(page: &str) -> Vec<(u8, Option<&'static str>)> {
    match page {
        "jobq-enqueue" => vec![
            (
                0,
                Some("Every job was created, or its idempotency key was already used (the existing job is reported)."),
            ),
            (
                2,
                Some("Usage error, or a bad --file line: nothing was written."),
            ),
            (3, None),
            (
                4,
                Some("Some jobs were not created: a record with that job_id exists."),
            ),
            (130, None),
        ],
        "jobq-inspect" => vec![
            (0, Some("Healthy: the numbers add up, or the job's verdict is healthy; with --format prometheus, the page was printed (the health is a gauge).")),
            (
                1,
                Some("The status indexes do not add up to the class set, the job is unknown, or its verdict is not healthy."),
            ),
            (2, None),
            (3, None),
            (130, Some("Interrupted (Ctrl-C), also how --watch ends.")),
        ],
        "jobq-orphans" | "jobq-orphans-scan" => vec![
            (0, Some("No damage found.")),
            (1, Some("Confirmed findings exist, or some jobs could not be confirmed (a set they depend on cannot be read).")),
            (2, None),
            (3, None),
            (130, None),
        ],
        "jobq-reindex" => vec![
            (0, Some("Nothing to repair, or every action was applied.")),
            (1, Some("--dry-run: there are actions to take.")),
            (2, None),
            (3, None),
            (
                4,
                Some("Some actions were skipped (the state changed since it was planned) or failed, findings wait for --prefer or --duplicates, or jobs could not be confirmed (a set they depend on cannot be read)."),
            ),
            (5, None),
            (130, None),
        ],
        "jobq-reap" => [0, 1, 2, 3, 4, 5, 75, 130]
            .into_iter()
            .map(|c| (c, None))
            .collect(),
        "jobq-retry" => vec![
            (0, Some("Every selected job was moved back to pending, or none matched.")),
            (1, Some("--dry-run: there are jobs to retry.")),
            (2, Some("Usage error, or a prompt was needed with no terminal (--include-running always asks, even with --yes).")),
            (3, None),
            (
                4,
                Some("Some jobs were skipped (changed since they were selected), refused (their record cannot be moved safely) or failed."),
            ),
            (5, None),
            (130, Some("Interrupted (Ctrl-C): the jobs moved before it stay moved; a rerun does the rest.")),
        ],
        "jobq-delete" => vec![
            (0, Some("Every record of every job_id given was deleted.")),
            (1, Some("--dry-run: there are records to delete.")),
            (2, None),
            (3, None),
            (
                4,
                Some("Some records were skipped (changed since they were read) or failed, a running job was left without --force, or a job_id has no record."),
            ),
            (5, None),
            (130, None),
        ],
        "jobq-undo" => vec![
            (0, Some("Every change of the run was reversed.")),
            (1, Some("--dry-run: there are changes to reverse.")),
            (2, Some("Usage error, a run id the audit stream does not hold, or a prompt was needed with no terminal.")),
            (3, None),
            (
                4,
                Some("Some changes were skipped (the job changed since that run) or failed, or the stream was trimmed past the run's start."),
            ),
            (5, None),
            (130, Some("Interrupted (Ctrl-C): the changes reversed before it stay reversed (each in the audit stream).")),
        ],
        "jobq-audit" => vec![
            (0, Some("Shown.")),
            (2, Some("Usage error, or a run id the audit stream does not hold.")),
            (3, None),
            (
                4,
                Some("The stream was trimmed past the run's start: what is shown of the run is incomplete."),
            ),
            (130, None),
        ],
        "jobq-prune" => vec![
            (0, Some("Every selected job was pruned, or none matched.")),
            (1, Some("--dry-run: there are jobs to prune.")),
            (2, Some("Usage error (no --older-than and no job_ids, neither or both of --backup and --no-backup, a --backup file that exists), or a prompt was needed with no terminal (--force always asks, even with --yes).")),
            (3, None),
            (
                4,
                Some("Some jobs were skipped (changed since their backup line was written: never deleted), refused or failed."),
            ),
            (5, None),
            (130, Some("Interrupted (Ctrl-C): the jobs pruned stay pruned, their lines in the backup file, which is closed with complete: false; a rerun does the rest.")),
        ],
        "jobq-restore" => vec![
            (0, Some("Every record of the backup was re-created.")),
            (1, Some("--dry-run: there are records to restore.")),
            (2, Some("Usage error, a file that is not a jobq backup (or cannot be read) or a backup of another model, or a prompt was needed with no terminal.")),
            (3, None),
            (
                4,
                Some("Some records were skipped (the job exists: restored already, or re-created since) or failed."),
            ),
            (5, None),
            (130, None),
        ],
        "jobq-drain" => vec![
            (
                0,
                Some("Drained; or, with --allow-empty, the model has no keys at all; with --ids: every job completed."),
            ),
            (2, None),
            (
                3,
                Some("Redis is unreachable or stopped answering, or the database holds no keys of the model (without --allow-empty)."),
            ),
            (6, Some("--timeout passed; the counts left (and with --ids, the per-job counts so far) are reported.")),
            (
                7,
                Some("Stalled: jobs pending, nothing running and no change for --stall-timeout."),
            ),
            (
                8,
                Some("--ids: every job finished, at least one failed and none is unknown."),
            ),
            (
                9,
                Some("--ids: at least one job's outcome is unknown: no live record of it (unless --gone-means completed), or two."),
            ),
            (130, None),
        ],
        _ => CONTRACT.iter().map(|m| (m.code, None)).collect(),
    }
}

/// An error with a specific exit code. Anything else that reaches `main` is a
/// runtime failure (3).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
    /// The message is laid out over several lines on purpose (a schema
    /// file's line quoted with a caret under the mistake) and is printed
    /// so; any other message is put on one line.
    pub keep_lines: bool,
}

/// A usage error (exit 2): bad input, detected before anything is written.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: USAGE,
        message: message.into(),
        keep_lines: false,
    }
    .into()
}

/// A usage error whose message keeps its lines (see [`Exit::keep_lines`]).
pub fn usage_keeping_lines(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: USAGE,
        message: message.into(),
        keep_lines: true,
    }
    .into()
}

/// Whether an error is to be printed with its lines kept.
pub fn keeps_lines(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<Exit>().is_some_and(|x| x.keep_lines))
}

/// An error with the given exit code.
pub fn with_code(code: u8, message: impl Into<String>) -> anyhow::Error {
    Exit {
        code,
        message: message.into(),
        keep_lines: false,
    }
    .into()
}

/// The exit code an error maps to: the first [`Exit`] in its chain, else 3.
pub fn code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map(|e| e.code)
        .unwrap_or(RUNTIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn codes_survive_context() {
        let e = usage("bad flag");
        assert_eq!(code_of(&e), USAGE);
        let e: anyhow::Error = Err::<(), _>(with_code(LOCKED, "held"))
            .context("reap")
            .unwrap_err();
        assert_eq!(code_of(&e), LOCKED);
        assert_eq!(code_of(&anyhow::anyhow!("io")), RUNTIME);
    }

    #[test]
    fn the_help_summary_names_every_code_once() {
        let s = help_summary();
        assert!(s.lines().all(|l| l.len() <= 79), "{s}");
        let flat = s.replace('\n', " ");
        for m in CONTRACT {
            assert_eq!(
                flat.matches(&format!(" {} {}", m.code, m.brief)).count(),
                1,
                "{s}"
            );
        }
    }
}
