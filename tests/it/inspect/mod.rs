//! `jobq inspect` against a real redis-server: the overview and its health
//! line, `--watch`, job lists, one job with every set it is in, and the
//! provisional verdict on each damage kind of docs/layout.md, each built by hand
//! with raw redis commands.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

mod job;
mod lists;
mod metrics;
mod overview;
mod verdicts;
mod watch;

const T0: f64 = 1767225600.5;

fn cmd(con: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).expect("redis command")
}

/// `jobq --json inspect ARGS...`, parsed, with the exit code checked.
fn inspect_json(r: &Redis, args: &[&str], code: i32) -> Value {
    let mut full = vec!["--json", "inspect"];
    full.extend_from_slice(args);
    let run = r.jobq(&full);
    run.expect_code(code);
    let j = run.json();
    assert_eq!(j["schema"], 1, "{}", run.explain());
    assert_eq!(j["command"], "inspect", "{}", run.explain());
    j
}

fn status_size(j: &Value, status: &str) -> Value {
    j["status_indexes"]
        .as_array()
        .expect("status_indexes")
        .iter()
        .find(|s| s["status"] == status)
        .unwrap_or_else(|| panic!("no status {status} in {j}"))
        .clone()
}

/// Enqueue with jobq, returning the job_id.
fn enqueue(r: &Redis, args: &[&str]) -> String {
    let mut full = vec!["enqueue"];
    full.extend_from_slice(args);
    let run = r.jobq(&full);
    run.expect_code(0);
    run.stdout().trim().to_owned()
}

fn record_check<'a>(rec: &'a Value, list: &str, set: &str) -> &'a Value {
    rec[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {rec}"))
        .iter()
        .find(|c| c["set"] == set)
        .unwrap_or_else(|| panic!("{set} not in {list}: {rec}"))
}
