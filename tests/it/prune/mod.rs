//! `jobq prune` and `jobq restore` against a real redis-server: the backup
//! file (0600, never overwritten, exact bytes), prune → restore giving
//! identical DUMP bytes, members and scores, one audit entry per batch,
//! every exit code, each guard of the batch script proven by a change between
//! the read and the delete, a popoto-style worker moving jobs meanwhile, a
//! backup cut short by a kill still restorable; `indexed`: the pointers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use crate::exit_codes::answer_prompt_after;
mod indexed;

/// Long ago: --older-than 1d takes these.
const OLD: f64 = 1767225600.5;
const CLASS: &str = "$Class:RedisJob";
const ZSET: &str = "$SortF:RedisJob:created_at";

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

fn dump(con: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(con).expect("DUMP")
}

/// Every set and zset of the database a key is in, with scores.
fn memberships(con: &mut redis::Connection, key: &str) -> BTreeMap<String, String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("$*").query(con).expect("KEYS");
    let mut out = BTreeMap::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(con).expect("TYPE");
        if t == "set" {
            let m: bool = redis::cmd("SISMEMBER")
                .arg(&k)
                .arg(key)
                .query(con)
                .expect("SISMEMBER");
            if m {
                out.insert(k, String::new());
            }
        } else if t == "zset" {
            let s: Option<String> = redis::cmd("ZSCORE")
                .arg(&k)
                .arg(key)
                .query(con)
                .expect("ZSCORE");
            if let Some(s) = s {
                out.insert(k, s);
            }
        }
    }
    out
}

fn backup_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn entries(con: &mut redis::Connection) -> Vec<HashMap<Vec<u8>, Vec<u8>>> {
    xrange(con, "jobq:audit")
        .into_iter()
        .map(|(_, e)| e.into_iter().collect())
        .collect()
}

#[test]
fn prune_then_restore_gives_back_identical_bytes_members_and_scores() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let mut old: Vec<String> = (1..=130)
        .map(|i| popoto_create(&mut con, &job_id(i), "p", "completed", OLD + i as f64))
        .collect();
    old.push(popoto_create(&mut con, "f1", "q", "failed", OLD));
    // Bytes that are not UTF-8, and a msgpack map, kept exactly.
    cmd(
        &mut con,
        &[b"HSET", old[0].as_bytes(), b"raw", b"\xff\x00\x80\xfe"],
    );
    cmd(
        &mut con,
        &[
            b"HSET",
            old[1].as_bytes(),
            b"message_text",
            b"\x81\xa1k\xc3",
        ],
    );
    let young = popoto_create(&mut con, "young", "p", "completed", now() - 10.0);
    let before: Vec<(Vec<u8>, BTreeMap<String, String>)> = old
        .iter()
        .map(|k| (dump(&mut con, k).expect("dump"), memberships(&mut con, k)))
        .collect();
    let file = backup_path(dir.path(), "b.jsonl");
    let f = file.to_str().expect("path");
    let run = r.jobq(&[
        "--json",
        "prune",
        "--status",
        "completed",
        "--status",
        "failed",
        "--older-than",
        "1d",
        "--backup",
        f,
        "--yes",
    ]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["command"], "prune");
    assert_eq!(j["counts"]["applied"], 131, "{j}");
    assert_eq!(j["backup_records"], 131);
    let abs = std::fs::canonicalize(&file).expect("abs");
    assert_eq!(j["backup"], abs.to_str().expect("abs"));
    for k in &old {
        assert!(dump(&mut con, k).is_none(), "{k} still there");
        assert!(memberships(&mut con, k).is_empty(), "{k} still indexed");
    }
    assert!(dump(&mut con, &young).is_some(), "a young job was pruned");
    // The file: private, a header, a line per record, a closing line.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let lines = json_lines(&file);
    assert_eq!(lines.len(), 133);
    assert_eq!(lines[0]["jobq"], "backup");
    assert_eq!(lines[0]["model"], "RedisJob");
    assert_eq!(lines[0]["run"], j["run_id"]);
    assert_eq!(lines[132]["end"]["complete"], true);
    assert_eq!(lines[132]["end"]["deleted"], 131);
    let first = lines[1..]
        .iter()
        .find(|l| l["key"] == old[0].as_str())
        .expect("line of the first job");
    let raw = first["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|p| p[0] == "raw")
        .expect("raw field");
    assert_eq!(raw[1]["hex"], "ff0080fe");
    // One audit entry per batch of 100, naming the file and each job.
    let es = entries(&mut con);
    let prunes: Vec<_> = es
        .iter()
        .filter(|e| e.get(&b"action"[..].to_vec()).map(Vec::as_slice) == Some(b"prune"))
        .collect();
    assert!(prunes.len() >= 2 && prunes.len() <= 4, "{}", prunes.len());
    let mut named = BTreeSet::new();
    for e in &prunes {
        assert_eq!(
            e[&b"backup".to_vec()],
            abs.to_str().expect("abs").as_bytes()
        );
        let count: usize = String::from_utf8_lossy(&e[&b"count".to_vec()])
            .parse()
            .expect("count");
        for n in 1..=count {
            let key = e[&format!("key.{n}").into_bytes()].clone();
            let job = &e[&format!("job.{n}").into_bytes()];
            assert!(String::from_utf8_lossy(&key).contains(&*String::from_utf8_lossy(job)));
            assert!(named.insert(key), "a key named twice");
        }
        assert!(!e.contains_key(&format!("key.{}", count + 1).into_bytes()));
    }
    assert_eq!(named.len(), 131);
    // Restore: every record back, byte for byte, with its memberships.
    let run = r.jobq(&["--json", "restore", f, "--yes"]);
    run.expect_code(0);
    assert_eq!(run.json()["counts"]["applied"], 131);
    for (k, (d, m)) in old.iter().zip(&before) {
        assert_eq!(dump(&mut con, k).as_ref(), Some(d), "{k}: DUMP differs");
        assert_eq!(&memberships(&mut con, k), m, "{k}: memberships differ");
    }
    let restores = entries(&mut con)
        .into_iter()
        .filter(|e| e.get(&b"action"[..].to_vec()).map(Vec::as_slice) == Some(b"restore"))
        .count();
    assert_eq!(restores, 131, "one entry per record restored");
    // Again: each record exists, skipped (exit 4), nothing written.
    let snap = snapshot(&mut con);
    let run = r.jobq(&["--json", "restore", f, "--yes"]);
    run.expect_code(4);
    assert_eq!(run.json()["counts"]["skipped"], 131);
    assert_eq!(snapshot(&mut con), snap);
    // An existing backup file is never overwritten: exit 2, nothing written.
    let text = std::fs::read(&file).expect("read");
    let run = r.jobq(&["prune", "--older-than", "1d", "--backup", f, "--yes"]);
    run.expect_code(2);
    assert!(run.stderr().contains("exists"), "{}", run.explain());
    assert_eq!(std::fs::read(&file).expect("read"), text);
    assert_eq!(snapshot(&mut con), snap);
}

#[test]
fn prune_and_restore_exit_codes() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let b = |n: &str| backup_path(dir.path(), n).to_str().expect("p").to_owned();
    popoto_create(&mut con, "a", "p", "completed", OLD);
    popoto_create(&mut con, "r", "p", "running", OLD);
    let before = snapshot(&mut con);
    let nb = b("never.jsonl");
    for args in [
        // --older-than or ids; exactly one of --backup and --no-backup.
        &["prune", "--no-backup", "--yes"][..],
        &["prune", "--older-than", "1d", "--yes"],
        &[
            "prune",
            "--older-than",
            "1d",
            "--no-backup",
            "--backup",
            &nb,
            "--yes",
        ],
        &[
            "prune",
            "--older-than",
            "1d",
            "--status",
            "running",
            "--no-backup",
            "--yes",
        ],
        &[
            "prune",
            "--older-than",
            "1d",
            "--status",
            "nope",
            "--no-backup",
            "--yes",
        ],
        // --force always asks: no terminal, no answer, even with --yes.
        &[
            "prune",
            "--older-than",
            "1d",
            "--status",
            "running",
            "--force",
            "--no-backup",
            "--yes",
        ],
        // No terminal, no --yes.
        &["prune", "--older-than", "1d", "--no-backup"],
        &["restore", "/nonexistent/backup.jsonl", "--yes"],
    ] {
        let run = r.jobq(args);
        run.expect_code(2);
        assert!(run.stdout().is_empty(), "{}", run.explain());
    }
    assert!(!Path::new(&nb).exists(), "a backup made by a refused run");
    assert_eq!(snapshot(&mut con), before);
    assert_eq!(xlen(&mut con, "jobq:audit"), 0);
    // A dry run with work: 1, and no file.
    let dry = b("dry.jsonl");
    r.jobq(&["prune", "--older-than", "1d", "--backup", &dry, "--dry-run"])
        .expect_code(1);
    assert!(!Path::new(&dry).exists());
    // Declined: 5, nothing written.
    let (code, shown) = answer_prompt_after(&r, "prune --older-than 1d --no-backup", b"n", || {});
    assert_eq!(code, Some(5), "{shown}");
    assert_eq!(snapshot(&mut con), before);
    // Unreachable: 3.
    jobq(&[
        "--url",
        "redis://127.0.0.1:1/0",
        "--connect-timeout",
        "1s",
        "prune",
        "--older-than",
        "1d",
        "--no-backup",
        "--yes",
    ])
    .expect_code(3);
    // Nothing to do: 0.
    r.jobq(&["prune", "--older-than", "1000d", "--no-backup", "--yes"])
        .expect_code(0);
    // --force at a terminal, answered yes: the running job goes.
    let fb = b("force.jsonl");
    let (code, shown) = answer_prompt_after(
        &r,
        &format!("prune --older-than 1d --status running --force --yes --backup {fb}"),
        b"y",
        || {},
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(hgetall_raw(&mut con, "RedisJob:r:p:running").is_empty());
    // A backup of another model: 2.
    let other = b("other.jsonl");
    std::fs::write(
        &other,
        "{\"format\":1,\"jobq\":\"backup\",\"version\":\"0\",\"run\":\"x\",\"model\":\"OtherJob\",\"namespace\":\"jobq\",\"created_at\":\"\",\"parameters\":{}}\n",
    )
    .expect("write");
    let run = r.jobq(&["restore", &other, "--yes"]);
    run.expect_code(2);
    assert!(run.stderr().contains("OtherJob"), "{}", run.explain());
    // Restore: 1 on a dry run with work, 5 declined, 0 done.
    r.jobq(&["restore", &fb, "--dry-run"]).expect_code(1);
    let (code, shown) = answer_prompt_after(&r, &format!("restore {fb}"), b"n", || {});
    assert_eq!(code, Some(5), "{shown}");
    r.jobq(&["restore", &fb, "--yes"]).expect_code(0);
    assert!(!hgetall_raw(&mut con, "RedisJob:r:p:running").is_empty());
}

/// Each guard of prune_batch.lua, proven through the library: a page read
/// exactly, the state changed, then the batch sent. Only the untouched
/// record is deleted; each other is skipped (or failed) with its reason.
#[test]
fn each_guard_of_a_prune_batch_skips_a_record_changed_since_its_read() {
    use jobq::plan::prune::{prune_step, read_keys, zsets};
    use jobq::store::delete::DeleteOutcome;
    use jobq::store::moves::SkipReason;
    use jobq::store::prune::PruneBatch;

    let r = Redis::start();
    let mut con = r.con();
    let model = jobq::schema::Model::redis_job();
    let keys: Vec<String> = ["ok", "field", "moved", "left", "score", "wrong"]
        .iter()
        .map(|id| {
            let project = if *id == "wrong" { "w" } else { "p" };
            popoto_create(&mut con, id, project, "completed", OLD)
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let connect = jobq::settings::ConnectSettings {
        url: r.url(),
        display_url: r.url(),
        secret: None,
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(30),
        tls: Default::default(),
    };
    let mut store = rt
        .block_on(jobq::store::Store::connect(&connect))
        .expect("connect");
    let raw: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
    let sets: Vec<Vec<Vec<u8>>> = raw
        .iter()
        .map(|k| read_keys(&model, &model.parse_key(k).expect("parse")).0)
        .collect();
    let zs = zsets(&model);
    let none = vec![Vec::new(); raw.len()];
    let reads = rt
        .block_on(store.read_exact(&raw, &sets, &zs, &none))
        .expect("read");
    let steps: Vec<_> = raw
        .iter()
        .zip(sets)
        .zip(reads)
        .map(|((k, s), read)| {
            let id = model.key_job_id_bytes(k).expect("id");
            let step = prune_step(&model, k, &id, (s, zs.clone()), vec![], read);
            step.expect("step").expect("taken").1
        })
        .collect();
    // The changes between the read and the delete.
    cmd(
        &mut con,
        &[b"HSET", keys[1].as_bytes(), b"message_text", b"\xa1x"],
    );
    assert!(popoto_move(&mut con, &keys[2], "pending").is_some());
    cmd(
        &mut con,
        &[b"SREM", b"$KeyF:RedisJob:project_key:p", keys[3].as_bytes()],
    );
    cmd(
        &mut con,
        &[b"ZADD", ZSET.as_bytes(), b"5", keys[4].as_bytes()],
    );
    cmd(&mut con, &[b"DEL", b"$KeyF:RedisJob:project_key:w"]);
    cmd(
        &mut con,
        &[b"SET", b"$KeyF:RedisJob:project_key:w", b"not a set"],
    );
    let audit = jobq::store::audit::Audit::new(b"jobq:audit".to_vec(), "prune");
    let batch = PruneBatch {
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        header: audit.header(),
        backup: b"/b.jsonl".to_vec(),
        steps,
    };
    let outs = rt
        .block_on(store.prune_batches(std::slice::from_ref(&batch)))
        .expect("batch")
        .remove(0);
    assert_eq!(
        outs,
        vec![
            DeleteOutcome::Deleted,
            DeleteOutcome::Skipped(SkipReason::FieldChanged),
            DeleteOutcome::Skipped(SkipReason::Gone),
            DeleteOutcome::Skipped(SkipReason::NotInSet),
            DeleteOutcome::Skipped(SkipReason::NotInSet),
            DeleteOutcome::WrongType(b"$KeyF:RedisJob:project_key:w".to_vec()),
        ]
    );
    assert!(hgetall_raw(&mut con, &keys[0]).is_empty());
    for k in [&keys[1], &keys[3], &keys[4], &keys[5]] {
        assert!(!hgetall_raw(&mut con, k).is_empty(), "{k} deleted");
        let in_class: bool = redis::cmd("SISMEMBER")
            .arg(CLASS)
            .arg(k)
            .query(&mut con)
            .expect("SISMEMBER");
        assert!(in_class, "{k} left the class set");
    }
    // One entry, naming only the record deleted.
    let es = entries(&mut con);
    assert_eq!(es.len(), 1);
    assert_eq!(es[0][&b"count".to_vec()], b"1");
    assert_eq!(es[0][&b"key.1".to_vec()], keys[0].as_bytes());
    assert!(!es[0].contains_key(b"key.2".as_slice()));
}

#[test]
fn a_worker_moving_jobs_during_a_prune_never_has_one_deleted_under_it() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let n = 1500;
    let keys: Vec<String> = (1..=n)
        .map(|i| popoto_create(&mut con, &job_id(i), "p", "completed", OLD + i as f64))
        .collect();
    // The application re-runs completed jobs: moves them back to pending,
    // WATCHing each from its read to its EXEC.
    let worker = {
        let mut w = r.con();
        let keys = keys.clone();
        std::thread::spawn(move || {
            keys.iter()
                .rev()
                .filter_map(|k| popoto_move_watched(&mut w, k, "pending"))
                .count()
        })
    };
    let file = backup_path(dir.path(), "w.jsonl");
    let run = r.jobq(&[
        "--json",
        "prune",
        "--older-than",
        "1d",
        "--backup",
        file.to_str().expect("p"),
        "--yes",
    ]);
    let took = worker.join().expect("worker") as u64;
    assert!(matches!(run.code(), 0 | 4), "{}", run.explain());
    let j = run.json();
    let applied = j["counts"]["applied"].as_u64().expect("applied");
    let backed: BTreeSet<String> = json_lines(&file)[1..]
        .iter()
        .filter_map(|l| l["key"].as_str().map(str::to_owned))
        .collect();
    for i in 1..=n {
        let id = job_id(i);
        let done = format!("RedisJob:{id}:p:completed");
        let pending = format!("RedisJob:{id}:p:pending");
        let alive = !hgetall_raw(&mut con, &pending).is_empty();
        let still = !hgetall_raw(&mut con, &done).is_empty();
        assert!(!still, "{id} left completed");
        if alive {
            // The worker's: whole, indexed.
            let m = memberships(&mut con, &pending);
            assert!(m.contains_key(CLASS) && m.contains_key("$KeyF:RedisJob:status:pending"));
        } else {
            assert!(
                backed.contains(&done),
                "{id} deleted without its backup line"
            );
        }
    }
    assert!(applied > 0 && took > 0, "no overlap: {applied} / {took}");
    assert_eq!(
        applied + took,
        n as u64,
        "applied {applied}, worker took {took}"
    );
}

#[test]
fn a_backup_without_its_closing_line_is_restored_and_said_so() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let keys: Vec<String> = (1..=5)
        .map(|i| popoto_create(&mut con, &job_id(i), "p", "completed", OLD))
        .collect();
    let dumps: Vec<Vec<u8>> = keys.iter().map(|k| dump(&mut con, k).expect("d")).collect();
    let file = backup_path(dir.path(), "cut.jsonl");
    let f = file.to_str().expect("p");
    r.jobq(&["prune", "--older-than", "1d", "--backup", f, "--yes"])
        .expect_code(0);
    // As a SIGKILL leaves it: no closing line, the last line cut short.
    let text = std::fs::read_to_string(&file).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    let cut = format!("{}\n{{\"key\":\"RedisJob:", lines.join("\n"));
    std::fs::write(&file, cut).expect("write");
    let run = r.jobq(&["restore", f, "--yes"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("no closing line"),
        "{}",
        run.explain()
    );
    for (k, d) in keys.iter().zip(&dumps) {
        assert_eq!(dump(&mut con, k).as_ref(), Some(d));
    }
}

/// Ctrl-C during the deletes: the page under way is finished, the run
/// exits 130, the backup file is closed with `complete: false` and holds a
/// line for every job deleted; a rerun prunes the rest.
#[test]
fn ctrl_c_during_a_prune_closes_the_backup_incomplete_and_exits_130() {
    use crate::common::faults::{spawn_jobq, wait_for};
    use crate::faults::seed_status;
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let n = 30_000;
    seed_status(&mut con, n, "completed");
    let file = backup_path(dir.path(), "int.jsonl");
    let f = file.to_str().expect("p").to_owned();
    let args = [
        "--json",
        "prune",
        "--older-than",
        "1d",
        "--backup",
        &f,
        "--yes",
    ];
    let child = spawn_jobq(&r, &args);
    // Once the first batch is deleted (its audit entry is there).
    assert!(wait_for(Duration::from_secs(60), || xlen(
        &mut con,
        "jobq:audit"
    ) > 0));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["interrupted"], true);
    let deleted = j["counts"]["applied"].as_u64().expect("applied");
    assert!(deleted > 0 && deleted < n as u64, "{deleted}");
    let lines = json_lines(&file);
    let end = &lines[lines.len() - 1]["end"];
    assert_eq!(end["complete"], false);
    assert_eq!(end["reason"], "interrupted");
    assert_eq!(end["deleted"], deleted);
    let left: u64 = redis::cmd("SCARD")
        .arg(CLASS)
        .query(&mut con)
        .expect("SCARD");
    assert_eq!(left, n as u64 - deleted);
    let again = backup_path(dir.path(), "again.jsonl");
    r.jobq(&[
        "prune",
        "--older-than",
        "1d",
        "--backup",
        again.to_str().expect("p"),
        "--yes",
    ])
    .expect_code(0);
    let left: u64 = redis::cmd("SCARD")
        .arg(CLASS)
        .query(&mut con)
        .expect("SCARD");
    assert_eq!(left, 0);
}
