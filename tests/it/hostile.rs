//! Hostile input: the states and inputs an adversarial run found jobq
//! getting wrong, each against a real redis-server. Wrong answers first:
//! a job held twice under different key segments, a verdict that depends
//! on a set jobq cannot read.

use crate::common::*;
use serde_json::Value as J;

const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";

fn scan_json(r: &Redis, extra: &[&str]) -> (Run, J) {
    let mut args = vec!["--json", "orphans", "scan", "--grace", "0"];
    args.extend_from_slice(extra);
    let run = r.jobq(&args);
    let j = run.json();
    (run, j)
}

fn duplicates_of(j: &J) -> Vec<String> {
    let mut keys: Vec<String> = j["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "duplicate")
        .map(|f| f["key"].as_str().expect("key").to_owned())
        .collect();
    keys.sort();
    keys
}

/// Item 1: `RedisJob:X:billing:running` and `RedisJob:X:ops:completed`.
#[test]
fn a_job_id_held_under_two_projects_is_a_duplicate() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 200, "billing");
    let id = job_id(5000);
    let a = popoto_create(&mut con, &id, "billing", "running", 1767225600.0);
    let b = popoto_create(&mut con, &id, "ops", "completed", 1767225601.0);
    for deep in [false, true] {
        let extra: &[&str] = if deep { &["--deep"] } else { &[] };
        let (run, j) = scan_json(&r, extra);
        run.expect_code(1);
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(duplicates_of(&j), want, "{}", run.explain());
        assert_eq!(j["total"], 2, "nothing else: {}", run.explain());
    }
    // With a grace period the second sighting keeps both twins in view.
    let run = r.jobq(&["--json", "orphans", "scan", "--grace", "0.2s"]);
    run.expect_code(1);
    assert_eq!(duplicates_of(&run.json()).len(), 2, "{}", run.explain());

    let run = r.jobq(&["--json", "inspect", &id]);
    run.expect_code(1);
    assert_eq!(
        run.json()["verdict"]["kind"],
        "duplicate",
        "{}",
        run.explain()
    );
}

#[test]
fn many_healthy_jobs_and_a_cross_project_twin_among_them() {
    // Enough jobs that the filter's collisions are exercised: only the one
    // real pair is reported.
    let r = Redis::start();
    let mut con = r.con();
    seed_fast(&mut con, 20_000, "p1");
    let twin = popoto_create(&mut con, &job_id(777), "p2", "pending", 1.0);
    let (run, j) = scan_json(&r, &["--batch", "500"]);
    run.expect_code(1);
    let dups = duplicates_of(&j);
    assert_eq!(dups.len(), 2, "{}", run.explain());
    assert!(dups.contains(&twin), "{dups:?}");
}

#[test]
fn enqueue_refuses_a_job_id_another_project_holds() {
    let r = Redis::start();
    let mut con = r.con();
    let id = job_id(42);
    let billing = popoto_create(&mut con, &id, "billing", "running", 1767225600.0);
    let before = snapshot(&mut con);
    let run = r.jobq(&[
        "--json",
        "enqueue",
        "--set",
        &format!("job_id={id}"),
        "--project",
        "ops",
    ]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["conflicts"], 1, "{}", run.explain());
    assert_eq!(j["created"], 0);
    assert_eq!(snapshot(&mut con), before, "nothing written");
    assert!(
        run.stdout().contains(&billing) || run.stderr().contains("exists"),
        "{}",
        run.explain()
    );
    // A new job_id is still created.
    let ok = r.jobq(&[
        "--json",
        "enqueue",
        "--set",
        &format!("job_id={}", job_id(43)),
        "--project",
        "ops",
    ]);
    ok.expect_code(0);
}

/// Item 2: the running index is a string; a pending job missing from the
/// pending index may be in it or nowhere. Never "healthy".
#[test]
fn a_verdict_that_depends_on_an_unreadable_index_is_unknown() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 20, "p1");
    cmd(&mut con, &[b"SET", RUNNING.as_bytes(), b"oops"]);
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[7].as_bytes()]);

    let (run, j) = scan_json(&r, &[]);
    run.expect_code(1);
    assert_eq!(j["unconfirmed"]["count"], 1, "{}", run.explain());
    assert_eq!(j["unconfirmed"]["sample"][0]["key"], keys[7].as_str());
    let text = r.jobq(&["orphans", "scan", "--grace", "0"]);
    text.expect_code(1);
    assert!(
        text.stdout().contains("unconfirmed (1)") && !text.stdout().contains("No damage found"),
        "{}",
        text.explain()
    );

    let id = job_id(8);
    let run = r.jobq(&["--json", "inspect", &id]);
    run.expect_code(1);
    assert_eq!(
        run.json()["verdict"]["kind"],
        "unknown",
        "{}",
        run.explain()
    );

    let run = r.jobq(&["reindex", "--dry-run", "--grace", "0"]);
    assert_ne!(run.code(), 0, "{}", run.explain());
    assert!(
        !run.stdout().contains("Nothing to repair."),
        "{}",
        run.explain()
    );
    assert!(
        run.stdout().contains("1 job(s) unconfirmed"),
        "{}",
        run.explain()
    );

    // A job that is in its own index is confirmed, the broken index aside.
    let run = r.jobq(&["--json", "inspect", &job_id(3)]);
    run.expect_code(0);
    assert_eq!(
        run.json()["verdict"]["kind"],
        "healthy",
        "{}",
        run.explain()
    );
}

/// Item 6: an audit stream of the wrong type must refuse the create before
/// anything is written, so that exit 3 means "nothing written".
#[test]
fn enqueue_with_a_broken_audit_stream_writes_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    cmd(&mut con, &[b"SET", b"jobq:audit", b"not a stream"]);
    let before = snapshot(&mut con);
    for args in [
        &["enqueue", "--project", "p1"][..],
        &["enqueue", "--project", "p1", "--idempotency-key", "k1"],
        &["enqueue", "--project", "p1", "--set", "job_id=abc"],
    ] {
        let run = r.jobq(args);
        run.expect_code(3);
        assert!(run.stderr().contains("jobq:audit"), "{}", run.explain());
        assert_eq!(
            snapshot(&mut con),
            before,
            "nothing written: {}",
            run.explain()
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(
        dir.path(),
        "jobs.jsonl",
        "{\"project_key\": \"p1\"}\n{\"project_key\": \"p2\"}\n",
    );
    let run = r.jobq(&["enqueue", "--file", file.to_str().expect("path")]);
    run.expect_code(3);
    assert_eq!(
        snapshot(&mut con),
        before,
        "nothing written: {}",
        run.explain()
    );
}

/// Item 11: an empty database (or the wrong db number) is not a healthy
/// queue; a replica says it is one, names its primary and its link.
#[test]
fn an_empty_database_and_a_replica_say_what_they_are() {
    let r = Redis::start();
    let mut con = r.con();
    seed(&mut con, 5, "p1");
    // db 3 is empty: the wrong db number.
    let url = r.url_db(3);
    let run = jobq(&["--url", &url, "orphans", "scan", "--grace", "0"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("Nothing to check") && !run.stdout().contains("No damage found"),
        "{}",
        run.explain()
    );
    let run = jobq(&["--url", &url, "--json", "inspect"]);
    run.expect_code(0);
    let msg = run.json()["health"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.starts_with("empty:"), "{msg}");

    // A replica of a primary that is gone: its link is down.
    let primary = Redis::start_tcp(&[]);
    let port = primary
        .tcp_url("")
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches("/0")
        .to_owned();
    let replica = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    drop(primary);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = replica.jobq(&["orphans", "scan", "--grace", "0"]);
    assert!(
        run.stderr().contains("is a replica of 127.0.0.1:")
            && run.stderr().contains("link to it is down"),
        "{}",
        run.explain()
    );
    let run = replica.jobq(&["reindex", "--yes"]);
    run.expect_code(3);
    assert!(
        run.stderr()
            .contains(&format!("read-only replica of 127.0.0.1:{port}"))
            && run
                .stderr()
                .contains("point --url at the primary (127.0.0.1:"),
        "names the primary\n{}",
        run.explain()
    );
}

/// Item 12: an idempotency key reused for other content is a conflict
/// (exit 4, the line named), not the old job passed off as this one.
#[test]
fn an_idempotency_key_reused_for_other_fields_is_a_conflict() {
    let r = Redis::start();
    let mut con = r.con();
    let first = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p1",
        "--idempotency-key",
        "k1",
    ]);
    first.expect_code(0);
    // The same content again: a retry, the old job, exit 0.
    let again = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p1",
        "--idempotency-key",
        "k1",
    ]);
    again.expect_code(0);
    assert_eq!(again.json()["existing"], 1, "{}", again.explain());
    // Other content under the same key: a conflict, nothing written.
    let before = snapshot(&mut con);
    let other = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p2",
        "--idempotency-key",
        "k1",
    ]);
    other.expect_code(4);
    let j = other.json();
    assert_eq!(
        (j["conflicts"].as_u64(), j["created"].as_u64()),
        (Some(1), Some(0)),
        "{}",
        other.explain()
    );
    assert!(
        j["jobs"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("other fields"),
        "{}",
        other.explain()
    );
    assert_eq!(snapshot(&mut con), before, "nothing written");

    // Within one file: line 3 reuses line 1's key with other fields.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(
        dir.path(),
        "jobs.jsonl",
        "{\"project_key\": \"a\", \"idempotency_key\": \"f1\"}\n\
         {\"project_key\": \"b\", \"idempotency_key\": \"f2\"}\n\
         {\"project_key\": \"c\", \"idempotency_key\": \"f1\"}\n\
         {\"project_key\": \"a\", \"idempotency_key\": \"f1\"}\n",
    );
    let run = r.jobq(&["--json", "enqueue", "--file", file.to_str().expect("path")]);
    run.expect_code(4);
    let j = run.json();
    assert_eq!(j["created"], 2, "{}", run.explain());
    assert_eq!(j["conflicts"], 1, "{}", run.explain());
    assert_eq!(
        j["existing"],
        1,
        "line 4 repeats line 1 exactly: {}",
        run.explain()
    );
    let conflict: Vec<&J> = j["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|x| {
            x["reason"]
                .as_str()
                .is_some_and(|r| r.contains("other fields"))
        })
        .collect();
    assert_eq!(conflict.len(), 1);
    assert_eq!(conflict[0]["line"], 3, "{}", run.explain());
}

/// Item 4: a plan file is input, checked against the model before anything
/// is written; an edited step is refused whole, naming the step.
#[test]
fn an_edited_plan_is_refused_whole() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 6, "p1");
    let done = popoto_move(&mut con, &keys[0], "completed").expect("move");
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[1].as_bytes()]);
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("plan.json");
    let plan_s = plan.to_str().expect("path").to_owned();
    r.jobq(&["orphans", "scan", "--grace", "0", "--plan-out", &plan_s])
        .expect_code(1);
    // The plan as a format-1 object (still read): edited by hand below.
    let mut honest = read_plan(&plan);
    honest["format"] = J::from(1);
    honest.as_object_mut().expect("object").remove("end");
    assert_eq!(
        honest["actions"].as_array().map(Vec::len),
        Some(1),
        "{honest}"
    );

    type Edit<'a> = Box<dyn Fn(&mut J) + 'a>;
    let edits: [(&str, Edit); 4] = [
        (
            "a completed job added to the pending index",
            Box::new(|a: &mut J| {
                a["key"] = J::from(done.as_str());
                a["job_id"] = J::from(job_id(1));
            }),
        ),
        (
            "a set of another application",
            Box::new(|a: &mut J| {
                a["step"]["sadd"] = serde_json::json!(["session:1"]);
            }),
        ),
        (
            "a live record removed from the class set",
            Box::new(|a: &mut J| {
                a["step"]["srem"] = serde_json::json!(["$Class:RedisJob"]);
            }),
        ),
        (
            "a healthy job's step said to be a ghost's",
            Box::new(|a: &mut J| {
                a["kind"] = J::from("dangling");
            }),
        ),
    ];
    let before = snapshot(&mut con);
    for (what, edit) in &edits {
        let mut p = honest.clone();
        edit(&mut p["actions"][0]);
        p["actions"][0]["description"] = J::from("harmless, trust me");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, p.to_string()).expect("write");
        let run = r.jobq(&["reindex", "--yes", "--plan", bad.to_str().expect("path")]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("step 1") && run.stderr().contains("nothing was written"),
            "{what}\n{}",
            run.explain()
        );
        assert_eq!(snapshot(&mut con), before, "{what}: nothing written");
    }
    // The plan as written applies, described from its step.
    let run = r.jobq(&["--json", "reindex", "--yes", "--plan", &plan_s]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["applied"], 1, "{}", run.explain());
    assert_eq!(
        j["actions"][0]["description"],
        format!("add it to {PENDING}"),
        "{}",
        run.explain()
    );
}

/// Item 3: a value that is not valid msgpack in a field the light read
/// does not decode (`priority`) is malformed: `--deep` reports it, with a
/// grace period too, `reindex` never touches it (though it is also
/// orphaned), and a huge value is counted, not read.
#[test]
fn an_invalid_msgpack_value_in_a_plain_field_is_malformed() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed(&mut con, 30, "p1");
    cmd(
        &mut con,
        &[b"HSET", keys[4].as_bytes(), b"priority", b"\xc1\xc1"],
    );
    // Also out of its index: the bad value decides, and nothing is repaired.
    cmd(
        &mut con,
        &[b"HSET", keys[9].as_bytes(), b"priority", b"\x92\x01"],
    );
    cmd(&mut con, &[b"SREM", PENDING.as_bytes(), keys[9].as_bytes()]);
    let big = vec![b'x'; 200 * 1024];
    cmd(&mut con, &[b"HSET", keys[12].as_bytes(), b"priority", &big]);

    // Without --deep the values are not read: keys[9] is an orphan.
    let (run, j) = scan_json(&r, &[]);
    run.expect_code(1);
    assert_eq!(j["counts"]["orphan"], 1, "{}", run.explain());

    for grace in ["0", "0.2s"] {
        let run = r.jobq(&["--json", "orphans", "scan", "--deep", "--grace", grace]);
        run.expect_code(1);
        let j = run.json();
        let malformed: Vec<&J> = j["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["kind"] == "malformed")
            .collect();
        let mut got: Vec<&str> = malformed
            .iter()
            .map(|f| f["key"].as_str().expect("key"))
            .collect();
        got.sort();
        let mut want = vec![keys[4].as_str(), keys[9].as_str()];
        want.sort();
        assert_eq!(got, want, "{}", run.explain());
        assert!(
            malformed.iter().all(|f| f["seen"]
                .as_str()
                .expect("seen")
                .contains("field priority is not valid msgpack")),
            "{}",
            run.explain()
        );
        assert_eq!(j["total"], 2, "{}", run.explain());
        assert_eq!(j["scanned"]["values_too_large"], 1, "{}", run.explain());
    }
    let text = r.jobq(&["orphans", "scan", "--deep", "--grace", "0"]);
    assert!(
        text.stdout()
            .contains("1 values over 64 KiB were not decoded"),
        "{}",
        text.explain()
    );
    let before = snapshot(&mut con);
    let run = r.jobq(&["reindex", "--deep", "--yes", "--grace", "0"]);
    assert_eq!(snapshot(&mut con), before, "{}", run.explain());
}
