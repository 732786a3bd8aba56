//! `jobq prune` and `jobq restore` on the indexed status layout (issue 20's
//! model, `crate::indexed::JOB_TOML`): each record's `$IdxPtr` pointer is
//! backed up (its line's `strings`), deleted with it as popoto deletes, and
//! re-created by restore; a pointer changed between the read and the batch
//! call skips its record; a record carrying a legacy pointer is left for
//! `reindex --migrate-pointers`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{backup_path, OLD};
use crate::common::*;
use crate::indexed::{popoto_indexed_create, JOB_TOML};

fn ptr(k: &str) -> String {
    format!("$IdxPtr:{k}:status")
}

/// DUMP of every hash and string key (records and pointers): the bytes
/// restore must give back. Sets and zsets are compared by content
/// (`snapshot`): their encoding's member order is the server's.
fn dumps(con: &mut redis::Connection) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    let mut out = BTreeMap::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(con).expect("TYPE");
        if k.starts_with(b"jobq:") || (t != "hash" && t != "string") {
            continue;
        }
        let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(con).expect("DUMP");
        out.insert(k, d);
    }
    out
}

#[test]
fn prune_then_restore_on_the_indexed_layout_gives_back_every_pointer() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let schema = write_file(dir.path(), "job.toml", JOB_TOML);
    let s = schema.to_str().expect("path");
    let old: Vec<String> = (1..=120)
        .map(|i| popoto_indexed_create(&mut con, &job_id(i), "p", "completed", OLD + i as f64))
        .collect();
    let young = popoto_indexed_create(&mut con, "young", "p", "completed", 4.0e9);
    popoto_indexed_create(&mut con, "busy", "q", "pending", OLD);
    let (dumps_before, snap_before) = (dumps(&mut con), snapshot(&mut con));
    let file = backup_path(dir.path(), "b.jsonl");
    let f = file.to_str().expect("path");
    let run = r.jobq(&[
        "--schema",
        s,
        "--json",
        "prune",
        "--older-than",
        "1d",
        "--backup",
        f,
        "--yes",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["counts"]["applied"], 120, "{}", run.explain());
    for k in &old {
        assert!(hgetall_raw(&mut con, k).is_empty(), "{k} still there");
        let p: Option<Vec<u8>> = redis::cmd("GET").arg(ptr(k)).query(&mut con).expect("GET");
        assert!(p.is_none(), "{k}'s pointer left dangling");
    }
    assert!(!hgetall_raw(&mut con, &young).is_empty());
    // Each line holds the pointer's exact value.
    let lines = json_lines(&file);
    let line = lines[1..]
        .iter()
        .find(|l| l["key"] == old[0].as_str())
        .expect("line");
    assert_eq!(
        line["strings"],
        serde_json::json!([[ptr(&old[0]), "$IndexF:Job:status:completed"]])
    );
    // Nothing dangling: no pointer without its record, no index member.
    let scan = r.jobq(&["--schema", s, "--json", "orphans", "scan", "--grace", "0"]);
    scan.expect_code(0);
    let j = scan.json();
    assert_eq!(j["total"], 0, "{j}");
    assert_eq!(j["counts"]["dangling_pointer"], 0, "{j}");
    // Restore: every record and pointer back, byte for byte.
    let run = r.jobq(&["--schema", s, "--json", "restore", f, "--yes"]);
    run.expect_code(0);
    assert_eq!(run.json()["counts"]["applied"], 120, "{}", run.explain());
    assert_eq!(dumps(&mut con), dumps_before);
    assert_eq!(snapshot(&mut con), snap_before);
    // Its entries say what a restore set, as enqueue's do (undo's input).
    let es = xrange(&mut con, "jobq:audit");
    let e: BTreeMap<Vec<u8>, Vec<u8>> = es
        .iter()
        .map(|(_, e)| e.iter().cloned().collect::<BTreeMap<_, _>>())
        .find(|e| e.get(&b"key"[..]).map(Vec::as_slice) == Some(old[0].as_bytes()))
        .expect("restore entry");
    assert_eq!(e[&b"pointer.1"[..]], ptr(&old[0]).as_bytes());
    assert_eq!(e[&b"pointer.1.value"[..]], b"$IndexF:Job:status:completed");
    let scan = r.jobq(&["--schema", s, "orphans", "scan", "--grace", "0"]);
    scan.expect_code(0);
}

#[test]
fn a_pointer_changed_since_the_read_or_a_legacy_one_leaves_the_record() {
    use jobq::plan::prune::{pointer_keys, prune_step, read_keys};
    use jobq::store::delete::DeleteOutcome;
    use jobq::store::moves::SkipReason;
    use jobq::store::prune::PruneBatch;

    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let schema = write_file(dir.path(), "job.toml", JOB_TOML);
    let model = jobq::schema::Model::from_toml(JOB_TOML).expect("model");
    let keys: Vec<String> = ["ok", "changed", "appeared"]
        .iter()
        .map(|id| popoto_indexed_create(&mut con, id, "p", "completed", OLD))
        .collect();
    cmd(&mut con, &[b"DEL", ptr(&keys[2]).as_bytes()]);
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
    let read_with: Vec<_> = raw
        .iter()
        .map(|k| read_keys(&model, &model.parse_key(k).expect("parse")))
        .collect();
    let sets: Vec<_> = read_with.iter().map(|(s, _)| s.clone()).collect();
    let zs = read_with[0].1.clone();
    let strings: Vec<_> = raw.iter().map(|k| pointer_keys(&model, k)).collect();
    let reads = rt
        .block_on(store.read_exact(&raw, &sets, &zs, &strings))
        .expect("read");
    let steps: Vec<_> = raw
        .iter()
        .zip(read_with)
        .zip(strings)
        .zip(reads)
        .map(|(((k, w), p), read)| {
            let id = model.key_job_id_bytes(k).expect("id");
            let step = prune_step(&model, k, &id, w, p, read);
            step.expect("step").expect("taken").1
        })
        .collect();
    // Between the read and the batch call: one pointer rewritten (same
    // set, other bytes), one pointer created.
    cmd(
        &mut con,
        &[
            b"SET",
            ptr(&keys[1]).as_bytes(),
            b"$IndexF:Job:status:completedX",
        ],
    );
    cmd(
        &mut con,
        &[
            b"SET",
            ptr(&keys[2]).as_bytes(),
            b"$IndexF:Job:status:completed",
        ],
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
            DeleteOutcome::Skipped(SkipReason::PointerChanged),
            DeleteOutcome::Skipped(SkipReason::PointerChanged),
        ]
    );
    let gone: Option<Vec<u8>> = redis::cmd("GET")
        .arg(ptr(&keys[0]))
        .query(&mut con)
        .expect("GET");
    assert!(gone.is_none());
    for k in &keys[1..] {
        assert!(!hgetall_raw(&mut con, k).is_empty(), "{k} deleted");
        let p: Option<Vec<u8>> = redis::cmd("GET").arg(ptr(k)).query(&mut con).expect("GET");
        assert!(p.is_some(), "{k}'s pointer deleted");
    }
    // A record still carrying a 1.8.1-1.8.2 pointer key: left, said why.
    let snap = snapshot(&mut con);
    let leg = popoto_indexed_create(&mut con, "leg", "q", "completed", OLD);
    let mut legacy = leg.as_bytes().to_vec();
    legacy.extend_from_slice(b"\x00idxptr\x00status");
    cmd(
        &mut con,
        &[b"SET", &legacy, b"$IndexF:Job:status:completed"],
    );
    let with_leg = snapshot(&mut con);
    assert_ne!(with_leg, snap);
    let s = schema.to_str().expect("path");
    let f = backup_path(dir.path(), "leg.jsonl");
    let run = r.jobq(&[
        "--schema",
        s,
        "--json",
        "prune",
        "--older-than",
        "1d",
        "--backup",
        f.to_str().expect("path"),
        "--yes",
    ]);
    run.expect_code(4);
    let j = run.json();
    let row = j["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|row| row["key"] == leg.as_str())
        .expect("its row");
    assert!(
        row["reason"]
            .as_str()
            .unwrap_or("")
            .contains("1.8.0-1.8.2 index pointer"),
        "{j}"
    );
    assert!(!hgetall_raw(&mut con, &leg).is_empty());
    let kept: Option<Vec<u8>> = redis::cmd("GET").arg(&legacy).query(&mut con).expect("GET");
    assert!(kept.is_some());
}

#[test]
fn undoing_a_prune_on_the_indexed_layout_puts_every_pointer_back() {
    let r = Redis::start();
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let schema = write_file(dir.path(), "job.toml", JOB_TOML);
    let s = schema.to_str().expect("path");
    for i in 1..=40 {
        popoto_indexed_create(&mut con, &job_id(i), "p", "completed", OLD + i as f64);
    }
    popoto_indexed_create(&mut con, "busy", "q", "pending", OLD);
    let (dumps_before, snap_before) = (dumps(&mut con), snapshot(&mut con));
    let file = backup_path(dir.path(), "b.jsonl");
    let f = file.to_str().expect("path");
    let run = r.jobq(&[
        "--schema",
        s,
        "--json",
        "prune",
        "--older-than",
        "1d",
        "--backup",
        f,
        "--yes",
    ]);
    run.expect_code(0);
    let run_id = run.json()["run_id"].as_str().expect("run_id").to_owned();
    assert_ne!(dumps(&mut con), dumps_before, "nothing was pruned");
    let undo = r.jobq(&["--schema", s, "--json", "undo", &run_id, "--yes"]);
    undo.expect_code(0);
    // Records and their $IdxPtr pointers, byte for byte; every set as it was.
    assert_eq!(dumps(&mut con), dumps_before, "{}", undo.explain());
    assert_eq!(snapshot(&mut con), snap_before);
    let scan = r.jobq(&["--schema", s, "--json", "orphans", "scan", "--grace", "0"]);
    scan.expect_code(0);
}
