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
/// `reap` skipped: another reaper holds the lock.
pub const LOCKED: u8 = 75;
/// Interrupted (Ctrl-C); nothing half-applied.
pub const INTERRUPTED: u8 = 130;

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
}
