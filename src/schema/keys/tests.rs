//! Tests of `keys`: building and parsing keys of both status layouts, templates, jobq's own keys.
use super::*;

fn m() -> Model {
    Model::redis_job()
}

fn s(b: Vec<u8>) -> String {
    String::from_utf8(b).expect("utf8")
}

#[test]
fn record_key_has_alphabetical_segments() {
    let k = m().record_key(|n| match n {
        "job_id" => Some("abc"),
        "project_key" => Some("team:ops-1"),
        "status" => Some("pending"),
        _ => None,
    });
    assert_eq!(s(k), "RedisJob:abc:team{&#58;}ops/-1:pending");
    let k = m().record_key(|n| if n == "job_id" { Some("x") } else { None });
    assert_eq!(s(k), "RedisJob:x:None:None");
}

#[test]
fn parse_round_trip() {
    let model = m();
    let key = b"RedisJob:abc:team{&#58;}ops/-1:pending";
    let p = model.parse_key(key).expect("parses");
    assert_eq!(p.get("project_key"), Some("team:ops-1"));
    assert_eq!(model.job_id(&p), "abc");
    assert_eq!(model.key_status(&p), "pending");
    assert_eq!(model.record_key(|n| p.get(n)), key.to_vec());
    assert_eq!(
        s(model.rekey(&p, "status", "running")),
        "RedisJob:abc:team{&#58;}ops/-1:running"
    );
}

#[test]
fn parse_errors() {
    let model = m();
    assert!(matches!(
        model.parse_key(b"Other:a:b:c"),
        Err(KeyError::Prefix(_))
    ));
    assert!(matches!(
        model.parse_key(b"RedisJob"),
        Err(KeyError::Prefix(_))
    ));
    assert_eq!(
        model.parse_key(b"RedisJob:a:b"),
        Err(KeyError::Segments { found: 2, want: 3 })
    );
    assert_eq!(model.parse_key(b"RedisJob:a:b\xff:c"), Err(KeyError::Utf8));
}

#[test]
fn job_id_bytes_of_any_key() {
    let model = m();
    assert_eq!(
        model.key_job_id_bytes(b"RedisJob:a/*b:p:pending"),
        Some(b"a*b".to_vec())
    );
    assert_eq!(
        model.key_job_id_bytes(b"RedisJob:\xff{&#58;}x:p\xfe:pending"),
        Some(b"\xff:x".to_vec())
    );
    assert_eq!(model.key_job_id_bytes(b"RedisJob:a:b"), None);
    assert_eq!(model.key_job_id_bytes(b"Other:a:b:c"), None);
}

#[test]
fn index_names() {
    let model = m();
    assert_eq!(s(model.class_set()), "$Class:RedisJob");
    assert_eq!(
        s(model.status_index("pending")),
        "$KeyF:RedisJob:status:pending"
    );
    assert_eq!(
        s(model.index_key("project_key", Some("2026-01-01"))),
        "$KeyF:RedisJob:project_key:2026/-01/-01"
    );
    assert_eq!(
        s(model.sorted_key("created_at")),
        "$SortF:RedisJob:created_at"
    );
    assert_eq!(
        model.index_value("status", b"$KeyF:RedisJob:status:a/-b"),
        Some(b"a-b".to_vec())
    );
    assert_eq!(
        model.index_value("status", b"$KeyF:RedisJob:project_key:x"),
        None
    );
}

#[test]
fn patterns_are_literal() {
    let model = m();
    assert_eq!(s(model.job_pattern(b"a*b")), "RedisJob:a/\\*b:*:*");
    assert_eq!(s(model.record_pattern()), "RedisJob:*");
    assert_eq!(s(model.index_pattern("status")), "$KeyF:RedisJob:status:*");
}

#[test]
fn heartbeat_templates() {
    let model = m();
    let t = model
        .key_template("worker:{project_key}:alive")
        .expect("valid");
    assert_eq!(t.fields().collect::<Vec<_>>(), ["project_key"]);
    let k = t.render(|f| {
        assert_eq!(f, "project_key");
        "team:ops-1".to_owned()
    });
    assert_eq!(s(k), "worker:team{&#58;}ops/-1:alive");
    let t = model
        .key_template("hb:{{{job_id}}}:{status}")
        .expect("valid");
    assert_eq!(s(t.render(|f| f.to_uppercase())), "hb:{JOB_ID}:STATUS");
    assert_eq!(
        s(model
            .key_template("plain")
            .expect("valid")
            .render(|_| String::new())),
        "plain"
    );
    assert_eq!(model.key_template(""), Err(TemplateError::Empty));
    assert_eq!(
        model.key_template("a:{job_id"),
        Err(TemplateError::Unclosed(2))
    );
    assert_eq!(model.key_template("a}"), Err(TemplateError::Unopened(1)));
    assert!(matches!(
        model.key_template("w:{worker}"),
        Err(TemplateError::UnknownField(f, _)) if f == "worker"
    ));
}

fn indexed() -> Model {
    Model::from_toml(crate::schema::model::tests::INDEXED_SCHEMA).expect("valid")
}

/// The bytes popoto 1.10.1 wrote for `Job.create(job_id="a"*32,
/// project_key="team:ops-1", status="pending")`, read back raw.
#[test]
fn indexed_layout_keys_are_popotos() {
    let model = indexed();
    let id = "a".repeat(32);
    let k = model.record_key(|n| match n {
        "job_id" => Some(id.as_str()),
        "project_key" => Some("team:ops-1"),
        // Not a key field: never asked for, never in the key.
        _ => Some("pending"),
    });
    let want_k = format!("Job:{id}:team{{&#58;}}ops/-1");
    assert_eq!(s(k.clone()), want_k);
    assert_eq!(
        s(model.status_index("pending")),
        "$IndexF:Job:status:pending"
    );
    assert_eq!(
        s(model.index_key("status", Some("a-b:c"))),
        "$IndexF:Job:status:a/-b{&#58;}c"
    );
    assert_eq!(
        s(model.index_key("status", None)),
        "$IndexF:Job:status:None"
    );
    assert_eq!(
        s(model.index_key("project_key", Some("p"))),
        "$KeyF:Job:project_key:p"
    );
    assert_eq!(
        s(model.index_pointer(&k, "status")),
        format!("$IdxPtr:{want_k}:status")
    );
    assert_eq!(
        model.legacy_pointer_key(&k, "status"),
        format!("{want_k}\x00idxptr\x00status").into_bytes()
    );
    assert_eq!(model.legacy_pointer_field("status"), b"status\x00idxset");
    assert_eq!(s(model.index_pattern("status")), "$IndexF:Job:status:*");
    assert_eq!(s(model.index_pointer_pattern()), "$IdxPtr:Job:*");
    assert_eq!(
        model.index_value("status", b"$IndexF:Job:status:a/-b"),
        Some(b"a-b".to_vec())
    );
    assert_eq!(model.index_value("status", b"$KeyF:Job:status:a"), None);
}

#[test]
fn indexed_layout_keys_parse_without_the_status() {
    let model = indexed();
    let p = model
        .parse_key(b"Job:abc:team{&#58;}ops/-1")
        .expect("parses");
    assert_eq!(model.job_id(&p), "abc");
    assert_eq!(p.get("project_key"), Some("team:ops-1"));
    assert_eq!(p.get("status"), None);
    // A status move keeps the key.
    assert_eq!(
        s(model.rekey(&p, "status", "running")),
        "Job:abc:team{&#58;}ops/-1"
    );
    assert_eq!(
        model.parse_key(b"Job:abc:p:pending"),
        Err(KeyError::Segments { found: 3, want: 2 })
    );
    assert_eq!(s(model.job_pattern(b"abc")), "Job:abc:*");
    // The 1.8.1-1.8.2 pointer has K's segments but is not a record.
    assert_eq!(
        model.parse_key(b"Job:abc:p\x00idxptr\x00status"),
        Err(KeyError::LegacyPointer)
    );
    assert_eq!(
        model.key_job_id_bytes(b"Job:abc:p\x00idxptr\x00status"),
        None
    );
    assert_eq!(model.key_job_id_bytes(b"Job:abc:p"), Some(b"abc".to_vec()));
    // ... unless the field is not an indexed one: then it is a record
    // key with an odd value, as before.
    assert!(model.parse_key(b"Job:abc:p\x00idxptr\x00priority").is_ok());
    assert!(m().parse_key(b"RedisJob:a:p\x00idxptr\x00status:s").is_ok());
}

#[test]
fn pointers_parse() {
    let model = indexed();
    let (k, f) = model
        .parse_index_pointer(b"$IdxPtr:Job:abc:te{&#58;}am:status")
        .expect("a pointer");
    assert_eq!(k, b"Job:abc:te{&#58;}am");
    assert_eq!(f.name, "status");
    assert!(model
        .parse_index_pointer(b"$IdxPtr:Job:abc:p:priority")
        .is_none());
    assert!(model
        .parse_index_pointer(b"$IdxPtr:Other:abc:p:status")
        .is_none());
    assert!(model.parse_index_pointer(b"$IndexF:Job:status:x").is_none());
    assert!(model.parse_index_pointer(b"$IdxPtr:Job").is_none());
    // A pointer's K is not checked to parse: a pointer may name a
    // malformed record and must still be recognised as a pointer.
    let (k, _) = model
        .parse_index_pointer(b"$IdxPtr:Job:only:status")
        .expect("a pointer");
    assert_eq!(k, b"Job:only");

    let (k, f) = model
        .parse_legacy_pointer_key(b"Job:abc:p\x00idxptr\x00status")
        .expect("a legacy pointer");
    assert_eq!((k, f.name.as_str()), (&b"Job:abc:p"[..], "status"));
    assert!(model
        .parse_legacy_pointer_key(b"Other:abc:p\x00idxptr\x00status")
        .is_none());
    assert!(model.parse_legacy_pointer_key(b"Job:abc:p").is_none());
    assert_eq!(
        model
            .parse_legacy_pointer_field(b"status\x00idxset")
            .map(|f| f.name.as_str()),
        Some("status")
    );
    assert!(model.parse_legacy_pointer_field(b"status").is_none());
    assert!(model
        .parse_legacy_pointer_field(b"priority\x00idxset")
        .is_none());
    // The key layout has no indexed field: nothing is a pointer.
    assert!(m()
        .parse_index_pointer(b"$IdxPtr:RedisJob:a:b:c:status")
        .is_none());
}

#[test]
fn namespace_keys() {
    let ns = Namespace::new("jobq");
    assert_eq!(s(ns.audit()), "jobq:audit");
    assert_eq!(
        s(ns.idempotency("RedisJob", "ci-1")),
        "jobq:idem:RedisJob:ci-1"
    );
    assert_eq!(s(ns.reap_lock("RedisJob")), "jobq:reap:RedisJob:lock");
}

#[test]
fn the_legacy_pointer_pattern_matches_only_legacy_pointers() {
    let m = indexed();
    assert_eq!(
        m.legacy_pointer_pattern("status"),
        b"Job:*\x00idxptr\x00status".to_vec()
    );
}
