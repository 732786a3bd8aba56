//! A model whose status is a popoto `IndexedField` (docs/layout.md, "The
//! other status layout"), against a real redis-server: `enqueue` writes
//! popoto 1.10.1's bytes in one step; `reap` and `retry` change the status
//! in place (old set found through the pointer and by membership, new set,
//! pointer, field), each guard proven by a change made while the prompt
//! waits; `delete` removes the pointers with the record; `inspect` shows the
//! pointer; `drain` counts the `$IndexF` sets; every run's audit entries
//! reverse it exactly (`audit::reverse`).

use std::collections::HashMap;

use crate::common::*;
use crate::exit_codes::answer_prompt_after;

const OLD: f64 = 1767225600.5;
const CLASS: &str = "$Class:Job";

/// The issue-20 model, as popoto declares it: `job_id = AutoKeyField();
/// project_key = KeyField(); status = IndexedField(type=str); priority =
/// Field(type=str, default="normal"); created_at = SortedField(type=float)`.
pub const JOB_TOML: &str = r#"
class = "Job"
[[field]]
name = "job_id"
role = "auto"
[[field]]
name = "project_key"
role = "key"
[[field]]
name = "status"
role = "indexed"
[[field]]
name = "priority"
default = "normal"
[[field]]
name = "created_at"
type = "float"
sorted = true
default_now = true
[status]
field = "status"
values = ["pending", "running", "completed", "failed"]
"#;

fn set(status: &str) -> String {
    format!("$IndexF:Job:status:{status}")
}

fn key(id: &str, project: &str) -> String {
    format!("Job:{id}:{project}")
}

fn pointer(k: &str) -> String {
    format!("$IdxPtr:{k}:status")
}

fn legacy_pointer(k: &str) -> Vec<u8> {
    let mut p = k.as_bytes().to_vec();
    p.extend_from_slice(b"\x00idxptr\x00status");
    p
}

/// A test server and the schema file: `jobq --schema ... ARGS`.
struct Q {
    r: Redis,
    schema: String,
}

impl Q {
    fn start() -> Q {
        let r = Redis::start();
        let schema = write_file(r.dir.path(), "job.toml", JOB_TOML)
            .to_string_lossy()
            .into_owned();
        Q { r, schema }
    }

    fn jobq(&self, args: &[&str]) -> Run {
        let mut a = vec!["--schema", self.schema.as_str()];
        a.extend_from_slice(args);
        self.r.jobq(&a)
    }

    fn prompt(&self, args: &str, between: impl FnOnce()) -> (Option<i32>, String) {
        let line = format!("--schema {} {args}", self.schema);
        answer_prompt_after(&self.r, &line, b"y", between)
    }
}

/// What popoto 1.10.1 leaves after `Job.create(...)` (its INDEX_SWAP script,
/// then its MULTI; observed with MONITOR), written here in one step.
pub fn popoto_indexed_create(
    con: &mut redis::Connection,
    id: &str,
    project: &str,
    status: &str,
    created_at: f64,
) -> String {
    let k = key(id, project);
    let pk = |v: &str| jobq::schema::msgpack::encode(&jobq::schema::Value::Str(v.into()));
    let _: () = redis::pipe()
        .atomic()
        .cmd("SADD")
        .arg(set(status))
        .arg(&k)
        .ignore()
        .cmd("SET")
        .arg(pointer(&k))
        .arg(set(status))
        .ignore()
        .cmd("HSET")
        .arg(&k)
        .arg("status")
        .arg(pk(status))
        .ignore()
        .cmd("HSET")
        .arg(&k)
        .arg("job_id")
        .arg(pk(id))
        .arg("project_key")
        .arg(pk(project))
        .arg("priority")
        .arg(pk("normal"))
        .arg("created_at")
        .arg(jobq::schema::msgpack::encode(&jobq::schema::Value::Float(
            created_at,
        )))
        .ignore()
        .cmd("SADD")
        .arg(CLASS)
        .arg(&k)
        .ignore()
        .cmd("SADD")
        .arg(format!("$KeyF:Job:project_key:{project}"))
        .arg(&k)
        .ignore()
        .cmd("ZADD")
        .arg("$SortF:Job:created_at")
        .arg(created_at)
        .arg(&k)
        .ignore()
        .query(con)
        .expect("popoto-style create");
    k
}

/// popoto 1.10.1's `job.status = to; job.save()`: its INDEX_SWAP script.
fn popoto_indexed_move(con: &mut redis::Connection, k: &str, to: &str) {
    let old: String = redis::cmd("GET")
        .arg(pointer(k))
        .query(con)
        .expect("GET pointer");
    let _: () = redis::pipe()
        .atomic()
        .cmd("SREM")
        .arg(&old)
        .arg(k)
        .ignore()
        .cmd("SADD")
        .arg(set(to))
        .arg(k)
        .ignore()
        .cmd("SET")
        .arg(pointer(k))
        .arg(set(to))
        .ignore()
        .cmd("HSET")
        .arg(k)
        .arg("status")
        .arg(pack(to))
        .ignore()
        .query(con)
        .expect("popoto-style move");
}

fn in_set(con: &mut redis::Connection, s: &str, member: &str) -> bool {
    redis::cmd("SISMEMBER")
        .arg(s)
        .arg(member)
        .query::<bool>(con)
        .expect("SISMEMBER")
}

fn get(con: &mut redis::Connection, k: &[u8]) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(k).query(con).expect("GET")
}

/// The job is in exactly the set of `status`, its pointer names that set,
/// its field says it, and it is still in the class set, its project's set
/// and the zset: what popoto's `Job.query.filter(status=...)` relies on.
fn assert_indexed_as(con: &mut redis::Connection, k: &str, status: &str) {
    for s in ["pending", "running", "completed", "failed"] {
        assert_eq!(in_set(con, &set(s), k), s == status, "{k} in {}", set(s));
    }
    assert_eq!(
        get(con, pointer(k).as_bytes()),
        Some(set(status).into_bytes()),
        "{k}'s pointer"
    );
    let f: HashMap<Vec<u8>, Vec<u8>> = hgetall_raw(con, k).into_iter().collect();
    assert_eq!(f.get(&b"status"[..]), Some(&pack(status)), "{k}'s field");
    assert!(in_set(con, CLASS, k), "{k} in the class set");
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg("$SortF:Job:created_at")
        .arg(k)
        .query(con)
        .expect("ZSCORE");
    assert!(score.is_some(), "{k} in the zset");
}

#[test]
fn enqueue_writes_what_popoto_writes_in_one_step() {
    let q = Q::start();
    let mut con = q.r.con();
    let id = "a".repeat(32);
    // The guarded path (a given job_id) and the plain MULTI (a new id).
    q.jobq(&[
        "enqueue",
        "--project",
        "team:ops-1",
        "--set",
        &format!("job_id={id}"),
        "--set",
        &format!("created_at={OLD}"),
    ])
    .expect_code(0);
    let run = q.jobq(&[
        "enqueue",
        "--project",
        "team:ops-1",
        "--set",
        &format!("created_at={OLD}"),
    ]);
    run.expect_code(0);
    let other = run
        .stdout()
        .lines()
        .next()
        .expect("an id")
        .trim()
        .to_owned();
    let ours = snapshot(&mut con);
    // popoto's bytes for the same jobs, in another database.
    let mut theirs_con = redis::Client::open(q.r.url_db(1))
        .expect("client")
        .get_connection()
        .expect("connection");
    for j in [&id, &other] {
        popoto_indexed_create(&mut theirs_con, j, "team{&#58;}ops/-1", "pending", OLD);
        // The project field holds the unescaped value.
        cmd(
            &mut theirs_con,
            &[
                b"HSET",
                key(j, "team{&#58;}ops/-1").as_bytes(),
                b"project_key",
                &pack("team:ops-1"),
            ],
        );
    }
    let theirs = snapshot(&mut theirs_con);
    assert!(ours == theirs, "{}", diff(&theirs, &ours));
    // The hash in popoto's order: status first (its script), then the rest.
    let names: Vec<Vec<u8>> = hgetall_raw(&mut con, &key(&id, "team{&#58;}ops/-1"))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        names,
        ["status", "job_id", "project_key", "priority", "created_at"]
            .map(|s| s.as_bytes().to_vec())
    );
    // Each create is one audit entry naming the pointer it set.
    let entries = xrange(&mut con, "jobq:audit");
    assert_eq!(entries.len(), 2);
    for (_, e) in &entries {
        assert!(e
            .iter()
            .any(|(f, v)| f == b"pointer.1.value" && *v == set("pending").into_bytes()));
    }
}

#[test]
fn enqueue_refuses_a_given_job_id_whose_pointer_is_left_over() {
    let q = Q::start();
    let mut con = q.r.con();
    let id = "b".repeat(32);
    let k = key(&id, "p");
    // A 1.8.1-1.8.2 pointer of a record that is gone.
    cmd(
        &mut con,
        &[b"SET", &legacy_pointer(&k), set("running").as_bytes()],
    );
    let before = snapshot(&mut con);
    let run = q.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--set",
        &format!("job_id={id}"),
    ]);
    assert_ne!(run.code(), 0, "{}", run.explain());
    assert_eq!(snapshot(&mut con), before);
}

#[test]
fn reap_moves_running_jobs_back_in_place() {
    let q = Q::start();
    let mut con = q.r.con();
    let ks: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| popoto_indexed_create(&mut con, id, "p", "running", OLD))
        .collect();
    // d carries a 1.8.1-1.8.2 pointer too: left for reindex. c's pointer
    // names another set than the one it is in: left for reindex too.
    cmd(
        &mut con,
        &[b"SET", &legacy_pointer(&ks[3]), set("running").as_bytes()],
    );
    cmd(
        &mut con,
        &[b"SET", pointer(&ks[2]).as_bytes(), set("failed").as_bytes()],
    );
    let run = q.jobq(&["reap", "--once", "--all", "--yes", "--max-attempts", "2"]);
    let shown = run.stdout();
    assert!(
        shown.contains("legacy_pointer") && shown.contains("pointer_changed"),
        "{}",
        run.explain()
    );
    for k in &ks[..2] {
        assert_indexed_as(&mut con, k, "pending");
        let prio: Vec<u8> = redis::cmd("HGET")
            .arg(k)
            .arg("priority")
            .query(&mut con)
            .expect("HGET");
        assert_eq!(prio, pack("high"));
    }
    assert!(in_set(&mut con, &set("running"), &ks[2]));
    assert_eq!(
        get(&mut con, pointer(&ks[2]).as_bytes()),
        Some(set("failed").into_bytes())
    );
    assert!(in_set(&mut con, &set("running"), &ks[3]));
    // The key never changed: one record per job, nothing else re-keyed.
    assert_eq!(smembers(&mut con, CLASS).len(), 4);
    // A second reap of a (running again) gives up on it: to failed.
    popoto_indexed_move(&mut con, &ks[0], "running");
    q.jobq(&["reap", "--once", "--all", "--yes", "--max-attempts", "2"]);
    assert_indexed_as(&mut con, &ks[0], "failed");
}

#[test]
fn retry_moves_failed_jobs_back_in_place_and_each_guard_holds() {
    let q = Q::start();
    let mut con = q.r.con();
    let ks: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| popoto_indexed_create(&mut con, id, "p", "failed", OLD))
        .collect();
    let other = popoto_indexed_create(&mut con, "e", "q", "failed", OLD);
    let (code, shown) = q.prompt("retry --project p", || {
        let mut w = q.r.con();
        // A worker took b (popoto's in-place change); c's pointer names
        // another set; d left its set by hand: the field, the pointer and
        // the membership are each checked.
        popoto_indexed_move(&mut w, &ks[1], "running");
        cmd(
            &mut w,
            &[
                b"SET",
                pointer(&ks[2]).as_bytes(),
                set("completed").as_bytes(),
            ],
        );
        cmd(
            &mut w,
            &[b"SREM", set("failed").as_bytes(), ks[3].as_bytes()],
        );
    });
    assert_eq!(code, Some(4), "{shown}");
    for reason in ["field changed", "pointer changed", "not in set"] {
        assert!(
            shown.contains(&format!("{reason} since it was selected")),
            "{reason}: {shown}"
        );
    }
    assert_indexed_as(&mut con, &ks[0], "pending");
    assert_indexed_as(&mut con, &ks[1], "running");
    assert!(in_set(&mut con, &set("failed"), &ks[2]));
    assert_eq!(
        get(&mut con, pointer(&ks[2]).as_bytes()),
        Some(set("completed").into_bytes())
    );
    assert!(!in_set(&mut con, &set("pending"), &ks[3]));
    assert_indexed_as(&mut con, &other, "failed");
    // The audit entry of the change: the sets, the pointer and the field.
    let entries = xrange(&mut con, "jobq:audit");
    assert_eq!(entries.len(), 1);
    let (_, e) = &entries[0];
    let has = |f: &str, v: &[u8]| e.iter().any(|(n, w)| n == f.as_bytes() && w == v);
    assert!(has("srem.1", set("failed").as_bytes()), "{e:?}");
    assert!(has("sadd.1", set("pending").as_bytes()), "{e:?}");
    assert!(has("pointer.1", pointer(&ks[0]).as_bytes()), "{e:?}");
    assert!(has("pointer.1.before", set("failed").as_bytes()), "{e:?}");
    assert!(has("pointer.1.value", set("pending").as_bytes()), "{e:?}");
    assert!(has("hset.status", &pack("pending")), "{e:?}");
    assert!(has("before.status", &pack("failed")), "{e:?}");
}

#[test]
fn delete_removes_the_record_its_sets_and_its_pointers() {
    let q = Q::start();
    let mut con = q.r.con();
    let a = popoto_indexed_create(&mut con, "a", "p", "completed", OLD);
    let b = popoto_indexed_create(&mut con, "b", "p", "completed", OLD);
    cmd(
        &mut con,
        &[b"SET", &legacy_pointer(&a), set("completed").as_bytes()],
    );
    // b's pointer names a status the schema no longer lists: popoto leaves
    // the set the pointer names, and so does jobq.
    cmd(
        &mut con,
        &[
            b"SMOVE",
            set("completed").as_bytes(),
            set("archived").as_bytes(),
            b.as_bytes(),
        ],
    );
    cmd(
        &mut con,
        &[b"SET", pointer(&b).as_bytes(), set("archived").as_bytes()],
    );
    let before = snapshot(&mut con);
    let run = q.jobq(&["--json", "delete", "--yes", "a", "b"]);
    run.expect_code(0);
    let after = snapshot(&mut con);
    for k in [&a, &b] {
        assert!(hgetall_raw(&mut con, k).is_empty());
        assert!(get(&mut con, pointer(k).as_bytes()).is_none());
    }
    assert!(get(&mut con, &legacy_pointer(&a)).is_none());
    let left: Vec<&Vec<u8>> = after.keys().collect();
    assert!(left.is_empty(), "{}", diff(&before, &after));
}

#[test]
fn inspect_shows_the_pointer_and_overview_counts_the_indexed_sets() {
    let q = Q::start();
    let mut con = q.r.con();
    let a = popoto_indexed_create(&mut con, "a", "p", "running", OLD);
    popoto_indexed_create(&mut con, "b", "p", "pending", OLD);
    let j = q.jobq(&["--json", "inspect", "a"]).json();
    let p = &j["records"][0]["pointers"][0];
    assert_eq!(p["key"], pointer(&a));
    assert_eq!(p["names"], set("running"));
    assert_eq!(p["names_member"], true);
    let text = q.jobq(&["inspect", "a"]).stdout();
    assert!(
        text.contains(&format!("{} -> {} (member)", pointer(&a), set("running"))),
        "{text}"
    );
    let o = q.jobq(&["--json", "inspect"]).json();
    let sizes = o["status_indexes"].to_string();
    assert!(sizes.contains(&set("running")), "{o}");
    assert_eq!(o["class_set"]["size"], 2, "{o}");
}

#[test]
fn drain_counts_the_indexed_sets_and_answers_given_jobs() {
    let q = Q::start();
    let mut con = q.r.con();
    let a = popoto_indexed_create(&mut con, "a", "p", "completed", OLD);
    let b = popoto_indexed_create(&mut con, "b", "p", "failed", OLD);
    let run = q.jobq(&["--json", "drain", "--timeout", "5s"]);
    run.expect_code(0);
    let ids = write_file(q.r.dir.path(), "ids.txt", "a\nb\n");
    let run = q.jobq(&[
        "--json",
        "drain",
        "--timeout",
        "5s",
        "--ids",
        &ids.to_string_lossy(),
    ]);
    let j = run.json();
    assert!(
        j.to_string().contains("completed") && j.to_string().contains("failed"),
        "{j}"
    );
    assert!(!hgetall_raw(&mut con, &a).is_empty() && !hgetall_raw(&mut con, &b).is_empty());
    popoto_indexed_create(&mut con, "c", "p", "pending", OLD);
    q.jobq(&["drain", "--timeout", "1s"]).expect_code(6);
}

#[test]
fn delete_skips_a_job_a_worker_moved_while_the_prompt_waited() {
    let q = Q::start();
    let mut con = q.r.con();
    let a = popoto_indexed_create(&mut con, "a", "p", "failed", OLD);
    let (code, shown) = q.prompt("delete a", || {
        let mut w = q.r.con();
        popoto_indexed_move(&mut w, &a, "pending");
    });
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("field changed since it was read"), "{shown}");
    assert_indexed_as(&mut con, &a, "pending");
}

/// A `UniqueField` (`role = "unique"`) follows popoto's rule: a second
/// record with a value another record holds is refused, by enqueue and by
/// a move, inside the guarded step.
#[test]
fn unique_fields_refuse_a_second_record() {
    let r = Redis::start();
    let mut con = r.con();
    let toml = JOB_TOML
        .replace("role = \"indexed\"", "role = \"unique\"")
        .replace(
            "name = \"priority\"\n",
            "name = \"ticket\"\nrole = \"unique\"\n[[field]]\nname = \"priority\"\n",
        );
    let schema = write_file(r.dir.path(), "unique.toml", &toml);
    let schema = schema.to_string_lossy();
    let jq = |args: &[&str]| {
        let mut a = vec!["--schema", schema.as_ref()];
        a.extend_from_slice(args);
        r.jobq(&a)
    };
    let one = [
        "enqueue",
        "--project",
        "p",
        "--status",
        "failed",
        "--set",
        "ticket=T1",
    ];
    jq(&one).expect_code(0);
    let before = snapshot(&mut con);
    // T1 is taken; so is the failed status (a unique status: one job each).
    let run = jq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--status",
        "running",
        "--set",
        "ticket=T1",
    ]);
    run.expect_code(4);
    assert!(run.stdout().contains("unique field"), "{}", run.explain());
    jq(&[
        "enqueue",
        "--project",
        "p",
        "--status",
        "failed",
        "--set",
        "ticket=T2",
    ])
    .expect_code(4);
    let after = snapshot(&mut con);
    let data = |s: &std::collections::BTreeMap<Vec<u8>, String>| {
        s.keys()
            .filter(|k| !k.starts_with(b"jobq:"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(data(&before), data(&after), "{}", diff(&before, &after));
    let k = smembers(&mut con, &set("failed"))
        .pop()
        .expect("one failed job");
    assert_eq!(
        get(&mut con, format!("$IdxPtr:{k}:ticket").as_bytes()),
        Some(b"$IndexF:Job:ticket:T1".to_vec())
    );
    // A second job, running: retry of the failed one would take the
    // pending value, free; reap of the running one to pending then finds
    // it taken and leaves it.
    jq(&[
        "enqueue",
        "--project",
        "p",
        "--status",
        "running",
        "--set",
        "ticket=T2",
    ])
    .expect_code(0);
    jq(&["retry", "--yes"]).expect_code(0);
    assert_indexed_as(&mut con, &k, "pending");
    let run = jq(&["reap", "--once", "--all", "--yes"]);
    assert!(
        run.stdout().contains("unique_conflict"),
        "{}",
        run.explain()
    );
    assert_eq!(smembers(&mut con, &set("running")).len(), 1);
}
