//! Each staleness rule with controlled timestamps: two sightings and the
//! lease, the since field, a heartbeat, and `--all`.

use super::*;

#[test]
fn first_sighting_needs_two_sweeps_and_the_lease() {
    let r = Redis::start();
    let mut con = r.con();
    let a = popoto_create(&mut con, &id(1), "team:ops-1", "running", 1767225600.5);
    let b = popoto_create(&mut con, &id(2), "p", "running", 1767225601.0);

    // First sweep: both seen for the first time, noted, nothing stale. (A
    // lease under a minute asks first, like --all; --yes answers.)
    let first = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    first.expect_code(0);
    let j = json_of(&first);
    assert_eq!(j["counts"]["running"], 2);
    assert_eq!(j["counts"]["first_sightings"], 2);
    assert_eq!(j["counts"]["stale"], 0);
    let noted: i64 = redis::cmd("HLEN").arg(SEEN).query(&mut con).expect("HLEN");
    assert_eq!(noted, 2);
    let note_a = hget(&mut con, SEEN, &a).expect("a noted");

    // Within the lease: still nothing, and the first sighting is kept.
    let again = r.jobq(&["--json", "reap", "--once", "--lease", "1h"]);
    again.expect_code(0);
    assert_eq!(json_of(&again)["counts"]["stale"], 0);
    assert_eq!(
        hget(&mut con, SEEN, &a),
        Some(note_a),
        "a note is never overwritten"
    );

    // A worker finishes b: its note goes on the next sweep.
    assert!(popoto_move(&mut con, &b, "completed", true));
    std::thread::sleep(Duration::from_millis(1200));
    let second = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    second.expect_code(0);
    let j = json_of(&second);
    assert_eq!(j["counts"]["running"], 1);
    assert_eq!(j["counts"]["to_pending"], 1);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(1)]));
    assert_eq!(j["moved"][0]["basis"], "first_sighting");
    assert!(j["moved"][0]["running_for_s"].as_f64().expect("age") >= 1.0);
    assert_eq!(j["counts"]["pruned"], 1, "b's note is pruned");
    let pending = format!("RedisJob:{}:team{{&#58;}}ops/-1:pending", id(1));
    assert_eq!(smembers(&mut con, PENDING), [pending.as_str()]);
    assert!(
        !exists(&mut con, SEEN),
        "the move forgets a's note, the prune b's"
    );

    // A worker takes the requeued job again: the same key is running once
    // more, and must not be reaped on its first sighting.
    assert!(popoto_move(&mut con, &pending, "running", true));
    let third = r.jobq(&["--json", "reap", "--once", "--lease", "1s", "--yes"]);
    third.expect_code(0);
    let j = json_of(&third);
    assert_eq!(j["counts"]["first_sightings"], 1);
    assert_eq!(j["counts"]["stale"], 0);
    assert!(exists(&mut con, &a), "still running under its old key");
}

#[test]
fn first_sighting_notes_map_back_to_their_keys_across_pages_and_chunks() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = bulk_running(&mut con, 0, 2600, "p");
    // Every third job was first seen long ago; the rest are new.
    let mut old = BTreeSet::new();
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let _: () = redis::cmd("HSET")
            .arg(SEEN)
            .arg(k)
            .arg("1000.000000")
            .query(&mut con)
            .expect("HSET");
        old.insert(id(i));
    }
    let run = r.jobq(&["--json", "reap", "--once", "--lease", "1h"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["first_sightings"], 2600 - old.len());
    assert_eq!(moved_ids(&j), old);
    let noted: i64 = redis::cmd("HLEN").arg(SEEN).query(&mut con).expect("HLEN");
    assert_eq!(
        noted as usize,
        2600 - old.len(),
        "moved jobs' notes are forgotten"
    );
}

fn task_toml() -> String {
    task_schema(
        r#"since_field = "started_at""#,
        r#"
[[field]]
name = "attempts"
type = "int"
default = 0
[[field]]
name = "started_at"
type = "float"
[[field]]
name = "begun"
type = "datetime"
"#,
    )
}

#[test]
fn since_field_from_the_schema_and_from_the_flag() {
    let r = Redis::start();
    let schema = write_file(r.dir.path(), "task.toml", &task_toml());
    let schema = schema.to_str().expect("path");
    let now = now_secs();
    let enqueue = |task: &str, started: Option<f64>, begun: Option<f64>| {
        let mut a = vec![
            "--schema".to_string(),
            schema.into(),
            "enqueue".into(),
            "--job-id".into(),
            task.into(),
        ];
        a.extend(["--status", "active", "--set", "queue=q:1"].map(String::from));
        if let Some(t) = started {
            a.extend(["--set".into(), format!("started_at={t}")]);
        }
        if let Some(t) = begun {
            a.extend([
                "--set".into(),
                format!("begun={}", jobq::schema::calendar::iso_utc(t)),
            ]);
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        r.jobq(&a).expect_code(0);
    };
    let (old, recent, unset) = (id(1), id(2), id(3));
    enqueue(&old, Some(now - 3600.0), Some(now - 60.0));
    enqueue(&recent, Some(now - 10.0), Some(now - 7200.0));
    enqueue(&unset, None, None);
    let mut con = r.con();
    let key = |t: &str, st: &str| format!("Task:q{{&#58;}}1:{st}:{t}");
    let before: Vec<(Vec<u8>, Vec<u8>)> = hgetall_raw(&mut con, &key(&old, "active"));

    // The schema's since_field: started_at an hour ago is past a 30m lease.
    let run = r.jobq(&[
        "--schema", schema, "--json", "reap", "--once", "--lease", "30m",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["rules"]["since_field"], "started_at");
    assert_eq!(j["counts"]["running"], 3);
    assert_eq!(moved_ids(&j), BTreeSet::from([old.clone()]));
    assert_eq!(j["moved"][0]["to"], "queued");
    assert_eq!(j["moved"][0]["basis"], "since_field");
    assert_eq!(j["moved"][0]["new_key"], key(&old, "queued"));
    let age = j["moved"][0]["running_for_s"].as_f64().expect("age");
    assert!((3590.0..3700.0).contains(&age), "{age}");
    // Only the job without a since value is noted for first sighting.
    assert_eq!(j["counts"]["first_sightings"], 1);
    let noted: Vec<String> = redis::cmd("HKEYS")
        .arg("jobq:reap:Task:seen")
        .query(&mut con)
        .expect("HKEYS");
    assert_eq!(noted, [key(&unset, "active")]);
    // Every field as it was but the status (the Task model has no priority).
    let after: Vec<(Vec<u8>, Vec<u8>)> = hgetall_raw(&mut con, &key(&old, "queued"));
    let expect: Vec<(Vec<u8>, Vec<u8>)> = before
        .into_iter()
        .map(|(f, v)| {
            if f == b"state" {
                (f, encode(&V::Str("queued".into())))
            } else {
                (f, v)
            }
        })
        .collect();
    assert_eq!(after, expect);
    assert_eq!(
        smembers(&mut con, "$KeyF:Task:state:queued"),
        [key(&old, "queued")]
    );
    assert_eq!(scard(&mut con, "$KeyF:Task:state:active"), 2);

    // --since-field names another (datetime) field: `begun` two hours ago.
    let run = r.jobq(&[
        "--schema",
        schema,
        "--json",
        "reap",
        "--once",
        "--lease",
        "30m",
        "--since-field",
        "begun",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(moved_ids(&j), BTreeSet::from([recent.clone()]));
    assert!(exists(&mut con, &key(&unset, "active")));
}

#[test]
fn heartbeat_present_stays_expired_is_reaped() {
    let r = Redis::start();
    let mut con = r.con();
    let alive = popoto_create(&mut con, &id(1), "team:ops-1", "running", 1.0);
    popoto_create(&mut con, &id(2), "b", "running", 2.0);
    // The template's value is escaped as popoto escapes key values.
    let _: () = redis::cmd("SET")
        .arg("worker:team{&#58;}ops/-1:alive")
        .arg("1")
        .arg("EX")
        .arg(60)
        .query(&mut con)
        .expect("SET");
    let _: () = redis::cmd("SET")
        .arg("worker:b:alive")
        .arg("1")
        .arg("PX")
        .arg(100)
        .query(&mut con)
        .expect("SET");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!exists(&mut con, "worker:b:alive"), "b's heartbeat expired");

    let run = r.jobq(&[
        "--json",
        "reap",
        "--once",
        "--all",
        "--yes",
        "--heartbeat-key",
        "worker:{project_key}:alive",
    ]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["alive"], 1);
    assert_eq!(moved_ids(&j), BTreeSet::from([id(2)]));
    assert_eq!(j["rules"]["heartbeat_key"], "worker:{project_key}:alive");
    assert!(
        exists(&mut con, &alive),
        "a job whose worker is alive is never taken away"
    );
    assert_eq!(smembers(&mut con, RUNNING), [alive]);
}

#[test]
fn all_needs_yes_without_a_terminal() {
    let r = Redis::start();
    let mut con = r.con();
    bulk_running(&mut con, 0, 3, "p");
    let before = dump(&mut con);
    let run = r.jobq(&["reap", "--all"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--yes"), "{}", run.explain());
    assert_eq!(dump(&mut con), before, "nothing written");

    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let j = json_of(&run);
    assert_eq!(j["counts"]["to_pending"], 3);
    assert_eq!(j["moved"][0]["basis"], "all");
    assert_eq!(scard(&mut con, RUNNING), 0);
    assert_eq!(scard(&mut con, PENDING), 3);
}
