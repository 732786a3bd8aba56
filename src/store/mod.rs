//! The only module that talks to Redis: the connection, batched reads, and
//! the guarded Lua scripts (`store/scripts/*.lua`, one per operation).
//!
//! Owns: commands, pipelines, scripts, and turning Redis replies into plain
//! Rust values. Must not: format keys (it receives them from `schema`),
//! decide what is damaged (that is `diagnose`), or print.

pub mod audit;
pub mod cursor;
pub mod delete;
pub mod drain;
pub mod drain_ids;
pub mod enqueue;
pub mod error;
pub mod in_flight;
pub mod inspect;
pub mod moves;
pub mod observe;
mod pointers;
pub mod prune;
pub mod reap;
pub mod repair;
pub mod replication;
pub mod script;
pub mod server;
pub mod sizes;
pub mod tls;
pub mod undo;
pub mod values;

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, Pipeline, Value};

use crate::exit;
use crate::settings::{scrub, ConnectSettings};

pub use error::{Refusal, StoreError};
pub use sizes::Collection;

/// One command's reply in a pipeline: the value, or the server's error.
pub type Reply = std::result::Result<Value, StoreError>;

/// The name jobq gives its connections (`CLIENT LIST` shows it).
pub const CLIENT_NAME: &str = "jobq";

/// A connection to one Redis server.
#[derive(Clone)]
pub struct Store {
    con: MultiplexedConnection,
    display_url: String,
    /// `run_id` of the server at connect time: a scan cursor means nothing on
    /// another run of the server.
    pub run_id: String,
    /// `master` or `slave`, from `ROLE`.
    pub role: String,
    /// On a replica: its primary and whether the link to it is up.
    pub replica: Option<Replica>,
    /// What the server is and which commands it has, read at connect.
    pub server: server::Server,
    /// What connecting learned that a `-v` run should tell: the server, the
    /// commands it lacks and the stand-in for each.
    pub notes: Vec<String>,
}

/// A replica's view of its primary (`ROLE`, or `INFO replication`).
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// `host:port` as the replica knows it.
    pub primary: String,
    pub link_up: bool,
}

impl Store {
    /// Connect, name the connection, and learn the server's identity.
    pub async fn connect(cfg: &ConnectSettings) -> Result<Store> {
        let where_ = &cfg.display_url;
        let client = tls::client(cfg).map_err(|e| {
            exit::usage(format!(
                "--url {where_}: {}",
                scrub(&e.to_string(), cfg.secret.as_deref())
            ))
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(cfg.connect_timeout))
            .set_response_timeout(Some(cfg.response_timeout));
        let con = match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(con) => con,
            Err(e) => {
                let mut msg = describe(&e, cfg);
                // A plain-text server leaves the handshake unanswered or
                // answers it with an error reply: ask it in plain text.
                let text = scrub(&describe_plain(&e), cfg.secret.as_deref());
                if cfg.url.starts_with("rediss://")
                    && tls::explain(&text, cfg).is_none()
                    && tls::speaks_plain_redis(cfg).await
                {
                    msg = tls::plain_text_server(&format!(
                        "{text}: the TLS handshake got no TLS answer, a plain-text PING got Redis's"
                    ));
                }
                return Err(anyhow!(msg))
                    .with_context(|| format!("cannot connect to Redis at {where_}"));
            }
        };
        let mut store = Store {
            con,
            display_url: where_.clone(),
            run_id: String::new(),
            role: String::new(),
            replica: None,
            server: server::Server::OLDEST,
            notes: Vec::new(),
        };
        // An ACL user may lack CLIENT; the name is a courtesy, not a need.
        let _: Result<Value, _> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(CLIENT_NAME)
            .query_async(&mut store.con)
            .await;
        let info: String = store
            .query(redis::cmd("INFO").arg("server"))
            .await
            .with_context(|| format!("cannot read INFO from Redis at {where_}"))?;
        store.run_id = info_field(&info, "run_id").unwrap_or_default();
        store.server =
            server::Server::from_info(&info).map_err(|e| anyhow!("Redis at {where_}: {e}"))?;
        // A command the version should have may still be renamed away, as
        // some managed services do: ask once, so that no read meets it.
        let c = store.server.commands;
        if c.smismember || c.zmscore || c.sintercard {
            let replies = store
                .pipeline(&mut server::probe())
                .await
                .with_context(|| format!("cannot read from Redis at {where_}"))?;
            store.server.learn(&replies);
        }
        store
            .notes
            .push(format!("server: {}", store.server.describe()));
        let role: Result<Vec<Value>> = store.query(&redis::cmd("ROLE")).await;
        match role {
            Ok(v) => {
                let text = |i: usize| v.get(i).and_then(reply::text);
                store.role = text(0).unwrap_or_default();
                if store.is_replica() {
                    // ["slave", host, port, "connected" | "connect" | ..., offset]
                    store.replica = Some(Replica {
                        primary: format!(
                            "{}:{}",
                            text(1).unwrap_or_else(|| "?".into()),
                            v.get(2).and_then(reply::int).unwrap_or(0)
                        ),
                        link_up: text(3).as_deref() == Some("connected"),
                    });
                }
            }
            // A user may be denied ROLE but not INFO: a replica must still
            // be refused up front rather than fail write by write.
            Err(_) => {
                if let Ok(info) = store
                    .query::<String>(redis::cmd("INFO").arg("replication"))
                    .await
                {
                    store.role = info_field(&info, "role").unwrap_or_default();
                    if store.is_replica() {
                        store.replica = Some(Replica {
                            primary: format!(
                                "{}:{}",
                                info_field(&info, "master_host").unwrap_or_else(|| "?".into()),
                                info_field(&info, "master_port").unwrap_or_else(|| "?".into())
                            ),
                            link_up: info_field(&info, "master_link_status").as_deref()
                                == Some("up"),
                        });
                    }
                }
            }
        }
        Ok(store)
    }

    fn is_replica(&self) -> bool {
        self.role == "slave" || self.role == "replica"
    }

    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Refuse, before anything is written, to write to a replica.
    pub fn require_writable(&self) -> Result<()> {
        if let Some(r) = &self.replica {
            bail!(
                "Redis at {} is a read-only replica of {} (its link to it is {}); point --url at the primary ({}) to make changes",
                self.display_url,
                r.primary,
                if r.link_up { "up" } else { "down" },
                r.primary
            );
        }
        if self.is_replica() {
            bail!(
                "Redis at {} is a read-only replica; point --url at the primary to make changes",
                self.display_url
            );
        }
        Ok(())
    }

    /// Run one command.
    pub async fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> Result<T> {
        cmd.query_async(&mut self.con)
            .await
            .map_err(|e| anyhow::Error::new(self.describe_failure(&e)))
    }

    /// Run a pipeline; one reply per command, a command's error kept in its
    /// reply so that one wrong-type key does not fail a batch. An empty
    /// pipeline (nothing to read: an empty database) is not sent: the
    /// client refuses it as an "empty command".
    pub async fn pipeline(&mut self, pipe: &mut Pipeline) -> Result<Vec<Reply>> {
        if pipe.is_empty() {
            return Ok(Vec::new());
        }
        pipe.ignore_errors();
        let replies: Vec<redis::RedisResult<Value>> = pipe
            .query_async(&mut self.con)
            .await
            .map_err(|e| anyhow::Error::new(self.describe_failure(&e)))?;
        Ok(replies
            .into_iter()
            .map(|r| r.map_err(|e| reply_error(&e)))
            .collect())
    }

    /// Server time in seconds (`TIME`): one clock for every host.
    pub async fn server_time(&mut self) -> Result<f64> {
        let (s, us): (i64, i64) = self.query(&redis::cmd("TIME")).await.context("TIME")?;
        Ok(s as f64 + us as f64 / 1e6)
    }

    /// The server's current run_id (changes on restart).
    pub async fn current_run_id(&mut self) -> Result<String> {
        let info: String = self.query(redis::cmd("INFO").arg("server")).await?;
        Ok(info_field(&info, "run_id").unwrap_or_default())
    }
}

impl Store {
    /// A request that got no reply, in words a user can act on: the
    /// connection is gone (Redis restarted or went away), or the reply was
    /// late. The command that got the error says what it was doing.
    fn describe_failure(&self, e: &redis::RedisError) -> StoreError {
        let text = describe_plain(e);
        let text = if e.is_timeout() {
            format!(
                "no reply from Redis at {} in time ({text}); see --response-timeout",
                self.display_url
            )
        } else if e.is_connection_dropped() || e.is_io_error() {
            format!(
                "lost the connection to Redis at {} ({text}); if the server restarted, run the command again",
                self.display_url
            )
        } else {
            text
        };
        StoreError::from_redis(e, text)
    }
}

/// One command's error reply in a pipeline, as a [`StoreError`].
fn reply_error(e: &redis::RedisError) -> StoreError {
    StoreError::from_redis(e, describe_plain(e))
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_owned())
    })
}

/// One-line description of a connection error, with a hint.
fn describe(e: &redis::RedisError, cfg: &ConnectSettings) -> String {
    let text = scrub(&describe_plain(e), cfg.secret.as_deref());
    let lower = text.to_ascii_lowercase();
    if let Some(tls) = tls::explain(&text, cfg) {
        tls
    } else if e.kind() == redis::ErrorKind::AuthenticationFailed {
        // redis-rs reports a refused AUTH without the server's words.
        "authentication failed: the server refused the user or password; check them in --url / REDIS_URL".to_owned()
    } else if lower.contains("wrongpass")
        || lower.contains("invalid password")
        || lower.contains("invalid username")
    {
        format!("authentication failed ({text}); check the user and password in --url / REDIS_URL")
    } else if e.is_timeout() {
        format!("timed out after {:?} ({text})", cfg.connect_timeout)
    } else if e.is_connection_refusal() || e.is_io_error() {
        format!("{text}; is redis-server running there?")
    } else {
        text
    }
}

/// One line; a server's error in Redis's own words (`CODE detail`, e.g.
/// `NOSCRIPT No matching script...`), so that the codes can be told apart
/// (the client library's own rendering varies by code: `NoScript: ...`,
/// `"OOM": ...`).
///
/// A refusal for want of a password or an ACL permission (any command can
/// meet either) also says what to do.
fn describe_plain(e: &redis::RedisError) -> String {
    let text = match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    };
    let text = text.replace('\n', " ");
    let lower = text.to_ascii_lowercase();
    if lower.contains("noauth") {
        format!(
            "{text}; the server needs a password: put it in --url as redis://user:password@host"
        )
    } else if lower.contains("noperm") || lower.contains("can't run this command") {
        // The second: an ACL denial met inside a script (Redis 7 words it
        // as ERR).
        format!("{text}; the ACL user lacks a permission jobq needs (the README's \"Production safety\" lists them)")
    } else {
        text
    }
}

/// Reply helpers: turn `redis::Value`s into plain values without panicking
/// on unexpected shapes.
pub mod reply {
    use redis::Value;

    /// An error nested in a reply (a script's or a MULTI's array).
    pub fn is_error(v: &Value) -> Option<super::StoreError> {
        match v {
            Value::ServerError(e) => Some(super::StoreError::from_reply(format!(
                "{} {}",
                e.code(),
                e.details().unwrap_or_default()
            ))),
            _ => None,
        }
    }

    pub fn int(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            Value::SimpleString(s) => s.parse().ok(),
            Value::Boolean(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn bytes(v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::BulkString(b) => Some(b.clone()),
            Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
            Value::Okay => Some(b"OK".to_vec()),
            _ => None,
        }
    }

    /// As [`bytes`], taking the reply: no copy of a bulk string.
    pub fn into_bytes(v: Value) -> Option<Vec<u8>> {
        match v {
            Value::BulkString(b) => Some(b),
            other => bytes(&other),
        }
    }

    pub fn text(v: &Value) -> Option<String> {
        bytes(v).and_then(|b| String::from_utf8(b).ok())
    }

    pub fn array(v: &Value) -> Option<&[Value]> {
        match v {
            Value::Array(a) | Value::Set(a) => Some(a),
            _ => None,
        }
    }

    pub fn float(v: &Value) -> Option<f64> {
        match v {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            _ => text(v)?.parse().ok(),
        }
    }
}

/// How long to wait before retry `attempt` (0-based): 50 ms doubling to 1 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(5)).min(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_parsing() {
        let info = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\n";
        assert_eq!(info_field(info, "run_id").as_deref(), Some("abc123"));
        assert_eq!(info_field(info, "missing"), None);
    }

    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(50));
        assert_eq!(backoff(10), Duration::from_millis(1000));
    }
}
