//! What went wrong with one request to Redis, as a kind the code can match
//! on: a refusal of every write (no permission, out of memory, a read-only
//! replica, a failing disk), a script the server has forgotten, a key of
//! another type, a command the server lacks, a server still loading, no
//! reply in time, a lost connection, or any other error reply.
//!
//! The server's words are read once, here, when a reply or a failure
//! arrives ([`StoreError::from_reply`], [`StoreError::from_redis`]); the
//! rest of the crate matches on the kind. Every variant keeps the text the
//! user is shown (Redis's own `CODE detail`, with the hint `describe_plain`
//! adds), and `Display` prints exactly that text.
//!
//! Owns: the kinds and the reading of Redis's error words. Must not: decide
//! what a caller does about an error (retry, reconnect, report), or print.

/// Why the server refuses writes altogether, not just this one write: the
/// next step would meet the same refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `NOPERM`, or an ACL denial met inside a script (Redis 7 words it as
    /// `ERR ... can't run this command`).
    NoPerm,
    /// `READONLY`: a replica.
    ReadOnly,
    /// `OOM`: out of memory under `noeviction`.
    Oom,
    /// `MISCONF`: the server cannot persist (a failing disk).
    Misconf,
}

/// One failed request or error reply; `Display` is the text the user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{text}")]
    Refused { why: Refusal, text: String },
    /// `NOSCRIPT`: the script is not in the server's cache; it did not run.
    #[error("{0}")]
    NoScript(String),
    /// `WRONGTYPE`: the key holds another Redis type.
    #[error("{0}")]
    WrongType(String),
    /// The server does not know the command (renamed away, or too old).
    #[error("{0}")]
    UnknownCommand(String),
    /// `LOADING`, `MASTERDOWN`, `TRYAGAIN`, `CLUSTERDOWN`: the server cannot
    /// serve yet; asking again later may succeed.
    #[error("{0}")]
    Busy(String),
    /// `EXECABORT`: a MULTI was discarded because a command in it was
    /// refused when queued; nothing in it ran.
    #[error("{0}")]
    ExecAbort(String),
    /// No reply in time: whether the request ran is unknown.
    #[error("{0}")]
    Timeout(String),
    /// The connection dropped (or never came up): whether the request ran
    /// is unknown.
    #[error("{0}")]
    ConnectionLost(String),
    /// Any other error reply, or a reply jobq cannot read.
    #[error("{0}")]
    Other(String),
}

/// Error replies a server sends while it cannot serve reads yet.
const BUSY_CODES: [&str; 4] = ["LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"];

/// Whether `text` opens with the error code `code` (followed by a space or
/// nothing): `OOMPH` is not `OOM`.
fn opens_with(text: &str, code: &str) -> bool {
    text.strip_prefix(code)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

impl StoreError {
    /// Classify an error reply in Redis's words (`CODE detail`, as
    /// `describe_plain` renders it).
    pub fn from_reply(text: impl Into<String>) -> StoreError {
        let text = text.into();
        if let Some(why) = refusal_in(&text) {
            return StoreError::Refused { why, text };
        }
        // In Redis's words, or as the client library renders it.
        if text.starts_with("NOSCRIPT")
            || text.to_ascii_lowercase().starts_with("noscript")
            || text.contains("NoScriptError")
        {
            return StoreError::NoScript(text);
        }
        if text.starts_with("WRONGTYPE") {
            return StoreError::WrongType(text);
        }
        if text.starts_with("EXECABORT") {
            return StoreError::ExecAbort(text);
        }
        if BUSY_CODES.iter().any(|c| text.starts_with(c)) {
            return StoreError::Busy(text);
        }
        if text.to_ascii_lowercase().contains("unknown command") {
            return StoreError::UnknownCommand(text);
        }
        StoreError::Other(text)
    }

    /// Classify a failure of the client library: `text` is what the user is
    /// shown for it.
    pub fn from_redis(e: &redis::RedisError, text: String) -> StoreError {
        if e.is_timeout() {
            StoreError::Timeout(text)
        } else if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
            StoreError::ConnectionLost(text)
        } else {
            match StoreError::from_reply(text) {
                // A server error the library names by kind rather than by
                // code in its text.
                StoreError::Other(text)
                    if matches!(
                        e.kind(),
                        redis::ErrorKind::Server(
                            redis::ServerErrorKind::BusyLoading
                                | redis::ServerErrorKind::MasterDown
                                | redis::ServerErrorKind::TryAgain
                                | redis::ServerErrorKind::ClusterDown
                        )
                    ) =>
                {
                    StoreError::Busy(text)
                }
                other => other,
            }
        }
    }

    /// A reply of a shape jobq did not ask for, or none at all.
    pub fn unexpected(text: impl Into<String>) -> StoreError {
        StoreError::Other(text.into())
    }

    /// Whether the server refuses writes altogether (see [`Refusal`]).
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Refused { .. })
    }

    pub fn is_wrong_type(&self) -> bool {
        matches!(self, StoreError::WrongType(_))
    }

    pub fn is_noscript(&self) -> bool {
        matches!(self, StoreError::NoScript(_))
    }

    pub fn is_unknown_command(&self) -> bool {
        matches!(self, StoreError::UnknownCommand(_))
    }

    /// Redis did not answer, or cannot yet: the state is unknown, and a
    /// reconnect or a later try may help.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Timeout(_) | StoreError::ConnectionLost(_) | StoreError::Busy(_)
        )
    }

    /// The text the user is shown.
    pub fn text(&self) -> &str {
        match self {
            StoreError::Refused { text, .. }
            | StoreError::NoScript(text)
            | StoreError::WrongType(text)
            | StoreError::UnknownCommand(text)
            | StoreError::Busy(text)
            | StoreError::ExecAbort(text)
            | StoreError::Timeout(text)
            | StoreError::ConnectionLost(text)
            | StoreError::Other(text) => text,
        }
    }
}

impl From<&str> for StoreError {
    fn from(text: &str) -> StoreError {
        StoreError::from_reply(text)
    }
}

impl From<String> for StoreError {
    fn from(text: String) -> StoreError {
        StoreError::from_reply(text)
    }
}

/// The refusal an error reply's words name, if any.
fn refusal_in(text: &str) -> Option<Refusal> {
    // An ACL denial met inside a script (Redis 7 words it as ERR).
    if text.contains("can't run this command") {
        return Some(Refusal::NoPerm);
    }
    [
        ("NOPERM", Refusal::NoPerm),
        ("OOM", Refusal::Oom),
        ("READONLY", Refusal::ReadOnly),
        ("MISCONF", Refusal::Misconf),
    ]
    .into_iter()
    .find(|(code, _)| {
        (opens_with(text, code) && text.len() > code.len())
            // Met inside a script, Redis 6 wraps the code: `ERR Error
            // running script ...: -OOM command not allowed ...`.
            || text.contains(&format!("-{code} "))
    })
    .map(|(_, why)| why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_from_other_failures() {
        for (e, why) in [
            (
                "NOPERM this user has no permissions to run the 'xadd' command",
                Refusal::NoPerm,
            ),
            (
                "OOM command not allowed when used memory > 'maxmemory'.",
                Refusal::Oom,
            ),
            (
                "READONLY You can't write against a read only replica.",
                Refusal::ReadOnly,
            ),
            (
                "MISCONF Redis is configured to save RDB snapshots, but...",
                Refusal::Misconf,
            ),
            (
                "ERR The user executing the script can't run this command or subcommand",
                Refusal::NoPerm,
            ),
            (
                "ERR Error running script (call to f_1): @user_script:9: @user_script: 9: -OOM command not allowed when used memory > 'maxmemory'.",
                Refusal::Oom,
            ),
        ] {
            let got = StoreError::from_reply(e);
            assert!(got.is_refusal(), "{e}");
            assert!(matches!(got, StoreError::Refused { why: w, .. } if w == why), "{e}");
            assert_eq!(got.to_string(), e);
        }
        for e in [
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "NOSCRIPT No matching script. Please use EVAL.",
            "OOMPH not a code",
            "ERR syntax error",
        ] {
            assert!(!StoreError::from_reply(e).is_refusal(), "{e}");
        }
    }

    #[test]
    fn other_kinds_are_read_from_their_codes() {
        assert!(
            StoreError::from_reply("NoScript: No matching script. Please use EVAL.").is_noscript()
        );
        assert!(StoreError::from_reply("NOSCRIPT No matching script").is_noscript());
        assert!(!StoreError::from_reply("WRONGTYPE Operation against a key").is_noscript());
        assert!(StoreError::from_reply("WRONGTYPE Operation against a key").is_wrong_type());
        assert!(StoreError::from_reply(
            "ERR unknown command 'SMISMEMBER', with args beginning with: "
        )
        .is_unknown_command());
        assert!(
            StoreError::from_reply("LOADING Redis is loading the dataset in memory")
                .is_unavailable()
        );
        assert!(matches!(
            StoreError::from_reply("EXECABORT Transaction discarded"),
            StoreError::ExecAbort(_)
        ));
        assert!(
            matches!(StoreError::from_reply("ERR boom"), StoreError::Other(t) if t == "ERR boom")
        );
    }
}
