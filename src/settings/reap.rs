//! `jobq reap`'s flags resolved against the model: the staleness
//! [`ReapPolicy`] (built here, defined in `diagnose::stale`) and the sweep's
//! budgets and schedule ([`ReapSettings`]). A bad flag is a usage error
//! (exit 2), found before anything connects.
//!
//! Owns: the meaning of `cli::ReapArgs`. Must not: talk to Redis or print.

use std::time::Duration;

use anyhow::Result;

use crate::cli::ReapArgs;
use crate::diagnose::stale::{ReapPolicy, PRIORITY_FIELD};
use crate::exit;
use crate::schema::msgpack::encode;
use crate::schema::{FieldType, Model};

/// A lease this short takes jobs that are merely running, not stale: no
/// worker heartbeats or finishes that fast, so it is as sweeping as
/// `--all` and asks first as `--all` does.
pub const ASK_BELOW_LEASE: Duration = Duration::from_secs(60);

/// What one `jobq reap` run was asked to do.
#[derive(Debug, Clone)]
pub struct ReapSettings {
    pub policy: ReapPolicy,
    /// `--lease` as given (the policy has it in seconds).
    pub lease: Duration,
    /// Ask before the first sweep (`--all`, or a lease under
    /// [`ASK_BELOW_LEASE`]), unless `--yes` or `--dry-run`.
    pub ask: bool,
    pub dry_run: bool,
    /// Sweep this often until Ctrl-C; `None`: one sweep.
    pub interval: Option<Duration>,
    pub wait_lock: bool,
    pub min_interval: Option<Duration>,
    pub max_jobs: Option<u64>,
    pub max_duration: Option<Duration>,
}

impl ReapSettings {
    /// Resolve and validate the flags; a bad flag is a usage error.
    pub fn from_args(model: &Model, args: &ReapArgs) -> Result<ReapSettings> {
        let policy = ReapPolicy::new(model, args)?;
        if args.interval.is_some_and(|d| d.is_zero()) {
            return Err(exit::usage("--interval must be above zero"));
        }
        if args.max_jobs == Some(0) {
            return Err(exit::usage("--max-jobs must be at least 1"));
        }
        let dry_run = args.confirm.dry_run;
        let short_lease = args.lease < ASK_BELOW_LEASE;
        Ok(ReapSettings {
            policy,
            lease: args.lease,
            ask: (args.all || short_lease) && !args.confirm.yes && !dry_run,
            dry_run,
            interval: args.interval,
            wait_lock: args.wait_lock,
            min_interval: args.min_interval,
            max_jobs: args.max_jobs,
            max_duration: args.max_duration,
        })
    }
}

impl ReapPolicy {
    /// Resolve and validate the flags; a bad flag is a usage error.
    pub fn new(model: &Model, args: &ReapArgs) -> Result<ReapPolicy> {
        let since_field = match &args.since_field {
            Some(name) => match model.field(name) {
                Some(f) if matches!(f.ty, FieldType::Float | FieldType::Int | FieldType::Datetime) => {
                    Some(name.clone())
                }
                Some(f) => {
                    return Err(exit::usage(format!(
                        "--since-field {name:?} is of type {}; it must be float, int (unix seconds) or datetime",
                        f.ty.name()
                    )))
                }
                None => {
                    return Err(exit::usage(format!(
                        "--since-field {name:?} is not a field of the {} model",
                        model.class
                    )))
                }
            },
            None => model.since_field.clone(),
        };
        let heartbeat = match &args.heartbeat_key {
            Some(t) => Some(
                model
                    .key_template(t)
                    .map_err(|e| exit::usage(format!("--heartbeat-key {t:?}: {e}")))?,
            ),
            None => None,
        };
        let priority = match model.field(PRIORITY_FIELD) {
            Some(f) => {
                if args.requeue_priority.is_empty() {
                    return Err(exit::usage("--requeue-priority must not be empty"));
                }
                let v = f
                    .parse_text(&args.requeue_priority)
                    .map_err(|e| exit::usage(format!("--requeue-priority: {e:#}")))?;
                Some((f.name.clone(), encode(&v)))
            }
            None => None,
        };
        let mut read_fields = vec![model.status.field.clone()];
        let mut add = |name: &str| {
            if !read_fields.iter().any(|f| f == name) {
                read_fields.push(name.to_owned());
            }
        };
        for f in model.key_fields() {
            add(&f.name);
        }
        if let Some(s) = &since_field {
            add(s);
        }
        if let Some(t) = &heartbeat {
            for f in t.fields() {
                add(f);
            }
        }
        Ok(ReapPolicy {
            lease: args.lease.as_secs_f64(),
            since_field,
            heartbeat,
            heartbeat_text: args.heartbeat_key.clone(),
            all: args.all,
            priority,
            max_attempts: u64::from(args.max_attempts),
            read_fields,
        })
    }
}

/// Policies from flags, for the unit tests of the rooms that use them.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    pub fn args(extra: &[&str]) -> ReapArgs {
        let mut argv = vec!["jobq", "reap"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("valid args").command {
            Command::Reap(a) => a,
            _ => unreachable!("parsed a reap command"),
        }
    }

    /// The policy `jobq reap <extra>` runs with.
    pub fn policy(model: &Model, extra: &[&str]) -> Result<ReapPolicy> {
        ReapPolicy::new(model, &args(extra))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::args;
    use super::*;

    #[test]
    fn policy_resolves_fields_and_flags() {
        let m = Model::redis_job();
        let p = ReapPolicy::new(
            &m,
            &args(&["--heartbeat-key", "w:{project_key}:{priority}"]),
        )
        .expect("ok");
        assert_eq!(
            p.read_fields,
            ["status", "job_id", "project_key", "priority"]
        );
        assert_eq!(p.lease, 1800.0);
        assert_eq!(p.priority, Some(("priority".into(), b"\xa4high".to_vec())));
        assert_eq!(p.max_attempts, 3);
        assert!(p.since_field.is_none());
        let e = ReapPolicy::new(&m, &args(&["--since-field", "message_text"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        assert!(e.to_string().contains("type str"), "{e}");
        let e = ReapPolicy::new(&m, &args(&["--since-field", "nope"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        let e = ReapPolicy::new(&m, &args(&["--heartbeat-key", "w:{worker}"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        let p = ReapPolicy::new(&m, &args(&["--since-field", "created_at"])).expect("ok");
        assert_eq!(p.read_fields.last().map(String::as_str), Some("created_at"));
    }

    #[test]
    fn sweep_flags() {
        let m = Model::redis_job();
        let s = ReapSettings::from_args(&m, &args(&[])).expect("ok");
        assert!(!s.ask && !s.dry_run && s.interval.is_none());
        for (flags, ask) in [
            (&["--all"][..], true),
            (&["--lease", "59s"], true),
            (&["--lease", "1m"], false),
            (&["--all", "--yes"], false),
            (&["--all", "--dry-run"], false),
        ] {
            let s = ReapSettings::from_args(&m, &args(flags)).expect("ok");
            assert_eq!(s.ask, ask, "{flags:?}");
        }
        let e = ReapSettings::from_args(&m, &args(&["--interval", "0s"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
        let e = ReapSettings::from_args(&m, &args(&["--max-jobs", "0"])).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::USAGE);
    }
}
