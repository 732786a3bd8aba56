//! Tests of `record`: rendering, refusals, and the packed fast path against `new_record`, byte for byte.

use super::*;

#[test]
fn record_in_declaration_order_with_defaults() {
    let m = Model::redis_job();
    let mut given = BTreeMap::new();
    given.insert("project_key".to_string(), Value::Str("projA".into()));
    given.insert("status".to_string(), Value::Str("pending".into()));
    let r = m.new_record(given, 1767225600.5).expect("valid");
    let names: Vec<_> = r.hash_pairs().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        names,
        [
            "job_id",
            "project_key",
            "status",
            "priority",
            "message_text",
            "created_at"
        ]
    );
    assert_eq!(r.get("priority"), Some(&Value::Str("normal".into())));
    assert_eq!(r.get("message_text"), Some(&Value::Nil));
    assert_eq!(r.get("created_at"), Some(&Value::Float(1767225600.5)));
    let id = r.job_id(&m);
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(
        r.key(&m),
        format!("RedisJob:{id}:projA:pending").into_bytes()
    );
    assert_eq!(
        r.index_sets(&m),
        vec![
            b"$KeyF:RedisJob:project_key:projA".to_vec(),
            b"$KeyF:RedisJob:status:pending".to_vec()
        ]
    );
    assert_eq!(
        r.sorted_entries(&m),
        vec![(b"$SortF:RedisJob:created_at".to_vec(), 1767225600.5)]
    );
}

/// A draft renders to the bytes new_record gives for the same values.
#[test]
fn drafts_render_as_new_record() {
    let task = Model::from_toml(
        r#"
class = "Task"
[[field]]
name = "task_id"
role = "auto"
[[field]]
name = "queue"
role = "key"
[[field]]
name = "state"
role = "key"
default = "queued"
[[field]]
name = "attempts"
type = "int"
default = 3
sorted = true
[[field]]
name = "due"
type = "datetime"
default_now = true
[[field]]
name = "enqueued_at"
type = "float"
sorted = true
default_now = true
[status]
field = "state"
values = ["queued", "active", "done", "error"]
pending = "queued"
running = "active"
completed = "done"
failed = "error"
"#,
    )
    .expect("schema");
    let s = |v: &str| Value::Str(v.to_owned());
    let cases: Vec<(&Model, Vec<(&str, Value)>)> = vec![
        (&task, vec![("queue", s("team:ops-1"))]),
        (&task, vec![("queue", Value::Nil), ("state", s("active"))]),
        (
            &task,
            vec![
                ("task_id", s("a*b?c{&#58;}/x")),
                ("queue", s("2026-01-01")),
                ("attempts", Value::Int(-7)),
                ("enqueued_at", Value::Nil),
            ],
        ),
    ];
    let rj = Model::redis_job();
    let mut rj_cases = vec![
        vec![("project_key", s("projA")), ("status", s("pending"))],
        vec![
            ("project_key", s("p")),
            ("status", s("running")),
            ("priority", s("high")),
            ("message_text", s(&"m".repeat(300))),
            ("created_at", Value::Float(1767225600.25)),
        ],
        vec![
            ("job_id", s("0123456789abcdef0123456789abcdef")),
            ("project_key", s("a:b")),
            ("status", s("pending")),
            ("created_at", Value::Int(5)),
        ],
    ];
    let mut all = cases;
    for c in rj_cases.drain(..) {
        all.push((&rj, c));
    }
    for (m, given) in all {
        let mut g = Given::new(m);
        for (k, v) in given {
            assert!(g.set(m, k, v));
        }
        let given = g.to_map(m);
        let mut drafts = Drafts::default();
        m.add_draft(&g, &mut drafts).expect("valid");
        m.add_draft(&g, &mut drafts).expect("valid");
        let now = 1767225600.5;
        let filler = m.filler(now);
        let got = m.render(&drafts, 1, &filler);
        // The same id, so that whole records compare.
        let mut with_id = given.clone();
        let auto = m.auto_field().name.clone();
        with_id
            .entry(auto)
            .or_insert_with(|| Value::Str(got.job_id.clone()));
        let want = m.new_record(with_id, now).expect("valid");
        assert_eq!(got.key, want.key(m), "{given:?}");
        assert_eq!(got.job_id, want.job_id(m));
        let values: Vec<Vec<u8>> = want.hash_pairs().into_iter().map(|(_, v)| v).collect();
        assert_eq!(got.values, values, "{given:?}");
        assert_eq!(got.index_sets, want.index_sets(m), "{given:?}");
        let zsets: Vec<Vec<u8>> = m.sorted_fields().map(|f| m.sorted_key(&f.name)).collect();
        let scores: Vec<(Vec<u8>, f64)> = got
            .scores
            .iter()
            .map(|(z, s)| (zsets[*z].clone(), *s))
            .collect();
        assert_eq!(scores, want.sorted_entries(m), "{given:?}");
        assert_eq!(got.explicit_id, given.contains_key(&m.auto_field().name));
        if !got.explicit_id {
            assert_eq!(got.job_id.len(), 32);
            assert_ne!(got.job_id, m.render(&drafts, 0, &filler).job_id);
        }
    }
    // What new_record refuses, add_draft refuses with the same words.
    for given in [
        vec![("queue", s("q")), ("state", s("lost"))],
        vec![("queue", Value::Int(1))],
        vec![("queue", s("q")), ("state", Value::Nil)],
        vec![("queue", s("q")), ("task_id", s(""))],
    ] {
        let mut g = Given::new(&task);
        for (k, v) in given {
            assert!(g.set(&task, k, v));
        }
        let mut drafts = Drafts::default();
        let a = format!("{:#}", task.add_draft(&g, &mut drafts).unwrap_err());
        let b = format!("{:#}", task.new_record(g.to_map(&task), 0.0).unwrap_err());
        assert_eq!(a, b);
        assert!(drafts.is_empty());
    }
}

#[test]
fn bad_records() {
    let m = Model::redis_job();
    let mut g = BTreeMap::new();
    g.insert("nope".to_string(), Value::Nil);
    assert!(format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown field \"nope\""));
    let mut g = BTreeMap::new();
    g.insert("status".to_string(), Value::Str("lost".into()));
    assert!(format!("{:#}", m.new_record(g, 0.0).unwrap_err()).contains("unknown status \"lost\""));
}

/// The indexed layout: the record's bytes are popoto 1.10.1's (read back
/// raw after `Job.create(job_id="a"*32, project_key="team:ops-1",
/// status="pending", created_at=1767225600.5)`), its `$IndexF` set and
/// `$IdxPtr` pointer too, and a draft renders the same.
#[test]
fn indexed_records_are_popotos() {
    let m = Model::from_toml(crate::schema::model::tests::INDEXED_SCHEMA).expect("schema");
    let id = "a".repeat(32);
    let mut given = BTreeMap::new();
    given.insert("job_id".to_owned(), Value::Str(id.clone()));
    given.insert("project_key".to_owned(), Value::Str("team:ops-1".into()));
    given.insert("status".to_owned(), Value::Str("pending".into()));
    given.insert("created_at".to_owned(), Value::Float(1767225600.5));
    let r = m.new_record(given.clone(), 0.0).expect("valid");
    let k = format!("Job:{id}:team{{&#58;}}ops/-1").into_bytes();
    assert_eq!(r.key(&m), k);
    let pairs = r.hash_pairs();
    let in_popotos_order: Vec<(&str, &[u8])> = m
        .hset_order()
        .into_iter()
        .map(|i| (pairs[i].0, pairs[i].1.as_slice()))
        .collect();
    let mut id_bytes = vec![0xd9, 0x20];
    id_bytes.extend_from_slice(id.as_bytes());
    assert_eq!(
        in_popotos_order,
        vec![
            ("status", &b"\xa7pending"[..]),
            ("job_id", &id_bytes[..]),
            ("project_key", &b"\xaateam:ops-1"[..]),
            ("priority", &b"\xa6normal"[..]),
            ("created_at", &b"\xcbA\xdaUn@ \x00\x00"[..]),
        ]
    );
    assert_eq!(
        r.index_sets(&m),
        vec![b"$KeyF:Job:project_key:team{&#58;}ops/-1".to_vec()]
    );
    let mut pointer = b"$IdxPtr:".to_vec();
    pointer.extend_from_slice(&k);
    pointer.extend_from_slice(b":status");
    let want = vec![IndexfEntry {
        set: b"$IndexF:Job:status:pending".to_vec(),
        pointer,
    }];
    assert_eq!(r.indexf_entries(&m), want);

    let mut g = Given::new(&m);
    for (name, v) in given {
        assert!(g.set(&m, &name, v));
    }
    let mut drafts = Drafts::default();
    m.add_draft(&g, &mut drafts).expect("valid");
    let got = m.render(&drafts, 0, &m.filler(0.0));
    assert_eq!(got.key, k);
    assert_eq!(got.indexf, want);
    assert_eq!(got.index_sets, r.index_sets(&m));
    let values: Vec<Vec<u8>> = pairs.into_iter().map(|(_, v)| v).collect();
    assert_eq!(got.values, values);
}
