//! The `value_parser` functions of the command line: counts, durations and
//! the grace period, with the messages a bad value gets.
//!
//! Must not: know which flag uses them.

use std::time::Duration;

/// What a value that starts with `-` is told: clap's own message for it
/// (`unexpected argument '-1' found`) reads as if the flag were unknown.
pub(super) const NOT_NEGATIVE: &str = "must be 0 or more";

/// A count (`--limit`, `--max-jobs`): a whole number, 0 or more.
pub fn parse_count<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(NOT_NEGATIVE.into());
    }
    t.parse::<T>()
        .map_err(|_| format!("{s:?} is not a whole number"))
}

/// `30m`, `2s`, `500ms`, `1h 30m`, or a bare number of seconds (`2`, `0.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("{NOT_NEGATIVE} (a duration such as 2s or 30m)"));
    }
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("{s:?} is not a duration"));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("{s:?} is not a duration ({e}); try 500ms, 2s, 30m, 1h"))
}

/// The longest `--grace`. A job being created or moved looks damaged for
/// milliseconds; a re-check hours later proves nothing more, while the scan
/// holds its candidates in memory and its report back the whole time (and
/// a wait past what a clock can add would never end).
pub const MAX_GRACE: Duration = Duration::from_secs(10 * 60);

/// `--grace`: a duration of at most [`MAX_GRACE`].
pub fn parse_grace(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_GRACE {
        return Err("at most 10m: a job in the middle of a create or a move settles within milliseconds, so a longer wait finds nothing more and only holds the report back".into());
    }
    Ok(d)
}
