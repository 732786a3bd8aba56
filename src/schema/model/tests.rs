//! Tests of the model: the TOML schema file, defaults, and key building.

use super::*;

pub const TASK_SCHEMA: &str = r#"
class = "Task"
since_field = "started_at"

[[field]]
name = "task_id"
role = "auto"

[[field]]
name = "queue"
role = "key"

[[field]]
name = "state"
role = "key"

[[field]]
name = "attempts"
type = "int"
default = 0

[[field]]
name = "started_at"
type = "float"

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
"#;

#[test]
fn default_model_key_order_is_alphabetical() {
    let m = Model::redis_job();
    let names: Vec<_> = m.key_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["job_id", "project_key", "status"]);
    let idx: Vec<_> = m.keyf_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(idx, ["project_key", "status"]);
    assert_eq!(m.sorted_fields().count(), 1);
}

#[test]
fn toml_schema() {
    let m = Model::from_toml(TASK_SCHEMA).expect("valid schema");
    assert_eq!(m.class, "Task");
    let names: Vec<_> = m.key_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["queue", "state", "task_id"]);
    assert_eq!(m.status.pending, "queued");
    assert_eq!(
        m.field("attempts").and_then(|f| f.default.clone()),
        Some(FieldDefault::Value(Value::Int(0)))
    );
    assert_eq!(m.since_field.as_deref(), Some("started_at"));
}

#[test]
fn schema_errors_name_the_problem() {
    let bad = TASK_SCHEMA.replace("role = \"auto\"", "role = \"key\"");
    let e = format!("{:#}", Model::from_toml(&bad).unwrap_err());
    assert!(e.contains("exactly one auto key field"), "{e}");
    let bad = TASK_SCHEMA.replace("completed = \"done\"", "completed = \"finished\"");
    let e = format!("{:#}", Model::from_toml(&bad).unwrap_err());
    assert!(e.contains("\"finished\""), "{e}");
    let bad = TASK_SCHEMA.replace("type = \"int\"", "type = \"decimal\"");
    assert!(Model::from_toml(&bad).is_err());
    let bad = format!("{TASK_SCHEMA}\nbogus = 1\n");
    assert!(Model::from_toml(&bad).is_err());
}

#[test]
fn typed_parsing() {
    let m = Model::redis_job();
    let created = m.field("created_at").expect("field");
    assert_eq!(
        created.parse_text("1767225600.5").ok(),
        Some(Value::Float(1767225600.5))
    );
    assert!(created.parse_text("soon").is_err());
    assert_eq!(
        created.parse_json(&serde_json::json!(5)).ok(),
        Some(Value::Float(5.0))
    );
    let msg = m.field("message_text").expect("field");
    let e = format!("{:#}", msg.parse_json(&serde_json::json!(5)).unwrap_err());
    assert!(
        e.contains("message_text") && e.contains("expected str"),
        "{e}"
    );
    assert_eq!(
        msg.parse_json(&serde_json::Value::Null).ok(),
        Some(Value::Nil)
    );
}

#[test]
fn the_message_field_is_declared_and_not_a_key() {
    assert_eq!(
        Model::redis_job().message_field.as_deref(),
        Some("message_text")
    );
    assert_eq!(
        Model::from_toml(TASK_SCHEMA).expect("valid").message_field,
        None
    );
    let with =
        |name: &str| TASK_SCHEMA.replacen("\n\n", &format!("\nmessage_field = {name:?}\n\n"), 1);
    let m = Model::from_toml(&with("attempts")).expect("valid schema");
    assert_eq!(m.message_field.as_deref(), Some("attempts"));
    let e = format!("{:#}", Model::from_toml(&with("nope")).unwrap_err());
    assert!(e.contains("message_field \"nope\" is not declared"), "{e}");
    let e = format!("{:#}", Model::from_toml(&with("queue")).unwrap_err());
    assert!(e.contains("must not be a key field"), "{e}");
}

/// The issue-20 model: the status is an `IndexedField`, not in the key.
pub const INDEXED_SCHEMA: &str = r#"
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

#[test]
fn an_indexed_status_is_not_in_the_key() {
    let m = Model::from_toml(INDEXED_SCHEMA).expect("valid schema");
    assert_eq!(m.status_layout(), StatusLayout::Indexed { unique: false });
    assert!(!m.status_in_key());
    let key: Vec<_> = m.key_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(key, ["job_id", "project_key"]);
    let keyf: Vec<_> = m.keyf_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(keyf, ["project_key"]);
    let indexf: Vec<_> = m.indexf_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(indexf, ["status"]);
    assert_eq!(m.secondary_key_fields().count(), 1);
    // popoto's create: the INDEX_SWAP script HSETs status, then the MULTI
    // the other fields in declaration order.
    assert_eq!(m.hset_order(), [2, 0, 1, 3, 4]);

    let unique = Model::from_toml(&INDEXED_SCHEMA.replace("\"indexed\"", "\"unique\""))
        .expect("valid schema");
    assert_eq!(
        unique.status_layout(),
        StatusLayout::Indexed { unique: true }
    );

    let rj = Model::redis_job();
    assert_eq!(rj.status_layout(), StatusLayout::Key);
    assert!(rj.status_in_key());
    assert_eq!(rj.indexf_fields().count(), 0);
    assert_eq!(rj.hset_order(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn indexed_field_rules() {
    // A non-status indexed field is fine, and in the key of nothing.
    let extra = INDEXED_SCHEMA.replace(
        "name = \"priority\"\n",
        "name = \"priority\"\nrole = \"indexed\"\n",
    );
    let m = Model::from_toml(&extra).expect("valid schema");
    let indexf: Vec<_> = m.indexf_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(indexf, ["status", "priority"]);
    assert_eq!(m.hset_order(), [2, 3, 0, 1, 4]);

    let e = |text: &str| format!("{:#}", Model::from_toml(text).unwrap_err());
    let bad = INDEXED_SCHEMA.replace(
        "name = \"created_at\"\n",
        "name = \"created_at\"\nrole = \"indexed\"\n",
    );
    assert!(e(&bad).contains("must be of type str"), "{}", e(&bad));
    let bad = INDEXED_SCHEMA.replace(
        "name = \"priority\"\n",
        "name = \"priority\"\nrole = \"unique\"\nsorted = true\n",
    );
    assert!(e(&bad).contains("indexed and sorted"), "{}", e(&bad));
    let bad = INDEXED_SCHEMA.replace("role = \"indexed\"", "role = \"field\"");
    assert!(
        e(&bad).contains("must be a key field (role = \"key\") or an indexed one"),
        "{}",
        e(&bad)
    );
}
