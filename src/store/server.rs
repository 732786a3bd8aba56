//! What the connected server is and which of jobq's commands it has: the
//! flavour and version from `INFO server` (read once, at connect), and for
//! the few commands that not every supported server has, whether this one
//! answers them. Each such command has an equivalent that every supported
//! server has; the choice is made here, once per run, so that no read finds
//! out about a missing command by failing half-way through a scan.
//!
//! Owns: parsing `INFO server`, the minimum version, the probe of commands
//! that a server may lack or have renamed away. Must not: build keys, or
//! decide anything about the queue.

use std::fmt;

use redis::Value;

use super::{Reply, StoreError};

/// The oldest server jobq works with: SCAN's TYPE option, ACL users and
/// RESP3 all arrive in 6.0, and popoto itself needs 6.0 or later.
pub const MIN_VERSION: Version = Version(6, 0, 0);

/// A server version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `7.0.15`, `6.2.14`, `8.1.1`; missing parts are 0. `None` for text
    /// that does not start with a number.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Version(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Which server program answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Redis,
    Valkey,
}

/// The server, as read at connect.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub flavour: Flavour,
    /// The flavour's own version (`valkey_version` on Valkey).
    pub version: Version,
    /// `redis_version`: the Redis release whose commands the server has
    /// (Valkey 8 reports 7.2.4).
    pub redis_version: Version,
    pub commands: Commands,
    /// Commands its version has that this server answers "unknown command"
    /// to (renamed away in its configuration).
    pub disabled: Vec<&'static str>,
}

/// The commands a server may lack, and whether this one has each. Without
/// one, the store uses the equivalent named on each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commands {
    /// `SMISMEMBER` (6.2), else one `SISMEMBER` per member, pipelined.
    pub smismember: bool,
    /// `ZMSCORE` (6.2), else one `ZSCORE` per member, pipelined.
    pub zmscore: bool,
    /// `SINTERCARD` (7.0), else drain counts by walking with `SSCAN`.
    pub sintercard: bool,
    /// `ZRANGE ... BYSCORE LIMIT` (6.2), else `ZRANGEBYSCORE ... LIMIT`.
    pub zrange_byscore: bool,
    /// `ZSCAN ... NOSCORES` (Redis 8.0, Valkey 8.0), else `ZSCAN` with
    /// the scores dropped on this side. A walk never uses the scores, and
    /// formatting them was about 40% of the server's work for a ZSCAN step.
    pub zscan_noscores: bool,
}

impl Commands {
    /// Every command jobq can use.
    pub const ALL: Commands = Commands {
        smismember: true,
        zmscore: true,
        sintercard: true,
        zrange_byscore: true,
        zscan_noscores: true,
    };

    /// Ask, in `pipe`, whether each of `members` is in the set `set`: one
    /// SMISMEMBER, or one SISMEMBER per member. Read the answer with
    /// [`Commands::take_members`] and the same count.
    pub fn ask_members<'a>(
        &self,
        pipe: &mut redis::Pipeline,
        set: &[u8],
        members: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let mut members = members.into_iter().peekable();
        // Nothing asked, nothing sent: SMISMEMBER needs a member, and
        // `take_members` reads no reply for none.
        if members.peek().is_none() {
            return;
        }
        if self.smismember {
            let c = pipe.cmd("SMISMEMBER").arg(set);
            for m in members {
                c.arg(m);
            }
        } else {
            for m in members {
                pipe.cmd("SISMEMBER").arg(set).arg(m);
            }
        }
    }

    /// The answer to [`Commands::ask_members`] for `n` members, taken from
    /// `next`. `Ok(None)`: the set has another type. An error reply for any
    /// member is an error: a membership jobq could not read is never an
    /// answer.
    pub fn take_members(
        &self,
        next: &mut dyn FnMut() -> Reply,
        n: usize,
    ) -> Result<Option<Vec<bool>>, StoreError> {
        per_member(next, n, self.smismember.then_some("SMISMEMBER"), flag)
    }

    /// Ask, in `pipe`, for the score of each of `members` in `zset`: one
    /// ZMSCORE, or one ZSCORE per member.
    pub fn ask_scores<'a>(
        &self,
        pipe: &mut redis::Pipeline,
        zset: &[u8],
        members: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let mut members = members.into_iter().peekable();
        if members.peek().is_none() {
            return;
        }
        if self.zmscore {
            let c = pipe.cmd("ZMSCORE").arg(zset);
            for m in members {
                c.arg(m);
            }
        } else {
            for m in members {
                pipe.cmd("ZSCORE").arg(zset).arg(m);
            }
        }
    }

    /// The answer to [`Commands::ask_scores`] for `n` members.
    pub fn take_scores(
        &self,
        next: &mut dyn FnMut() -> Reply,
        n: usize,
    ) -> Result<Option<Vec<Option<f64>>>, StoreError> {
        per_member(next, n, self.zmscore.then_some("ZMSCORE"), score)
    }

    /// What a server of this Redis version has, by the "since" of each.
    /// Options that came after Redis 7.2 (which Valkey forked from) have a
    /// "since" per flavour: see [`Server::from_info`].
    pub fn of_version(v: Version) -> Commands {
        Commands {
            smismember: v >= Version(6, 2, 0),
            zmscore: v >= Version(6, 2, 0),
            sintercard: v >= Version(7, 0, 0),
            zrange_byscore: v >= Version(6, 2, 0),
            zscan_noscores: v >= Version(8, 0, 0),
        }
    }
}

/// The commands [`probe`] sends, in order: harmless reads of a key that
/// does not exist. A command renamed away (`rename-command X ""`) answers
/// "unknown command" whatever the key; an ACL denial answers NOPERM, which
/// says the command exists (the read that needs it will then fail, loudly).
pub fn probe() -> redis::Pipeline {
    const KEY: &str = "jobq:probe:no-such-key";
    let mut pipe = redis::pipe();
    pipe.cmd("SMISMEMBER").arg(KEY).arg("m");
    pipe.cmd("ZMSCORE").arg(KEY).arg("m");
    pipe.cmd("SINTERCARD").arg(1).arg(KEY);
    pipe
}

impl Server {
    /// The oldest server jobq supports, with none of the newer commands:
    /// what is assumed until `INFO` has been read.
    pub const OLDEST: Server = Server {
        flavour: Flavour::Redis,
        version: MIN_VERSION,
        redis_version: MIN_VERSION,
        commands: Commands {
            smismember: false,
            zmscore: false,
            sintercard: false,
            zrange_byscore: false,
            zscan_noscores: false,
        },
        disabled: Vec::new(),
    };

    /// Read `INFO server`. A server older than [`MIN_VERSION`] is an error
    /// naming its version and the minimum.
    pub fn from_info(info: &str) -> Result<Server, String> {
        let field = |name: &str| super::info_field(info, name);
        let redis_version = field("redis_version")
            .as_deref()
            .and_then(Version::parse)
            .ok_or_else(|| "INFO server has no redis_version".to_owned())?;
        let valkey = field("valkey_version").as_deref().and_then(Version::parse);
        let (flavour, version) = match valkey {
            Some(v) => (Flavour::Valkey, v),
            None if field("server_name").as_deref() == Some("valkey") => {
                (Flavour::Valkey, redis_version)
            }
            None => (Flavour::Redis, redis_version),
        };
        if redis_version < MIN_VERSION {
            return Err(format!(
                "{} {version} is older than jobq supports (Redis {MIN_VERSION} or later, or Valkey 7 or later)",
                flavour.name()
            ));
        }
        let mut commands = Commands::of_version(redis_version);
        // An option, not a command: no probe can tell (a ZSCAN of a missing
        // key ignores its options), so the flavour's own version decides.
        // Valkey 8 reports redis_version 7.2.4 and has NOSCORES.
        commands.zscan_noscores = version >= Version(8, 0, 0);
        Ok(Server {
            flavour,
            version,
            redis_version,
            commands,
            disabled: Vec::new(),
        })
    }

    /// Take the replies of [`probe`] into account: a command the version
    /// should have but the server does not know (renamed away) is not used.
    pub fn learn(&mut self, replies: &[Reply]) {
        let missing = |i: usize| {
            replies
                .get(i)
                .is_some_and(|r| matches!(r, Err(e) if e.is_unknown_command()))
        };
        let c = &mut self.commands;
        for (has, i, name) in [
            (&mut c.smismember, 0, "SMISMEMBER"),
            (&mut c.zmscore, 1, "ZMSCORE"),
            (&mut c.sintercard, 2, "SINTERCARD"),
        ] {
            if *has && missing(i) {
                *has = false;
                self.disabled.push(name);
            }
        }
    }

    /// One line for `-v`: `Redis 7.0.15` or `Valkey 8.1.1 (Redis 7.2.4)`,
    /// and the equivalents in use.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.flavour.name(), self.version);
        if self.flavour != Flavour::Redis {
            s.push_str(&format!(" (Redis {})", self.redis_version));
        }
        let c = &self.commands;
        let instead: Vec<&str> = [
            (!c.smismember).then_some("SISMEMBER for SMISMEMBER"),
            (!c.zmscore).then_some("ZSCORE for ZMSCORE"),
            (!c.sintercard).then_some("SSCAN for SINTERCARD"),
            (!c.zrange_byscore).then_some("ZRANGEBYSCORE for ZRANGE BYSCORE"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !self.disabled.is_empty() {
            s.push_str(&format!(
                "; {} disabled on this server",
                self.disabled.join(", ")
            ));
        }
        if !instead.is_empty() {
            s.push_str(&format!("; using {}", instead.join(", ")));
        }
        if !self.scripts_check_acl() {
            s.push_str("; scripts cannot check ACL permissions before their first write (Redis 7.0+), so give jobq's user every permission the README's \"Production safety\" lists");
        }
        s
    }

    /// Whether a script can ask, before its first write, whether the user
    /// may make each write (`redis.acl_check_cmd`, Redis 7.0): without it a
    /// user who lacks one permission can leave a step half-applied.
    pub fn scripts_check_acl(&self) -> bool {
        self.redis_version >= Version(7, 0, 0)
    }
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Redis => "Redis",
            Flavour::Valkey => "Valkey",
        }
    }
}

/// The answer to one question per member (membership, score): the one
/// array reply of the command named by `one_reply` (SMISMEMBER, ZMSCORE),
/// or `n` replies of its one-member equivalent. `Ok(None)`: the key has
/// another type. An error reply for any member is an error: an answer jobq
/// could not read is never an answer.
fn per_member<T>(
    replies: &mut dyn FnMut() -> Reply,
    n: usize,
    one_reply: Option<&str>,
    parse: fn(&Value) -> Result<T, StoreError>,
) -> Result<Option<Vec<T>>, StoreError> {
    if n == 0 {
        return Ok(Some(Vec::new()));
    }
    if let Some(name) = one_reply {
        return match replies() {
            Ok(v) => {
                let a = super::reply::array(&v).ok_or_else(|| {
                    StoreError::unexpected(format!("unexpected {name} reply {v:?}"))
                })?;
                if a.len() != n {
                    return Err(StoreError::unexpected(format!(
                        "{name}: {} {} for {n} members",
                        a.len(),
                        if name == "ZMSCORE" { "scores" } else { "flags" }
                    )));
                }
                a.iter().map(parse).collect::<Result<Vec<_>, _>>().map(Some)
            }
            Err(e) if e.is_wrong_type() => Ok(None),
            Err(e) => Err(e),
        };
    }
    let mut out = Vec::with_capacity(n);
    let mut wrong_type = false;
    let mut failed = None;
    // Every reply is taken, even after an error: the caller reads on.
    for _ in 0..n {
        match replies() {
            Ok(v) => match parse(&v) {
                Ok(x) => out.push(x),
                Err(e) => failed = failed.or(Some(e)),
            },
            Err(e) if e.is_wrong_type() => wrong_type = true,
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    match (failed, wrong_type) {
        (Some(e), _) => Err(e),
        (None, true) => Ok(None),
        (None, false) => Ok(Some(out)),
    }
}

/// One membership flag (SISMEMBER, or an item of SMISMEMBER's array).
fn flag(v: &Value) -> Result<bool, StoreError> {
    match super::reply::int(v) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(StoreError::unexpected(format!(
            "unexpected membership flag {v:?}"
        ))),
    }
}

/// One score (ZSCORE, or an item of ZMSCORE's array); nil when absent.
fn score(v: &Value) -> Result<Option<f64>, StoreError> {
    match v {
        Value::Nil => Ok(None),
        other => super::reply::float(other)
            .map(Some)
            .ok_or_else(|| StoreError::unexpected(format!("unexpected score {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("7.0.15"), Some(Version(7, 0, 15)));
        assert_eq!(Version::parse("6.2"), Some(Version(6, 2, 0)));
        assert_eq!(Version::parse("8.1.1-rc1"), Some(Version(8, 1, 1)));
        assert_eq!(Version::parse("x"), None);
        assert!(Version(6, 2, 14) < Version(7, 0, 0));
    }

    #[test]
    fn info_tells_the_flavour_and_what_it_lacks() {
        let r = Server::from_info("# Server\r\nredis_version:6.2.14\r\nrun_id:a\r\n").unwrap();
        assert_eq!(r.flavour, Flavour::Redis);
        assert!(r.commands.smismember && !r.commands.sintercard);
        let v = Server::from_info(
            "redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.1.1\r\n",
        )
        .unwrap();
        assert_eq!((v.flavour, v.version), (Flavour::Valkey, Version(8, 1, 1)));
        assert_eq!(v.commands, Commands::ALL);
        assert_eq!(v.describe(), "Valkey 8.1.1 (Redis 7.2.4)");
        let r7 = Server::from_info("redis_version:7.0.15\r\n").unwrap();
        assert!(!r7.commands.zscan_noscores, "NOSCORES came in Redis 8.0");
        let r8 = Server::from_info("redis_version:8.0.2\r\n").unwrap();
        assert_eq!(r8.commands, Commands::ALL);
        let v7 = Server::from_info("redis_version:7.2.4\r\nvalkey_version:7.2.11\r\n").unwrap();
        assert!(!v7.commands.zscan_noscores, "NOSCORES came in Valkey 8.0");
        let old = Server::from_info("redis_version:6.0.16\r\n").unwrap();
        assert!(!old.commands.smismember && !old.commands.zmscore && !old.commands.zrange_byscore);
        let e = Server::from_info("redis_version:5.0.7\r\n").unwrap_err();
        assert!(e.contains("5.0.7") && e.contains("6.0.0"), "{e}");
    }

    #[test]
    fn a_renamed_command_is_given_up_once() {
        let mut s = Server::from_info("redis_version:7.0.15\r\n").unwrap();
        let unknown = |c: &str| {
            Err(StoreError::from_reply(format!(
                "ERR unknown command '{c}', with args beginning with: "
            )))
        };
        s.learn(&[
            unknown("SMISMEMBER"),
            Ok(Value::Array(vec![Value::Nil])),
            Err("NOPERM this user has no permissions to run the 'sintercard' command".into()),
        ]);
        assert!(!s.commands.smismember && s.commands.zmscore && s.commands.sintercard);
        assert_eq!(
            s.describe(),
            "Redis 7.0.15; SMISMEMBER disabled on this server; using SISMEMBER for SMISMEMBER"
        );
    }

    fn member_flags(
        next: &mut dyn FnMut() -> Reply,
        n: usize,
        one_reply: bool,
    ) -> Result<Option<Vec<bool>>, StoreError> {
        per_member(next, n, one_reply.then_some("SMISMEMBER"), flag)
    }

    fn member_scores(
        next: &mut dyn FnMut() -> Reply,
        n: usize,
        one_reply: bool,
    ) -> Result<Option<Vec<Option<f64>>>, StoreError> {
        per_member(next, n, one_reply.then_some("ZMSCORE"), score)
    }

    #[test]
    fn a_failed_membership_read_is_never_an_answer() {
        let mut replies =
            vec![Ok(Value::Int(1)), Err("ERR boom".into()), Ok(Value::Int(0))].into_iter();
        let mut next = || replies.next().unwrap_or_else(|| Err("missing".into()));
        assert_eq!(member_flags(&mut next, 3, false), Err("ERR boom".into()));
        let mut wrong = vec![Err("WRONGTYPE Operation".into())].into_iter();
        let mut next = || wrong.next().unwrap_or_else(|| Err("missing".into()));
        assert_eq!(member_flags(&mut next, 2, true), Ok(None));
        let mut odd = vec![Ok(Value::Array(vec![Value::Int(1)]))].into_iter();
        let mut next = || odd.next().unwrap_or_else(|| Err("missing".into()));
        assert!(member_flags(&mut next, 2, true).is_err());
        let mut zs = vec![Ok(Value::Nil), Ok(Value::BulkString(b"3.5".to_vec()))].into_iter();
        let mut next = || zs.next().unwrap_or_else(|| Err("missing".into()));
        assert_eq!(
            member_scores(&mut next, 2, false),
            Ok(Some(vec![None, Some(3.5)]))
        );
    }
}
