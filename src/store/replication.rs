//! What a server says of its place in replication (`INFO replication`),
//! typed, for `--read-from`: its role, its primary and the link to it, the
//! replication id and offsets the lag is computed from.
//!
//! Owns: reading and parsing `INFO replication`, and the database number of
//! a URL. Must not: decide whether a replica may be read (`cmd::read_from`
//! does, as pure code) or print.

use anyhow::{Context, Result};
use redis::IntoConnectionInfo;

use super::{info_field, Store};

/// One server's `INFO replication`, the fields `--read-from` weighs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replication {
    /// `role:master`, or `role:slave` (`replica` on servers that say so).
    pub is_replica: bool,
    /// On a replica: `master_host` and `master_port`, as it knows them.
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    /// On a replica: `master_link_status:up`.
    pub link_up: bool,
    /// On a replica: seconds since it last heard from its primary
    /// (`master_last_io_seconds_ago`; -1 while the link is down).
    pub last_io_seconds_ago: Option<i64>,
    /// On a replica: `master_sync_in_progress:1` (a full sync: its data is
    /// not yet the primary's).
    pub sync_in_progress: bool,
    /// The replication id: a primary's own, a replica's that of the primary
    /// it follows. Two servers with the same one share a history.
    pub replid: Option<String>,
    /// `master_repl_offset`: how far into the replication stream the server
    /// is (a primary: what it wrote; a replica: what it received).
    pub offset: Option<u64>,
    /// On a replica: `slave_repl_offset`, what it has processed.
    pub replica_offset: Option<u64>,
}

impl Replication {
    /// Parse `INFO replication` (lines `name:value`, `\r\n` ended). Fields
    /// a server does not report are `None`.
    pub fn parse(info: &str) -> Replication {
        let field = |name: &str| info_field(info, name);
        let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
        let role = field("role").unwrap_or_default();
        Replication {
            is_replica: role == "slave" || role == "replica",
            master_host: field("master_host"),
            master_port: field("master_port").and_then(|v| v.parse().ok()),
            link_up: field("master_link_status").as_deref() == Some("up"),
            last_io_seconds_ago: field("master_last_io_seconds_ago").and_then(|v| v.parse().ok()),
            sync_in_progress: field("master_sync_in_progress").as_deref() == Some("1"),
            replid: field("master_replid").filter(|v| !v.is_empty()),
            offset: number("master_repl_offset"),
            replica_offset: number("slave_repl_offset"),
        }
    }

    /// The primary as the replica names it, `host:port`.
    pub fn primary(&self) -> String {
        format!(
            "{}:{}",
            self.master_host.as_deref().unwrap_or("?"),
            self.master_port
                .map_or_else(|| "?".to_owned(), |p| p.to_string())
        )
    }

    /// How far a replica has applied the stream: `slave_repl_offset`, or
    /// `master_repl_offset` on a server without it.
    pub fn applied(&self) -> Option<u64> {
        self.replica_offset.or(self.offset)
    }
}

impl Store {
    /// This server's `INFO replication`.
    pub async fn replication(&mut self) -> Result<Replication> {
        let info: String = self
            .query(redis::cmd("INFO").arg("replication"))
            .await
            .with_context(|| format!("cannot read INFO replication from {}", self.display_url))?;
        Ok(Replication::parse(&info))
    }
}

/// The database number a URL selects (`/2`, `?db=2`), `None` if the URL
/// does not parse (connecting says why).
pub fn database(url: &str) -> Option<i64> {
    url.into_connection_info()
        .ok()
        .map(|i| i.redis_settings().db())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLICA: &str = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:1\r\nmaster_sync_in_progress:0\r\nslave_read_repl_offset:1500\r\nslave_repl_offset:1400\r\nmaster_replid:8f0e\r\nmaster_replid2:0000\r\nmaster_repl_offset:1500\r\n";

    #[test]
    fn a_replica_s_info() {
        let r = Replication::parse(REPLICA);
        assert!(r.is_replica && r.link_up && !r.sync_in_progress);
        assert_eq!(r.primary(), "10.0.0.1:6379");
        assert_eq!(r.last_io_seconds_ago, Some(1));
        assert_eq!(r.replid.as_deref(), Some("8f0e"));
        assert_eq!((r.offset, r.applied()), (Some(1500), Some(1400)));
    }

    #[test]
    fn a_primary_s_info_and_a_link_down() {
        let p = Replication::parse("role:master\r\nconnected_slaves:1\r\nmaster_replid:8f0e\r\nmaster_repl_offset:2000\r\n");
        assert!(!p.is_replica);
        assert_eq!(
            (p.replid.as_deref(), p.applied()),
            (Some("8f0e"), Some(2000))
        );
        let down = Replication::parse("role:slave\r\nmaster_host:h\r\nmaster_port:1\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\n");
        assert!(down.is_replica && !down.link_up);
        assert_eq!(down.last_io_seconds_ago, Some(-1));
        assert_eq!(down.replid, None);
    }

    #[test]
    fn database_numbers() {
        assert_eq!(database("redis://h:6379/2"), Some(2));
        assert_eq!(database("redis://h:6379"), Some(0));
        assert_eq!(database("unix:///tmp/r.sock?db=3"), Some(3));
        assert_eq!(database("nonsense"), None);
    }
}
