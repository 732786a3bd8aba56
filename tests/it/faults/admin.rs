//! `retry` and `delete` under SIGKILL at random points: every job either
//! untouched or wholly moved (deleted) with its one audit entry, and a
//! rerun finishing the work without doing anything twice.

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
