//! The scan engine's walks against a real redis-server: the joint walk of
//! the class set with indexes of very different table sizes, cut into many
//! pages; cursor walks of a set that is rehashed between pages; and the
//! two walks that find job_ids held twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::*;
use jobq::schema::Model;
use jobq::settings::{ConnectSettings, TlsSettings};
use jobq::store::{Collection, Store};
use serde_json::Value as J;

const PENDING: &str = "$KeyF:RedisJob:status:pending";
const RUNNING: &str = "$KeyF:RedisJob:status:running";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

async fn store(r: &Redis) -> Store {
    let url = r.url();
    let cfg = ConnectSettings {
        display_url: url.clone(),
        url,
        secret: None,
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(10),
        tls: TlsSettings::default(),
    };
    Store::connect(&cfg).await.expect("connect")
}

/// The findings of a scan, kind by kind, each key as often as reported.
fn findings(j: &J) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in j["findings"].as_array().expect("findings") {
        out.entry(f["kind"].as_str().expect("kind").to_owned())
            .or_default()
            .push(f["key"].as_str().expect("a UTF-8 key").to_owned());
    }
    for keys in out.values_mut() {
        keys.sort();
    }
    out
}

#[test]
fn the_joint_walk_finds_each_damaged_member_once_whatever_the_pages() {
    let r = Redis::start();
    let mut con = r.con();
    let keys = seed_fast(&mut con, 2000, "projA");
    // A running index of 40: a table far smaller than the class set's,
    // yet over 1/64 of it, so it is walked jointly with it.
    let running: Vec<String> = keys[..40]
        .iter()
        .map(|k| popoto_move(&mut con, k, "running").expect("move"))
        .collect();
    let mut orphans: Vec<String> = keys[500..505].to_vec();
    orphans.extend(running[..2].iter().cloned());
    for k in &orphans {
        let index = if k.ends_with(":running") {
            RUNNING
        } else {
            PENDING
        };
        cmd(&mut con, &[b"SREM", index.as_bytes(), k.as_bytes()]);
    }
    let ghosts: Vec<String> = (0..3)
        .map(|i| format!("RedisJob:{}:projA:pending", job_id(90_000 + i)))
        .collect();
    for g in &ghosts {
        cmd(&mut con, &[b"SADD", PENDING.as_bytes(), g.as_bytes()]);
    }
    orphans.sort();
    let mut ghosts_sorted = ghosts.clone();
    ghosts_sorted.sort();

    let mut seen = Vec::new();
    for batch in ["10", "1000"] {
        let run = r.jobq(&[
            "--json", "orphans", "scan", "--grace", "0", "--batch", batch,
        ]);
        run.expect_code(1);
        let j = run.json();
        assert_eq!(j["scanned"]["class_members"], 2000, "{}", run.explain());
        assert_eq!(j["total"], 10, "batch {batch}: {}", run.explain());
        let f = findings(&j);
        assert_eq!(f.get("orphan"), Some(&orphans), "batch {batch}: {f:?}");
        assert_eq!(
            f.get("dangling"),
            Some(&ghosts_sorted),
            "batch {batch}: {f:?}"
        );
        assert_eq!(f.len(), 2, "no other kind: {f:?}");
        seen.push(f);
    }
    assert_eq!(seen[0], seen[1], "the pages do not change the verdicts");
}

#[test]
fn a_set_walk_returns_every_member_that_stays_though_the_set_is_rehashed_between_pages() {
    let r = Redis::start();
    let mut con = r.con();
    let set = b"walk:set";
    let add = |con: &mut redis::Connection, range: std::ops::Range<usize>| {
        let mut pipe = redis::pipe();
        for i in range {
            pipe.cmd("SADD").arg(&set[..]).arg(format!("m{i}")).ignore();
        }
        let _: () = pipe.query(con).expect("SADD");
    };
    add(&mut con, 0..1000);
    let (returned, pages) = block_on(async {
        let mut s = store(&r).await;
        let mut returned: Vec<Vec<u8>> = Vec::new();
        let mut cursor = 0;
        let mut pages = 0;
        loop {
            let page = s.sscan(set, cursor, 10).await.expect("SSCAN");
            assert!(page.wrong_type.is_none());
            returned.extend(page.items);
            pages += 1;
            match pages {
                // Grow the table sixteenfold mid-walk, and drop members
                // the walk may or may not have returned yet.
                3 => {
                    add(&mut con, 1000..17_000);
                    let mut pipe = redis::pipe();
                    for i in 0..100 {
                        pipe.cmd("SREM").arg(&set[..]).arg(format!("m{i}")).ignore();
                    }
                    let _: () = pipe.query(&mut con).expect("SREM");
                }
                // Then shrink it back.
                40 => {
                    let mut pipe = redis::pipe();
                    for i in 1000..17_000 {
                        pipe.cmd("SREM").arg(&set[..]).arg(format!("m{i}")).ignore();
                    }
                    let _: () = pipe.query(&mut con).expect("SREM");
                }
                _ => {}
            }
            if page.cursor == 0 {
                break;
            }
            cursor = page.cursor;
        }
        (returned, pages)
    });
    assert!(pages > 40, "the walk took {pages} pages");
    let got: BTreeSet<&[u8]> = returned.iter().map(Vec::as_slice).collect();
    let missing: Vec<usize> = (100..1000)
        .filter(|i| !got.contains(format!("m{i}").as_bytes()))
        .collect();
    assert!(
        missing.is_empty(),
        "members there all along, not returned: {missing:?}"
    );
    for m in &got {
        let n: usize = std::str::from_utf8(&m[1..]).unwrap().parse().unwrap();
        assert!(n < 17_000, "never a member: {m:?}");
    }
}

#[test]
fn a_read_ahead_walk_of_a_settled_set_returns_each_member_once() {
    let r = Redis::start();
    let mut con = r.con();
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SADD")
            .arg("walk:settled")
            .arg(format!("m{i}"))
            .ignore();
        pipe.cmd("ZADD")
            .arg("walk:zset")
            .arg(i)
            .arg(format!("m{i}"))
            .ignore();
    }
    let _: () = pipe.query(&mut con).expect("seed");
    // Let the server finish any rehash of the grown tables, so that no
    // member is returned twice.
    std::thread::sleep(Duration::from_millis(500));
    let want: Vec<Vec<u8>> = {
        let mut w: Vec<Vec<u8>> = (0..5000).map(|i| format!("m{i}").into_bytes()).collect();
        w.sort();
        w
    };
    for (key, kind) in [
        (&b"walk:settled"[..], Collection::Set),
        (&b"walk:zset"[..], Collection::Zset),
    ] {
        let (mut got, pages) = block_on(async {
            let s = store(&r).await;
            let mut walk = s.pages_ahead(key, kind, 7, 4);
            let mut got = Vec::new();
            let mut pages = 0;
            let mut last = None;
            while let Some(page) = walk.next().await {
                let page = page.expect("a page");
                assert!(page.wrong_type.is_none());
                got.extend(page.items);
                last = Some(page.cursor);
                pages += 1;
            }
            assert_eq!(last, Some(0), "the walk ends at cursor 0");
            (got, pages)
        });
        assert!(pages > 100, "{pages} pages");
        got.sort();
        let n = got.len();
        got.dedup();
        assert_eq!(n, got.len(), "{kind:?}: no member twice");
        assert_eq!(got, want, "{kind:?}: every member");
    }
}

#[test]
fn a_read_ahead_walk_of_a_key_of_another_type_says_so() {
    let r = Redis::start();
    let mut con = r.con();
    cmd(&mut con, &[b"SET", b"walk:string", b"x"]);
    let pages = block_on(async {
        let s = store(&r).await;
        let mut walk = s.pages_ahead(b"walk:string", Collection::Set, 10, 2);
        let mut pages = Vec::new();
        while let Some(p) = walk.next().await {
            pages.push(p.expect("a page"));
        }
        pages
    });
    assert_eq!(pages.len(), 1, "one page, then the walk stops");
    assert!(pages[0].items.is_empty());
    let why = pages[0].wrong_type.as_deref().expect("wrong type");
    assert!(why.contains("WRONGTYPE"), "{why}");
}

#[test]
fn job_ids_held_twice_are_found_across_pages_and_projects() {
    let r = Redis::start();
    let mut con = r.con();
    // 2500 ids: the class set takes three pages of the walk.
    let a = seed_fast(&mut con, 2500, "projA");
    let b = seed_fast(&mut con, 3, "projB");
    let mut want: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for i in 0..3 {
        let mut keys = vec![a[i].clone().into_bytes(), b[i].clone().into_bytes()];
        keys.sort();
        want.insert(job_id(i + 1).into_bytes(), keys);
    }
    let groups = block_on(async {
        let s = store(&r).await;
        jobq::scan::held_twice(&s, &Model::redis_job())
            .await
            .expect("held_twice")
    });
    let got: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = groups
        .into_iter()
        .map(|(id, mut keys)| {
            keys.sort();
            (id, keys)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn job_ids_held_twice_fail_on_a_class_set_of_another_type() {
    let r = Redis::start();
    let mut con = r.con();
    cmd(&mut con, &[b"SET", b"$Class:RedisJob", b"x"]);
    let err = block_on(async {
        let s = store(&r).await;
        jobq::scan::held_twice(&s, &Model::redis_job())
            .await
            .expect_err("a string is no class set")
    });
    let msg = format!("{err:#}");
    assert!(msg.contains("$Class:RedisJob"), "{msg}");
    assert!(msg.contains("WRONGTYPE"), "{msg}");
}
