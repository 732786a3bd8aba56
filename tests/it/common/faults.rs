//! Fault injection for the reliability suite (issue 9): servers set up to be
//! broken, the ways to break them, a popoto-style worker that keeps writing
//! meanwhile, and the invariants every fault test checks afterwards.
//!
//! The invariants (README, "Reliability"):
//! - **I1** every job that existed still exists, in the class set (less the
//!   jobs a worker deleted meanwhile): [`check_i1`];
//! - **I2** after a completed repair every job is in exactly one status
//!   index, the one its key and its status field name: [`check_i2`];
//! - **I3** a second run finds nothing and writes nothing: [`check_i3`];
//! - **I4** nothing a worker changed during the run was undone: no record
//!   the worker moved away from or deleted is back (so no completed job is
//!   pending again): [`check_i4`];
//! - **I5** Redis stayed responsive: SLOWLOG holds no command of jobq's
//!   (its connection is named `jobq`) slower than 10 ms: [`check_i5`], on a
//!   server started by [`watched`] / [`persistent`].
//!
//! A fault test reads: start a server ([`watched`]), build a state, take a
//! [`Before`], run jobq under a fault ([`spawn_jobq`] + [`kill_after`],
//! `Redis::restart`, a worker doing [`Op`]s, ...), then `check_i1` .. `check_i5`,
//! usually through [`check_settled`] after a rerun.
//!
//! `reap` under faults (SIGKILL at random points, a restart mid-sweep, a
//! replica, ACL users) is in the `faults` module; a worker against `reap` in
//! `reap` and `concurrency`. Not built yet: `reap` against
//! `DEBUG SLEEP` with a short `--response-timeout`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// SLOWLOG threshold of the test servers, and the most a jobq command may
/// take (I5).
pub const SLOW_US: i64 = 10_000;

/// The statuses of the default model.
pub const STATUSES: [&str; 4] = ["pending", "running", "completed", "failed"];
pub const CLASS: &str = "$Class:RedisJob";
pub const ZSET: &str = "$SortF:RedisJob:created_at";
pub const AUDIT: &str = "jobq:audit";

pub fn status_index(s: &str) -> String {
    format!("$KeyF:RedisJob:status:{s}")
}

pub fn project_index(p: &str) -> String {
    format!("$KeyF:RedisJob:project_key:{p}")
}

/// Whether the long variants run (`JOBQ_LONG_TESTS`, set by .ci/run).
pub fn long_tests() -> bool {
    std::env::var_os("JOBQ_LONG_TESTS").is_some_and(|v| !v.is_empty())
}

// ---- servers -------------------------------------------------------------

fn watch_args(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--slowlog-log-slower-than",
        "10000",
        "--slowlog-max-len",
        "4096",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// A server whose SLOWLOG catches every command over 10 ms (I5).
pub fn watched(extra: &[&str]) -> Redis {
    let a = watch_args(extra);
    Redis::start_with(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

/// [`watched`], also on a TCP port (for ACL users and replicas).
pub fn watched_tcp(extra: &[&str]) -> Redis {
    let a = watch_args(extra);
    Redis::start_tcp(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

/// [`watched`] with an append-only file fsynced on every write, so that the
/// data (and every write acknowledged to jobq) survives `Redis::restart`.
pub fn persistent() -> Redis {
    watched(&["--appendonly", "yes", "--appendfsync", "always"])
}

/// A read-only replica of `primary` (started with `watched_tcp`), once it
/// has synced.
pub fn replica_of(primary: &Redis) -> Redis {
    let port = primary
        .port
        .expect("the primary needs a TCP port")
        .to_string();
    let rep = watched_tcp(&["--replicaof", "127.0.0.1", &port]);
    let mut con = rep.con();
    let t0 = Instant::now();
    loop {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut con)
            .expect("INFO");
        if info.contains("master_link_status:up") && info.contains("master_sync_in_progress:0") {
            return rep;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the replica did not sync\n{info}\n{}",
            rep.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ACL SETUSER name on >password rules...`.
pub fn acl_user(con: &mut redis::Connection, name: &str, password: &str, rules: &[&str]) {
    let mut c = redis::cmd("ACL");
    c.arg("SETUSER")
        .arg(name)
        .arg("reset")
        .arg("on")
        .arg(format!(">{password}"));
    for r in rules {
        c.arg(*r);
    }
    let _: () = c.query(con).expect("ACL SETUSER");
}

/// `CONFIG SET`.
pub fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .expect("CONFIG SET");
}

/// An `INFO` field as a number.
pub fn info_number(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

// ---- running jobq under a fault ------------------------------------------

/// Start jobq against `r` (`--url` first), output captured.
pub fn spawn_jobq(r: &Redis, args: &[&str]) -> Child {
    Command::new(jobq_bin())
        .arg("--url")
        .arg(r.url())
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("JOBQ_SCHEMA")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobq")
}

/// Wait for a spawned jobq and turn it into a [`Run`].
pub fn finish(r: &Redis, args: &[&str], child: Child) -> Run {
    let out = child.wait_with_output().expect("wait jobq");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        out,
        log: r.log_path(),
    }
}

/// SIGKILL `child` after `delay`; true when it had finished by itself.
pub fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("try_wait").is_some();
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// Wait until the server has dropped every connection jobq named its own
/// (`CLIENT SETNAME jobq`). A SIGKILLed jobq may have sent a script the
/// server has not run yet; the server runs what a client sent before it
/// sees the connection close, so once the connection is gone, everything
/// the killed run sent has been applied and the state can be read.
pub fn wait_jobq_connections_gone(con: &mut redis::Connection) {
    let gone = wait_for(Duration::from_secs(20), || {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(con)
            .expect("CLIENT LIST");
        !list.lines().any(|l| l.split(' ').any(|f| f == "name=jobq"))
    });
    assert!(gone, "a killed jobq's connection is still open after 20 s");
}

/// Poll `cond` every few ms until it holds (true) or `limit` passes (false).
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// From another connection: `DEBUG SLEEP secs` as soon as `cond` holds
/// (checked on that connection). The server must run with
/// `--enable-debug-command yes`. Returns the thread; it yields whether the
/// sleep was sent.
pub fn debug_sleep_when(
    sock: &Path,
    secs: f64,
    cond: impl Fn(&mut redis::Connection) -> bool + Send + 'static,
) -> std::thread::JoinHandle<bool> {
    let url = format!("unix://{}", sock.display());
    std::thread::spawn(move || {
        let client = redis::Client::open(url).expect("client");
        let mut c = client.get_connection().expect("connection");
        if !wait_for(Duration::from_secs(60), || cond(&mut c)) {
            return false;
        }
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(secs)
            .query(&mut c)
            .expect("DEBUG SLEEP");
        true
    })
}

/// Run jobq and measure its peak RSS in KiB (`/usr/bin/time -f %M` when
/// present, else the VmHWM of /proc/<pid>/status polled while it runs).
pub fn jobq_peak_rss(r: &Redis, args: &[&str]) -> (Run, u64) {
    let time = Path::new("/usr/bin/time");
    let url = r.url();
    let mut full: Vec<String> = vec!["--url".into(), url];
    full.extend(args.iter().map(|s| s.to_string()));
    if time.exists() {
        let report = r.dir.path().join("peak-rss.txt");
        let out = Command::new(time)
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(jobq_bin())
            .args(&full)
            .env_remove("REDIS_URL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run jobq under /usr/bin/time");
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {text:?}"));
        let run = Run {
            args: full,
            out,
            log: r.log_path(),
        };
        return (run, kib);
    }
    let child = spawn_jobq(r, args);
    let status = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak = 0u64;
    let mut child = child;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (finish(r, args, child), peak)
}

// ---- the state before a fault --------------------------------------------

/// What existed before a fault: every job's record keys (by job_id).
#[derive(Debug, Clone)]
pub struct Before {
    pub jobs: BTreeMap<String, Vec<String>>,
}

impl Before {
    pub fn capture(con: &mut redis::Connection) -> Before {
        Before {
            jobs: records_by_job(con),
        }
    }
}

/// What a worker did: the invariants are relative to it.
#[derive(Debug, Clone, Default)]
pub struct WorkerLog {
    /// Keys of the jobs it created.
    pub created: Vec<String>,
    /// (old key, new key) of every status change it made.
    pub moved: Vec<(String, String)>,
    /// Keys it deleted.
    pub deleted: Vec<String>,
}

impl WorkerLog {
    /// Job ids with a record the worker deleted (I1 does not expect them).
    pub fn deleted_ids(&self) -> BTreeSet<String> {
        self.deleted.iter().map(|k| id_of(k)).collect()
    }
    /// Keys of the jobs it completed.
    pub fn completed(&self) -> Vec<&str> {
        self.moved
            .iter()
            .filter(|(_, n)| n.ends_with(":completed"))
            .map(|(_, n)| n.as_str())
            .collect()
    }
}

/// The job_id segment of a default-model key.
pub fn id_of(key: &str) -> String {
    key.split(':').nth(1).unwrap_or_default().to_string()
}

// ---- the invariants ------------------------------------------------------

fn set_of(con: &mut redis::Connection, key: &str) -> BTreeSet<Vec<u8>> {
    redis::cmd("SMEMBERS")
        .arg(key)
        .query::<Vec<Vec<u8>>>(con)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn is_hash(con: &mut redis::Connection, key: &[u8]) -> bool {
    let t: String = redis::cmd("TYPE").arg(key).query(con).expect("TYPE");
    t == "hash"
}

/// I1: every job of `before` not deleted by the worker (and every job the
/// worker created and did not delete) still has a live record, in the
/// class set. `in_class`: also require the class-set membership (false
/// right after a run that may have stopped before repairing an unlisted
/// job; true after a completed repair).
pub fn check_i1(con: &mut redis::Connection, before: &Before, log: &WorkerLog, in_class: bool) {
    let now = records_by_job(con);
    let class = set_of(con, CLASS);
    let gone = log.deleted_ids();
    let mut ids: BTreeSet<String> = before.jobs.keys().cloned().collect();
    ids.extend(log.created.iter().map(|k| id_of(k)));
    for id in ids.iter().filter(|id| !gone.contains(*id)) {
        let live: Vec<&String> = now
            .get(id)
            .map(|ks| ks.iter().collect())
            .unwrap_or_default();
        let live: Vec<&String> = live
            .into_iter()
            .filter(|k| is_hash(con, k.as_bytes()))
            .collect();
        assert!(
            !live.is_empty(),
            "I1: job {id} was lost (before: {:?})",
            before.jobs.get(id)
        );
        if in_class {
            assert!(
                live.iter().any(|k| class.contains(k.as_bytes())),
                "I1: job {id} ({live:?}) is not in the class set"
            );
        }
    }
}

/// I2: every record of the model (minus `except`, keys left malformed on
/// purpose) is in exactly one status index, the one its key and its status
/// field name, and in the class set; no status index holds anything else.
pub fn check_i2(con: &mut redis::Connection, except: &[&[u8]]) {
    let records: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("RedisJob:*")
        .query(con)
        .expect("KEYS");
    let indexes: Vec<String> = redis::cmd("KEYS")
        .arg("$KeyF:RedisJob:status:*")
        .query(con)
        .expect("KEYS");
    let members: Vec<(String, BTreeSet<Vec<u8>>)> = indexes
        .iter()
        .map(|i| (i.clone(), set_of(con, i)))
        .collect();
    let class = set_of(con, CLASS);
    for key in records.iter().filter(|k| !except.contains(&k.as_slice())) {
        let show = String::from_utf8_lossy(key).into_owned();
        if !is_hash(con, key) {
            continue;
        }
        let segment = show.rsplit(':').next().unwrap_or_default().to_string();
        let raw: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(key.as_slice())
            .arg("status")
            .query(con)
            .expect("HGET");
        let field = raw.map(|b| match jobq::schema::msgpack::decode(&b) {
            Ok(jobq::schema::Value::Str(s)) => s,
            other => format!("{other:?}"),
        });
        assert_eq!(
            field.as_deref(),
            Some(segment.as_str()),
            "I2: {show}: the key and the status field disagree"
        );
        let inside: Vec<&str> = members
            .iter()
            .filter(|(_, m)| m.contains(key))
            .map(|(i, _)| i.as_str())
            .collect();
        assert_eq!(
            inside,
            vec![status_index(&segment).as_str()],
            "I2: {show} is in {inside:?}"
        );
        assert!(class.contains(key), "I2: {show} is not in the class set");
    }
    for (idx, m) in &members {
        for k in m.iter().filter(|k| !except.contains(&k.as_slice())) {
            assert!(
                is_hash(con, k),
                "I2: {idx} holds {} whose record is gone",
                String::from_utf8_lossy(k)
            );
        }
    }
}

/// The reindex arguments that settle every kind the suite builds.
pub const SETTLE: [&str; 8] = [
    "--json",
    "reindex",
    "--yes",
    "--grace",
    "0",
    "--prefer",
    "key",
    "--duplicates=keep-latest",
];

/// I3: run `args` (a `--json` repair) again: exit 0, nothing applied,
/// nothing written (the data and the audit stream unchanged); then a deep
/// scan finds nothing.
pub fn check_i3(r: &Redis, args: &[&str]) {
    let mut con = r.con();
    let before = snapshot(&mut con);
    let audit = xlen(&mut con, AUDIT);
    let run = r.jobq(args);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(
        j["applied"],
        0,
        "I3: a second run applied\n{}",
        run.explain()
    );
    let after = snapshot(&mut con);
    assert!(
        after == before,
        "I3: a second run wrote:\n{}",
        diff(&before, &after)
    );
    assert_eq!(xlen(&mut con, AUDIT), audit, "I3: a second run audited");
    let scan = r.jobq(&["--json", "orphans", "scan", "--grace", "0", "--deep"]);
    assert_eq!(
        scan.code(),
        0,
        "I3: the scan still finds something\n{}",
        scan.explain()
    );
}

/// I4: no record the worker moved away from or deleted is back. Right after
/// the run (`settled` false) its hash must not exist; after a completed
/// repair it must also be in no set (no ghost left in pending).
pub fn check_i4(con: &mut redis::Connection, log: &WorkerLog, settled: bool) {
    let mut sets: Vec<String> = vec![CLASS.into()];
    sets.extend(STATUSES.iter().map(|s| status_index(s)));
    let members: Vec<(String, BTreeSet<Vec<u8>>)> =
        sets.iter().map(|s| (s.clone(), set_of(con, s))).collect();
    let later: BTreeSet<&str> = log.moved.iter().map(|(_, n)| n.as_str()).collect();
    let away = log
        .moved
        .iter()
        .map(|(o, _)| (o.as_str(), "moved away from"))
        .chain(log.deleted.iter().map(|k| (k.as_str(), "deleted")));
    for (key, what) in away {
        // A later step of the worker may have recreated it (a job moved
        // back); then it is the worker's, not a revival.
        if later.contains(key) {
            continue;
        }
        assert!(
            !is_hash(con, key.as_bytes()),
            "I4: the worker {what} {key}, and it is back"
        );
        if settled {
            for (s, m) in &members {
                assert!(
                    !m.contains(key.as_bytes()),
                    "I4: the worker {what} {key}, and it is back in {s}"
                );
            }
        }
    }
    let pending = &members[1].1;
    // A job whose completed record the worker then deleted (or moved on) is
    // not completed any more: a pending record of it left over from before
    // (a duplicate the damage made) is the application's, not a revival.
    let gone: BTreeSet<&str> = log
        .deleted
        .iter()
        .map(String::as_str)
        .chain(log.moved.iter().map(|(o, _)| o.as_str()))
        .collect();
    for key in log.completed().into_iter().filter(|k| !gone.contains(k)) {
        let id = id_of(key);
        for k in pending {
            assert!(
                !(settled && String::from_utf8_lossy(k).contains(&id)),
                "I4: completed job {id} is pending again"
            );
        }
    }
}

/// Commands SLOWLOG caught from jobq's connections: (microseconds, command
/// name as `INFO commandstats` spells it, first arguments).
pub fn slow_jobq_commands(con: &mut redis::Connection) -> Vec<(i64, String, String)> {
    let v: redis::Value = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query(con)
        .expect("SLOWLOG GET");
    let text = |x: &redis::Value| match x {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        other => format!("{other:?}"),
    };
    let mut out = Vec::new();
    let redis::Value::Array(entries) = v else {
        return out;
    };
    for e in entries {
        let redis::Value::Array(parts) = e else {
            continue;
        };
        let us = match parts.get(2) {
            Some(redis::Value::Int(us)) => *us,
            _ => 0,
        };
        if parts.get(5).map(text).as_deref() != Some("jobq") {
            continue;
        }
        let args: Vec<String> = match parts.get(3) {
            Some(redis::Value::Array(a)) => a.iter().take(3).map(text).collect(),
            _ => Vec::new(),
        };
        let mut name = args.first().cloned().unwrap_or_default().to_lowercase();
        if matches!(name.as_str(), "client" | "script" | "config" | "object") {
            if let Some(sub) = args.get(1) {
                name = format!("{name}|{}", sub.to_lowercase());
            }
        }
        out.push((us, name, args.join(" ")));
    }
    out
}

/// Calls per command since the server started (`INFO commandstats`).
pub fn command_calls(con: &mut redis::Connection) -> BTreeMap<String, u64> {
    command_stats(con)
        .into_iter()
        .map(|(name, (calls, _))| (name, calls))
        .collect()
}

/// INFO commandstats: per command, its calls and its mean microseconds
/// per call.
pub fn command_stats(con: &mut redis::Connection) -> BTreeMap<String, (u64, f64)> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(con)
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |f: &str| {
                rest.split(',')
                    .find_map(|kv| kv.strip_prefix(f)?.strip_prefix("="))
            };
            let calls = field("calls")?.parse().ok()?;
            let per_call = field("usec_per_call")?.trim().parse().ok()?;
            Some((name.to_string(), (calls, per_call)))
        })
        .collect()
}

/// I5: no command of jobq's blocked Redis: none in SLOWLOG at 10 ms or
/// more.
///
/// A kernel that pauses redis-server in the middle of a command (a loaded
/// machine, CI on two cores) puts that command in SLOWLOG too, whoever sent
/// it. Such pauses hit commands at random, while a command that blocks is
/// slow every time it runs: its work per call is what makes it slow. So a
/// slow jobq command counts when it took 250 ms or more, or when that
/// command took 5 ms or more per call on average (INFO commandstats), or
/// was slow in half of its calls or more; with `JOBQ_STRICT_SLOWLOG=1`
/// every one counts. Those let pass are printed.
pub fn check_i5(con: &mut redis::Connection) {
    let threshold: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("slowlog-log-slower-than")
        .query(con)
        .expect("CONFIG GET");
    assert_eq!(
        threshold.get(1).map(String::as_str),
        Some("10000"),
        "I5 needs a server started by faults::watched"
    );
    let strict = std::env::var_os("JOBQ_STRICT_SLOWLOG").is_some_and(|v| v == "1");
    let slow: Vec<(i64, String, String)> = slow_jobq_commands(con)
        .into_iter()
        .filter(|(us, _, _)| *us >= SLOW_US)
        .collect();
    if slow.is_empty() {
        return;
    }
    let stats = command_stats(con);
    let mut per_name: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, name, _) in &slow {
        *per_name.entry(name.as_str()).or_default() += 1;
    }
    let blocking: Vec<&(i64, String, String)> = slow
        .iter()
        .filter(|(us, name, _)| {
            // Redis 6 counts a subcommand under its command (`script`,
            // not `script|load`).
            let (n, per_call) = stats
                .get(name)
                .or_else(|| name.split('|').next().and_then(|c| stats.get(c)))
                .copied()
                .unwrap_or((0, 0.0));
            // SLOWLOG times wall clock: on a machine with more busy
            // processes than cores, any command can be paused past 10 ms.
            // A command whose own work is too much is slow on average, or
            // most times it runs, or very slow once.
            let times = per_name[name.as_str()];
            // Before 7.0 (Valkey reports its own version, 8.x) a ZSCAN
            // page of the sorted-field zset costs about 5 ms on this
            // machine, twice 7.0's (README, Servers): there a command
            // blocks when its calls average 10 ms.
            let older = !server_is_valkey() && server_version().is_some_and(|v| v < (7, 0));
            let per_call_limit = if older {
                SLOW_US as f64
            } else {
                SLOW_US as f64 / 2.0
            };
            strict || *us >= 250_000 || per_call >= per_call_limit || times * 2 >= n
        })
        .collect();
    assert!(
        blocking.is_empty(),
        "I5: jobq commands blocked Redis for 10 ms or more: {blocking:?} (calls: {:?})",
        per_name
            .keys()
            .map(|n| (*n, stats.get(*n).copied().unwrap_or((0, 0.0))))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "I5: {} isolated slow jobq command(s) let pass as scheduler pauses: {slow:?}",
        slow.len()
    );
}

/// After a repair has completed: I1 (with class-set membership), I2, I4,
/// then I3 with `again` (the same repair), then I5.
pub fn check_settled(r: &Redis, before: &Before, log: &WorkerLog, again: &[&str]) {
    let mut con = r.con();
    check_i1(&mut con, before, log, true);
    check_i2(&mut con, &[]);
    check_i4(&mut con, log, true);
    check_i3(r, again);
    check_i5(&mut con);
}

/// Audit entries per (key, action): a step applied twice shows twice.
pub fn audit_counts(con: &mut redis::Connection) -> BTreeMap<(Vec<u8>, Vec<u8>), usize> {
    let mut out = BTreeMap::new();
    for (_, fields) in xrange(con, AUDIT) {
        let get = |n: &[u8]| {
            fields
                .iter()
                .find(|(f, _)| f.as_slice() == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        *out.entry((get(b"key"), get(b"action"))).or_insert(0) += 1;
    }
    out
}

/// No step was applied twice: at most one audit entry per key and action.
pub fn assert_no_step_twice(con: &mut redis::Connection) {
    let twice: Vec<String> = audit_counts(con)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((k, a), n)| {
            format!(
                "{} {} x{n}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&k)
            )
        })
        .collect();
    assert!(twice.is_empty(), "steps applied twice: {twice:?}");
}

/// Every record of the model is a whole popoto create: all six fields,
/// the key agreeing with them, in the class set, its status and project
/// indexes, and the zset with its created_at; and the class set holds
/// nothing else. Returns the record keys.
pub fn assert_records_whole(con: &mut redis::Connection) -> Vec<String> {
    use jobq::schema::msgpack::decode;
    use jobq::schema::Value as V;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("RedisJob:*")
        .query(con)
        .expect("KEYS");
    let class = set_of(con, CLASS);
    if keys.is_empty() {
        assert!(
            class.is_empty(),
            "the class set holds keys without a record"
        );
        return keys;
    }
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("HGETALL").arg(key);
    }
    let hashes: Vec<Vec<(Vec<u8>, Vec<u8>)>> = pipe.query(con).expect("HGETALL");
    let esc = jobq::schema::escape::escape_str;
    let mut checks = redis::pipe();
    let mut expect: Vec<(String, Option<f64>)> = Vec::new();
    for (key, raw) in keys.iter().zip(hashes) {
        let fields: BTreeMap<String, Vec<u8>> = raw
            .into_iter()
            .map(|(f, v)| (String::from_utf8_lossy(&f).into_owned(), v))
            .collect();
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "created_at",
                "job_id",
                "message_text",
                "priority",
                "project_key",
                "status"
            ],
            "{key}: not a whole record"
        );
        let text = |f: &str| match decode(&fields[f]) {
            Ok(V::Str(s)) => s,
            other => panic!("{key}: {f} is {other:?}"),
        };
        let (id, project, status) = (text("job_id"), text("project_key"), text("status"));
        assert_eq!(
            *key,
            format!("RedisJob:{}:{}:{}", esc(&id), esc(&project), esc(&status)),
            "the key and the fields disagree"
        );
        let created = decode(&fields["created_at"])
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("{key}: created_at"));
        assert!(class.contains(key.as_bytes()), "{key} not in the class set");
        for idx in [status_index(&esc(&status)), project_index(&esc(&project))] {
            checks.cmd("SISMEMBER").arg(&idx).arg(key);
            expect.push((format!("{key} in {idx}"), None));
        }
        checks.cmd("ZSCORE").arg(ZSET).arg(key);
        expect.push((format!("{key} in {ZSET}"), Some(created)));
    }
    let replies: Vec<redis::Value> = checks.query(con).expect("memberships");
    for ((what, score), v) in expect.into_iter().zip(replies) {
        match score {
            None => assert_eq!(v, redis::Value::Int(1), "{what}"),
            Some(s) => {
                let got: Option<f64> = redis::FromRedisValue::from_redis_value(v).expect("score");
                assert_eq!(got, Some(s), "{what}: score");
            }
        }
    }
    let records: BTreeSet<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    for k in &class {
        assert!(
            records.contains(k.as_slice()),
            "the class set holds {} without a record",
            String::from_utf8_lossy(k)
        );
    }
    keys
}

// ---- a popoto-style worker -----------------------------------------------

/// popoto's delete of one record: EXISTS, then one transaction (SREM from
/// every index, ZREM, DEL, SREM from the class set). False when gone.
pub fn popoto_delete(con: &mut redis::Connection, key: &str) -> bool {
    let parts: Vec<&str> = key.split(':').collect();
    if parts.len() != 4 {
        return false;
    }
    let exists: bool = redis::cmd("EXISTS").arg(key).query(con).unwrap_or(false);
    if !exists {
        return false;
    }
    let _: Result<(), _> = redis::pipe()
        .atomic()
        .cmd("SREM")
        .arg(project_index(parts[2]))
        .arg(key)
        .ignore()
        .cmd("SREM")
        .arg(status_index(parts[3]))
        .arg(key)
        .ignore()
        .cmd("ZREM")
        .arg(ZSET)
        .arg(key)
        .ignore()
        .cmd("DEL")
        .arg(key)
        .ignore()
        .cmd("SREM")
        .arg(CLASS)
        .arg(key)
        .ignore()
        .query(con);
    true
}

/// One thing a worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create a new pending job.
    Create,
    /// Move a pending job (picked from the pending index) to running.
    Start,
    /// Move a running job to completed.
    Complete,
    /// Move a running job to failed.
    Fail,
    /// Delete a job (picked from the class set).
    Delete,
}

// ---- damage, built with raw commands -------------------------------------

/// The kinds of docs/layout.md a repair can settle, each built on one healthy
/// popoto record with raw commands (what old popoto versions and crashes
/// leave behind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// SREM from its status index.
    Orphan,
    /// SREM from the class set.
    Unlisted,
    /// SADD to a second status index.
    MultiIndexed,
    /// SMOVE to another status index.
    WrongIndex,
    /// HSET the status field to another status.
    FieldMismatch,
    /// DEL the hash, leaving every membership.
    Dangling,
    /// Move it popoto-style, then put the old key back in the class set and
    /// the old status index (popoto 0.9's non-atomic residue).
    StaleKey,
    /// A second live record of the job under another status.
    Duplicate,
    /// HDEL key fields (recoverable from the key).
    Partial,
    /// SREM from the project index and ZREM from the zset.
    SecondaryGap,
}

impl Damage {
    pub const ALL: [Damage; 10] = [
        Damage::Orphan,
        Damage::Unlisted,
        Damage::MultiIndexed,
        Damage::WrongIndex,
        Damage::FieldMismatch,
        Damage::Dangling,
        Damage::StaleKey,
        Damage::Duplicate,
        Damage::Partial,
        Damage::SecondaryGap,
    ];
}

/// Another status than `s`, chosen by `pick`.
fn other_status(s: &str, pick: usize) -> &'static str {
    let others: Vec<&'static str> = STATUSES.iter().copied().filter(|x| *x != s).collect();
    others[pick % others.len()]
}

/// Damage the record `key` (a healthy popoto record) the way `d` says;
/// `pick` chooses among the variants (which other status...). Returns the
/// record's key afterwards (a stale-key damage moves it). A record already
/// damaged or gone may end up with several kinds; that is fine.
pub fn damage(con: &mut redis::Connection, key: &str, d: Damage, pick: usize) -> String {
    let parts: Vec<String> = key.split(':').map(str::to_string).collect();
    let status = parts.get(3).cloned().unwrap_or_default();
    let q = |con: &mut redis::Connection, args: &[&str]| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        let _: redis::Value = c.query(con).expect("damage command");
    };
    let si = status_index(&status);
    match d {
        Damage::Orphan => q(con, &["SREM", &si, key]),
        Damage::Unlisted => q(con, &["SREM", CLASS, key]),
        Damage::MultiIndexed => q(
            con,
            &["SADD", &status_index(other_status(&status, pick)), key],
        ),
        Damage::WrongIndex => q(
            con,
            &[
                "SMOVE",
                &si,
                &status_index(other_status(&status, pick)),
                key,
            ],
        ),
        Damage::FieldMismatch => {
            let _: () = redis::cmd("HSET")
                .arg(key)
                .arg("status")
                .arg(pack(other_status(&status, pick)))
                .query(con)
                .expect("HSET");
        }
        Damage::Dangling => q(con, &["DEL", key]),
        Damage::StaleKey => {
            let to = other_status(&status, pick);
            if let Some(n) = popoto_move(con, key, to) {
                q(con, &["SADD", CLASS, key]);
                q(con, &["SADD", &si, key]);
                return n;
            }
        }
        Damage::Duplicate => {
            let to = other_status(&status, pick);
            let fields = hgetall_raw(con, key);
            if !fields.is_empty() {
                let id = id_of(key);
                let project = parts.get(2).cloned().unwrap_or_default();
                popoto_create(con, &id, &project, to, 1767225600.0);
            }
        }
        Damage::Partial => {
            let f = ["job_id", "project_key", "status"][pick % 3];
            q(con, &["HDEL", key, f]);
        }
        Damage::SecondaryGap => {
            let project = parts.get(2).cloned().unwrap_or_default();
            q(con, &["SREM", &project_index(&project), key]);
            q(con, &["ZREM", ZSET, key]);
        }
    }
    key.to_string()
}
