//! The walker's pure parts: index names and an index walk's first state.

use super::*;

#[test]
fn a_secondary_index_name_gives_its_field_and_value() {
    let model = Model::redis_job();
    let set = model.index_key("project_key", Some("projA"));
    assert_eq!(
        secondary_value(&model, &set),
        Some(("project_key".to_owned(), b"projA".to_vec()))
    );
    // The value stays escaped, as key segments are compared escaped.
    let odd = model.index_key("project_key", Some("a:b"));
    let (field, value) = secondary_value(&model, &odd).unwrap();
    assert_eq!(field, "project_key");
    assert_eq!(value, crate::schema::escape::escape(b"a:b"));
    assert_eq!(secondary_value(&model, b"$Class:RedisJob"), None);
    assert_eq!(
        secondary_value(&model, &model.status_index("pending")),
        None,
        "a status index is not a secondary one"
    );
}

#[test]
fn an_index_walk_starts_with_nothing_to_list() {
    let w = IndexWalk::index(b"$KeyF:RedisJob:project_key:p", None);
    assert_eq!(w.set, b"$KeyF:RedisJob:project_key:p");
    assert!(matches!(w.kind, Collection::Set));
    assert!(w.value.is_none() && w.found_in.is_empty());
}
