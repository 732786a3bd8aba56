//! The move itself: popoto-exact and audited, and a stale plan that
//! touches nothing.

use super::*;

#[test]
fn the_move_is_popoto_exact_and_audited() {
    let r = Redis::start();
    let mut con = r.con();
    let old = popoto_create(&mut con, &id(7), "team:ops-1", "running", 1767225600.5);
    let before = hgetall_raw(&mut con, &old);
    let run = r.jobq(&["--json", "reap", "--all", "--yes"]);
    run.expect_code(0);
    let new = format!("RedisJob:{}:team{{&#58;}}ops/-1:pending", id(7));
    let j = json_of(&run);
    assert_eq!(j["moved"][0]["old_key"], old);
    assert_eq!(j["moved"][0]["new_key"], new);
    assert_eq!(j["moved"][0]["attempts"], 1);
    assert_eq!(j["lock"]["status"], "acquired");

    // The record: every field in its order, status and priority rewritten.
    let want: Vec<(Vec<u8>, Vec<u8>)> = before
        .iter()
        .map(|(f, v)| match f.as_slice() {
            b"status" => (f.clone(), b"\xa7pending".to_vec()),
            b"priority" => (f.clone(), b"\xa4high".to_vec()),
            _ => (f.clone(), v.clone()),
        })
        .collect();
    assert_eq!(hgetall_raw(&mut con, &new), want);
    assert!(!exists(&mut con, &old));
    assert_eq!(smembers(&mut con, CLASS), [new.as_str()]);
    assert_eq!(smembers(&mut con, PENDING), [new.as_str()]);
    assert_eq!(
        smembers(&mut con, "$KeyF:RedisJob:project_key:team{&#58;}ops/-1"),
        [new.as_str()]
    );
    assert!(!exists(&mut con, RUNNING));
    let z: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(ZSET)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .expect("ZRANGE");
    assert_eq!(z, [(new.clone(), 1767225600.5)]);
    assert_eq!(hget(&mut con, ATTEMPTS, &id(7)), Some(b"1".to_vec()));

    // The audit entry: what, why, and the old hash's raw fields.
    let entries = audit(&mut con);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["command"], b"reap");
    assert_eq!(e["action"], b"reap_requeue");
    assert_eq!(e["job"], id(7).as_bytes());
    assert_eq!(e["key"], old.as_bytes());
    assert_eq!(e["new_key"], new.as_bytes());
    for (f, v) in &before {
        assert_eq!(&e[&format!("before.{}", String::from_utf8_lossy(f))], v);
    }
    // A second run finds nothing.
    let again = r.jobq(&["--json", "reap", "--all", "--yes"]);
    again.expect_code(0);
    assert_eq!(json_of(&again)["counts"]["running"], 0);
}

/// A plan made from a read, then the state changes before the move is
/// applied: the move reports `skipped` with the reason, and writes nothing.
#[test]
fn a_stale_plan_is_skipped_and_touches_nothing() {
    use jobq::diagnose::stale::{judge_running, Basis, ReapPolicy, Seen, Staleness};
    use jobq::plan::reap::plan_move;
    use jobq::store::moves::{MoveOutcome, SkipReason};

    let r = Redis::start();
    let model = jobq::schema::Model::redis_job();
    let ns = jobq::schema::Namespace::new("jobq");
    let args = match <jobq::cli::Cli as clap::Parser>::try_parse_from([
        "jobq",
        "reap",
        "--all",
        "--yes",
        "--heartbeat-key",
        "hb:{project_key}",
    ])
    .expect("args")
    .command
    {
        jobq::cli::Command::Reap(a) => a,
        _ => unreachable!(),
    };
    let policy = ReapPolicy::new(&model, &args).expect("policy");
    let audit_header = jobq::store::audit::Audit::new(ns.audit(), "reap");
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

    type Change = fn(&mut redis::Connection, &str, &str);
    let cases: Vec<(&str, Change, MoveOutcome)> = vec![
        (
            "a worker completed it",
            |c, k, _| assert!(popoto_move(c, k, "completed", true)),
            MoveOutcome::Skipped(SkipReason::Gone),
        ),
        (
            "its status field now says completed",
            |c, k, _| {
                let _: () = redis::cmd("HSET")
                    .arg(k)
                    .arg("status")
                    .arg(b"\xa9completed".as_slice())
                    .query(c)
                    .expect("HSET");
            },
            MoveOutcome::Skipped(SkipReason::FieldChanged),
        ),
        (
            "it left the running index",
            |c, k, _| {
                let _: () = redis::cmd("SREM")
                    .arg(RUNNING)
                    .arg(k)
                    .query(c)
                    .expect("SREM");
            },
            MoveOutcome::Skipped(SkipReason::NotInSet),
        ),
        (
            "a pending record exists for it",
            |c, _, id| {
                popoto_create(c, id, "p", "pending", 5.0);
            },
            MoveOutcome::Skipped(SkipReason::TargetExists),
        ),
        (
            "a completed record of the same job appeared (a duplicate)",
            |c, _, id| {
                popoto_create(c, id, "p", "completed", 5.0);
            },
            MoveOutcome::Skipped(SkipReason::KeyExists),
        ),
        (
            "its worker's heartbeat is back",
            |c, _, _| {
                let _: () = redis::cmd("SET")
                    .arg("hb:p")
                    .arg("1")
                    .query(c)
                    .expect("SET");
            },
            MoveOutcome::Skipped(SkipReason::KeyExists),
        ),
        (
            "another reaper reaped it meanwhile",
            |c, _, id| {
                let _: () = redis::cmd("HINCRBY")
                    .arg(ATTEMPTS)
                    .arg(id)
                    .arg(1)
                    .query(c)
                    .expect("HINCRBY");
            },
            MoveOutcome::Skipped(SkipReason::CounterChanged),
        ),
        (
            "the pending index is not a set",
            |c, _, _| {
                let _: () = redis::cmd("SET")
                    .arg(PENDING)
                    .arg("oops")
                    .query(c)
                    .expect("SET");
            },
            MoveOutcome::WrongType(PENDING.as_bytes().to_vec()),
        ),
        (
            "nothing changed",
            |_, _, _| {},
            MoveOutcome::Moved { count: 1 },
        ),
    ];
    for (what, change, want) in cases {
        let mut con = r.con();
        let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("FLUSHALL");
        let job = id(42);
        let key = popoto_create(&mut con, &job, "p", "running", 5.0);
        // Plan from what is read now.
        let read: Vec<Option<Vec<u8>>> = {
            let mut c = redis::cmd("HMGET");
            c.arg(&key);
            for f in &policy.read_fields {
                c.arg(f);
            }
            c.query(&mut con).expect("HMGET")
        };
        let Seen::Running(running) = judge_running(&model, &policy, key.as_bytes(), &Ok(read))
        else {
            panic!("{what}: not classified as running");
        };
        let st = Staleness {
            basis: Basis::All,
            age: None,
        };
        let plan = plan_move(&model, &ns, &policy, &audit_header, &running, 0, &st);
        // The state changes; then the stale plan is applied.
        change(&mut con, &key, &job);
        let before = dump(&mut con);
        let got = rt
            .block_on(store.move_records(std::slice::from_ref(&plan.record)))
            .expect("round trip");
        assert_eq!(got, vec![want.clone()], "{what}");
        if matches!(want, MoveOutcome::Moved { .. }) {
            assert!(
                exists(&mut con, &format!("RedisJob:{job}:p:pending")),
                "{what}"
            );
            assert_eq!(audit(&mut con).len(), 1, "{what}");
        } else {
            assert_eq!(
                dump(&mut con),
                before,
                "{what}: the skipped move wrote something"
            );
        }
    }
}
