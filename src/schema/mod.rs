//! The model and its bytes: key escaping, key building and parsing, msgpack,
//! the TOML schema file. This is the only module that formats a Redis key.
//!
//! Also the plain data derived from the model that every stage shares: the
//! key lists a read needs (`probe`) and what a read saw (`observed`).
//!
//! Must not: perform I/O other than reading the schema file.

pub mod calendar;
pub mod escape;
pub mod keys;
pub mod model;
pub mod msgpack;
pub mod observed;
pub mod probe;
pub mod record;

pub use keys::{KeyError, KeyTemplate, Namespace, ParsedKey, TemplateError};
pub use model::{Field, FieldDefault, FieldRole, FieldType, Model, StatusLayout, Statuses};
pub use msgpack::Value;

use anyhow::{Context, Result};
use std::path::Path;

/// The model named by `--schema`, or RedisJob.
pub fn load(path: Option<&Path>) -> Result<Model> {
    match path {
        None => Ok(Model::redis_job()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read schema file {}", p.display()))?;
            Model::from_toml(&text).with_context(|| format!("schema file {}", p.display()))
        }
    }
}
