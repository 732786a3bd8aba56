//! `jobq enqueue` against a real redis-server: the bytes popoto writes, the
//! idempotency key, bulk files validated whole, and the connection errors.

use crate::common::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn single_job_is_byte_exact() {
    let r = Redis::start();
    let run = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "team:ops-1",
        "--message",
        "hello",
        "--priority",
        "high",
        "--set",
        "created_at=1767225600.5",
        "--job-id",
        "0123456789abcdef0123456789abcdef",
    ]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["schema"], 1);
    assert_eq!(j["command"], "enqueue");
    assert_eq!(j["created"], 1);
    let key = "RedisJob:0123456789abcdef0123456789abcdef:team{&#58;}ops/-1:pending";
    assert_eq!(j["jobs"][0]["key"], key);
    assert_eq!(j["jobs"][0]["job_id"], "0123456789abcdef0123456789abcdef");
    assert_eq!(j["jobs"][0]["created"], true);

    let mut con = r.con();
    let fields = hgetall_raw(&mut con, key);
    let got: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), hex(v)))
        .collect();
    let want = vec![
        (
            "job_id",
            format!("d920{}", hex(b"0123456789abcdef0123456789abcdef")),
        ),
        ("project_key", format!("aa{}", hex(b"team:ops-1"))),
        ("status", "a770656e64696e67".to_string()),
        ("priority", format!("a4{}", hex(b"high"))),
        ("message_text", format!("a5{}", hex(b"hello"))),
        ("created_at", "cb41da556e40200000".to_string()),
    ];
    let want: Vec<(String, String)> = want.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
    assert_eq!(
        got, want,
        "hash fields in declaration order, msgpack bytes as popoto"
    );
    assert_eq!(smembers(&mut con, "$Class:RedisJob"), [key]);
    assert_eq!(smembers(&mut con, "$KeyF:RedisJob:status:pending"), [key]);
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:project_key:team{&#58;}ops/-1"),
        [key]
    );
    let score: f64 = redis::cmd("ZSCORE")
        .arg("$SortF:RedisJob:created_at")
        .arg(key)
        .query(&mut con)
        .expect("zscore");
    assert_eq!(score, 1767225600.5);
    // Nothing else but jobq's own audit stream.
    let all = keys(&mut con);
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.contains(&"jobq:audit".to_string()));
    let audit: redis::Value = redis::cmd("XRANGE")
        .arg("jobq:audit")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .expect("xrange");
    let text = format!("{audit:?}");
    assert!(
        text.contains("create") && text.contains("0123456789abcdef0123456789abcdef"),
        "{text}"
    );
}

#[test]
fn defaults_generate_id_and_time() {
    let r = Redis::start();
    let run = r.jobq(&["enqueue", "--project", "p"]);
    run.expect_code(0);
    let id = run.stdout().trim().to_string();
    assert_eq!(id.len(), 32, "{}", run.explain());
    assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    let mut con = r.con();
    let key = format!("RedisJob:{id}:p:pending");
    let f = hgetall_raw(&mut con, &key);
    let map: std::collections::HashMap<String, Vec<u8>> = f
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
        .collect();
    assert_eq!(map["priority"], b"\xa6normal");
    assert_eq!(
        map["message_text"], b"\xc0",
        "None is stored as msgpack nil"
    );
    assert_eq!(map["created_at"][0], 0xcb, "created_at is a float64");
}

#[test]
fn idempotency_key_creates_once() {
    let r = Redis::start();
    let a = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--idempotency-key",
        "ci-42",
    ]);
    a.expect_code(0);
    let b = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--idempotency-key",
        "ci-42",
    ]);
    b.expect_code(0);
    let (a, b) = (a.json(), b.json());
    assert_eq!(a["jobs"][0]["created"], true);
    assert_eq!(b["jobs"][0]["created"], false);
    assert_eq!(b["existing"], 1);
    assert_eq!(a["jobs"][0]["job_id"], b["jobs"][0]["job_id"]);
    let mut con = r.con();
    assert_eq!(smembers(&mut con, "$Class:RedisJob").len(), 1);
    let ttl: i64 = redis::cmd("TTL")
        .arg("jobq:idem:RedisJob:ci-42")
        .query(&mut con)
        .expect("ttl");
    assert!(ttl > 86_000 && ttl <= 86_400, "ttl {ttl}");
}

#[test]
fn explicit_job_id_is_never_created_twice() {
    let r = Redis::start();
    let id = "feedfacefeedfacefeedfacefeedface";
    r.jobq(&["enqueue", "--project", "p", "--job-id", id])
        .expect_code(0);
    // Same id, another status: refused, nothing written.
    let again = r.jobq(&[
        "--json",
        "enqueue",
        "--project",
        "p",
        "--job-id",
        id,
        "--status",
        "running",
    ]);
    again.expect_code(4);
    assert_eq!(again.json()["conflicts"], 1);
    let mut con = r.con();
    assert_eq!(smembers(&mut con, "$Class:RedisJob").len(), 1);
    assert!(smembers(&mut con, "$KeyF:RedisJob:status:running").is_empty());
}

#[test]
fn bulk_file_with_idempotency_runs_twice_creating_once() {
    let r = Redis::start();
    let mut text = String::new();
    for i in 0..250 {
        text.push_str(&format!(
            "{{\"project_key\":\"proj{}\",\"message_text\":\"m{i}\",\"priority\":\"low\",\"created_at\":{i}.5,\"idempotency_key\":\"line-{i}\"}}\n",
            i % 3
        ));
    }
    let f = write_file(r.dir.path(), "jobs.jsonl", &text);
    let f = f.to_str().expect("path");
    let first = r.jobq(&["--json", "enqueue", "--file", f, "--batch", "64"]);
    first.expect_code(0);
    assert_eq!(first.json()["created"], 250);
    let second = r.jobq(&["--json", "enqueue", "--file", f]);
    second.expect_code(0);
    let j = second.json();
    assert_eq!(j["created"], 0);
    assert_eq!(j["existing"], 250);
    assert_eq!(j["jobs"][7]["line"], 8);
    let mut con = r.con();
    assert_eq!(smembers(&mut con, "$Class:RedisJob").len(), 250);
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:project_key:proj1").len(),
        83
    );
}

#[test]
fn bulk_file_from_stdin_prints_ids() {
    let r = Redis::start();
    let run = r.jobq_stdin(
        &["enqueue", "--file", "-"],
        b"{\"project_key\":\"a\"}\n\n{\"project_key\":\"b\",\"status\":\"running\"}\n",
    );
    run.expect_code(0);
    assert_eq!(run.stdout().lines().count(), 2, "{}", run.explain());
    let mut con = r.con();
    assert_eq!(smembers(&mut con, "$KeyF:RedisJob:status:running").len(), 1);
}

#[test]
fn a_bad_line_writes_nothing_and_names_the_line() {
    let r = Redis::start();
    let cases = [
        (
            "{\"project_key\":\"p\",\"nope\":1}",
            "unknown field \"nope\"",
        ),
        (
            "{\"project_key\":\"p\",\"created_at\":\"yesterday\"}",
            "created_at",
        ),
        (
            "{\"project_key\":\"p\",\"status\":\"lost\"}",
            "unknown status \"lost\"",
        ),
        ("{\"project_key\":\"p\"", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        ("{\"message_text\":\"no project\"}", "project_key"),
    ];
    for (bad, needle) in cases {
        let mut text = String::new();
        for i in 1..=5 {
            if i == 3 {
                text.push_str(bad);
            } else {
                text.push_str("{\"project_key\":\"p\"}");
            }
            text.push('\n');
        }
        let f = write_file(r.dir.path(), "bad.jsonl", &text);
        let run = r.jobq(&["enqueue", "--file", f.to_str().expect("path")]);
        run.expect_code(2);
        let err = run.stderr();
        assert!(
            err.contains("line 3") && err.contains(needle),
            "{needle}: {}",
            run.explain()
        );
        assert!(err.starts_with("jobq: error:"), "{}", run.explain());
        let mut con = r.con();
        assert!(
            keys(&mut con).is_empty(),
            "nothing may be written for {bad}"
        );
    }
}

#[test]
fn hundred_thousand_lines_and_a_bad_line_at_50000() {
    let r = Redis::start();
    let mut text = String::with_capacity(100_000 * 60);
    for i in 0..100_000 {
        text.push_str(&format!(
            "{{\"project_key\":\"p{}\",\"message_text\":\"job {i}\"}}\n",
            i % 10
        ));
    }
    let good = write_file(r.dir.path(), "good.jsonl", &text);
    let mut lines: Vec<&str> = text.lines().collect();
    lines[49_999] = "{\"project_key\":\"p\",\"priority\":7}";
    let bad = write_file(r.dir.path(), "bad.jsonl", &(lines.join("\n") + "\n"));

    let run = r.jobq(&["enqueue", "--file", bad.to_str().expect("path")]);
    run.expect_code(2);
    assert!(run.stderr().contains("line 50000"), "{}", run.explain());
    let mut con = r.con();
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(dbsize, 0);

    let run = r.jobq(&["-q", "enqueue", "--file", good.to_str().expect("path")]);
    run.expect_code(0);
    assert_eq!(run.stdout().lines().count(), 100_000);
    let n: i64 = redis::cmd("SCARD")
        .arg("$Class:RedisJob")
        .query(&mut con)
        .expect("scard");
    assert_eq!(n, 100_000);
    let n: i64 = redis::cmd("SCARD")
        .arg("$KeyF:RedisJob:status:pending")
        .query(&mut con)
        .expect("scard");
    assert_eq!(n, 100_000);
    let n: i64 = redis::cmd("ZCARD")
        .arg("$SortF:RedisJob:created_at")
        .query(&mut con)
        .expect("zcard");
    assert_eq!(n, 100_000);
}

#[test]
fn bad_flags_are_usage_errors() {
    let r = Redis::start();
    for (args, needle) in [
        (
            vec!["enqueue", "--project", "p", "--set", "bogus=1"],
            "unknown field \"bogus\"",
        ),
        (
            vec!["enqueue", "--project", "p", "--set", "created_at=soon"],
            "created_at",
        ),
        (
            vec!["enqueue", "--project", "p", "--set", "novalue"],
            "FIELD=VALUE",
        ),
        (
            vec!["enqueue", "--project", "p", "--status", "lost"],
            "unknown status",
        ),
        (
            vec!["enqueue", "--project", "p", "--priority", "urgent"],
            "--priority",
        ),
        (
            vec!["enqueue", "--project", "p", "--job-id", ""],
            "must not be empty",
        ),
    ] {
        let run = r.jobq(&args);
        run.expect_code(2);
        assert!(run.stderr().contains(needle), "{needle}: {}", run.explain());
    }
    let mut con = r.con();
    assert!(keys(&mut con).is_empty());
}

#[test]
fn wrong_type_target_writes_nothing() {
    let r = Redis::start();
    let mut con = r.con();
    let _: () = redis::cmd("SET")
        .arg("$KeyF:RedisJob:status:pending")
        .arg("oops")
        .query(&mut con)
        .expect("set");
    let run = r.jobq(&["enqueue", "--project", "p"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("wrong type") || run.stderr().contains("is a string"),
        "{}",
        run.explain()
    );
    assert_eq!(keys(&mut con), ["$KeyF:RedisJob:status:pending"]);
}

#[test]
fn unreachable_redis_is_exit_3() {
    let port = free_port();
    let run = run_jobq(
        &[
            "--url".into(),
            format!("redis://app:hunter2pw@127.0.0.1:{port}/0"),
            "enqueue".into(),
            "--project".into(),
            "p".into(),
        ],
        None,
        std::path::PathBuf::new(),
    );
    run.expect_code(3);
    let err = run.stderr();
    assert!(
        err.starts_with("jobq: error:") && err.contains("cannot connect"),
        "{}",
        run.explain()
    );
    assert!(
        !err.contains("hunter2pw") && err.contains("app:***@"),
        "{}",
        run.explain()
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn wrong_password_is_exit_3_and_never_printed() {
    let r = Redis::start_tcp(&["--requirepass", "rightpass"]);
    let run = run_jobq(
        &[
            "--url".into(),
            r.tcp_url(":wrongpass1@"),
            "enqueue".into(),
            "--project".into(),
            "p".into(),
        ],
        None,
        r.log_path(),
    );
    run.expect_code(3);
    assert!(!run.stderr().contains("wrongpass1"), "{}", run.explain());
    assert!(
        run.stderr().contains("authentication failed"),
        "{}",
        run.explain()
    );
    // The right password works, through the URL.
    let ok = run_jobq(
        &[
            "--url".into(),
            r.tcp_url(":rightpass@"),
            "enqueue".into(),
            "--project".into(),
            "p".into(),
        ],
        None,
        r.log_path(),
    );
    ok.expect_code(0);
    // An ACL user without write permission: refused, exit 3.
    let mut con = r.con();
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "reader",
                "on",
                ">readerpw",
                "~*",
                "+@read",
                "+@connection",
                "+info",
                "+time",
                "+role",
            ][..],
        )
        .query(&mut con)
        .expect("acl");
    let ro = run_jobq(
        &[
            "--url".into(),
            r.tcp_url("reader:readerpw@"),
            "enqueue".into(),
            "--project".into(),
            "q".into(),
        ],
        None,
        r.log_path(),
    );
    ro.expect_code(3);
    assert!(!ro.stderr().contains("readerpw"), "{}", ro.explain());
    assert_eq!(smembers(&mut con, "$KeyF:RedisJob:project_key:q").len(), 0);
}

#[test]
fn read_only_replica_is_refused() {
    let primary = Redis::start_tcp(&[]);
    let port = primary.port.expect("port").to_string();
    let replica = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    let run = replica.jobq(&["enqueue", "--project", "p"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("read-only replica"),
        "{}",
        run.explain()
    );
    let mut con = primary.con();
    assert!(keys(&mut con).is_empty());
}

#[test]
fn connection_is_named() {
    let r = Redis::start();
    // A slow response: jobq holds its connection while the check runs.
    let mut con = r.con();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg("0")
        .query(&mut con)
        .expect("config");
    r.jobq(&["enqueue", "--project", "p"]).expect_code(0);
    let log: redis::Value = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg("100")
        .query(&mut con)
        .expect("slowlog");
    assert!(
        format!("{log:?}").contains("jobq"),
        "SLOWLOG entries carry the client name: {log:?}"
    );
}

#[test]
fn other_schema_from_toml() {
    let r = Redis::start();
    let schema = write_file(
        r.dir.path(),
        "task.toml",
        &task_schema(
            "",
            r#"
[[field]]
name = "attempts"
type = "int"
default = 0
[[field]]
name = "urgent"
type = "bool"
"#,
        ),
    );
    let run = r.jobq(&[
        "--schema",
        schema.to_str().expect("path"),
        "--json",
        "enqueue",
        "--set",
        "queue=emails",
        "--set",
        "urgent=true",
        "--job-id",
        "t1",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["jobs"][0]["key"], "Task:emails:queued:t1");
    let mut con = r.con();
    assert_eq!(
        smembers(&mut con, "$KeyF:Task:state:queued"),
        ["Task:emails:queued:t1"]
    );
    assert_eq!(
        smembers(&mut con, "$KeyF:Task:queue:emails"),
        ["Task:emails:queued:t1"]
    );
    let f = hgetall_raw(&mut con, "Task:emails:queued:t1");
    let names: Vec<String> = f
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "task_id",
            "queue",
            "state",
            "attempts",
            "urgent",
            "enqueued_at"
        ]
    );
    assert_eq!(f[3].1, b"\x00");
    assert_eq!(f[4].1, b"\xc3");
    // --project means nothing for this model.
    let run = r.jobq(&[
        "--schema",
        schema.to_str().expect("path"),
        "enqueue",
        "--project",
        "x",
    ]);
    run.expect_code(2);
    assert!(run.stderr().contains("project_key"), "{}", run.explain());
    // A broken schema file is a usage error.
    let bad = write_file(r.dir.path(), "bad.toml", "class = \"T\"\n");
    r.jobq(&["--schema", bad.to_str().expect("path"), "enqueue"])
        .expect_code(2);
}
