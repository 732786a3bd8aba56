//! `retry`, `delete` and `prune` under SIGKILL at random points: every job
//! either untouched or wholly moved (deleted) with its one audit entry (and,
//! for prune, its backup line on disk first), and a rerun finishing the
//! work without doing anything twice; prune's backups then restore every
//! job whole.

use super::*;

#[test]
fn retry_sigkill_at_random_points() {
    let r = watched(&[]);
    let mut con = r.con();
    let n = 4000;
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 30 } else { 12 };
    let args = ["-q", "retry", "--yes"];
    seed_status(&mut con, n, "failed");
    let t0 = Instant::now();
    r.jobq(&args).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed_status(&mut con, n, "failed");
        let before = Before::capture(&mut con);
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &args), delay);
        let moved = moves_whole(&mut con, &before, n, "failed", "retry");
        if moved > 0 && moved < n {
            mid += 1;
        }
        // A rerun moves the rest, each job once in all.
        r.jobq(&args).expect_code(0);
        assert_eq!(moves_whole(&mut con, &before, n, "failed", "retry"), n);
        // Nothing left: nothing written.
        let snap = snapshot(&mut con);
        let audit = xlen(&mut con, AUDIT);
        r.jobq(&args).expect_code(0);
        assert_eq!(snapshot(&mut con), snap);
        assert_eq!(xlen(&mut con, AUDIT), audit);
    }
    eprintln!("kills mid-run: {mid} of {points}");
    assert!(
        mid >= 2,
        "only {mid} kills landed mid-run; the delays need tuning"
    );
    check_i5(&mut con);
}

#[test]
fn delete_sigkill_at_random_points() {
    let r = watched(&[]);
    let mut con = r.con();
    let n = 3000;
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 20 } else { 12 };
    let ids: Vec<String> = (1..=n).map(job_id).collect();
    let mut args = vec!["-q", "delete", "--yes"];
    args.extend(ids.iter().map(String::as_str));
    seed_status(&mut con, n, "completed");
    let t0 = Instant::now();
    r.jobq(&args).expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        let keys = seed_status(&mut con, n, "completed");
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        kill_after(spawn_jobq(&r, &args), delay);
        // Each record whole or gone, and gone only with its before-image.
        let deleted_audited: std::collections::BTreeSet<Vec<u8>> = audit_counts(&mut con)
            .into_iter()
            .filter(|((_, a), _)| a.as_slice() == b"delete")
            .map(|((k, _), _)| k)
            .collect();
        assert_no_step_twice(&mut con);
        let mut gone = 0;
        for k in &keys {
            let fields = hgetall_raw(&mut con, k);
            let in_class: bool = redis::cmd("SISMEMBER")
                .arg(CLASS)
                .arg(k)
                .query(&mut con)
                .expect("SISMEMBER");
            if fields.is_empty() {
                gone += 1;
                assert!(!in_class, "{k} deleted but still in the class set");
                assert!(
                    deleted_audited.contains(k.as_bytes()),
                    "{k} deleted, not audited"
                );
            } else {
                assert_eq!(fields.len(), 6, "{k} half deleted");
                assert!(in_class, "{k} left the class set but lives");
                assert!(
                    !deleted_audited.contains(k.as_bytes()),
                    "{k} audited, not deleted"
                );
            }
        }
        if gone > 0 && gone < n {
            mid += 1;
        }
        // A rerun deletes the rest; the ones gone are reported not found.
        let rerun = r.jobq(&args);
        assert!(matches!(rerun.code(), 0 | 4), "{}", rerun.explain());
        assert_eq!(
            rerun.code() == 4,
            gone > 0,
            "exit {} after {gone} gone",
            rerun.code()
        );
        assert_eq!(xlen(&mut con, AUDIT), n as i64, "each record deleted once");
        assert_no_step_twice(&mut con);
        let left: i64 = redis::cmd("SCARD")
            .arg(CLASS)
            .query(&mut con)
            .expect("SCARD");
        assert_eq!(left, 0);
    }
    eprintln!("kills mid-run: {mid} of {points}");
    assert!(
        mid >= 2,
        "only {mid} kills landed mid-run; the delays need tuning"
    );
    check_i5(&mut con);
}

/// The keys a prune backup file holds a complete line for (a line cut by
/// the kill is no record: it was never deleted).
fn backup_keys(path: &std::path::Path) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = std::collections::BTreeSet::new();
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        if let Ok(v) = serde_json::from_str::<J>(line) {
            if let Some(k) = v["key"].as_str() {
                out.insert(k.to_owned());
            }
        }
    }
    out
}

#[test]
fn prune_sigkill_at_random_points() {
    let r = watched(&[]);
    let mut con = r.con();
    let dir = tempfile::tempdir().expect("tmp");
    let n = 4000;
    let mut rng = Rng::from_env("JOBQ_FAULT_SEED");
    let points = if long_tests() { 20 } else { 10 };
    let file = |name: String| dir.path().join(name);
    let args = |f: &std::path::Path| -> Vec<String> {
        ["-q", "prune", "--older-than", "1d", "--yes", "--backup"]
            .iter()
            .map(|s| s.to_string())
            .chain([f.to_string_lossy().into_owned()])
            .collect()
    };
    let keys = seed_status(&mut con, n, "completed");
    let whole: Vec<Vec<(Vec<u8>, Vec<u8>)>> =
        keys.iter().map(|k| hgetall_raw(&mut con, k)).collect();
    let t0 = Instant::now();
    let a = args(&file("full.jsonl".into()));
    r.jobq(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .expect_code(0);
    let full = t0.elapsed().as_millis() as u64;
    let mut mid = 0;
    for point in 0..points {
        flushall(&mut con);
        seed_status(&mut con, n, "completed");
        let killed = file(format!("killed-{point}.jsonl"));
        let delay = Duration::from_millis(rng.below(full + 20));
        eprintln!("kill point {point}: after {delay:?} of ~{full} ms");
        let a = args(&killed);
        kill_after(
            spawn_jobq(&r, &a.iter().map(String::as_str).collect::<Vec<_>>()),
            delay,
        );
        // Each job untouched (whole, indexed) or deleted with its backup
        // line on disk and its key named by one prune entry.
        let backed = backup_keys(&killed);
        let audited: Vec<Vec<u8>> = xrange(&mut con, AUDIT)
            .into_iter()
            .flat_map(|(_, e)| {
                e.into_iter()
                    .filter(|(f, _)| f.starts_with(b"key."))
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
            })
            .collect();
        let audited_set: std::collections::BTreeSet<&[u8]> =
            audited.iter().map(Vec::as_slice).collect();
        assert_eq!(audited_set.len(), audited.len(), "a key pruned twice");
        let mut gone = 0;
        for (k, w) in keys.iter().zip(&whole) {
            let fields = hgetall_raw(&mut con, k);
            let in_class: bool = redis::cmd("SISMEMBER")
                .arg(CLASS)
                .arg(k)
                .query(&mut con)
                .expect("SISMEMBER");
            if fields.is_empty() {
                gone += 1;
                assert!(!in_class, "{k} deleted but still in the class set");
                assert!(backed.contains(k), "{k} deleted without its backup line");
                assert!(
                    audited_set.contains(k.as_bytes()),
                    "{k} deleted, not audited"
                );
            } else {
                assert_eq!(&fields, w, "{k} changed");
                assert!(in_class, "{k} left the class set but lives");
                assert!(
                    !audited_set.contains(k.as_bytes()),
                    "{k} audited, not deleted"
                );
            }
        }
        if gone > 0 && gone < n {
            mid += 1;
        }
        // A rerun prunes the rest, each job once in all.
        let rerun = file(format!("rerun-{point}.jsonl"));
        let a = args(&rerun);
        r.jobq(&a.iter().map(String::as_str).collect::<Vec<_>>())
            .expect_code(0);
        let left: i64 = redis::cmd("SCARD")
            .arg(CLASS)
            .query(&mut con)
            .expect("SCARD");
        assert_eq!(left, 0);
        let named: usize = xrange(&mut con, AUDIT)
            .into_iter()
            .map(|(_, e)| e.iter().filter(|(f, _)| f.starts_with(b"key.")).count())
            .sum();
        assert_eq!(named, n, "each job pruned once");
        // Both backups restore every job whole, each once.
        r.jobq(&["-q", "restore", &killed.to_string_lossy(), "--yes"]);
        r.jobq(&["-q", "restore", &rerun.to_string_lossy(), "--yes"]);
        for (k, w) in keys.iter().zip(&whole) {
            assert_eq!(&hgetall_raw(&mut con, k), w, "{k} not restored whole");
        }
        let _: () = redis::cmd("DEL").arg(AUDIT).query(&mut con).expect("DEL");
    }
    eprintln!("kills mid-run: {mid} of {points}");
    assert!(
        mid >= 2,
        "only {mid} kills landed mid-run; the delays need tuning"
    );
    check_i5(&mut con);
}
